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
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from landsim.batch import KEY_COLUMNS, BatchResults, load_batch

#: Trajectories plotted by :meth:`BatchSummary.plot_trajectories`: column -> label.
PLOTTED = {
    "forest_area_ha": "forest area (ha)",
    "deforestation_ha": "deforestation (ha/yr)",
    "carbon_stock_tc": "carbon stock (tC)",
    "income_mean_usd": "mean farm income (USD/yr)",
}

#: Columns of a yearly table that are not outcomes.
NOT_OUTCOMES = {"year", "run_id", "point", "replicate", "seed", "scenario", "landsim_version"}

#: Most groups drawn in one figure (beyond this the plot is unreadable).
MAX_PLOTTED_GROUPS = 12


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

    def format(self) -> str:
        """The end-of-run table: one row per group, ``mean [ci_low, ci_high]``."""
        manifest = self.batch.manifest
        runs = self.batch.runs
        failed = int((runs["status"] != "ok").sum()) if len(runs) else 0
        header = (
            f"experiment {manifest.get('experiment')!r} | landsim "
            f"{manifest.get('landsim_version')} | seed {manifest.get('seed')} | "
            f"{len(runs)} of {manifest.get('runs')} runs recorded, {failed} failed | "
            f"mean [{self.level:.0%} interval of the mean] over replicates"
        )
        if self.final.empty:
            return header + "\n(no successful runs)"
        cells = self.final.assign(
            cell=[
                f"{_fmt(m)} [{_fmt(lo)}, {_fmt(hi)}]"
                for m, lo, hi in zip(
                    self.final["mean"], self.final["ci_low"], self.final["ci_high"], strict=True
                )
            ]
        )
        table = cells.pivot(index="group", columns="variable", values="cell")
        order = list(dict.fromkeys(self.final["variable"]))
        table = table.reindex(index=list(self.groups["group"]), columns=order).dropna(how="all")
        return f"{header}\n{table.to_string()}"

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
        """Mean trajectories per group with two bands: the interval of the mean
        (dark) and the central range of the replicates (light)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        variables = [v for v in PLOTTED if v in set(self.yearly["variable"])]
        groups = list(self.groups["group"])[:MAX_PLOTTED_GROUPS]
        fig = Figure(figsize=(11, 3.2 * math.ceil(len(variables) / 2)), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(math.ceil(len(variables) / 2), 2, squeeze=False).ravel()
        for ax, variable in zip(axes, variables, strict=False):
            data = self.yearly[self.yearly["variable"] == variable]
            for i, group in enumerate(groups):
                g = data[data["group"] == group].sort_values("year")
                if g.empty:
                    continue
                colour = f"C{i % 10}"
                ax.fill_between(
                    g["year"], g["p_low"], g["p_high"], color=colour, alpha=0.12, linewidth=0
                )
                ax.fill_between(
                    g["year"], g["ci_low"], g["ci_high"], color=colour, alpha=0.35, linewidth=0
                )
                ax.plot(g["year"], g["mean"], color=colour, label=group, linewidth=1.5)
            ax.set_title(PLOTTED[variable])
            ax.set_xlabel("year")
        for ax in axes[len(variables) :]:
            ax.set_visible(False)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(2, len(labels)),
            fontsize="small",
        )
        more = len(self.groups) - len(groups)
        fig.suptitle(
            f"{self.batch.manifest.get('experiment')}: mean, {self.level:.0%} interval of the "
            f"mean (dark) and of the replicates (light)"
            + (f"; first {len(groups)} of {len(self.groups)} groups" if more > 0 else "")
        )
        fig.savefig(path, dpi=110)
        return Path(path)


def _fmt(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "nan"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


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
