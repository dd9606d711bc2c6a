"""Programme evaluation: a scenario against its counterfactual, with common random numbers.

:func:`compare` runs a scenario (typically one with incentive programmes) and a
counterfactual (typically business as usual) ``replicates`` times. Replicate ``i``
runs both with the same seed, ``numpy.random.SeedSequence(seed).spawn(replicates)[i]``
(common random numbers), through the batch engine (:mod:`landsim.batch`): both
runs share the landscape, the farmers, the price paths and the decision draws, so
the difference between them is the effect of what differs between the scenarios,
not of chance. Effects are computed per
replicate (:data:`METRICS`, documented in ``docs/evaluation.md``) and summarised
across replicates with a t-interval of the mean and the 2.5-97.5 % spread.

The metric functions (:func:`replicate_metrics` and the functions it calls) work
on plain yearly and farm tables, so they can be checked on hand-made frames. A
metric whose input columns are missing is NaN, never an error; a scenario without
programmes has a programme cost of 0, no enrolment, and a NaN cost per tCO2e.

Nothing here prints; figures use matplotlib's Agg canvas without touching pyplot's
global state (matplotlib is imported only when a figure is drawn).
"""

from __future__ import annotations

import json
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from landsim.carbon import CO2_PER_C
from landsim.display import fmt_column, indicator_label
from landsim.outdir import SIGNATURES
from landsim.scenario import Scenario, ScenarioError

#: Per-replicate metrics: name -> (label, unit). Definitions in docs/evaluation.md.
METRICS: dict[str, tuple[str, str]] = {
    "avoided_deforestation_ha": ("avoided deforestation, end of run", "ha"),
    "avoided_deforestation_programme_end_ha": ("avoided deforestation, programme end", "ha"),
    "additional_carbon_tco2e": ("additional carbon, end of run", "tCO2e"),
    "additional_carbon_programme_end_tco2e": ("additional carbon, programme end", "tCO2e"),
    "avoided_deforestation_enrolled_ha": ("avoided deforestation, enrolled farms", "ha"),
    "leakage_ha": ("leakage (non-enrolled farms)", "ha"),
    "leakage_own_lots_ha": ("leakage on own lots", "ha"),
    "leakage_claimed_ha": ("leakage on claimed land", "ha"),
    "leakage_share": ("leakage share", "-"),
    "reversal_share": ("reversal share, deforestation", "-"),
    "carbon_reversal_share": ("reversal share, carbon", "-"),
    "programme_cost_usd": ("programme cost", "USD"),
    "payments_to_farmers_usd": ("payments to farmers", "USD"),
    "collective_spending_usd": ("collective restoration spending", "USD"),
    "establishment_support_usd": ("establishment support", "USD"),
    "net_cost_usd": ("net cost (after repayments)", "USD"),
    "incremental_cost_usd": ("incremental cost", "USD"),
    "cost_per_tco2e": ("cost per tCO2e", "USD/tCO2e"),
    "cost_per_ha_avoided_usd": ("cost per ha avoided", "USD/ha"),
    "income_effect_mean_usd": ("income effect, mean farm", "USD/farm/yr"),
    "income_effect_poorest20_usd": ("income effect, poorest 20 %", "USD/farm/yr"),
    "income_effect_gini": ("effect on income Gini", "-"),
    "enrolled_farms_max": ("enrolment (max farms enrolled)", "farms"),
    "compliance_rate": ("compliance rate", "-"),
    "expelled_farms": ("farms expelled", "farms"),
}

#: Restoration indicators averaged over replicates (scenario run) in ``restoration``.
RESTORATION_COLUMNS = (
    "restoration_regrowth_ha",
    "restoration_agroforestry_ha",
    "restoration_silvopasture_ha",
    "restoration_reforestation_ha",
    "degraded_land_ha",
    "degraded_share_under_restoration",
)

#: The 2 x 2 trajectory figure: column -> panel title (with the unit).
TRAJECTORY_PANELS = {
    c: indicator_label(c)
    for c in (
        "forest_area_ha",
        "cumulative_deforestation_ha",
        "carbon_stock_tc",
        "income_mean_usd",
    )
}

#: The effects bar chart.
EFFECT_PANELS = (
    "avoided_deforestation_ha",
    "additional_carbon_tco2e",
    "leakage_ha",
    "income_effect_mean_usd",
    "income_effect_poorest20_usd",
)

#: What :meth:`Comparison.write` writes (it refuses to overwrite any of them): the
#: tables that mark a directory as a comparison's (``outdir.SIGNATURES``), the
#: manifest and the figures.
COMPARISON_FILES = (*SIGNATURES["comparison"], "manifest.json", "trajectories.png", "effects.png")

#: Columns simulate() adds in front of the model's yearly table.
_RUN_COLUMNS = ("scenario", "seed", "landsim_version")


# --------------------------------------------------------------------------- metric functions


def _at(yearly: pd.DataFrame, column: str, year: int | None) -> float:
    """The value of ``column`` in ``year`` (NaN if the column or year is missing)."""
    if year is None or column not in yearly.columns:
        return math.nan
    values = yearly.loc[yearly["year"] == year, column]
    return float(values.iloc[0]) if len(values) else math.nan


def avoided_ha(scenario_deforestation_ha, counterfactual_deforestation_ha):
    """Avoided deforestation (ha): the counterfactual's cumulative primary-forest
    clearing minus the scenario's (numbers or arrays alike). The one definition, for
    comparisons and for the paired outputs of sensitivity analyses."""
    return counterfactual_deforestation_ha - scenario_deforestation_ha


def additional_tco2e(scenario_stock_tc, counterfactual_stock_tc):
    """Additional carbon (tCO2e): the scenario's carbon stock minus the
    counterfactual's, in tCO2e (numbers or arrays alike)."""
    return (scenario_stock_tc - counterfactual_stock_tc) * CO2_PER_C


def avoided_deforestation(
    yearly: pd.DataFrame, counterfactual: pd.DataFrame, year: int | None
) -> float:
    """Cumulative primary-forest clearing up to ``year``, counterfactual minus scenario (ha)."""
    col = "cumulative_deforestation_ha"
    return avoided_ha(_at(yearly, col, year), _at(counterfactual, col, year))


def additional_carbon(
    yearly: pd.DataFrame, counterfactual: pd.DataFrame, year: int | None
) -> float:
    """Carbon stock in ``year``, scenario minus counterfactual, in tCO2e."""
    col = "carbon_stock_tc"
    return additional_tco2e(_at(yearly, col, year), _at(counterfactual, col, year))


def reversal_share(at_end: float, at_programme_end: float, runs_past_programme: bool) -> float:
    """Share of the gain at programme end lost by the end of the run:
    ``1 - at_end / at_programme_end``; NaN if the run ends at (or before) the
    programme end or there was no gain (``at_programme_end <= 0``)."""
    if not runs_past_programme or not at_programme_end > 0:
        return math.nan
    return 1.0 - at_end / at_programme_end


def cost_per_tco2e(cost_usd, additional_tco2e):
    """Cost per additional tCO2e; NaN where there is no additional carbon (<= 0) or
    the cost is unknown (numbers or arrays alike)."""
    if np.ndim(cost_usd) == 0 and np.ndim(additional_tco2e) == 0:
        if not additional_tco2e > 0 or math.isnan(cost_usd):
            return math.nan
        return cost_usd / additional_tco2e
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.asarray(additional_tco2e) > 0, cost_usd / additional_tco2e, np.nan)


def _flag(farms: pd.DataFrame, column: str, has_programmes: bool) -> pd.Series | None:
    """A boolean farm column; all False when it is missing and there are no
    programmes (nobody can be enrolled); None when it is missing otherwise."""
    if column in farms.columns:
        return farms[column].fillna(False).astype(bool)
    if not has_programmes:
        return pd.Series(False, index=farms.index)
    return None


def leakage(
    farms: pd.DataFrame, counterfactual_farms: pd.DataFrame, *, has_programmes: bool = True
) -> dict[str, float]:
    """Leakage: extra primary-forest clearing by the farms never enrolled.

    Farms are matched by ``farm_id`` (the landscapes are identical under common
    random numbers). With ``d = deforested_ha (scenario) - deforested_ha
    (counterfactual)`` per farm:

    - ``avoided_deforestation_enrolled_ha`` = ``-sum(d)`` over farms ever enrolled
      (gross avoided deforestation on enrolled farms);
    - ``leakage_ha`` = ``sum(d)`` over the farms never enrolled, split with
      ``claimed_ha`` into ``leakage_claimed_ha`` (clearing of claimed, unowned land)
      and ``leakage_own_lots_ha`` (the rest);
    - ``leakage_share`` = leakage / gross avoided deforestation on enrolled farms
      (NaN if that is <= 0).
    """
    out = dict.fromkeys(
        (
            "avoided_deforestation_enrolled_ha",
            "leakage_ha",
            "leakage_own_lots_ha",
            "leakage_claimed_ha",
            "leakage_share",
        ),
        math.nan,
    )
    needed = {"farm_id", "deforested_ha"}
    if not needed <= set(farms.columns) or not needed <= set(counterfactual_farms.columns):
        return out
    enrolled = _flag(farms, "ever_enrolled", has_programmes)
    if enrolled is None:
        return out
    ids, cf_ids = farms["farm_id"].to_numpy(), counterfactual_farms["farm_id"].to_numpy()
    if len(ids) != len(cf_ids) or set(ids) != set(cf_ids):
        return out
    scen = farms.assign(_enrolled=enrolled.to_numpy()).set_index("farm_id")
    cf = counterfactual_farms.set_index("farm_id").reindex(scen.index)
    mask = scen["_enrolled"].to_numpy()
    d = (scen["deforested_ha"] - cf["deforested_ha"]).to_numpy(dtype=float)
    gross = float(-d[mask].sum())
    leak = float(d[~mask].sum())
    out["avoided_deforestation_enrolled_ha"] = gross
    out["leakage_ha"] = leak
    if "claimed_ha" in scen.columns and "claimed_ha" in cf.columns:
        claimed = (scen["claimed_ha"] - cf["claimed_ha"]).to_numpy(dtype=float)
        out["leakage_claimed_ha"] = float(claimed[~mask].sum())
        out["leakage_own_lots_ha"] = leak - out["leakage_claimed_ha"]
    out["leakage_share"] = leak / gross if gross > 0 else math.nan
    return out


def _total(yearly: pd.DataFrame, column: str, has_programmes: bool) -> float:
    """Sum of a programme column over all years; 0 when the column is missing and
    there are no programmes, NaN when it is missing otherwise."""
    if column in yearly.columns:
        return float(yearly[column].sum())
    return 0.0 if not has_programmes else math.nan


def _mean_difference(yearly: pd.DataFrame, counterfactual: pd.DataFrame, column: str) -> float:
    """Mean over years 1..T of (scenario - counterfactual) in ``column``."""
    if column not in yearly.columns or column not in counterfactual.columns:
        return math.nan
    a = yearly.set_index("year")[column]
    b = counterfactual.set_index("year")[column]
    diff = (a - b)[lambda s: s.index >= 1].astype(float)
    return float(diff.mean()) if diff.notna().any() else math.nan


def compliance_rate(yearly: pd.DataFrame) -> float:
    """``1 - sum(violations_detected) / sum(enrolled_farms)`` over years 1..T
    (NaN without enrolled farm-years or without the columns)."""
    if not {"enrolled_farms", "violations_detected"} <= set(yearly.columns):
        return math.nan
    rows = yearly[yearly["year"] >= 1]
    farm_years = float(rows["enrolled_farms"].sum())
    if not farm_years > 0:
        return math.nan
    return 1.0 - float(rows["violations_detected"].sum()) / farm_years


def replicate_metrics(
    yearly: pd.DataFrame,
    counterfactual: pd.DataFrame,
    farms: pd.DataFrame,
    counterfactual_farms: pd.DataFrame,
    *,
    programme_end: int | None = None,
    has_programmes: bool = True,
    counterfactual_has_programmes: bool = False,
) -> dict[str, float]:
    """All :data:`METRICS` of one replicate from the yearly and farm tables of the
    scenario run and the counterfactual run.

    ``programme_end`` is the last contract year of the scenario's programmes (None:
    no programme); ``has_programmes`` / ``counterfactual_has_programmes`` say
    whether a missing programme column means "no programme" (0) or "unknown" (NaN).
    """
    last = int(yearly["year"].max())
    m: dict[str, float] = {}
    m["avoided_deforestation_ha"] = avoided_deforestation(yearly, counterfactual, last)
    m["avoided_deforestation_programme_end_ha"] = avoided_deforestation(
        yearly, counterfactual, programme_end
    )
    m["additional_carbon_tco2e"] = additional_carbon(yearly, counterfactual, last)
    m["additional_carbon_programme_end_tco2e"] = additional_carbon(
        yearly, counterfactual, programme_end
    )
    m |= leakage(farms, counterfactual_farms, has_programmes=has_programmes)
    past = programme_end is not None and last > programme_end
    m["reversal_share"] = reversal_share(
        m["avoided_deforestation_ha"], m["avoided_deforestation_programme_end_ha"], past
    )
    m["carbon_reversal_share"] = reversal_share(
        m["additional_carbon_tco2e"], m["additional_carbon_programme_end_tco2e"], past
    )
    for col in (
        "programme_cost_usd",
        "payments_to_farmers_usd",
        "collective_spending_usd",
        "establishment_support_usd",
    ):
        m[col] = _total(yearly, col, has_programmes)
    repaid = sum(
        float(yearly[col].sum())
        for col in ("loan_repayments_usd", "repayments_usd")
        if col in yearly.columns
    )
    m["net_cost_usd"] = m["programme_cost_usd"] - repaid
    cf_cost = _total(counterfactual, "programme_cost_usd", counterfactual_has_programmes)
    m["incremental_cost_usd"] = m["programme_cost_usd"] - cf_cost
    m["cost_per_tco2e"] = cost_per_tco2e(m["incremental_cost_usd"], m["additional_carbon_tco2e"])
    m["cost_per_ha_avoided_usd"] = (
        m["incremental_cost_usd"] / m["avoided_deforestation_ha"]
        if m["avoided_deforestation_ha"] > 0
        else math.nan
    )
    m["income_effect_mean_usd"] = _mean_difference(yearly, counterfactual, "income_mean_usd")
    m["income_effect_poorest20_usd"] = _mean_difference(
        yearly, counterfactual, "income_poorest20_usd"
    )
    m["income_effect_gini"] = _mean_difference(yearly, counterfactual, "income_gini")
    if "enrolled_farms" in yearly.columns:
        m["enrolled_farms_max"] = float(yearly["enrolled_farms"].max())
    else:
        m["enrolled_farms_max"] = 0.0 if not has_programmes else math.nan
    m["compliance_rate"] = compliance_rate(yearly)
    expelled = _flag(farms, "expelled", has_programmes)
    m["expelled_farms"] = float(expelled.sum()) if expelled is not None else math.nan
    return {name: m[name] for name in METRICS}


# --------------------------------------------------------------------------- statistics


def t_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and ``level`` t-interval of the mean of the finite ``values``:
    ``mean +/- t(1 - (1 - level) / 2, n - 1) * sd / sqrt(n)`` (sd with n - 1).
    NaN bounds with fewer than two values."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if v.size == 1:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, mean - half, mean + half


def summarize_replicates(replicates: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per metric (rows): mean, sd, ci_low, ci_high (``level`` t-interval of the
    mean), p2_5, p97_5 (spread across replicates), n (finite values), unit."""
    rows = {}
    for metric in [c for c in replicates.columns if c != "replicate"]:
        v = replicates[metric].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        mean, low, high = t_interval(v, level)
        p_low, p_high = np.percentile(v, [2.5, 97.5]) if v.size else (math.nan, math.nan)
        rows[metric] = {
            "mean": mean,
            "sd": float(v.std(ddof=1)) if v.size > 1 else math.nan,
            "ci_low": low,
            "ci_high": high,
            "p2_5": float(p_low),
            "p97_5": float(p_high),
            "n": int(v.size),
            "unit": METRICS.get(metric, ("", ""))[1],
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "metric"
    return table


# --------------------------------------------------------------------------- running


def programme_windows(scenario: Scenario, years: int) -> list[dict]:
    """The scenario's programmes (``scenario.programmes``; none if the attribute is
    missing) with their contract years clipped to ``1..years``."""
    out = []
    for p in getattr(scenario, "programmes", None) or []:
        start, end = int(p.start_year), int(p.end_year)
        out.append(
            {
                "name": str(p.name),
                "finance": str(p.finance),
                "start_year": start,
                "end_year": end,
                "start_in_run": max(start, 1),
                "end_in_run": min(end, years),
            }
        )
    return out


#: Static layers that two runs on the same landscape share.
STATIC_LAYERS = ("road", "protected")


def _same_landscape(a, b) -> bool:
    """Whether two runs (batch results) share farms, roads and the reserve."""
    if not np.array_equal(a.farms["farm_id"].to_numpy(), b.farms["farm_id"].to_numpy()):
        return False
    return all(
        np.array_equal(a.rasters[name], b.rasters[name]) for name in a.rasters if name in b.rasters
    )


def compare(
    scenario,
    counterfactual,
    *,
    replicates: int = 30,
    seed: int = 0,
    years: int | None = None,
    workers: int | None = 1,
    scheduler: str | None = None,
    dask_local: int | None = None,
    progress: bool = False,
) -> Comparison:
    """Run ``scenario`` and ``counterfactual`` ``replicates`` times with common random
    numbers and compute the effects.

    Parameters
    ----------
    scenario, counterfactual : Scenario, path or None
        None is the embedded default scenario.
    replicates : int
        Number of replicate pairs (>= 1).
    seed : int
        Root seed (>= 0); replicate ``i`` runs both scenarios with
        ``SeedSequence(seed).spawn(replicates)[i]``.
    years : int, optional
        Override both scenarios' horizon (required if they differ).
    workers, scheduler, dask_local
        Where the runs go, as for :func:`landsim.batch.run_batch` (default: in this
        process; ``workers=None`` uses every core). Results do not depend on it.
    progress : bool
        Show a progress bar.

    Raises
    ------
    ValueError
        For ``replicates < 1``, ``seed < 0`` or ``years < 1``.
    ScenarioError
        For an invalid scenario, two scenarios with different horizons and no
        ``years``, or a run that fails (e.g. farms that do not fit the landscape).
    """
    from landsim.batch import execute_experiment
    from landsim.experiment import Experiment, replicate_seed
    from landsim.model import describe_seed, resolve_scenario
    from landsim.provenance import landsim_version

    if isinstance(replicates, bool) or not isinstance(replicates, int | np.integer):
        raise ValueError(f"replicates must be an integer (got {replicates!r})")
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1 (got {replicates})")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer (got {seed!r})")
    if years is not None and years < 1:
        raise ValueError(f"years must be at least 1 (got {years})")

    scenario = resolve_scenario(scenario)
    counterfactual = resolve_scenario(counterfactual)
    if years is not None:
        scenario = scenario.with_overrides({"years": years})
        counterfactual = counterfactual.with_overrides({"years": years})
    elif scenario.years != counterfactual.years:
        raise ScenarioError(
            counterfactual.source,
            [
                (
                    "years",
                    f"the counterfactual runs {counterfactual.years} years and the scenario "
                    f"{scenario.years}; set a common horizon (years=, --years)",
                )
            ],
        )
    horizon = scenario.years
    programmes = programme_windows(scenario, horizon)
    in_run = [p for p in programmes if p["start_in_run"] <= p["end_in_run"]]
    programme_end = max((p["end_in_run"] for p in in_run), default=None)
    has_programmes = bool(programmes)
    cf_has_programmes = bool(getattr(counterfactual, "programmes", None))

    experiment = Experiment.from_dict(
        {
            "name": f"compare {scenario.name} against {counterfactual.name}",
            "seed": int(seed),
            "replicates": replicates,
            "scenarios": {"scenario": scenario, "counterfactual": counterfactual},
            "outputs": {
                "yearly": True,
                "scalars": [],
                "farms": True,
                "raster_years": [horizon],
                "raster_layers": list(STATIC_LAYERS),
            },
        },
        source="compare",
    )
    results = execute_experiment(
        experiment,
        workers=workers,
        scheduler=scheduler,
        dask_local=dask_local,
        progress=progress,
        memory_advice="ask for fewer replicates (a comparison keeps every run in memory)",
    )
    failed = [r for r in results if not r.ok]
    if failed:
        first = failed[0].row
        source = (scenario if first["scenario"] == "scenario" else counterfactual).source
        raise ScenarioError(
            source, [("", f"{len(failed)} run(s) failed; the first: {first['error']}")]
        )
    by_key = {(r.row["scenario"], r.row["replicate"]): r for r in results}

    rows, frames = [], []
    match = True
    for i in range(replicates):
        run, cf = by_key[("scenario", i)], by_key[("counterfactual", i)]
        same = _same_landscape(run, cf)
        match &= same
        metrics = replicate_metrics(
            run.yearly,
            cf.yearly,
            run.farms,
            cf.farms,
            programme_end=programme_end,
            has_programmes=has_programmes,
            counterfactual_has_programmes=cf_has_programmes,
        )
        if not same:
            for key in metrics:
                if key.startswith("leakage") or key == "avoided_deforestation_enrolled_ha":
                    metrics[key] = math.nan
        rows.append({"replicate": i, **metrics})
        for name, result, sc in (
            ("scenario", run, scenario),
            ("counterfactual", cf, counterfactual),
        ):
            frame = result.yearly.copy()
            frame.insert(0, "run", name)
            frame.insert(1, "replicate", i)
            frame.insert(2, "scenario", sc.name)
            frame.insert(3, "seed", describe_seed(replicate_seed(seed, i)))
            frame.insert(4, "landsim_version", landsim_version())
            frames.append(frame)

    trajectories = pd.concat(frames, ignore_index=True)
    first = ["run", "replicate", "year"]
    trajectories = trajectories[first + [c for c in trajectories.columns if c not in first]]
    return Comparison(
        replicates=pd.DataFrame(rows),
        trajectories=trajectories,
        restoration=restoration_table(trajectories),
        scenario=scenario,
        counterfactual=counterfactual,
        seed=int(seed),
        n_replicates=replicates,
        programmes=programmes,
        version=landsim_version(),
        landscapes_match=bool(match),
    )


def restoration_table(trajectories: pd.DataFrame) -> pd.DataFrame:
    """Per year, the mean over replicates of :data:`RESTORATION_COLUMNS` in the
    scenario run (NaN columns where the model does not report them)."""
    scen = trajectories[trajectories["run"] == "scenario"]
    present = [c for c in RESTORATION_COLUMNS if c in scen.columns]
    table = scen.groupby("year")[present].mean() if present else scen.groupby("year").size()
    table = pd.DataFrame(table).reindex(columns=list(RESTORATION_COLUMNS))
    return table.reset_index()


# --------------------------------------------------------------------------- results


@dataclass
class Comparison:
    """The result of :func:`compare`.

    Attributes
    ----------
    replicates : pandas.DataFrame
        One row per replicate: ``replicate`` and every metric of :data:`METRICS`.
    trajectories : pandas.DataFrame
        Long table: ``run`` ("scenario" or "counterfactual"), ``replicate``,
        ``year`` and every column of the yearly tables.
    restoration : pandas.DataFrame
        Per year, the mean over replicates of the restoration indicators of the
        scenario run.
    scenario, counterfactual : Scenario
        The fully resolved scenarios (with the ``years`` override, if any).
    seed : int
        The root seed.
    n_replicates : int
    programmes : list of dict
        The scenario's programmes: name, finance, start_year, end_year, and the
        contract years within the run (start_in_run, end_in_run).
    version : str
        The landsim version.
    landscapes_match : bool
        Whether every replicate pair shared farms, roads and reserve (leakage,
        which matches farms by id, is NaN for the pairs that did not).
    """

    replicates: pd.DataFrame
    trajectories: pd.DataFrame
    restoration: pd.DataFrame
    scenario: Scenario
    counterfactual: Scenario
    seed: int
    n_replicates: int
    programmes: list[dict] = field(default_factory=list)
    version: str = "unknown"
    landscapes_match: bool = True

    @property
    def scenario_name(self) -> str:
        return self.scenario.name

    @property
    def counterfactual_name(self) -> str:
        return self.counterfactual.name

    @property
    def years(self) -> int:
        return self.scenario.years

    @property
    def finance(self) -> list[str]:
        """The finance sources of the scenario's programmes (sorted, unique)."""
        return sorted({p["finance"] for p in self.programmes})

    @property
    def programme_end_year(self) -> int | None:
        """The last contract year of the programmes within the run (None: none)."""
        ends = [p["end_in_run"] for p in self.programmes if p["start_in_run"] <= p["end_in_run"]]
        return max(ends, default=None)

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Per metric: mean, sd, ci_low, ci_high (t-interval of the mean), p2_5,
        p97_5 (spread across replicates), n, unit."""
        return summarize_replicates(self.replicates, level)

    def format(self) -> str:
        """A readable table: metric, mean and 95 % confidence interval."""
        return format_comparison(self)

    # ---------------------------------------------------------------- outputs

    def manifest(self) -> dict:
        """Everything needed to reproduce the comparison."""
        from landsim.provenance import dependency_versions
        from landsim.simulation import SimulationResult
        from landsim.simulation import manifest as run_manifest

        def describe(sc: Scenario) -> dict:
            result = SimulationResult(
                yearly=pd.DataFrame(),
                rasters={},
                farms=pd.DataFrame(),
                scenario=sc,
                seed=self.seed,
                version=self.version,
            )
            return run_manifest(result, sc.source)

        scen, cf = describe(self.scenario), describe(self.counterfactual)
        deps = {**scen["dependencies"], **dependency_versions(("matplotlib",))}
        return {
            "kind": "comparison",
            "landsim_version": self.version,
            "created": scen["created"],
            "python": scen["python"],
            "platform": scen["platform"],
            "dependencies": deps,
            "command": scen["command"],
            "seed": self.seed,
            "replicates": self.n_replicates,
            "years": self.years,
            "random_numbers": (
                "common random numbers: replicate i runs both scenarios with "
                "numpy.random.SeedSequence(seed).spawn(replicates)[i]"
            ),
            "landscapes_match": self.landscapes_match,
            "programmes": self.programmes,
            "finance": self.finance,
            "programme_end_year": self.programme_end_year,
            "scenario": {
                "name": scen["scenario_name"],
                "file": scen["scenario_file"],
                "resolved": scen["scenario"],
            },
            "counterfactual": {
                "name": cf["scenario_name"],
                "file": cf["scenario_file"],
                "resolved": cf["scenario"],
            },
        }

    def write(self, out_dir: str | Path, *, force: bool = False) -> list[Path]:
        """Write the summary and replicate tables (CSV, Parquet), the trajectories
        (Parquet), the restoration table (CSV), the manifest (JSON) and two figures
        (PNG) to ``out_dir``; see :data:`COMPARISON_FILES`.

        The files are written beside ``out_dir`` and moved in, so an interrupted
        write leaves no partial results unmarked (:func:`landsim.outdir.staged`).

        Raises
        ------
        FileExistsError
            (:class:`landsim.outdir.OutputExistsError`) If ``out_dir`` already holds a
            comparison and not ``force``, or holds other results (a batch, a run, a
            sensitivity analysis).
        NotADirectoryError
            (:class:`landsim.outdir.OutputNotADirectoryError`) If ``out_dir`` exists
            and is not a directory.
        landsim.outdir.OutputDirError
            If ``out_dir`` cannot be created.
        """
        from landsim.outdir import check_out_dir, staged

        out = check_out_dir(out_dir, "comparison", force=force, option="", force_flag="force=True")
        with staged(out, "comparison") as tmp:
            self._write(tmp)
        return [out / name for name in COMPARISON_FILES]

    def _write(self, out: Path) -> None:
        info = self.manifest()
        meta = json.dumps(
            {
                "landsim_version": self.version,
                "scenario": self.scenario_name,
                "counterfactual": self.counterfactual_name,
                "seed": self.seed,
                "replicates": self.n_replicates,
            }
        )
        paths = {name: out / name for name in COMPARISON_FILES}
        summary = self.summary().reset_index()
        summary.to_csv(paths["summary.csv"], index=False)
        _to_parquet(summary, paths["summary.parquet"], meta)
        self.replicates.to_csv(paths["replicates.csv"], index=False)
        _to_parquet(self.replicates, paths["replicates.parquet"], meta)
        _to_parquet(self.trajectories, paths["trajectories.parquet"], meta)
        self.restoration.to_csv(paths["restoration.csv"], index=False)
        paths["manifest.json"].write_text(
            json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8"
        )
        self.plot_trajectories(paths["trajectories.png"])
        self.plot_effects(paths["effects.png"])

    # ---------------------------------------------------------------- figures

    def plot_trajectories(self, path: str | Path) -> Path:
        """Both runs' trajectories (see :mod:`landsim.plot.comparison`)."""
        from landsim.plot.comparison import plot_comparison_trajectories

        return plot_comparison_trajectories(self, path)

    def plot_effects(self, path: str | Path) -> Path:
        """The main effects (:func:`landsim.plot.comparison.plot_comparison_effects`)."""
        from landsim.plot.comparison import plot_comparison_effects

        return plot_comparison_effects(self, path)


def _to_parquet(frame: pd.DataFrame, path: Path, meta: str) -> None:
    table = frame.copy()
    for column in table.columns:
        if table[column].dtype == object:
            # A boolean column one run lacks becomes object (bool and NaN) on
            # concatenation; Parquet needs one type.
            values = table[column].dropna()
            if len(values) and values.map(lambda v: isinstance(v, bool | np.bool_)).all():
                table[column] = table[column].astype("boolean")
    table.attrs = {"landsim": meta}
    table.to_parquet(path, index=False)


def format_comparison(comparison: Comparison) -> str:
    """The header and a table of metric, mean and 95 % confidence interval."""
    c = comparison
    header = (
        f"landsim {c.version} | scenario {c.scenario_name!r} vs counterfactual "
        f"{c.counterfactual_name!r} | {c.n_replicates} replicates | seed {c.seed} | "
        f"{c.years} years"
    )
    if c.programmes:
        progs = ", ".join(
            f"{p['name']} ({p['finance']}, years {p['start_year']}-{p['end_year']})"
            for p in c.programmes
        )
    else:
        progs = "none"
    summary = c.summary()
    labels = [f"{METRICS[m][0]} ({METRICS[m][1]})" for m in summary.index]
    width = max(len(s) for s in [*labels, "metric"])
    means, cis = [], []
    for mean, lo, hi in zip(summary["mean"], summary["ci_low"], summary["ci_high"], strict=True):
        # one number of decimals per row, set by the mean (as in landsim summarize)
        mean_text, lo_text, hi_text = fmt_column([mean, lo, hi], like=[mean])
        means.append(mean_text)
        cis.append(f"[{lo_text}, {hi_text}]" if np.isfinite(lo) else "n/a")
    mw = max(len(s) for s in [*means, "mean"])
    lines = [
        textwrap.fill(header, 100, subsequent_indent="  "),
        textwrap.fill(f"programmes: {progs}", 100, subsequent_indent="  "),
        "",
    ]
    lines.append(f"{'metric':<{width}}  {'mean':>{mw}}  95 % CI")
    for label, mean, ci in zip(labels, means, cis, strict=True):
        lines.append(f"{label:<{width}}  {mean:>{mw}}  {ci}")
    if not c.landscapes_match:
        lines.append(
            "\nnote: the two scenarios' landscapes differ, so farms cannot be matched "
            "and leakage is not computed"
        )
    return "\n".join(lines)
