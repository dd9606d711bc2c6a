"""Figures of a sensitivity analysis (matplotlib's Agg canvas; pyplot untouched).

Panel titles are the outputs' names with their units
(:func:`landsim.display.indicator_label`); factor tick labels are the dotted
scenario keys; value axes use a compact number format with few ticks so their
labels do not collide; many factors get distinct colours and line styles
(:func:`landsim.display.series_styles`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from landsim.display import MAX_SERIES, indicator_label, series_styles, spread_positions
from landsim.plot import new_figure

#: Indices drawn as bars, per method: (index, its interval column or None).
BARS = {
    "morris": [("mu_star", "mu_star_conf")],
    "sobol": [("S1", "S1_conf"), ("ST", "ST_conf")],
    "fast": [("S1", "S1_conf"), ("ST", "ST_conf")],
    "delta": [("delta_raw", "delta_raw_conf"), ("delta_balanced", "delta_balanced_conf")],
    "pawn": [("median", None)],
}

#: What each index is, for legends and axis labels.
INDEX_NAMES = {
    "mu_star": "mu* (mean |elementary effect|)",
    "sigma": "sigma (sd of the elementary effects)",
    "S1": "S1 (first order)",
    "ST": "ST (total order)",
    "delta_raw": "delta",
    "delta_balanced": "delta (balanced)",
    "median": "PAWN (median KS statistic)",
}

#: The x axis of the convergence plot, per method.
SAMPLE_SIZE = {
    "morris": "trajectories (r)",
    "sobol": "base samples (N)",
    "pawn": "sample size (n)",
}

#: Most factors labelled in a Morris panel (the highest mu*).
MORRIS_LABELS = 8

#: Most factors drawn with interval bands in the convergence plot.
MAX_BANDED_FACTORS = 4


def _figure(n_panels: int, width: float = 5.5, height: float = 0.35, cols: int = 2):
    cols = min(cols, n_panels)
    rows = math.ceil(n_panels / cols)
    fig = new_figure(figsize=(width * cols, max(3.0, height) * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes


def compact(value: float, _pos=None) -> str:
    """A tick label: 1.5M, 250k, 12, 0.05 (short, so neighbours do not collide)."""
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:.3g}M"
    if a >= 1e4:
        return f"{value / 1e3:.3g}k"
    return f"{value:.3g}"


def _value_axis(axis, nbins: int = 5) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=nbins))
    axis.set_major_formatter(FuncFormatter(compact))


def _units(output: str) -> str:
    """The unit of an output, for the axis of a Morris elementary effect."""
    label = indicator_label(output.partition("@")[0])
    return label[label.rfind("(") + 1 : -1] if label.endswith(")") else ""


def _size_warning(sa) -> str:
    """A second title line when the analysis warned that its sample is small."""
    small = [
        w.split(":")[0]
        for w in getattr(sa, "warnings_", [])
        if "too small" in w or "trajectories is few" in w
    ]
    return f"\nwarning: {small[0]} (see warnings.txt)" if small else ""


def plot_indices(sa, path: Path) -> Path:
    """One horizontal bar chart per output: the method's indices with their
    bootstrap intervals, factors ordered by the main index."""
    outputs = list(sa.spec_.outputs)
    method = sa.spec_.method
    bars = BARS[method]
    d = len(sa.names)
    fig, axes = _figure(len(outputs), width=6.5, height=0.28 * d + 1.4)
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
                error_kw={"linewidth": 0.8},
                label=INDEX_NAMES.get(index, index),
                color=f"C{k}",
            )
        ax.set_yticks(y, wide.index, fontsize="small")
        ax.set_ylim(-0.6, len(wide) - 0.4)
        ax.set_title(indicator_label(output), fontsize="medium")
        ax.axvline(0, color="black", linewidth=0.5)
        if method == "morris":
            units = _units(output)
            ax.set_xlabel("mu* (mean |elementary effect|" + (f", {units})" if units else ")"))
        else:
            ax.set_xlabel(
                "index (share of the output's variance)"
                if method in ("sobol", "fast")
                else "index"
            )
            ax.set_xlim(left=min(0.0, ax.get_xlim()[0]))
        _value_axis(ax.xaxis)
        ax.grid(axis="x", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize="small")
    level = sa.spec_.options.conf_level
    fig.suptitle(
        f"{sa.name}: {method} indices per output, factors ranked by "
        f"{INDEX_NAMES.get(bars[0][0] if method == 'morris' else 'ST', '')}"
        + (f" ({level:.0%} bootstrap intervals)" if bars[0][1] else "")
        + _size_warning(sa)
    )
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_morris(sa, path: Path) -> Path:
    """mu* against sigma per output: factors above the 1:1 line act non-linearly
    or through interactions (Morris 1991). The :data:`MORRIS_LABELS` factors of
    highest mu* are labelled beside the panel, spread apart so that no two labels
    overlap, each joined to its point."""
    outputs = list(sa.spec_.outputs)
    fig, axes = _figure(len(outputs), width=7.0, height=4.5)
    fig.draw_without_rendering()
    for ax, output in zip(axes, outputs, strict=False):
        wide = sa.ranked(output)
        ax.scatter(wide["mu_star"], wide["sigma"], color="C0", s=18, zorder=3)
        top = max(float(wide["mu_star"].max()), float(wide["sigma"].max()), 1e-12)
        ax.plot([0, top], [0, top], color="grey", linewidth=0.8, linestyle="--")
        ax.set_xlim(-0.03 * top, top * 1.05)
        ax.set_ylim(-0.03 * top, top * 1.05)
        units = _units(output)
        unit = f", {units}" if units else ""
        ax.set_xlabel(f"mu* (mean |elementary effect|{unit})")
        ax.set_ylabel(f"sigma (sd of elementary effects{unit})")
        ax.set_title(indicator_label(output), fontsize="medium")
        _value_axis(ax.xaxis)
        _value_axis(ax.yaxis)
        ax.grid(alpha=0.3)
        labelled = wide.head(MORRIS_LABELS)
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        x_frac = ((labelled["mu_star"] - x0) / (x1 - x0)).to_numpy()
        y_frac = ((labelled["sigma"] - y0) / (y1 - y0)).to_numpy()
        # Labels in a column beside the panel, in the order that keeps the leaders
        # from crossing: a point further left (a longer leader) gets a higher label.
        placed = spread_positions(
            y_frac, gap=1 / 17, low=0.02, high=0.98, keys=y_frac + 0.25 * (1 - x_frac)
        )
        for (factor, row), y_text in zip(labelled.iterrows(), placed, strict=True):
            ax.annotate(
                f"{int(row['rank'])}. {factor}",
                (row["mu_star"], row["sigma"]),
                xytext=(1.04, y_text),
                textcoords="axes fraction",
                fontsize="x-small",
                va="center",
                annotation_clip=False,
                arrowprops={"arrowstyle": "-", "color": "grey", "linewidth": 0.5},
            )
    more = len(sa.names) - min(MORRIS_LABELS, len(sa.names))
    fig.suptitle(
        f"{sa.name}: Morris screening (dashed: sigma = mu*; above it, non-linear or "
        "interacting effects)"
        + (f"; the top {MORRIS_LABELS} of {len(sa.names)} factors labelled" if more else "")
        + _size_warning(sa)
    )
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_convergence(sa, path: Path) -> Path:
    """The main index of each factor as the sample grows; with up to
    :data:`MAX_BANDED_FACTORS` factors, its interval as a band (with more the
    bands would hide each other: the intervals are in convergence.csv). Every
    factor keeps its colour and line style across panels."""
    table = sa.convergence_
    outputs = list(sa.spec_.outputs)
    factors = list(sa.names)
    if len(factors) > MAX_SERIES:  # beyond what styles can tell apart: the top ones
        top = table[table["n"] == table["n"].max()].groupby("factor")["value"].max()
        factors = list(top.sort_values(ascending=False).index[:MAX_SERIES])
        table = table[table["factor"].isin(factors)]
    styles = dict(zip(factors, series_styles(len(factors)), strict=True))
    banded = len(factors) <= MAX_BANDED_FACTORS
    fig, axes = _figure(len(outputs), width=5.0, height=3.6)
    for ax, output in zip(axes, outputs, strict=False):
        part = table[table["output"] == output]
        for factor, rows in part.groupby("factor", sort=False):
            rows = rows.sort_values("n")
            style = styles[factor]
            ax.plot(
                rows["n"],
                rows["value"],
                marker=style["marker"] or "o",
                markersize=3,
                color=style["color"],
                linestyle=style["linestyle"],
                label=factor,
            )
            if banded and rows["conf"].notna().any():
                ax.fill_between(
                    rows["n"],
                    rows["value"] - rows["conf"],
                    rows["value"] + rows["conf"],
                    color=style["color"],
                    alpha=0.15,
                )
        sizes = sorted(part["n"].unique())
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel(SAMPLE_SIZE.get(sa.spec_.method, "n"))
        index = part["index"].iloc[0] if len(part) else ""
        ax.set_ylabel(INDEX_NAMES.get(index, index))
        _value_axis(ax.yaxis)
        ax.set_title(indicator_label(output), fontsize="medium")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize="x-small", handlelength=3)
    fig.suptitle(
        f"{sa.name}: convergence of the indices as the sample grows"
        + ("" if banded else " (intervals in convergence.csv)")
        + (
            f"; the {len(factors)} of {len(sa.names)} factors of highest index"
            if len(factors) < len(sa.names)
            else ""
        )
    )
    fig.savefig(path, dpi=110)
    return Path(path)
