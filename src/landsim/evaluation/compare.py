""":func:`compare`: a scenario and its counterfactual run through the batch engine
with common random numbers, replicate by replicate.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from landsim.evaluation.metrics import leakage, replicate_metrics
from landsim.evaluation.results import RESTORATION_COLUMNS, Comparison
from landsim.scenario import Scenario, ScenarioError

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

#: The prices that may respond to supply, and their columns in the yearly table.
SUPPLY_PRICES = {"monocrop": "monocrop_price_usd_per_t", "beef": "beef_price_usd_per_kg"}


def prices_respond(scenario: Scenario) -> bool:
    """Whether any of the scenario's prices responds to the landscape's supply."""
    markets = scenario.markets
    return any(getattr(markets, p).supply_flexibility > 0 for p in SUPPLY_PRICES)


def claims_outside_contract(scenario: Scenario) -> bool:
    """Whether some programme's contract leaves the claimable land out
    (``obligations.covers_claimed_land = false``)."""
    return any(
        p.obligations is not None and not p.obligations.covers_claimed_land
        for p in getattr(scenario, "programmes", None) or []
    )


def at_fixed_prices(scenario: Scenario, counterfactual_yearly: pd.DataFrame) -> Scenario:
    """The scenario with the annual-crop and beef prices of years 1..T fixed to
    those the counterfactual run realised (``realised_prices``)."""
    rows = counterfactual_yearly[counterfactual_yearly["year"] >= 1].sort_values("year")
    return scenario.with_overrides(
        {
            f"markets.{product}.realised_prices": [float(v) for v in rows[column]]
            for product, column in SUPPLY_PRICES.items()
        }
    )


def _same_landscape(a, b) -> bool:
    """Whether two runs (batch results) share their first farms (settlers aside),
    roads and the reserve."""

    def first_farms(run):
        farms = run.farms
        if "arrived_year" in farms.columns:
            farms = farms[farms["arrived_year"] == 0]
        return farms["farm_id"].to_numpy()

    if not np.array_equal(first_farms(a), first_farms(b)):
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
    from landsim.experiment.design import PairedExperiment
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

    backend = {"workers": workers, "scheduler": scheduler, "dask_local": dask_local}
    scenarios = {"scenario": scenario, "counterfactual": counterfactual}
    by_key = _execute(
        Experiment,
        scenarios,
        None,
        seed,
        replicates,
        horizon,
        progress,
        backend,
        execute_experiment,
    )
    market = prices_respond(scenario) or prices_respond(counterfactual)
    if market:
        # Market leakage: each replicate's scenario once more, at the prices its
        # counterfactual realised (a third run, on the same random numbers).
        fixed = {
            f"fixed_prices_{i}": at_fixed_prices(scenario, by_key[("counterfactual", i)].yearly)
            for i in range(replicates)
        }
        pairs = {f"fixed_prices_{i}": i for i in range(replicates)}
        by_key |= _execute(
            PairedExperiment, fixed, pairs, seed, replicates, horizon, progress, backend,
            execute_experiment,
        )  # fmt: skip

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
            claims_outside_contract=claims_outside_contract(scenario),
        )
        if market:
            at_cf_prices = by_key[(f"fixed_prices_{i}", i)]
            same &= _same_landscape(at_cf_prices, cf)
            metrics["leakage_market_ha"] = market_leakage(
                metrics["leakage_ha"], at_cf_prices.farms, cf.farms, has_programmes
            )
        else:
            metrics["leakage_market_ha"] = 0.0  # prices do not respond to supply
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


def _execute(kind, scenarios, pairs, seed, replicates, horizon, progress, backend, execute):
    """Run ``scenarios`` (every replicate of each, or with ``pairs`` the replicate
    each names) through the batch engine; the results by (scenario, replicate).

    Raises
    ------
    ScenarioError
        Naming the scenario of the first run that failed.
    """
    first_two = list(scenarios.values())[:2]
    experiment = kind.from_dict(
        {
            "name": "compare " + " against ".join(s.name for s in first_two),
            "seed": int(seed),
            "replicates": replicates,
            "scenarios": scenarios,
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
    if pairs is not None:
        experiment.pairs = pairs
    results = execute(
        experiment,
        **backend,
        progress=progress,
        memory_advice="ask for fewer replicates (a comparison keeps every run in memory)",
    )
    failed = [r for r in results if not r.ok]
    if failed:
        first = failed[0].row
        raise ScenarioError(
            scenarios[first["scenario"]].source,
            [("", f"{len(failed)} run(s) failed; the first: {first['error']}")],
        )
    return {(r.row["scenario"], r.row["replicate"]): r for r in results}


def market_leakage(leakage_ha: float, fixed_farms, counterfactual_farms, has_programmes) -> float:
    """Market leakage (ha): ``leakage_ha`` less the leakage of the scenario run at
    the counterfactual's realised prices (:func:`landsim.evaluation.metrics.leakage`
    of that run against the counterfactual): the part of the leakage that goes
    away when the prices do not respond to the programme."""
    at_fixed = leakage(fixed_farms, counterfactual_farms, has_programmes=has_programmes)
    return leakage_ha - at_fixed["leakage_ha"]


def restoration_table(trajectories: pd.DataFrame) -> pd.DataFrame:
    """Per year, the mean over replicates of :data:`RESTORATION_COLUMNS` in the
    scenario run (NaN columns where the model does not report them)."""
    scen = trajectories[trajectories["run"] == "scenario"]
    present = [c for c in RESTORATION_COLUMNS if c in scen.columns]
    table = scen.groupby("year")[present].mean() if present else scen.groupby("year").size()
    table = pd.DataFrame(table).reindex(columns=list(RESTORATION_COLUMNS))
    return table.reset_index()
