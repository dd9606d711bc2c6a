"""Summaries of a batch directory: ``landsim summarize DIR``.

Runs are grouped by scenario and design point (the parameter values); within a
group the replicates are summarised by their mean, the ``level`` t-interval of the
mean (``ci_low``, ``ci_high``) and the central ``level`` range of the replicates
themselves (``p_low``, ``p_high``: where a single run falls). Failed runs are left
out and counted.

Nothing here prints; figures use matplotlib's Agg canvas without touching pyplot's
global state.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from landsim.batch import KEY_COLUMNS, BatchResults, load_batch
from landsim.display import fmt_column, indicator_label

#: Trajectories plotted by :meth:`BatchSummary.plot_trajectories`: column -> label.
PLOTTED = {
    c: indicator_label(c)
    for c in ("forest_area_ha", "deforestation_ha", "carbon_stock_tc", "income_mean_usd")
}

#: Columns of a yearly table that are not outcomes.
NOT_OUTCOMES = {"year", "run_id", "point", "replicate", "seed", "scenario", "landsim_version"}

#: Most groups drawn in one figure (beyond this the legend outgrows the figure).
MAX_PLOTTED_GROUPS = 24

#: Most groups drawn with their bands (beyond this the bands hide each other).
MAX_BANDED_GROUPS = 4


def describe_intervals(values: pd.core.groupby.DataFrameGroupBy, level: float) -> pd.DataFrame:
    """Mean, sd, n, t-interval of the mean and central ``level`` range, per group
    and column, as a long table (one row per group and variable)."""
    from scipy import stats

    tail = (1 - level) / 2
    mean = values.mean()
    sd = values.std(ddof=1)
    n = values.count()
    p_low = values.quantile(tail)
    p_high = values.quantile(1 - tail)

    def stack(frame: pd.DataFrame, name: str) -> pd.Series:
        return frame.stack(future_stack=True).rename(name)

    long = pd.concat(
        [
            stack(mean, "mean"),
            stack(sd, "sd"),
            stack(n, "n"),
            stack(p_low, "p_low"),
            stack(p_high, "p_high"),
        ],
        axis=1,
    )
    n_arr = long["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = stats.t.ppf(1 - tail, np.where(n_arr > 1, n_arr - 1, np.nan))
        half = t * long["sd"].to_numpy(dtype=float) / np.sqrt(n_arr)
    long.insert(2, "ci_low", long["mean"] - half)
    long.insert(3, "ci_high", long["mean"] + half)
    long["n"] = long["n"].astype(int)
    long.index = long.index.set_names([*long.index.names[:-1], "variable"])
    return long.reset_index()


@dataclass
class BatchSummary:
    """Summary tables of a batch (see :func:`summarize_batch`).

    Attributes
    ----------
    batch : BatchResults
        The batch read back.
    groups : pandas.DataFrame
        One row per scenario and point: its parameters, a label, runs and failures.
    yearly : pandas.DataFrame
        Per group, year and yearly variable: mean, sd, ci_low, ci_high, p_low,
        p_high, n.
    final : pandas.DataFrame
        Per group and end-of-run scalar: the same statistics.
    level : float
        The interval level.
    """

    batch: BatchResults
    groups: pd.DataFrame
    yearly: pd.DataFrame
    final: pd.DataFrame
    level: float

    @property
    def out_dir(self) -> Path:
        return self.batch.root / "summary"

    def format(self, width: int = 100) -> str:
        """The end-of-run outputs for a terminal of ``width`` columns: one block per
        output, one row per group: ``mean [ci_low, ci_high]`` and n. Groups whose
        labels are too long for the width are listed once and named G1, G2, ...
        The full tables are in DIR/summary (``final_summary.csv``)."""
        manifest = self.batch.manifest
        runs = self.batch.runs
        failed = int((runs["status"] != "ok").sum()) if len(runs) else 0
        lines = [
            f"experiment {manifest.get('experiment')!r} | landsim "
            f"{manifest.get('landsim_version')} | seed {manifest.get('seed')}",
            f"{len(runs)} of {manifest.get('runs')} runs recorded, {failed} failed",
        ]
        if self.final.empty:
            return "\n".join([*lines, "(no successful runs)"])
        lines.append(
            f"mean over replicates [{self.level:.0%} interval of the mean]; all "
            "statistics in summary/final_summary.csv"
        )
        groups = [g for g in self.groups["group"] if g in set(self.final["group"])]
        blocks = {}
        for variable, part in self.final.groupby("variable", sort=False):
            part = part.set_index("group").reindex([g for g in groups if g in set(part["group"])])
            text = fmt_column(
                [*part["mean"], *part["ci_low"], *part["ci_high"]], like=part["mean"]
            )
            k = len(part)
            blocks[variable] = [
                (g, text[i], f"[{text[k + i]}, {text[2 * k + i]}]", int(part["n"].iloc[i]))
                for i, g in enumerate(part.index)
            ]
        rows = [row for block in blocks.values() for row in block]
        mean_w = max(len(r[1]) for r in rows)
        ci_w = max(len(r[2]) for r in rows)
        n_w = max(len(str(r[3])) for r in rows)
        longest = max(len(g) for g in groups)
        keyed = 2 + longest + 2 + mean_w + 1 + ci_w + 4 + n_w > width
        names = {g: (f"G{i + 1}" if keyed else g) for i, g in enumerate(groups)}
        if keyed:
            lines += ["", "groups:"]
            lines += [
                textwrap.fill(
                    g, width, initial_indent=f"  {names[g]:<4} ", subsequent_indent=" " * 7
                )
                for g in groups
            ]
        name_w = max(len(n) for n in names.values())
        for variable, block in blocks.items():
            lines += ["", indicator_label(variable)]
            for g, mean, ci, n in block:
                lines.append(f"  {names[g]:<{name_w}}  {mean:>{mean_w}} {ci:<{ci_w}}  n={n}")
        head = [textwrap.fill(line, width, subsequent_indent="  ") for line in lines[:3]]
        return "\n".join(head + lines[3:])

    def write(self) -> list[Path]:
        """Write the tables (CSV and Parquet) and the trajectory figure to DIR/summary."""
        out = self.out_dir
        out.mkdir(exist_ok=True)
        paths = []
        for name, frame in (
            ("groups", self.groups),
            ("yearly_summary", self.yearly),
            ("final_summary", self.final),
        ):
            csv, parquet = out / f"{name}.csv", out / f"{name}.parquet"
            frame.to_csv(csv, index=False)
            frame.to_parquet(parquet, index=False)
            paths += [csv, parquet]
        if not self.yearly.empty:
            paths.append(self.plot_trajectories(out / "trajectories.png"))
        return paths

    def plot_trajectories(self, path: str | Path) -> Path:
        """Mean trajectories per group (:func:`landsim.plot.batch.plot_batch_trajectories`)."""
        from landsim.plot.batch import plot_batch_trajectories

        return plot_batch_trajectories(self, path)


def label_groups(runs: pd.DataFrame, parameters: list[str]) -> pd.DataFrame:
    """One row per scenario and point: parameters, a readable label, counts."""
    keys = ["scenario", "point"]
    ok = runs["status"] == "ok"
    groups = (
        runs.assign(ok=ok, failed=~ok)
        .groupby(keys, sort=True)
        .agg(
            runs=("run_id", "size"),
            failed=("failed", "sum"),
            **{p: (p, "first") for p in parameters if p in runs.columns},
        )
        .reset_index()
    )
    several = runs["scenario"].nunique() > 1 or not parameters
    labels = []
    for _, row in groups.iterrows():
        parts = [str(row["scenario"])] if several else []
        parts += [f"{p}={_value(row[p])}" for p in parameters if p in row and pd.notna(row[p])]
        labels.append(" | ".join(parts) or f"point {row['point']}")
    groups.insert(2, "group", labels)
    return groups


def _value(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def summarize_batch(directory: str | Path, level: float = 0.95) -> BatchSummary:
    """Summarise a batch directory per scenario, point and year (see the module
    docstring).

    Raises
    ------
    BatchError
        If ``directory`` is not a batch directory.
    """
    batch = load_batch(directory)
    runs = batch.runs
    experiment = json.loads((batch.root / "experiment.json").read_text("utf-8"))
    scalars = experiment["spec"]["outputs"]["scalars"]
    parameters = batch.parameters
    if runs.empty:
        empty = pd.DataFrame()
        return BatchSummary(batch, empty, empty, empty, level)
    groups = label_groups(runs, parameters)
    label = groups.set_index(["scenario", "point"])["group"]
    ok_runs = runs[runs["status"] == "ok"]

    present = [s for s in scalars if s in ok_runs.columns]
    final = pd.DataFrame()
    if present and len(ok_runs):
        final = describe_intervals(ok_runs.groupby(["scenario", "point"])[present], level)
        final.insert(
            2,
            "group",
            label.reindex(pd.MultiIndex.from_frame(final[["scenario", "point"]])).to_numpy(),
        )

    yearly = pd.DataFrame()
    if not batch.yearly.empty:
        frame = batch.yearly
        outcomes = [
            c
            for c in frame.columns
            if c not in NOT_OUTCOMES
            and c not in parameters
            and c not in KEY_COLUMNS
            and pd.api.types.is_numeric_dtype(frame[c])
        ]
        values = frame[["scenario", "point", "year", *outcomes]].copy()
        flags = [c for c in outcomes if pd.api.types.is_bool_dtype(values[c])]
        values[flags] = values[flags].astype(float)  # a flag's mean is the share of runs
        yearly = describe_intervals(values.groupby(["scenario", "point", "year"]), level)
        yearly.insert(
            2,
            "group",
            label.reindex(pd.MultiIndex.from_frame(yearly[["scenario", "point"]])).to_numpy(),
        )
    return BatchSummary(batch, groups, yearly, final, level)
