"""Figures of a sensitivity analysis (matplotlib's Agg canvas; pyplot untouched)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

#: Indices drawn as bars, per method: (index, its interval column or None).
BARS = {
    "morris": [("mu_star", "mu_star_conf")],
    "sobol": [("S1", "S1_conf"), ("ST", "ST_conf")],
    "fast": [("S1", "S1_conf"), ("ST", "ST_conf")],
    "delta": [("delta_raw", "delta_raw_conf"), ("delta_balanced", "delta_balanced_conf")],
    "pawn": [("median", None)],
}


def _figure(n_panels: int, width: float = 5.5, height: float = 0.35):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = min(2, n_panels)
    rows = math.ceil(n_panels / cols)
    fig = Figure(figsize=(width * cols, max(3.0, height) * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes


def plot_indices(sa, path: Path) -> Path:
    """One horizontal bar chart per output: the method's indices with their
    bootstrap intervals, factors ordered by the main index."""
    outputs = list(sa.spec_.outputs)
    bars = BARS[sa.spec_.method]
    d = len(sa.names)
    fig, axes = _figure(len(outputs), height=0.3 * d + 1.2)
    for ax, output in zip(axes, outputs, strict=False):
        wide = sa.ranked(output).iloc[::-1]
        y = np.arange(len(wide))
        height = 0.8 / len(bars)
        for k, (index, conf) in enumerate(bars):
            if index not in wide.columns:
                continue
            err = wide[conf].to_numpy() if conf and conf in wide.columns else None
            ax.barh(
                y + (k - (len(bars) - 1) / 2) * height,
                wide[index],
                height=height,
                xerr=err,
                capsize=2,
                label=index,
                color=f"C{k}",
            )
        ax.set_yticks(y, wide.index, fontsize="small")
        ax.set_title(output, fontsize="medium")
        ax.axvline(0, color="black", linewidth=0.5)
        ax.legend(fontsize="small")
    level = sa.spec_.options.conf_level
    fig.suptitle(f"{sa.name}: {sa.spec_.method} indices ({level:.0%} bootstrap intervals)")
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_morris(sa, path: Path) -> Path:
    """mu* against sigma per output: factors above the 1:1 line act non-linearly
    or through interactions (Morris 1991)."""
    outputs = list(sa.spec_.outputs)
    fig, axes = _figure(len(outputs), width=5.0, height=4.5)
    for ax, output in zip(axes, outputs, strict=False):
        wide = sa.ranked(output)
        ax.scatter(wide["mu_star"], wide["sigma"], color="C0")
        top = max(float(wide["mu_star"].max()), float(wide["sigma"].max()), 1e-12)
        ax.plot([0, top], [0, top], color="grey", linewidth=0.8, linestyle="--")
        for factor, row in wide.head(8).iterrows():
            ax.annotate(
                factor,
                (row["mu_star"], row["sigma"]),
                fontsize="x-small",
                xytext=(3, 3),
                textcoords="offset points",
            )
        ax.set_xlabel("mu* (mean |elementary effect|)")
        ax.set_ylabel("sigma (sd of elementary effects)")
        ax.set_title(output, fontsize="medium")
    fig.suptitle(f"{sa.name}: Morris screening (dashed: sigma = mu*)")
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_convergence(sa, path: Path) -> Path:
    """The main index of each factor as the sample grows, with its interval."""
    table = sa.convergence_
    outputs = list(sa.spec_.outputs)
    fig, axes = _figure(len(outputs), width=5.5, height=4.0)
    for ax, output in zip(axes, outputs, strict=False):
        part = table[table["output"] == output]
        for k, (factor, rows) in enumerate(part.groupby("factor", sort=False)):
            rows = rows.sort_values("n")
            ax.plot(
                rows["n"],
                rows["value"],
                marker="o",
                markersize=3,
                color=f"C{k % 10}",
                label=factor,
            )
            if rows["conf"].notna().any():
                ax.fill_between(
                    rows["n"],
                    rows["value"] - rows["conf"],
                    rows["value"] + rows["conf"],
                    color=f"C{k % 10}",
                    alpha=0.15,
                )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("n")
        ax.set_ylabel(part["index"].iloc[0] if len(part) else "")
        ax.set_title(output, fontsize="medium")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize="x-small")
    fig.suptitle(f"{sa.name}: convergence of the indices as n grows")
    fig.savefig(path, dpi=110)
    return Path(path)
