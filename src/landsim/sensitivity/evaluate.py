"""Running the sample through the batch engine, and the outputs of the runs.

Each sample point runs ``replicates`` times as one batch (:func:`batch_experiment`,
:func:`run_points`); with a counterfactual, every point runs on it as well (same
overrides where it has the key, same replicate streams), so the paired outputs
(:data:`PAIRED_OUTPUTS`, the definitions of :mod:`landsim.evaluation.metrics`)
compare a run with its own counterfactual (:func:`output_values`).
:func:`aggregate` takes the mean over replicates and the replicate spread.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from landsim.evaluation.metrics import additional_tco2e, avoided_ha, cost_per_tco2e
from landsim.experiment import Experiment
from landsim.scenario import Scenario, ScenarioError, has_path
from landsim.sensitivity.spec import SensitivitySpec

#: Outputs computed from a run and its counterfactual (same point and stream).
PAIRED_OUTPUTS = {
    "avoided_deforestation_ha": "cumulative deforestation avoided against the counterfactual",
    "additional_carbon_tco2e": "carbon stock gained against the counterfactual",
    "cost_per_tco2e": "programme cost (sum over years) per additional tCO2e",
}


def run_scalars(spec: SensitivitySpec, paired: bool) -> list[str]:
    """The per-run scalars the outputs need (with those of the paired outputs when
    there is a counterfactual, ``paired``)."""
    scalars = [o for o in spec.outputs if o not in PAIRED_OUTPUTS]
    if paired:
        scalars += [
            "cumulative_deforestation_ha",
            "carbon_stock_tc",
            "programme_cost_usd@sum",
        ]
    return list(dict.fromkeys(scalars))


def check_paired_outputs(spec: SensitivitySpec, source: str, paired: bool) -> None:
    """Refuse a paired output without a counterfactual.

    Raises
    ------
    ScenarioError
        Naming ``source`` and each such output.
    """
    problems = []
    for i, output in enumerate(spec.outputs):
        if output in PAIRED_OUTPUTS and not paired:
            problems.append(
                (
                    f"outputs.{i}",
                    f"{output!r} needs a counterfactual scenario (key 'counterfactual')",
                )
            )
    if problems:
        raise ScenarioError(source, problems)


def check_model_outputs(experiment: Experiment) -> None:
    """Refuse outputs the model does not record (the batch engine's check)."""
    from landsim.batch import ModelRunner

    ModelRunner.check_outputs(experiment)


def batch_experiment(
    spec: SensitivitySpec,
    points: list[dict],
    scenario: Scenario | None,
    *,
    name: str,
    source: str,
    counterfactual: bool = False,
    paired: bool = False,
) -> Experiment:
    """The batch of ``points`` on ``scenario`` (``None``: a function model), or on
    the counterfactual over the factors it has: same points, same replicate
    streams."""
    if scenario is None:
        return Experiment.for_points(name, points, spec.seed, spec.replicates)
    if counterfactual:
        points = [{k: v for k, v in p.items() if has_path(scenario, k)} for p in points]
    label = "counterfactual" if counterfactual else "scenario"
    return Experiment.from_dict(
        {
            "name": f"{name} ({label})",
            "seed": spec.seed,
            "replicates": spec.replicates,
            "scenarios": {label: scenario},
            "points": points,
            "outputs": {"yearly": False, "scalars": run_scalars(spec, paired)},
        },
        source=source,
    )


def check_evaluation_dir(out: str | Path | None) -> None:
    """Refuse an output directory that holds other results (its runs are checked by
    the batch).

    Raises
    ------
    BatchError
        Saying what the directory holds.
    """
    from landsim.batch import BatchError
    from landsim.outdir import OutputDirError, check_out_dir

    if out is not None:
        try:
            check_out_dir(out, "sensitivity", option="", same_kind="caller")
        except OutputDirError as exc:
            raise BatchError(str(exc)) from None


def run_points(
    experiment: Experiment, out: str | Path | None, table: str, **backend
) -> pd.DataFrame:
    """The run table of ``experiment``, streamed to ``out/table`` if ``out`` is
    given (``backend``: the options of :func:`landsim.batch.run_batch`)."""
    from landsim.batch import run_batch

    root = Path(out) if out is not None else None
    return run_batch(experiment, out=root / table if root is not None else None, **backend).runs


def aggregate(
    runs: pd.DataFrame, spec: SensitivitySpec, n_points: int, paired: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(results, spread): the mean over replicates of every output, one row per
    sample point; and per output the mean replicate sd, the sd of the point means
    and their ratio."""
    values = output_values(runs) if paired else runs
    outputs = list(spec.outputs)
    grouped = values.groupby("point")[outputs]
    means = grouped.mean().reindex(range(n_points))
    spread = pd.DataFrame(
        {
            "replicate_sd_mean": grouped.std(ddof=1).mean(),
            "point_means_sd": means.std(ddof=1),
        }
    )
    spread["ratio"] = spread["replicate_sd_mean"] / spread["point_means_sd"]
    if spec.replicates == 1:
        spread["note"] = "n/a with replicates = 1: set replicates = 2 or more"
    spread.index.name = "output"
    return means.reset_index(drop=True), spread.reset_index()


def output_values(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per point and replicate of the scenario, with the paired outputs
    derived from its counterfactual run."""
    keys = ["point", "replicate"]
    sc = runs[runs["scenario"] == "scenario"].set_index(keys)
    cf = runs[runs["scenario"] == "counterfactual"].set_index(keys)
    values = sc.copy()
    # The definitions of landsim.evaluation, applied to every point at once.
    avoided = avoided_ha(sc["cumulative_deforestation_ha"], cf["cumulative_deforestation_ha"])
    additional = additional_tco2e(sc["carbon_stock_tc"], cf["carbon_stock_tc"])
    cost = sc["programme_cost_usd@sum"] - cf["programme_cost_usd@sum"]
    values["avoided_deforestation_ha"] = avoided
    values["additional_carbon_tco2e"] = additional
    values["cost_per_tco2e"] = cost_per_tco2e(cost, additional)
    return values.reset_index()
