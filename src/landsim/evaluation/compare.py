""":func:`compare`: a scenario and its counterfactual run through the batch engine
with common random numbers, replicate by replicate.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from landsim.evaluation.metrics import replicate_metrics
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
