"""The trajectories of a batch summary (``landsim summarize``)."""

from __future__ import annotations

import math
from pathlib import Path

from landsim.display import label_and_unit, series_styles, thousands
from landsim.plot import new_figure
from landsim.report import MAX_BANDED_GROUPS, MAX_PLOTTED_GROUPS, PLOTTED


def plot_batch_trajectories(summary, path: str | Path) -> Path:
    """A :class:`~landsim.report.BatchSummary`'s mean trajectories per group.

    With up to :data:`MAX_BANDED_GROUPS` groups, two bands as well: the interval of
    the mean (dark) and the central range of the replicates (light); with more, the
    bands would hide each other and only the means are drawn (the intervals are in
    ``yearly_summary.csv``). Each group has its own colour and line style
    (:func:`landsim.display.series_styles`).
    """
    variables = [v for v in PLOTTED if v in set(summary.yearly["variable"])]
    groups = list(summary.groups["group"])[:MAX_PLOTTED_GROUPS]
    banded = len(groups) <= MAX_BANDED_GROUPS
    styles = series_styles(len(groups))
    rows = math.ceil(len(variables) / 2)
    fig = new_figure(figsize=(11, 3.2 * rows + 0.25 * math.ceil(len(groups) / 2) + 0.6))
    fig.set_layout_engine("constrained")
    axes = fig.subplots(rows, 2, squeeze=False).ravel()
    for ax, variable in zip(axes, variables, strict=False):
        data = summary.yearly[summary.yearly["variable"] == variable]
        for group, style in zip(groups, styles, strict=True):
            g = data[data["group"] == group].sort_values("year")
            if g.empty:
                continue
            colour = style["color"]
            if banded:
                ax.fill_between(
                    g["year"], g["p_low"], g["p_high"], color=colour, alpha=0.12, linewidth=0
                )
                ax.fill_between(
                    g["year"], g["ci_low"], g["ci_high"], color=colour, alpha=0.35, linewidth=0
                )
            ax.plot(
                g["year"],
                g["mean"],
                color=colour,
                linestyle=style["linestyle"],
                marker=style["marker"],
                markersize=3,
                label=group,
                linewidth=1.5,
            )
        label, unit = label_and_unit(variable)
        ax.set_title(label)
        ax.set_ylabel(unit)
        ax.set_xlabel("year")
        thousands(ax.yaxis)
        ax.grid(alpha=0.3)
    for ax in axes[len(variables) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=min(2, len(labels)),
        fontsize="small",
        handlelength=3,
    )
    more = len(summary.groups) - len(groups)
    what = (
        f"mean, {summary.level:.0%} interval of the mean (dark) and of the replicates (light)"
        if banded
        else f"mean of the replicates ({len(groups)} groups: intervals in yearly_summary.csv)"
    )
    fig.suptitle(
        f"{summary.batch.manifest.get('experiment')}: {what}"
        + (f"; first {len(groups)} of {len(summary.groups)} groups" if more > 0 else "")
    )
    fig.savefig(path, dpi=110)
    return Path(path)
