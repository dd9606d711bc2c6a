"""What can go wrong with an analysis: its errors, its warnings, and the checks
that raise them.

:class:`SensitivityError` is raised when runs failed or an output cannot be
analysed (:func:`check_finite`); :class:`SensitivityWarning` is issued for
results that need care, whose messages :func:`diagnose_indices` writes: a sample
too small for intervals that rank the factors (:data:`MAX_HALF_WIDTH`, with the
size that should do, :func:`needed_size`), too few Morris trajectories, no
convergence check, no replicate spread.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from landsim.sensitivity.spec import SensitivitySpec

#: Indices that lie in [0, 1] (their intervals say whether n is large enough).
BOUNDED_INDICES = {
    "sobol": ("S1", "ST"),
    "fast": ("S1", "ST"),
    "delta": ("delta_raw", "delta_balanced", "S1"),
}

#: Widest interval half-width (and most negative index) of a usable analysis.
MAX_HALF_WIDTH = 0.1

#: Fewest Morris trajectories without a warning.
MIN_MORRIS_TRAJECTORIES = 10


class SensitivityError(Exception):
    """Runs failed or an output cannot be analysed (exit code 1 on the CLI)."""


class SensitivityWarning(UserWarning):
    """The analysis ran but its results need care (see
    :meth:`SensitivityAnalysis.diagnose`)."""


def check_runs(runs: pd.DataFrame) -> None:
    """Refuse a run table in which some runs failed.

    Raises
    ------
    SensitivityError
        Counting the failed runs and naming the first, with its error.
    """
    failed = runs[runs["status"] != "ok"]
    if len(failed):
        first = failed.iloc[0]
        raise SensitivityError(
            f"{len(failed)} of {len(runs)} runs failed (recorded in the run table); the "
            f"first, run {first['run_id']} of the {first['scenario']} (point "
            f"{first['point']}): {first['error']}"
        )


def check_finite(output: str, y: np.ndarray) -> None:
    """Refuse an output that is not finite at every sample point.

    Raises
    ------
    SensitivityError
        Counting the points and saying what to change.
    """
    if not np.isfinite(y).all():
        bad = int((~np.isfinite(y)).sum())
        raise SensitivityError(
            f"output {output!r} is not finite at {bad} of {y.size} sample points "
            "(e.g. cost per tCO2e where there is no additional carbon): choose "
            "another output or narrower factor ranges"
        )


def needed_size(method: str, n: int, widest: float) -> int:
    """The sample size at which an interval of half-width ``widest`` at ``n``
    shrinks to :data:`MAX_HALF_WIDTH` (half-widths go as 1/sqrt(n)); a power of
    two for Sobol'."""
    needed = max(2 * n, math.ceil(n * (widest / MAX_HALF_WIDTH) ** 2))
    if method == "sobol":
        needed = 1 << (needed - 1).bit_length()
    return needed


def diagnose_indices(
    spec: SensitivitySpec,
    indices: pd.DataFrame,
    convergence: pd.DataFrame,
    is_function: bool,
) -> list[str]:
    """The messages the reader of the indices must see, each saying what to
    change (see :meth:`SensitivityAnalysis.diagnose`)."""
    messages = interval_messages(spec, indices)
    if spec.method == "morris" and spec.n < MIN_MORRIS_TRAJECTORIES:
        messages.append(
            f"r = {spec.n} Morris trajectories is few: screening usually needs "
            f"{MIN_MORRIS_TRAJECTORIES}-50 (Campolongo et al. 2007); mu* and its interval "
            f"are rough. Set n = {MIN_MORRIS_TRAJECTORIES} or more"
        )
    messages += convergence_messages(spec, convergence)
    if spec.replicates == 1 and not is_function:
        messages.append(
            "replicates = 1: the replicate spread (replicate_spread.csv) is n/a, since "
            "a standard deviation needs two replicates per point; the indices then "
            "include the model's run-to-run noise without measuring it. Set "
            "replicates = 2 or more to compare that noise with the spread between "
            "sample points"
        )
    return messages


def _size_name(method: str) -> str:
    """What the literature calls the sample size of ``method``."""
    return {"morris": "r", "sobol": "N"}.get(method, "n")


def interval_messages(spec: SensitivitySpec, indices: pd.DataFrame) -> list[str]:
    """A message when the intervals of indices bounded by [0, 1] are wider than
    :data:`MAX_HALF_WIDTH` or an index is that far below 0, with the sample size
    that should do."""
    method, n = spec.method, spec.n
    if method not in BOUNDED_INDICES:
        return []
    size = _size_name(method)
    conf = indices[indices["index"].str.endswith("_conf")]
    values = indices[indices["index"].isin(BOUNDED_INDICES[method])]
    widest = float(conf["value"].abs().max()) if len(conf) else 0.0
    lowest = float(values["value"].min()) if len(values) else 0.0
    if not (widest > MAX_HALF_WIDTH or lowest < -MAX_HALF_WIDTH):
        return []
    needed = needed_size(method, n, widest)
    negative = (
        f" and an index is {lowest:.2g} (indices lie in [0, 1]: a negative one is sampling error)"
        if lowest < 0
        else ""
    )
    return [
        f"{size} = {n} is too small for intervals within +/-{MAX_HALF_WIDTH}: the "
        f"widest {spec.options.conf_level:.0%} interval is +/-{widest:.2g}"
        f"{negative}, so factors whose indices differ by less cannot be told "
        f"apart. Intervals shrink about as 1/sqrt({size}): {size} = {needed:,} "
        "or more should bring them within that"
    ]


def convergence_messages(spec: SensitivitySpec, convergence: pd.DataFrame) -> list[str]:
    """A message when the convergence table holds fewer than two sample sizes."""
    method, n = spec.method, spec.n
    sizes = convergence["n"].nunique() if len(convergence) else 0
    if sizes >= 2:
        return []
    if method in ("fast", "delta"):
        why = (
            "is not computed for eFAST (its sample cannot be cut into smaller ones)"
            if method == "fast"
            else "is not computed for delta (its bootstrap is too slow)"
        )
        change = "rerun with twice n and compare the indices"
    else:
        least = {"sobol": 16, "morris": 4, "pawn": 50}[method]
        why = (
            f"needs the indices at two sample sizes or more, each at least {least} "
            f"({_size_name(method)} = {n} gives {sizes})"
        )
        change = f"set n = {4 * least if method != 'pawn' else 2 * least} or more"
    table = "is empty" if sizes == 0 else "holds one sample size only"
    return [
        f"convergence {why}: convergence.csv {table} and no convergence plot was drawn; {change}"
    ]
