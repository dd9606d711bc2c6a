"""The SALib problem of an analysis, its sample, and the size check made first.

:func:`check_size` counts the sample and its runs from the spec, before anything
is drawn, against the limits of every batch
(:func:`landsim.experiment.check_design_size`). :func:`salib_problem` is a fresh
SALib ``ProblemSpec`` for the factors and outputs; :func:`draw_sample` draws with
the method's seeded SALib sampler, and :func:`sample_points` turns the sample
into override tables.
"""

from __future__ import annotations

import numpy as np

from landsim.experiment import check_design_size
from landsim.scenario import Scenario
from landsim.sensitivity.scenarios import coerce
from landsim.sensitivity.spec import SensitivitySpec


def check_size(spec: SensitivitySpec, source: str, paired: bool = False) -> None:
    """Count the sample and its runs (twice with a counterfactual, ``paired``)
    before drawing anything.

    Raises
    ------
    ScenarioError
        Naming ``source`` and the key to change, with what the design needs.
    """
    rows, d = spec.sample_rows(), len(spec.factors)
    scenarios = 2 if paired else 1
    check_design_size(
        source,
        "replicates" if spec.replicates >= rows else "n",
        n_points=rows * scenarios,
        n_keys=d,
        n_runs=rows * spec.replicates * scenarios,
        detail=(
            f"{spec.method} with n = {spec.n:,} and {d} factors: {rows:,} points x "
            f"{spec.replicates:,} replicate(s)" + (" x 2 scenarios" if scenarios == 2 else "")
        ),
        extra_bytes=4 * rows * d * 8,  # the sample and the sampler's copies of it
    )


def salib_problem(spec: SensitivitySpec):
    """A fresh SALib ProblemSpec for the factors and outputs."""
    from SALib import ProblemSpec

    factors = spec.factors.values()
    return ProblemSpec(
        {
            "names": list(spec.factors),
            "bounds": [f.salib_bounds() for f in factors],
            "dists": [f.dist for f in factors],
            "outputs": list(spec.outputs),
        }
    )


def draw_sample(spec: SensitivitySpec):
    """A SALib ProblemSpec holding the sample of the method's sampler (seeded)."""
    from SALib.sample import fast_sampler, latin, morris, sobol

    opts = spec.options
    problem = salib_problem(spec)
    if spec.method == "morris":
        problem.sample(morris.sample, spec.n, num_levels=opts.num_levels, seed=spec.seed)
    elif spec.method == "sobol":
        problem.sample(
            sobol.sample, spec.n, calc_second_order=opts.calc_second_order, seed=spec.seed
        )
    elif spec.method == "fast":
        problem.sample(fast_sampler.sample, spec.n, M=opts.M, seed=spec.seed)
    else:
        problem.sample(latin.sample, spec.n, seed=spec.seed)
    return problem


def sample_points(
    samples: np.ndarray, names: list[str], scenario: Scenario | None
) -> list[dict[str, float]]:
    """The sample as override tables: floats for a function model (``scenario``
    None), values of integer-valued scenario keys rounded."""
    if scenario is None:
        return [dict(zip(names, map(float, row), strict=True)) for row in samples]
    return [
        {k: coerce(scenario, k, v) for k, v in zip(names, row, strict=True)} for row in samples
    ]
