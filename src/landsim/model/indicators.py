"""Observation (ODD): the yearly record, the collector, and the yearly and farm
tables.

The record is built from blocks (areas, transitions, carbon, income, adoption,
prices, programmes, restoration), each a function of the model after the year's
processes; a model that records only some indicators measures only the blocks that
hold them.
"""

from __future__ import annotations

from copy import deepcopy
from functools import partial

import mesa
import numpy as np

from landsim import carbon
from landsim.economics import income_distribution
from landsim.market import PRODUCTS, UNITS
from landsim.model._fast import count_covers, cover_mask
from landsim.model.processes import restoration
from landsim.model.processes.biomass import CarbonFluxes
from landsim.model.processes.land_change import YearChanges
from landsim.model.state import (
    COVER_NAMES,
    FOREST,
    N_COVERS,
    OPTION_NAMES,
    PERENNIALS,
    PLANTING,
    STAGE2,
)

INCOME_STATS = ("median", "p10", "gini", "poorest_mean")


def read_record(model, key: str):
    """DataCollector model reporter (used through ``functools.partial``, which
    Mesa calls with the model and which pickles)."""
    return model.record[key]


#: Types whose values a collector may store as they are (no copy needed).
_IMMUTABLE = (str, int, float, bool, tuple, np.generic, type(None))


class RecordCollector(mesa.DataCollector):
    """A ``mesa.DataCollector`` that reads the indicators of ``model.record``
    directly: the same values as Mesa's ``collect``, without calling a reporter
    and deep-copying a number per indicator each year.

    Reporters other than ``partial(read_record, key=...)``, and agent reporters,
    are collected by Mesa as usual.
    """

    def collect(self, model) -> None:
        """Collect the model's record (see ``mesa.DataCollector.collect``)."""
        reporters = self.model_reporters
        keys = self._record_keys(reporters)
        if not self._validated or self.agent_reporters or self.agenttype_reporters or None in keys:
            super().collect(model)
            return
        if hasattr(self, "_collection_steps"):
            self._collection_steps.append(model.time)
        record, columns = model.record, self.model_vars
        for var, key in zip(reporters, keys, strict=True):
            value = record[key]
            # As Mesa's collect, store a copy of anything mutable.
            columns[var].append(value if isinstance(value, _IMMUTABLE) else deepcopy(value))

    def _record_keys(self, reporters: dict) -> list:
        """The ``model.record`` key each reporter reads (None for another kind of
        reporter), found again only when the reporters change."""
        current = tuple(reporters.values())
        cached = getattr(self, "_record_keys_cache", None)
        if cached is None or cached[0] != current:
            keys = [
                r.keywords["key"] if isinstance(r, partial) and r.func is read_record else None
                for r in current
            ]
            cached = (current, keys)
            self._record_keys_cache = cached
        return cached[1]


def _mean(values: np.ndarray) -> float:
    """``float(values.mean())`` of a non-empty float64 array: its sum (the same
    reduction) divided by its size, as numpy's mean does, without the call's
    overhead."""
    return float(values.sum() / values.size)


def _areas(model, shared: dict) -> np.ndarray:
    """Area of each cover (ha), computed once per record."""
    if "areas" not in shared:
        shared["areas"] = count_covers(model.landscape.cover) * model.landscape.cell_size_ha
    return shared["areas"]


def _programme_record(model, shared: dict) -> dict:
    if "programme" not in shared:
        shared["programme"] = model.programmes.measure(model.year)
    return shared["programme"]


def record_areas(model, transitions, fluxes, shared) -> dict:
    areas = _areas(model, shared)
    rec = {f"area_{name}_ha": float(a) for name, a in zip(COVER_NAMES, areas, strict=True)}
    rec["forest_area_ha"] = float(areas[list(FOREST)].sum())
    return rec


def record_transitions(model, transitions: YearChanges | None, fluxes, shared) -> dict:
    t = transitions
    return (
        {
            "deforestation_ha": t.deforestation_ha if t else 0.0,
            "cumulative_deforestation_ha": model._cumulative_deforestation_ha,
            "secondary_cleared_ha": t.secondary_cleared_ha if t else 0.0,
            "claimed_ha": t.claimed_ha if t else 0.0,
            "abandoned_ha": t.abandoned_ha if t else 0.0,
            "abandoned_pasture_ha": t.abandoned_pasture_ha if t else 0.0,
            "restored_pasture_ha": t.converted_ha["restored_pasture"] if t else 0.0,
            "cleared_to_pasture_ha": t.cleared_to_pasture_ha if t else 0.0,
            "cleared_to_cocoa_ha": t.cleared_to_cocoa_ha if t else 0.0,
            "farms_abandoning": int(model.farmers.abandoned.sum()),
            "settlers_arrived": model._settlers_arrived,
            "n_farms": model.farmers.n,
        }
        | {f"converted_{s.name}_ha": t.converted_ha[s.name] if t else 0.0 for s in PERENNIALS}
        | {
            f"deforestation_{group}_ha": getattr(t, f"deforestation_{group}_ha") if t else 0.0
            for group in ("enrolled", "not_enrolled", "unowned")
        }
    )


def record_carbon(model, transitions, fluxes, shared) -> dict:
    ls, cell = model.landscape, model.landscape.cell_size_ha
    biomass = float(ls.biomass_tc_per_ha.sum() * cell)
    soil = float(ls.soc_tc_per_ha.sum() * cell)
    removals = fluxes.biomass_removals_tco2e + fluxes.soil_removals_tco2e
    emissions = fluxes.biomass_emissions_tco2e + fluxes.soil_emissions_tco2e
    # Biomass carbon by land-use system (tC), planted forest apart from the
    # secondary forest of regrowth: the pools of permanence accounting.
    pool = np.where(ls.restoration == PLANTING, N_COVERS, ls.cover).ravel()
    by_pool = np.bincount(pool, ls.biomass_tc_per_ha.ravel(), N_COVERS + 1) * cell
    return {
        "carbon_stock_tc": biomass + soil,
        "biomass_carbon_tc": biomass,
        "soil_carbon_tc": soil,
        **{f"biomass_{name}_tc": float(by_pool[c]) for c, name in enumerate(COVER_NAMES)},
        "biomass_planting_tc": float(by_pool[N_COVERS]),
        "planting_removals_tco2e": fluxes.planting_removals_tco2e,
        "removals_tco2e": removals,
        "emissions_tco2e": emissions,
        "net_emissions_tco2e": emissions - removals,
        "biomass_emissions_tco2e": fluxes.biomass_emissions_tco2e,
        "soil_emissions_tco2e": fluxes.soil_emissions_tco2e,
        "soc_change_per_mille": soc_change_per_mille(soil, fluxes) if transitions else np.nan,
    }


def soc_change_per_mille(soil_tc: float, fluxes) -> float:
    """The year's change of the landscape's soil organic carbon relative to its
    stock a year before, per mille: the indicator of the "4 per 1000" initiative
    (a yearly rise of 4 per mille of the stock; the Climate-Soil seed). The change
    is the soil removals less emissions (stock change = removals - emissions)."""
    change_tc = (fluxes.soil_removals_tco2e - fluxes.soil_emissions_tco2e) / carbon.CO2_PER_C
    before = soil_tc - change_tc
    return 1000.0 * change_tc / before if before > 0 else np.nan


def record_income(model, transitions, fluxes, shared) -> dict:
    fs = model.farmers
    income = fs.net_income_usd
    has_income = transitions is not None and fs.n > 0
    spread = income_distribution(income) if has_income else dict.fromkeys(INCOME_STATS, np.nan)
    return {
        "income_mean_usd": _mean(income) if has_income else np.nan,
        "income_median_usd": spread["median"],
        "income_p10_usd": spread["p10"],
        "income_gini": spread["gini"],
        "income_poorest20_usd": spread["poorest_mean"],
        "payments_mean_usd": _mean(fs.payments_usd) if fs.n else np.nan,
        "savings_mean_usd": _mean(fs.savings_usd) if fs.n else np.nan,
        "investment_usd": float(fs.investment_usd.sum()),
        "hired_days_mean": _mean(fs.hired_days) if fs.n else np.nan,
        "off_farm_income_mean_usd": _mean(fs.off_farm_income_usd) if fs.n else np.nan,
    }


def record_adoption(model, transitions, fluxes, shared) -> dict:
    fs = model.farmers
    owned, o = model._ownership.owned, model._ownership.owned_farm
    c = model.landscape.cover.ravel()[owned]
    # The farms holding a cell of each system, from the few perennial cells.
    perennial = np.flatnonzero(cover_mask(c, [s.cover for s in PERENNIALS]))
    c, o = c[perennial], o[perennial]
    rec = {}
    for system in PERENNIALS:
        has = np.zeros(fs.n, dtype=bool)
        has[o[c == system.cover]] = True
        rec[f"adopters_{system.name}"] = int(np.count_nonzero(has))
    rec["knowledge_mean"] = _mean(fs.knowledge) if fs.n else np.nan
    counts = _option_counts(fs.last_option) if transitions is not None else None
    for option in STAGE2:
        rec[f"chose_{OPTION_NAMES[option]}"] = 0 if counts is None else int(counts[option])
    return rec


def _option_counts(chosen: np.ndarray):
    """How many farmers chose each option (indexable by option code)."""
    if chosen.size and chosen.min() < 0:  # not an option code: count by comparing
        return {option: (chosen == option).sum() for option in STAGE2}
    return np.bincount(chosen, minlength=max(STAGE2) + 1)


def record_prices(model, transitions, fluxes, shared) -> dict:
    return {
        f"{product}_price_{UNITS[product]}": model.market.price(product, model.year)
        for product in PRODUCTS
    }


def record_programmes(model, transitions, fluxes, shared) -> dict:
    return _programme_record(model, shared)


def record_restoration(model, transitions, fluxes, shared) -> dict:
    """Restoration indicators in the manner of FERM / Target 2 monitoring: land
    once cleared counts as degraded; the area under each restoration intervention
    on the map (``restoration``; planting among them while it stands), and the
    planting programmes paid for (collective money / cost per ha, whether or not
    it could be planted yet)."""
    areas = _areas(model, shared)
    degraded = float(areas[1:].sum())
    placed = restoration.restoration_areas_ha(model.landscape)
    rec = {f"restoration_{name}_ha": ha for name, ha in placed.items()}
    rec["reforestation_funded_ha"] = _programme_record(model, shared)["reforestation_ha"]
    rec["degraded_land_ha"] = degraded
    total = np.count_nonzero(model.landscape.restoration) * model.landscape.cell_size_ha
    rec["degraded_share_under_restoration"] = total / degraded if degraded else 0.0
    return rec


#: The blocks of the yearly record, in the order of its columns.
RECORD_BLOCKS = (
    record_areas,
    record_transitions,
    record_carbon,
    record_income,
    record_adoption,
    record_prices,
    record_programmes,
    record_restoration,
)


def measure(model, blocks, keys, transitions: YearChanges | None, fluxes: CarbonFluxes) -> dict:
    """The indicators of the current year (one row of the yearly table): all of
    them, or ``year`` and ``keys``.

    ``transitions`` holds the year's land-use changes (None before the first year),
    ``fluxes`` the biomass and soil removals and emissions (tCO2e).
    """
    shared: dict = {}
    rec: dict = {"year": model.year}
    for block in blocks:
        rec |= block(model, transitions, fluxes, shared)
    if keys is not None:
        rec = {key: rec[key] for key in keys}
    return rec


def choose_blocks(model, full: dict, indicators: list[str]) -> tuple[tuple, list[str]]:
    """The record blocks that hold ``indicators`` (and ``year``) and the record's keys,
    given a whole record ``full``."""
    wanted = set(indicators) | {"year"}
    unknown = [key for key in indicators if key not in full]
    if unknown:
        raise ValueError(
            f"unknown indicator {unknown[0]!r}; the yearly indicators are: {', '.join(full)}"
        )
    blocks = tuple(
        block for block in RECORD_BLOCKS if wanted & set(block(model, None, CarbonFluxes(), {}))
    )
    return blocks, [key for key in full if key in wanted]


def yearly_table(datacollector, columns: list[str] | None = None):
    """The yearly indicators as a tidy pandas DataFrame (one row per year): every
    indicator, or ``year`` and ``columns``."""
    import pandas as pd

    if columns is None:
        return datacollector.get_model_vars_dataframe().reset_index(drop=True)
    collected = datacollector.model_vars
    unknown = [c for c in columns if c not in collected]
    if unknown:
        raise KeyError(f"no yearly column {unknown[0]!r}; available: {', '.join(collected)}")
    return pd.DataFrame({c: collected[c] for c in dict.fromkeys(["year", *columns])})


def farm_table(landscape, farmers, programmes):
    """One row per farm: the year it arrived (0: at the start), its area, the
    primary forest it cleared over the run (ha,
    own lot and claimed land), the unowned land it claimed (ha), its cumulative net
    income and final savings (USD), and whether it was ever enrolled or expelled."""
    import pandas as pd

    fs, ls = farmers, landscape
    area = np.bincount(ls.owner[ls.owner >= 0], minlength=fs.n) * ls.cell_size_ha
    return pd.DataFrame(
        {
            "farm_id": np.arange(fs.n),
            "arrived_year": fs.arrived_year,
            "area_ha": area,
            "deforested_ha": fs.deforested_ha,
            "claimed_ha": fs.claimed_ha,
            "cumulative_income_usd": fs.cumulative_income_usd,
            "savings_usd": fs.savings_usd,
            "ever_enrolled": programmes.ever_enrolled_any(),
            "expelled": programmes.expelled_any(),
        }
    )
