"""The figures of a comparison (``landsim compare``): both runs' trajectories and
the main effects."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from landsim.display import label_and_unit, thousands
from landsim.evaluation.metrics import METRICS
from landsim.evaluation.results import EFFECT_PANELS, TRAJECTORY_PANELS
from landsim.plot import new_figure


def plot_comparison_trajectories(comparison, path: str | Path) -> Path:
    """Both runs' mean and 2.5-97.5 % band across replicates for forest area,
    cumulative deforestation, carbon stock and mean income (2 x 2), programme
    years shaded."""
    fig = new_figure(figsize=(11, 8), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    traj = comparison.trajectories
    runs = (
        ("counterfactual", f"counterfactual: {comparison.counterfactual_name}", "tab:gray"),
        ("scenario", f"scenario: {comparison.scenario_name}", "tab:green"),
    )
    for ax, column in zip(axes, TRAJECTORY_PANELS, strict=True):
        for p in comparison.programmes:
            if p["start_in_run"] <= p["end_in_run"]:
                ax.axvspan(
                    p["start_in_run"] - 1,
                    p["end_in_run"],
                    color="gold",
                    alpha=0.15,
                    lw=0,
                    label="programme years" if ax is axes[0] else None,
                )
        for run, label, colour in runs:
            rows = traj[traj["run"] == run]
            if column not in rows.columns or rows[column].isna().all():
                continue
            by_year = rows.groupby("year")[column]
            mean = by_year.mean()
            low, high = by_year.quantile(0.025), by_year.quantile(0.975)
            x = mean.index.to_numpy()
            ax.fill_between(x, low.to_numpy(), high.to_numpy(), color=colour, alpha=0.25, lw=0)
            ax.plot(x, mean.to_numpy(), color=colour, lw=2, label=label)
        label, unit = label_and_unit(column)
        ax.set_title(label)
        ax.set_ylabel(unit)
        ax.set_xlabel("year")
        thousands(ax.yaxis)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    axes[0].legend(handles, labels, fontsize="small")
    fig.suptitle(
        f"{comparison.scenario_name} vs {comparison.counterfactual_name}: mean and 2.5-97.5 % of "
        f"{comparison.n_replicates} replicates"
    )
    fig.savefig(path, dpi=100)
    return Path(path)


def plot_comparison_effects(comparison, path: str | Path) -> Path:
    """The main effects: mean across replicates with 95 % t-interval error bars,
    one panel per metric (their units differ)."""
    summary = comparison.summary()
    fig = new_figure(figsize=(3 * len(EFFECT_PANELS), 4), layout="constrained")
    axes = fig.subplots(1, len(EFFECT_PANELS))
    for ax, metric in zip(axes, EFFECT_PANELS, strict=True):
        label, unit = METRICS[metric]
        row = summary.loc[metric] if metric in summary.index else None
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks([])
        ax.set_title(f"{label}\n({unit})", fontsize="small")
        if row is None or not np.isfinite(row["mean"]):
            ax.text(0.5, 0.5, "n/a", ha="center", va="center", transform=ax.transAxes)
            continue
        mean = float(row["mean"])
        yerr = None
        if np.isfinite(row["ci_low"]):
            yerr = [[mean - float(row["ci_low"])], [float(row["ci_high"]) - mean]]
        ax.bar([0], [mean], yerr=yerr, capsize=8, color="tab:green", width=0.5)
        thousands(ax.yaxis)
        ax.set_xlim(-1, 1)
    fig.suptitle(
        f"Effects of {comparison.scenario_name} vs {comparison.counterfactual_name} "
        f"(mean, 95 % CI; {comparison.n_replicates} replicates)"
    )
    fig.savefig(path, dpi=100)
    return Path(path)
