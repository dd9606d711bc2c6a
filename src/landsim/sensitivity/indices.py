"""The indices of an analysis: SALib's analyses as long tables, their
convergence, and the ranking of factors.

:func:`analyze_outputs` computes the indices of every output with the method's
SALib analyzer (:func:`compute_indices`, seeded bootstrap) and the method's main
index (:data:`MAIN_INDEX`) on growing leading subsets of the sample
(:func:`convergence_table`, at :func:`subset_sizes`). :func:`rank_factors` ranks
the factors of one output by that index.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from landsim.sensitivity.diagnostics import check_finite
from landsim.sensitivity.sampling import salib_problem
from landsim.sensitivity.spec import SensitivitySpec

#: The index each method ranks factors by, and its interval column.
MAIN_INDEX = {
    "morris": ("mu_star", "mu_star_conf"),
    "sobol": ("ST", "ST_conf"),
    "fast": ("ST", "ST_conf"),
    "delta": ("delta_raw", "delta_raw_conf"),
    "pawn": ("median", None),
}

#: Columns of the convergence table (also when it is empty).
CONVERGENCE_COLUMNS = ["output", "factor", "n", "index", "value", "conf"]


def analyze_outputs(
    spec: SensitivitySpec, samples: np.ndarray, results: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(indices, convergence) of every output of ``results`` on ``samples``.

    Raises
    ------
    SensitivityError
        If an output is not finite at some sample point.
    """
    frames, convergence = [], []
    for output in spec.outputs:
        y = results[output].to_numpy(dtype=float)
        check_finite(output, y)
        frames.append(compute_indices(spec, samples, y, output))
        convergence.append(convergence_table(spec, samples, y, output))
    indices = pd.concat(frames, ignore_index=True)
    table = pd.concat(convergence, ignore_index=True).reindex(columns=CONVERGENCE_COLUMNS)
    return indices, table


def compute_indices(spec: SensitivitySpec, x: np.ndarray, y: np.ndarray, output: str):
    """SALib's analysis of one output on (x, y), as a long table."""
    from SALib.analyze import delta, fast, morris, pawn, sobol

    opts = spec.options
    problem = salib_problem(spec)
    problem["outputs"] = [output]
    problem.set_samples(x)
    problem.set_results(y)
    common = {
        "num_resamples": opts.num_resamples,
        "conf_level": opts.conf_level,
        "seed": spec.seed,
    }
    if spec.method == "morris":
        problem.analyze(morris.analyze, num_levels=opts.num_levels, **common)
    elif spec.method == "sobol":
        problem.analyze(sobol.analyze, calc_second_order=opts.calc_second_order, **common)
    elif spec.method == "fast":
        with warnings.catch_warnings():  # documented: eFAST intervals are indicative
            warnings.filterwarnings("ignore", "FAST confidence intervals", UserWarning)
            problem.analyze(fast.analyze, M=opts.M, **common)
    elif spec.method == "delta":
        problem.analyze(delta.analyze, method="delta", **common)
    else:
        problem.analyze(pawn.analyze, S=opts.S, seed=spec.seed)
    return long_table(problem.analysis, list(spec.factors), output)


def convergence_table(
    spec: SensitivitySpec, samples: np.ndarray, y: np.ndarray, output: str
) -> pd.DataFrame:
    """The main index on growing leading subsets of the sample (not for eFAST,
    whose sample cannot be cut, nor for the slow delta)."""
    index, conf = MAIN_INDEX[spec.method]
    rows = []
    for size, n_rows in subset_sizes(spec):
        table = compute_indices(spec, samples[:n_rows], y[:n_rows], output)
        for factor in spec.factors:
            pick = table[(table["factor"] == factor)]
            value = pick.loc[pick["index"] == index, "value"]
            interval = pick.loc[pick["index"] == conf, "value"] if conf else []
            rows.append(
                {
                    "output": output,
                    "factor": factor,
                    "n": size,
                    "index": index,
                    "value": float(value.iloc[0]) if len(value) else math.nan,
                    "conf": float(interval.iloc[0]) if len(interval) else math.nan,
                }
            )
    return pd.DataFrame(rows)


def subset_sizes(spec: SensitivitySpec) -> list[tuple[int, int]]:
    """(n, rows) pairs: the sample sizes at which convergence is shown."""
    d = len(spec.factors)
    if spec.method in ("fast", "delta"):  # eFAST samples cannot be cut; delta is slow
        return []
    if spec.method == "sobol":
        per = 2 * d + 2 if spec.options.calc_second_order else d + 2
        sizes, n = [], spec.n
        while n >= 16 and len(sizes) < 6:
            sizes.append(n)
            n //= 2
        return [(n, n * per) for n in reversed(sizes)]
    per = d + 1 if spec.method == "morris" else 1
    least = 4 if spec.method == "morris" else 50
    sizes = sorted(
        {max(least, round(spec.n * f)) for f in (0.125, 0.25, 0.5, 1.0) if spec.n * f >= least}
        | {spec.n}
    )
    return [(n, n * per) for n in sizes]


def long_table(analysis, names: list[str], output: str) -> pd.DataFrame:
    """SALib's result dict (one output) as rows of (output, factor, index, value)."""
    rows = []
    for key, values in dict(analysis).items():
        if key == "names":
            continue
        arr = np.asarray(values)
        if arr.dtype.kind not in "fiub":
            continue
        if arr.ndim == 1 and arr.size == len(names):
            rows += [
                {"output": output, "factor": f, "index": key, "value": float(v)}
                for f, v in zip(names, arr, strict=True)
            ]
        elif arr.ndim == 2 and arr.shape == (len(names), len(names)):  # second order
            for i, a in enumerate(names):
                for j in range(i + 1, len(names)):
                    rows.append(
                        {
                            "output": output,
                            "factor": f"{a} x {names[j]}",
                            "index": key,
                            "value": float(arr[i, j]),
                        }
                    )
    return pd.DataFrame(rows)


def rank_factors(indices: pd.DataFrame, method: str, output: str) -> pd.DataFrame:
    """The factors of ``output`` ranked by the main index of ``method``: one row
    per factor, one column per index, and a ``rank`` column first."""
    table = indices[indices["output"] == output]
    wide = table.pivot(index="factor", columns="index", values="value")
    index, _ = MAIN_INDEX[method]
    wide = wide.sort_values(index, ascending=False)
    wide.insert(0, "rank", range(1, len(wide) + 1))
    return wide
