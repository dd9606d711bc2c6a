"""What the model shows for business as usual, against figures observed at Amazon
frontiers: writes the "frontier" section of docs/validation.md.

Usage::

    python benchmarks/frontier.py             # 8 replicates x 30 years (under 10 s)
    python benchmarks/frontier.py --quick     # 2 replicates
    python benchmarks/frontier.py --seeds 4 --years 20 --no-write

Every run is stepped year by year so that the cover and soil carbon layers can be
read after each year. Replicate ``r`` of a scenario runs on
``numpy.random.SeedSequence(scenario.seed).spawn(n)[r]``, the stream the batch
engine and ``landsim compare`` give replicate ``r`` (``landsim.batch``,
``landsim.experiment``), so every scenario variant sees the same landscapes,
farmers and random draws (common random numbers). Each quantity is reported as the
mean across replicates and the 2.5-97.5 % range of the replicates (numpy
percentiles, linear interpolation: with 8 replicates this is close to the
smallest and largest value).

What is measured (see docs/validation.md for the definitions and the observed
figures):

1. the yearly loss of primary forest on frontier cells (cells a farm may change at
   year 0: owned by a farm or claimable by one, and not protected) and over the
   whole landscape, as a share of the primary forest at the start of each year;
2. the start-up pulse: abandonment, clearing and forest area in the first years
   against the rest of the run;
3. the land cover at the end by land-use system, for the default scenario and for
   ``scenarios/caqueta_baseline.toml``, and the largest cleared (non-forest) use;
4. household net income (mean, median, 10th percentile) and income per ha of farm
   land;
5. the sign of the cocoa price effect on primary forest loss, over the rows of
   :data:`VARIANTS`;
6. adoption of the perennial systems, and the soil organic carbon of cells that
   became a perennial system during the run, at conversion and at the end.

Land-use systems are read from ``landsim.model.state.SYSTEMS`` and yearly columns
by name (``area_<system>_ha``, ``adopters_<system>``), so a new land use appears in
the tables without changes here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "validation.md"
SECTION = "frontier"

#: Replicates of a full run and of a quick one (years: the scenario's own, 30).
SEEDS = 8
QUICK_SEEDS = 2
#: Years of the start-up window (years 1..EARLY_YEARS against the rest).
EARLY_YEARS = 5

#: Scenarios whose land cover at the end is compared (None: the embedded default).
COVER_SCENARIOS: dict[str, str | None] = {
    "default": None,
    "caqueta_baseline": "scenarios/caqueta_baseline.toml",
}

#: Variants of the default scenario for the price experiment: a name and dotted
#: overrides. A row the scenario schema does not accept (a key it lacks, a value out
#: of range) is skipped as a whole, with a note, so that rows for settings not yet
#: in the model can wait here. Add rows freely; every row is run on the same seeds.
VARIANTS: tuple[tuple[str, dict[str, object]], ...] = (
    ("cocoa 1.2 USD/kg", {"markets.cocoa.mean": 1.2, "markets.cocoa.initial": 1.2}),
    ("cocoa 2.0 USD/kg", {"markets.cocoa.mean": 2.0, "markets.cocoa.initial": 2.0}),
    ("cocoa 4.0 USD/kg", {"markets.cocoa.mean": 4.0, "markets.cocoa.initial": 4.0}),
    # The mechanism rows: annual crops that pay less (6 t/ha instead of 10), with and
    # without settlers. With poorer annual crops, clearing is done for cocoa and the
    # cocoa price raises the land rent that draws settlers.
    (
        "cocoa 1.2 USD/kg, annual crops 6 t/ha",
        {"markets.cocoa.mean": 1.2, "markets.cocoa.initial": 1.2, "monocrop.yield_t_per_ha": 6.0},
    ),
    (
        "cocoa 4.0 USD/kg, annual crops 6 t/ha",
        {"markets.cocoa.mean": 4.0, "markets.cocoa.initial": 4.0, "monocrop.yield_t_per_ha": 6.0},
    ),
    (
        "cocoa 1.2 USD/kg, annual crops 6 t/ha, no settlers",
        {
            "markets.cocoa.mean": 1.2,
            "markets.cocoa.initial": 1.2,
            "monocrop.yield_t_per_ha": 6.0,
            "settlers.arrivals_per_farm_per_year": 0.0,
        },
    ),
    (
        "cocoa 4.0 USD/kg, annual crops 6 t/ha, no settlers",
        {
            "markets.cocoa.mean": 4.0,
            "markets.cocoa.initial": 4.0,
            "monocrop.yield_t_per_ha": 6.0,
            "settlers.arrivals_per_farm_per_year": 0.0,
        },
    ),
)
#: The contrast reported for the price effect: (high, low) variant names.
PRICE_CONTRAST = ("cocoa 4.0 USD/kg", "cocoa 1.2 USD/kg")
#: Every contrast reported in the table of the cocoa price effect by setting.
PRICE_CONTRASTS = (
    PRICE_CONTRAST,
    ("cocoa 4.0 USD/kg, annual crops 6 t/ha", "cocoa 1.2 USD/kg, annual crops 6 t/ha"),
    (
        "cocoa 4.0 USD/kg, annual crops 6 t/ha, no settlers",
        "cocoa 1.2 USD/kg, annual crops 6 t/ha, no settlers",
    ),
)

#: Observed figures (reference keys in docs/references.md). ``low``/``high`` bound
#: a band; None where the comparison is qualitative.
OBSERVED = {
    "frontier_rate": {
        "low": 0.7,
        "high": 1.5,
        "text": "0.7-1.5 %/yr: gross clearing along roads, Tambopata, 1991-97 and "
        "1986-91 [AlvarezNaughtonTreves2003]",
    },
    "landscape_rate": {
        "low": 0.13,
        "high": 0.22,
        "text": "0.13-0.22 %/yr: Madre de Dios department, 2001-16 mean (10,161 ha/yr) "
        "and 2015-16 (17,802 and 17,055 ha) of 7.95 Mha [MINAMSERFOR2016]",
    },
    "income_per_ha": {
        "low": 35.2 - 25.7,
        "high": 35.2 + 25.7,
        "text": "35.2 +- 25.7 USD/ha/yr (mean +- sd, 62 families along the Interoceanic "
        "Highway, Madre de Dios) [OliveiraInteroceanic]",
    },
    "off_farm_share": {
        "low": 45.0,
        "high": 60.0,
        "text": "51 % of rural household net income from off-farm work (rural Peru, "
        "about 2000) [Escobal2001]; 53 % in the Ecuadorian Amazon [VascoPerez2015]; "
        "band 45-60 %",
    },
    "largest_cleared_default": {
        "expected": "pasture",
        "text": "pasture (with fallow regrowth) on roadside farms, Tambopata "
        "[AlvarezNaughtonTreves2003]",
    },
    "largest_cleared_caqueta_baseline": {
        "expected": "pasture",
        "text": "pasture: conversion to pasture the main cause of forest loss, "
        "north-western Colombian Amazon [Armenteras2013]",
    },
    "price_effect": {
        "text": "positive: higher agricultural output prices generally raise "
        "deforestation [AngelsenKaimowitz1999]",
    },
    "soc_change": {
        "text": "rises from the annual-crop stock towards the new system's (IPCC Tier 1 "
        "factors: long-term cultivation 0.48, perennial crop 1.0, improved grassland "
        "1.17) [IPCC2019]; a check of the model's own factors, not an observation",
    },
}


# ================================================================== running the model


@dataclass
class RunRecord:
    """What one replicate run leaves for the summaries.

    Attributes
    ----------
    yearly : pandas.DataFrame
        The model's yearly table (row 0 is the initial state).
    farms : pandas.DataFrame
        The farm table at the end.
    years : int
        Years simulated.
    landscape_ha : float
        Area of the landscape (ha).
    cell_size_ha : float
        Area of one cell (ha).
    forest_start : dict of str to ndarray
        Per mask (``"frontier"``, ``"landscape"``), the primary forest cells at the
        start of each year (one value per year).
    forest_lost : dict of str to ndarray
        Per mask, the primary forest cells lost during each year.
    frontier_cells : int
        Cells in the frontier mask.
    soc : dict of str to dict
        Per perennial system: ``before`` and ``after`` (mean tC/ha at conversion and
        at the end over the cells that became that system during the run), ``cells``
        and ``still`` (how many of them hold it at the end).
    """

    yearly: pd.DataFrame
    farms: pd.DataFrame
    years: int
    landscape_ha: float
    cell_size_ha: float
    forest_start: dict[str, np.ndarray]
    forest_lost: dict[str, np.ndarray]
    frontier_cells: int
    soc: dict[str, dict[str, float]] = field(default_factory=dict)


def replicate_streams(seed: int, n: int) -> list[np.random.SeedSequence]:
    """The streams of replicates 0..n-1, as the batch engine spawns them.

    Parameters
    ----------
    seed : int
        The root seed (the scenario's ``seed``).
    n : int
        Number of replicates.

    Returns
    -------
    list of numpy.random.SeedSequence
        ``SeedSequence(seed).spawn(n)``.
    """
    return np.random.SeedSequence(seed).spawn(n)


def frontier_mask(landscape) -> np.ndarray:
    """Cells a farm may change: owned by a farm or claimable by one, not protected.

    Parameters
    ----------
    landscape : landsim.landscape.Landscape

    Returns
    -------
    ndarray of bool
        Shape of the landscape.
    """
    from landsim.model.state import NO_OWNER

    accessible = (landscape.owner != NO_OWNER) | (landscape.claim != NO_OWNER)
    return accessible & ~landscape.protected


def perennial_systems() -> list:
    """The perennial land-use systems of the registry (``SYSTEMS``)."""
    from landsim.model.state import SYSTEMS

    return [s for s in SYSTEMS if s.perennial]


def record_conversions(first_soc: dict, before: np.ndarray, after: np.ndarray, soc_before):
    """Store the soil carbon before the year of cells that first became a perennial
    system this year (in place).

    Parameters
    ----------
    first_soc : dict of str to ndarray
        Per system name, soil carbon at first conversion (NaN: never converted).
    before, after : ndarray
        Cover codes before and after the year.
    soc_before : ndarray
        Soil organic carbon before the year (tC/ha): the previous cover's stock.
    """
    for system in perennial_systems():
        stock = first_soc[system.name]
        new = (after == system.cover) & (before != system.cover) & np.isnan(stock)
        stock[new] = soc_before[new]


def summarise_conversions(first_soc: dict, cover: np.ndarray, soc: np.ndarray) -> dict:
    """Mean soil carbon at conversion and at the end over converted cells.

    Parameters
    ----------
    first_soc : dict of str to ndarray
        As filled by :func:`record_conversions`.
    cover, soc : ndarray
        Cover codes and soil organic carbon (tC/ha) at the end.

    Returns
    -------
    dict of str to dict
        Per system name: ``before``, ``after`` (tC/ha, NaN without conversions),
        ``cells``, ``still``.
    """
    out = {}
    for system in perennial_systems():
        converted = ~np.isnan(first_soc[system.name])
        n = int(converted.sum())
        out[system.name] = {
            "before": float(first_soc[system.name][converted].mean()) if n else np.nan,
            "after": float(soc[converted].mean()) if n else np.nan,
            "cells": n,
            "still": int((cover[converted] == system.cover).sum()),
        }
    return out


def run_replicate(scenario, rng, years: int) -> RunRecord:
    """Run one replicate year by year, reading the layers after every year.

    Parameters
    ----------
    scenario : landsim.scenario.Scenario
    rng : numpy.random.SeedSequence
        The replicate's stream.
    years : int
        Years to simulate.

    Returns
    -------
    RunRecord
    """
    from landsim.model import LandUseModel
    from landsim.model.state import Cover

    model = LandUseModel(scenario, rng=rng)
    ls = model.landscape
    masks = {"frontier": frontier_mask(ls), "landscape": np.ones(ls.shape, dtype=bool)}
    start = {name: np.zeros(years, dtype=np.int64) for name in masks}
    lost = {name: np.zeros(years, dtype=np.int64) for name in masks}
    first_soc = {s.name: np.full(ls.shape, np.nan) for s in perennial_systems()}
    for year in range(years):
        before = model.landscape.cover.copy()
        soc_before = model.landscape.soc_tc_per_ha.copy()
        model.step()
        after = model.landscape.cover
        was_primary = before == Cover.PRIMARY_FOREST
        gone = was_primary & (after != Cover.PRIMARY_FOREST)
        for name, mask in masks.items():
            start[name][year] = np.count_nonzero(was_primary & mask)
            lost[name][year] = np.count_nonzero(gone & mask)
        record_conversions(first_soc, before, after, soc_before)
    ls = model.landscape
    return RunRecord(
        yearly=model.yearly_table(),
        farms=model.farm_table(),
        years=years,
        landscape_ha=float(ls.cover.size * ls.cell_size_ha),
        cell_size_ha=float(ls.cell_size_ha),
        forest_start=start,
        forest_lost=lost,
        frontier_cells=int(masks["frontier"].sum()),
        soc=summarise_conversions(first_soc, ls.cover, ls.soc_tc_per_ha),
    )


def scenario_key(scenario) -> str:
    """A text that is equal for scenarios that run the same (for reusing runs)."""
    return json.dumps(scenario.to_dict(), sort_keys=True, default=str)


def run_replicates(scenario, n: int, years: int, cache: dict | None = None) -> list[RunRecord]:
    """Run replicates 0..n-1 of a scenario (reusing runs of an equal scenario).

    Parameters
    ----------
    scenario : landsim.scenario.Scenario
    n : int
        Number of replicates.
    years : int
    cache : dict, optional
        Runs by :func:`scenario_key`, filled and reused.

    Returns
    -------
    list of RunRecord
    """
    key = (scenario_key(scenario), n, years)
    if cache is not None and key in cache:
        return cache[key]
    runs = [run_replicate(scenario, s, years) for s in replicate_streams(scenario.seed, n)]
    if cache is not None:
        cache[key] = runs
    return runs


def build_variants(base, variants=VARIANTS) -> tuple[dict, list[str]]:
    """The scenario of each variant row, skipping rows the schema rejects.

    Parameters
    ----------
    base : landsim.scenario.Scenario
    variants : sequence of (str, dict)
        Rows of a name and dotted overrides.

    Returns
    -------
    scenarios : dict of str to Scenario
        The rows that validate, in order.
    skipped : list of str
        A note for each row skipped.
    """
    from landsim.errors import ScenarioError

    scenarios, skipped = {}, []
    for name, overrides in variants:
        try:
            scenarios[name] = base.with_overrides(dict(overrides))
        except ScenarioError as exc:
            note = f"variant {name!r} skipped: " + "; ".join(f"{k}: {m}" for k, m in exc.problems)
            print(note, file=sys.stderr)
            skipped.append(note)
    return scenarios, skipped


# ========================================================================= summaries


@dataclass(frozen=True)
class Summary:
    """A quantity across replicates: the mean and the 2.5-97.5 % range."""

    mean: float
    low: float
    high: float
    n: int

    def text(self, digits: int = 2, unit: str = "") -> str:
        """``mean [low-high] unit``, or ``n/a`` when nothing was measured."""
        if not np.isfinite(self.mean):
            return "n/a"
        fmt = f"{{:,.{digits}f}}"
        return f"{fmt.format(self.mean)} [{fmt.format(self.low)} to {fmt.format(self.high)}]" + (
            f" {unit}" if unit else ""
        )


def summarise(values) -> Summary:
    """Mean and 2.5-97.5 % range of the finite values across replicates.

    Parameters
    ----------
    values : array_like
        One value per replicate (NaN values are left out).

    Returns
    -------
    Summary
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return Summary(np.nan, np.nan, np.nan, 0)
    low, high = np.percentile(x, [2.5, 97.5])
    return Summary(float(x.mean()), float(low), float(high), int(x.size))


def loss_rate(start: np.ndarray, lost: np.ndarray) -> float:
    """Mean over years of the yearly loss as a share of the stock at the start (%/yr).

    Years with no primary forest at their start are left out.

    Parameters
    ----------
    start, lost : ndarray
        Primary forest cells at the start of each year and lost during it.

    Returns
    -------
    float
        Percent per year (NaN if no year had primary forest).
    """
    start = np.asarray(start, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(start > 0, np.asarray(lost) / start, np.nan)
    return float(np.nanmean(rates) * 100) if np.isfinite(rates).any() else np.nan


def measure_loss_rates(runs: list[RunRecord]) -> dict[str, Summary]:
    """Primary forest loss rate (%/yr) on frontier cells and over the landscape.

    Returns
    -------
    dict of str to Summary
        Keys ``frontier`` and ``landscape``.
    """
    return {
        name: summarise([loss_rate(r.forest_start[name], r.forest_lost[name]) for r in runs])
        for name in ("frontier", "landscape")
    }


def measure_rate_by_period(runs: list[RunRecord], length: int = 10) -> dict[str, Summary]:
    """Frontier loss rate (%/yr) over consecutive periods of ``length`` years.

    Returns
    -------
    dict of str to Summary
        Keyed ``"years a-b"``; the last period may be shorter.
    """
    years = runs[0].years
    out = {}
    for first in range(0, years, length):
        last = min(first + length, years)
        out[f"years {first + 1}-{last}"] = summarise(
            [
                loss_rate(
                    r.forest_start["frontier"][first:last], r.forest_lost["frontier"][first:last]
                )
                for r in runs
            ]
        )
    return out


def window_means(yearly: pd.DataFrame, column: str, early: int) -> tuple[float, float]:
    """Mean of a yearly column over years 1..early and over the later years.

    Parameters
    ----------
    yearly : pandas.DataFrame
    column : str
    early : int
        Last year of the early window.

    Returns
    -------
    (float, float)
        Early and late means (NaN for an empty window).
    """
    year = yearly["year"].to_numpy()
    values = yearly[column].to_numpy(dtype=float)
    early_values = values[(year >= 1) & (year <= early)]
    late_values = values[year > early]
    return (
        float(early_values.mean()) if early_values.size else np.nan,
        float(late_values.mean()) if late_values.size else np.nan,
    )


def measure_startup(runs: list[RunRecord], early: int = EARLY_YEARS) -> dict[str, Summary]:
    """The start-up pulse: yearly means in years 1..early against the later years.

    Returns
    -------
    dict of str to Summary
        ``<quantity>_early``, ``<quantity>_late`` and ``abandoned_ratio`` (early over
        late abandonment), for ``abandoned_ha``, ``deforestation_ha``,
        ``forest_area_ha``, ``forest_change_ha`` (the year's net change of forest
        area) and ``frontier_rate`` (%/yr).
    """
    values: dict[str, list[float]] = {}
    for run in runs:
        yearly = run.yearly.copy()
        yearly["forest_change_ha"] = yearly["forest_area_ha"].diff()
        for column in ("abandoned_ha", "deforestation_ha", "forest_area_ha", "forest_change_ha"):
            a, b = window_means(yearly, column, early)
            values.setdefault(f"{column}_early", []).append(a)
            values.setdefault(f"{column}_late", []).append(b)
        a, b = values["abandoned_ha_early"][-1], values["abandoned_ha_late"][-1]
        values.setdefault("abandoned_ratio", []).append(a / b if b > 0 else np.nan)
        start, lost = run.forest_start["frontier"], run.forest_lost["frontier"]
        values.setdefault("frontier_rate_early", []).append(loss_rate(start[:early], lost[:early]))
        values.setdefault("frontier_rate_late", []).append(loss_rate(start[early:], lost[early:]))
    return {key: summarise(v) for key, v in values.items()}


def cleared_systems() -> list:
    """The land-use systems that are not forest."""
    from landsim.model.state import SYSTEMS

    return [s for s in SYSTEMS if not s.forest]


def measure_cover(runs: list[RunRecord]) -> dict:
    """Land cover at the end by system, and the largest cleared land use.

    Returns
    -------
    dict
        ``areas``: system name -> Summary (ha); ``total``: Summary of their sum (ha);
        ``landscape_ha``: the landscape's area; ``largest``: Counter of the largest
        non-forest system across replicates.
    """
    from landsim.model.state import SYSTEMS

    areas = {s.name: [r.yearly[f"area_{s.name}_ha"].iloc[-1] for r in runs] for s in SYSTEMS}
    totals = np.sum([areas[s.name] for s in SYSTEMS], axis=0)
    cleared = [s.name for s in cleared_systems()]
    largest = Counter(max(cleared, key=lambda name, i=i: areas[name][i]) for i in range(len(runs)))
    return {
        "areas": {name: summarise(v) for name, v in areas.items()},
        "total": summarise(totals),
        "landscape_ha": runs[0].landscape_ha,
        "largest": largest,
    }


def off_farm_columns(yearly: pd.DataFrame) -> list[str]:
    """Yearly columns about off-farm income or wages, if the model records any."""
    return [c for c in yearly.columns if "off_farm" in c or "wage" in c]


def measure_income(runs: list[RunRecord]) -> dict:
    """Household net income per year and per ha of farm land.

    Mean, median and 10th percentile across farms are the model's yearly indicators
    (``income_mean_usd``, ``income_median_usd``, ``income_p10_usd``) averaged over
    years 1..end. Income per ha is each farm's mean yearly net income (cumulative
    net income over the years) over its area at the end, averaged across farms.

    Returns
    -------
    dict
        Summaries ``mean``, ``median``, ``p10`` (USD/farm/yr), ``per_ha`` and
        ``per_ha_median`` (USD/ha/yr); ``off_farm``: the off-farm columns found;
        ``off_farm_share``: Summary of a share column, if one exists.
    """
    out: dict = {}
    for stat in ("mean", "median", "p10"):
        out[stat] = summarise(
            [r.yearly[f"income_{stat}_usd"].iloc[1:].mean(skipna=True) for r in runs]
        )
    per_ha = []
    for run in runs:
        area = run.farms["area_ha"].to_numpy(dtype=float)
        income = run.farms["cumulative_income_usd"].to_numpy(dtype=float) / run.years
        per_ha.append(np.where(area > 0, income / np.where(area > 0, area, 1.0), np.nan))
    out["per_ha"] = summarise([np.nanmean(x) for x in per_ha])
    out["per_ha_median"] = summarise([np.nanmedian(x) for x in per_ha])
    columns = off_farm_columns(runs[0].yearly)
    out["off_farm"] = columns
    out["off_farm_share"] = (
        summarise([off_farm_share_percent(r.yearly) for r in runs])
        if "off_farm_income_mean_usd" in columns
        else None
    )
    return out


def off_farm_share_percent(yearly: pd.DataFrame) -> float:
    """Off-farm wages as a share of household net income (%), years 1..end: the
    ratio of the yearly means (``off_farm_income_mean_usd`` over
    ``income_mean_usd``), summed over the years."""
    years = yearly.iloc[1:]
    return 100.0 * years["off_farm_income_mean_usd"].sum() / years["income_mean_usd"].sum()


def primary_forest_loss(run: RunRecord) -> float:
    """Primary forest lost over the run (ha): the area at the start less at the end."""
    area = run.yearly["area_primary_forest_ha"]
    return float(area.iloc[0] - area.iloc[-1])


def measure_price_effect(by_variant: dict[str, list[RunRecord]], contrast=PRICE_CONTRAST) -> dict:
    """Primary forest loss per variant, and the paired difference of the contrast.

    Parameters
    ----------
    by_variant : dict of str to list of RunRecord
        Runs of each variant, replicate by replicate on the same streams.
    contrast : (str, str)
        The high and low variant names.

    Returns
    -------
    dict
        ``loss``: variant -> Summary (ha over the run); ``difference``: Summary of
        high - low per replicate (None if a side is missing); ``positive``: replicates
        with a positive difference.
    """
    losses = {name: [primary_forest_loss(r) for r in runs] for name, runs in by_variant.items()}
    out: dict = {"loss": {name: summarise(v) for name, v in losses.items()}}
    high, low = contrast
    if high in losses and low in losses:
        diff = np.subtract(losses[high], losses[low])
        out["difference"] = summarise(diff)
        out["positive"] = int((diff > 0).sum())
        out["replicates"] = int(diff.size)
    else:
        out["difference"] = None
    out["contrasts"] = {}
    for hi, lo in PRICE_CONTRASTS:
        if hi in losses and lo in losses:
            diff = np.subtract(losses[hi], losses[lo])
            out["contrasts"][(hi, lo)] = (summarise(diff), int((diff > 0).sum()), diff.size)
    return out


def measure_adoption(runs: list[RunRecord]) -> dict[str, dict[str, Summary]]:
    """Farms holding each perennial system at the end, and soil carbon of the cells
    converted to it.

    Returns
    -------
    dict of str to dict
        Per system: ``farms`` (count), ``share`` (of farms, %), ``soc_before``,
        ``soc_after`` (tC/ha), ``cells`` (converted cells) and ``still`` (of them,
        holding the system at the end).
    """
    out = {}
    for system in perennial_systems():
        column = f"adopters_{system.name}"
        farms = [r.yearly[column].iloc[-1] for r in runs if column in r.yearly]
        n_farms = [len(r.farms) for r in runs if column in r.yearly]
        soc = [r.soc[system.name] for r in runs]
        out[system.name] = {
            "farms": summarise(farms),
            "share": summarise(np.divide(farms, n_farms) * 100 if farms else []),
            "soc_before": summarise([s["before"] for s in soc]),
            "soc_after": summarise([s["after"] for s in soc]),
            "cells": summarise([s["cells"] for s in soc]),
            "still": summarise([s["still"] for s in soc]),
        }
    return out


# ========================================================================== the report


def verdict_band(summary: Summary, low: float, high: float) -> str:
    """Whether the mean lies in ``[low, high]``: yes, or no with the side."""
    if not np.isfinite(summary.mean):
        return "n/a"
    if low <= summary.mean <= high:
        return "yes"
    return "no (above)" if summary.mean > high else "no (below)"


def verdict_sign(summary: Summary | None) -> str:
    """Whether a difference is positive: yes (whole range), mixed, or no."""
    if summary is None or not np.isfinite(summary.mean):
        return "n/a"
    if summary.low > 0:
        return "yes"
    return "mixed (range includes 0)" if summary.mean > 0 else "no"


def verdict_largest(largest: Counter, expected: str) -> str:
    """Whether the most common largest cleared use is the expected one."""
    name, _ = largest.most_common(1)[0]
    if name == expected:
        return "yes"
    known = {s.name for s in cleared_systems()}
    return "no" + ("" if expected in known else f" (the model has no {expected} system)")


def describe_largest(largest: Counter) -> str:
    """``name (k/n replicates)`` for each system that was the largest."""
    n = sum(largest.values())
    return ", ".join(f"{name} ({k}/{n})" for name, k in largest.most_common())


def comparison_rows(results: dict) -> list[tuple[str, str, str, str]]:
    """The rows of the comparison table: quantity, observed, landsim, inside band."""
    rates, income, price = results["rates"], results["income"], results["price"]
    rows = [
        (
            "primary-forest loss on frontier cells, %/yr",
            OBSERVED["frontier_rate"]["text"],
            rates["frontier"].text(2),
            verdict_band(
                rates["frontier"],
                OBSERVED["frontier_rate"]["low"],
                OBSERVED["frontier_rate"]["high"],
            ),
        ),
        (
            "primary-forest loss over the whole landscape, %/yr",
            OBSERVED["landscape_rate"]["text"],
            rates["landscape"].text(2),
            verdict_band(
                rates["landscape"],
                OBSERVED["landscape_rate"]["low"],
                OBSERVED["landscape_rate"]["high"],
            ),
        ),
    ]
    for scenario, cover in results["cover"].items():
        key = f"largest_cleared_{scenario}"
        if key in OBSERVED:
            rows.append(
                (
                    f"largest cleared land use at the end ({scenario})",
                    OBSERVED[key]["text"],
                    describe_largest(cover["largest"]),
                    verdict_largest(cover["largest"], OBSERVED[key]["expected"]),
                )
            )
    rows += [
        (
            "net farm income per ha of farm land, USD/ha/yr (mean over farms)",
            OBSERVED["income_per_ha"]["text"],
            income["per_ha"].text(1),
            verdict_band(
                income["per_ha"],
                OBSERVED["income_per_ha"]["low"],
                OBSERVED["income_per_ha"]["high"],
            ),
        ),
        (
            "share of household income from off-farm work",
            OBSERVED["off_farm_share"]["text"],
            describe_off_farm(income),
            "no (not modelled)"
            if income["off_farm_share"] is None
            else verdict_band(
                income["off_farm_share"],
                OBSERVED["off_farm_share"]["low"],
                OBSERVED["off_farm_share"]["high"],
            ),
        ),
    ]
    high, low = PRICE_CONTRAST
    rows.append(
        (
            f"primary-forest loss over the run, {high} minus {low}, ha (same seeds)",
            OBSERVED["price_effect"]["text"],
            "n/a (a variant was skipped)"
            if price["difference"] is None
            else price["difference"].text(0)
            + f"; positive in {price['positive']}/{price['replicates']}",
            verdict_sign(price["difference"]),
        )
    )
    for name, adoption in results["adoption"].items():
        if not adoption["cells"].mean > 0:
            continue  # no cell became this system: nothing to compare (see the details)
        before, after = adoption["soc_before"], adoption["soc_after"]
        changed = (
            "n/a"
            if not (np.isfinite(before.mean) and np.isfinite(after.mean))
            else ("yes" if after.mean > before.mean else "no")
        )
        rows.append(
            (
                f"soil organic carbon of cells converted to {name}: at conversion -> "
                "at the end, tC/ha",
                OBSERVED["soc_change"]["text"],
                f"{before.text(1)} -> {after.text(1)}",
                changed,
            )
        )
    return rows


def describe_off_farm(income: dict) -> str:
    """The model's off-farm income, as far as its yearly columns say."""
    if income["off_farm_share"] is not None:
        return income["off_farm_share"].text(1)
    if income["off_farm"]:
        return "columns " + ", ".join(f"`{c}`" for c in income["off_farm"]) + " (no share)"
    return "0 % (not modelled: farm income only)"


def markdown_table(header: list[str], rows: list, align: str | None = None) -> str:
    """A Markdown table."""
    align = align or "|".join("---" for _ in header)
    lines = ["| " + " | ".join(header) + " |", "|" + align + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_details(results: dict, early: int) -> str:
    """The detail tables under the comparison."""
    from landsim.model.state import SYSTEMS

    parts = []
    names = list(results["cover"])
    rows = [
        [s.name, *(results["cover"][n]["areas"][s.name].text(0) for n in names)] for s in SYSTEMS
    ]
    rows.append(["all systems", *(results["cover"][n]["total"].text(0) for n in names)])
    rows.append(
        ["landscape area", *(f"{results['cover'][n]['landscape_ha']:,.0f}" for n in names)]
    )
    parts.append(
        "**Land cover at the end, ha**\n\n" + markdown_table(["system", *names], rows) + "\n"
    )

    startup = results["startup"]
    labels = {
        "abandoned_ha": "annual-crop land abandoned to regrowth, ha/yr",
        "deforestation_ha": "primary forest cleared, ha/yr",
        "forest_area_ha": "forest area (primary + secondary), ha",
        "forest_change_ha": "net change of forest area, ha/yr",
    }
    rows = [
        [label, startup[f"{key}_early"].text(0), startup[f"{key}_late"].text(0)]
        for key, label in labels.items()
    ]
    rows.append(["abandonment, early over late (ratio)", startup["abandoned_ratio"].text(2), ""])
    rows.append(
        [
            "primary-forest loss on frontier cells, %/yr",
            startup["frontier_rate_early"].text(2),
            startup["frontier_rate_late"].text(2),
        ]
    )
    parts.append(
        f"**Start-up pulse (default scenario): yearly means, years 1-{early} against "
        f"years {early + 1}-{results['years']}**\n\n"
        + markdown_table(["quantity", f"years 1-{early}", "later years"], rows)
        + "\n"
    )

    rows = [[period, s.text(2)] for period, s in results["periods"].items()]
    parts.append(
        "**Primary-forest loss on frontier cells by period (default scenario), %/yr**\n\n"
        + markdown_table(["period", "loss rate"], rows)
        + "\n"
    )

    income = results["income"]
    rows = [
        ["mean across farms", income["mean"].text(0)],
        ["median across farms", income["median"].text(0)],
        ["10th percentile across farms", income["p10"].text(0)],
        ["per ha of farm land, mean over farms (USD/ha/yr)", income["per_ha"].text(1)],
        ["per ha of farm land, median over farms (USD/ha/yr)", income["per_ha_median"].text(1)],
    ]
    parts.append(
        "**Household net income (default scenario), USD per farm and year, averaged "
        "over the years**\n\n" + markdown_table(["statistic", "landsim"], rows) + "\n"
    )

    price = results["price"]
    rows = [[name, s.text(0)] for name, s in price["loss"].items()]
    text = (
        "**Price variants (default scenario, same seeds): primary forest lost over "
        "the run, ha**\n\n" + markdown_table(["variant", "primary forest lost"], rows) + "\n"
    )
    rows = [
        [f"{hi} minus {lo}", d.text(0), f"{positive}/{n}"]
        for (hi, lo), (d, positive, n) in price.get("contrasts", {}).items()
    ]
    if rows:
        text += (
            "\n**The sign of the cocoa price effect by setting: the paired difference in "
            "primary forest lost, ha**\n\n"
            + markdown_table(["contrast", "difference", "replicates above 0"], rows)
            + "\n"
        )
    if results["skipped"]:
        text += "\n" + "\n".join(f"- {note}" for note in results["skipped"]) + "\n"
    parts.append(text)

    rows = []
    for name, a in results["adoption"].items():
        rows.append(
            [
                name,
                a["farms"].text(0),
                a["share"].text(1),
                a["cells"].text(0),
                a["still"].text(0),
                a["soc_before"].text(1),
                a["soc_after"].text(1),
            ]
        )
    parts.append(
        "**Perennial systems at the end (default scenario)**\n\n"
        + markdown_table(
            [
                "system",
                "farms holding it",
                "share of farms, %",
                "cells converted during the run",
                "of them, still that system",
                "SOC at conversion, tC/ha",
                "SOC at the end, tC/ha",
            ],
            rows,
        )
        + "\n"
    )
    return "\n".join(parts)


def render_notes(results: dict) -> str:
    """Short generated notes on the rows outside their band."""
    notes = []
    rates = results["rates"]
    frontier, landscape = rates["frontier"], rates["landscape"]
    band = OBSERVED["frontier_rate"]
    if np.isfinite(frontier.mean) and not band["low"] <= frontier.mean <= band["high"]:
        side = band["high"] if frontier.mean > band["high"] else band["low"]
        notes.append(
            f"Frontier cells lose {frontier.mean:.2f} %/yr of their primary forest, "
            f"{frontier.mean / side:.1f} times the {'top' if frontier.mean > side else 'bottom'}"
            " of the roadside band."
        )
    band = OBSERVED["landscape_rate"]
    if np.isfinite(landscape.mean) and landscape.mean > band["high"]:
        notes.append(
            f"The landscape-wide rate ({landscape.mean:.2f} %/yr) is "
            f"{landscape.mean / band['high']:.1f} times the top of the department-wide band; "
            f"the frontier cells are {results['frontier_share']:.0f} % of the landscape, "
            "far more than in the department."
        )
    for scenario, cover in results["cover"].items():
        key = f"largest_cleared_{scenario}"
        if key in OBSERVED:
            name = cover["largest"].most_common(1)[0][0]
            if name != OBSERVED[key]["expected"]:
                notes.append(
                    f"In {scenario}, the largest cleared use at the end is {name}, not "
                    f"{OBSERVED[key]['expected']}."
                )
    income = results["income"]["per_ha"]
    band = OBSERVED["income_per_ha"]
    if np.isfinite(income.mean) and not band["low"] <= income.mean <= band["high"]:
        notes.append(
            f"Net farm income per ha ({income.mean:.0f} USD/ha/yr) is outside the "
            f"{band['low']:.1f}-{band['high']:.1f} USD/ha/yr of the survey (mean +- 1 sd)."
        )
    if not results["income"]["off_farm"]:
        notes.append(
            "Households earn nothing off the farm in the model, against about half of "
            "rural household income in Peru."
        )
    elif results["income"]["off_farm_share"] is None:
        notes.append(
            "The yearly table has off-farm columns but no share of income; compare by hand."
        )
    diff = results["price"]["difference"]
    if diff is not None and verdict_sign(diff) != "yes":
        price = results["price"]
        lead = (
            "Higher cocoa prices lower primary forest loss"
            if diff.mean < 0
            else "The cocoa price effect is positive on average but not in every replicate"
        )
        notes.append(
            f"{lead}: the difference "
            f"{PRICE_CONTRAST[0]} minus {PRICE_CONTRAST[1]} is {diff.mean:,.0f} ha on "
            f"average and positive in {price['positive']} of {price['replicates']} replicates."
        )
    return "\n".join(f"- {n}" for n in notes) if notes else "- Every row is inside its band."


def git_commit() -> tuple[str, bool]:
    """The short commit of the tree and whether ``src/`` has uncommitted changes."""

    def git(*args: str) -> str:
        out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return out.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit, bool(git("status", "--porcelain", "src"))


def describe_seeds(seeds: dict[str, int]) -> str:
    """``seed 0 in every scenario``, or the seed of each scenario."""
    if len(set(seeds.values())) == 1:
        return f"seed {next(iter(seeds.values()))} in every scenario"
    return ", ".join(f"seed {seed} in {name}" for name, seed in seeds.items())


def render(results: dict, command: str) -> str:
    """The generated section of docs/validation.md."""
    commit, dirty = git_commit()
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    n, years = results["seeds"], results["years"]
    head = (
        "## Measured\n\n"
        f"Generated by `{command}` on {today}, commit `{commit}`"
        + (" (with uncommitted changes in src/)" if dirty else "")
        + f": {n} replicates (streams `SeedSequence(seed).spawn({n})`; "
        + describe_seeds(results["root_seeds"])
        + f"), {years} years, {results['seconds']:.0f} s. Values are the mean "
        "across replicates with the 2.5-97.5 % range of the replicates in brackets; "
        "the default scenario unless a row names another. Frontier cells: "
        f"{results['frontier_ha']:,.0f} ha ({results['frontier_share']:.0f} % of the "
        "landscape).\n\n"
    )
    table = markdown_table(
        ["quantity", "observed (source)", "landsim (mean [2.5-97.5 %])", "inside band?"],
        comparison_rows(results),
    )
    return (
        head
        + table
        + "\n\n"
        + render_details(results, results["early"])
        + "\n**Generated notes**\n\n"
        + render_notes(results)
        + "\n"
    )


# ============================================================================== main


def load_cover_scenarios(paths: dict[str, str | None] = COVER_SCENARIOS) -> dict:
    """The scenarios of :data:`COVER_SCENARIOS` (paths relative to the repository)."""
    from landsim.scenario import load_scenario

    return {
        name: load_scenario(None if path is None else ROOT / path) for name, path in paths.items()
    }


def measure(
    seeds: int,
    years: int | None = None,
    early: int = EARLY_YEARS,
    scenarios: dict | None = None,
    variants=VARIANTS,
) -> dict:
    """Run every scenario and variant and summarise them.

    Parameters
    ----------
    seeds : int
        Replicates per scenario.
    years : int, optional
        Years per run (default: the default scenario's ``years``).
    early : int
        Last year of the start-up window.
    scenarios : dict of str to Scenario, optional
        The scenarios whose land cover is compared; ``"default"`` is the one every
        other measurement uses and the base of the variants (default:
        :func:`load_cover_scenarios`).
    variants : sequence of (str, dict)
        Rows of the price experiment (default :data:`VARIANTS`).

    Returns
    -------
    dict
        The summaries that :func:`render` reports.
    """
    started = time.perf_counter()
    cache: dict = {}
    scenarios = load_cover_scenarios() if scenarios is None else scenarios
    default = scenarios["default"]
    years = years or default.years
    runs = {name: run_replicates(sc, seeds, years, cache) for name, sc in scenarios.items()}
    built, skipped = build_variants(default, variants)
    by_variant = {name: run_replicates(sc, seeds, years, cache) for name, sc in built.items()}
    base = runs["default"]
    frontier_ha = np.mean([r.frontier_cells * r.cell_size_ha for r in base])
    return {
        "seeds": seeds,
        "root_seeds": {name: sc.seed for name, sc in scenarios.items()},
        "years": years,
        "early": early,
        "rates": measure_loss_rates(base),
        "startup": measure_startup(base, early),
        "periods": measure_rate_by_period(base),
        "cover": {name: measure_cover(r) for name, r in runs.items()},
        "income": measure_income(base),
        "price": measure_price_effect(by_variant),
        "adoption": measure_adoption(base),
        "skipped": skipped,
        "frontier_ha": frontier_ha,
        "frontier_share": 100 * frontier_ha / base[0].landscape_ha,
        "seconds": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> None:
    """Command line: measure, print the section, and write it to docs/validation.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=None, help=f"replicates (default {SEEDS})")
    parser.add_argument("--years", type=int, default=None, help="years (default: the scenario's)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SEEDS} replicates")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--output", type=Path, default=DOC, help="file to write the section to")
    args = parser.parse_args(argv)
    seeds = args.seeds or (QUICK_SEEDS if args.quick else SEEDS)
    command = "python benchmarks/frontier.py" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:])
    )
    results = measure(seeds, args.years)
    text = render(results, command)
    print(text)
    if not args.no_write:
        sys.path.insert(0, str(HERE))
        from docsections import replace_section

        args.output.parent.mkdir(parents=True, exist_ok=True)
        replace_section(args.output, SECTION, text)
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
