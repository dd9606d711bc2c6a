"""How big a design may be, counted before it is built, and how runs are grouped.

:func:`design_size` counts the points of an experiment from its spec (a grid is a
product); :func:`check_design_size` refuses a design of more than :data:`MAX_RUNS`
runs or whose points and runs would take more than :data:`MAX_DESIGN_BYTES`, for
experiments (:func:`check_experiment_size`) and sensitivity analyses alike.
:func:`chunk_size_for` is the number of runs per task of a batch.
"""

from __future__ import annotations

import math

from landsim.experiment.spec import ExperimentSpec
from landsim.scenario import ScenarioError

#: The most runs one batch (or sensitivity analysis) may ask for: 1,000,000 runs of
#: the default scenario are about 70 core-hours, and their run table alone about
#: 1 GB in memory. Split a larger study into several experiments.
MAX_RUNS = 1_000_000

#: The most memory the design itself (its points and runs, before any result) may
#: take.
MAX_DESIGN_BYTES = 2**30

#: Estimated bytes of one design point (a dict) and of each of its keys, and of one
#: run (what :meth:`Experiment.runs` builds), for :func:`check_design_size`.
POINT_BYTES, KEY_BYTES, RUN_BYTES = 240, 110, 160


def _bytes(n: float) -> str:
    return f"{n / 2**30:,.1f} GB" if n >= 2**30 else f"{n / 2**20:,.0f} MB"


def check_design_size(
    source: str,
    where: str,
    *,
    n_points: int,
    n_keys: int,
    n_runs: int,
    detail: str,
    extra_bytes: int = 0,
) -> None:
    """Refuse a design of more than :data:`MAX_RUNS` runs or whose points and runs
    would take more than :data:`MAX_DESIGN_BYTES` (counted, not built).

    Raises
    ------
    ScenarioError
        Naming ``source`` and ``where``, with what the design needs and the limit.
    """
    if n_runs > MAX_RUNS:
        raise ScenarioError(
            source,
            [
                (
                    where,
                    f"asks for {n_runs:,} runs ({detail}); a batch takes at most "
                    f"{MAX_RUNS:,} runs (landsim.experiment.MAX_RUNS): ask for fewer, or "
                    "split the study into several experiments",
                )
            ],
        )
    need = n_points * (POINT_BYTES + KEY_BYTES * n_keys) + n_runs * RUN_BYTES + extra_bytes
    if need > MAX_DESIGN_BYTES:
        raise ScenarioError(
            source,
            [
                (
                    where,
                    f"the design alone needs about {_bytes(need)} of memory ({detail}, "
                    f"{n_keys} key(s)); the limit is {_bytes(MAX_DESIGN_BYTES)} "
                    "(landsim.experiment.MAX_DESIGN_BYTES): use fewer points or factors",
                )
            ],
        )


def design_size(spec: ExperimentSpec) -> tuple[int, int, str]:
    """(points, override keys, the key that sets the number of points), counted
    from the spec without building the points (a grid is a product)."""
    if spec.grid is not None:
        return math.prod(len(v) for v in spec.grid.values()), len(spec.grid), "grid"
    if spec.points is not None:
        keys = {k for point in spec.points for k in point}
        return max(1, len(spec.points)), len(keys), "points"
    if spec.samples is not None:
        return spec.samples.n, len(spec.samples.factors), "samples.n"
    return 1, 0, "replicates"


def check_experiment_size(spec: ExperimentSpec, source: str) -> None:
    """Refuse an experiment whose design is too large to hold or run
    (:func:`check_design_size`), naming the key that sets its size."""
    n_points, n_keys, key = design_size(spec)
    n_scenarios, replicates = len(spec.scenarios), spec.replicates
    check_design_size(
        source,
        "replicates" if replicates >= n_points else key,
        n_points=n_points,
        n_keys=n_keys,
        n_runs=n_scenarios * n_points * replicates,
        detail=(
            f"{n_scenarios} scenario(s) x {n_points:,} point(s) x {replicates:,} replicate(s)"
        ),
    )


def chunk_size_for(n_runs: int, workers: int, limit: int = 50) -> int:
    """Runs per task: about eight tasks per worker (so the last ones balance), at
    most ``limit`` (so results reach the disk often)."""
    return max(1, min(limit, math.ceil(n_runs / (8 * max(1, workers)))))
