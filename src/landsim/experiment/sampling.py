"""The random streams of an experiment: replicate streams and ``[samples]`` points.

Replicate ``r`` runs with ``SeedSequence(seed).spawn(replicates)[r]``
(:func:`replicate_seed`), common to every scenario and point. The ``[samples]``
points are drawn from a stream of their own (:data:`SAMPLE_STREAM` mixed into the
seed), so that drawing them never shares a stream with a replicate.
"""

from __future__ import annotations

import numpy as np

from landsim.experiment.spec import Samples

#: Mixed into the experiment seed for the sample stream, so that drawing the sample
#: points never shares a stream with a replicate.
SAMPLE_STREAM = 0x5A3B1E


def replicate_seed(seed: int, replicate: int) -> np.random.SeedSequence:
    """The stream of replicate ``replicate``: ``SeedSequence(seed).spawn(n)[replicate]``
    for any ``n > replicate``."""
    return np.random.SeedSequence(seed, spawn_key=(replicate,))


def draw_samples(
    samples: Samples, seed: int, integer: set[str] | tuple = ()
) -> list[dict[str, float]]:
    """Draw the ``[samples]`` points from the experiment seed (a stream of its own).

    A key in ``integer`` takes the integers low..high (both included) with equal
    probability: ``low + floor(u * (high - low + 1))`` of the same unit sample."""
    from scipy.stats import qmc

    keys = list(samples.factors)
    rng = np.random.default_rng(np.random.SeedSequence([seed, SAMPLE_STREAM]))
    d = len(keys)
    if samples.method == "latin":
        unit = qmc.LatinHypercube(d=d, rng=rng).random(samples.n)
    elif samples.method == "sobol":
        unit = qmc.Sobol(d=d, scramble=True, rng=rng).random(samples.n)
    else:
        unit = rng.random((samples.n, d))
    low = np.array([samples.factors[k][0] for k in keys])
    high = np.array([samples.factors[k][1] for k in keys])
    values = qmc.scale(unit, low, high)
    points = [{k: float(v) for k, v in zip(keys, row, strict=True)} for row in values]
    for j, key in enumerate(keys):
        if key in integer:
            lo, hi = int(low[j]), int(high[j])
            column = np.minimum(lo + np.floor(unit[:, j] * (hi - lo + 1)), hi).astype(int)
            for point, value in zip(points, column, strict=True):
                point[key] = int(value)
    return points
