"""The line plots: ECharts options (Solara's component, served locally) with
hover values and the previous run as faint lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import solara
from mesa.visualization.utils import update_counter

#: Environment variable that carries the scenario file to the page ("" = embedded default).
from landsim.viz.teaching import TeachingModel

# --------------------------------------------------------------------------- the plots


@dataclass(frozen=True)
class Trajectory:
    """A line plot of columns of the yearly table.

    Attributes
    ----------
    title, unit : str
    lines : tuple of (column, label, colour)
    scale : float
        Factor from the columns' unit to ``unit``.
    from_zero : bool
        Whether the y axis starts at 0.
    """

    title: str
    unit: str
    lines: tuple[tuple[str, str, str], ...]
    scale: float = 1.0
    from_zero: bool = False


TRAJECTORIES = (
    Trajectory(
        "Forest area",
        "thousand ha",
        (
            ("forest_area_ha", "all forest (primary + regrowth)", "#8bc34a"),
            ("area_primary_forest_ha", "primary forest", "#1b5e20"),
        ),
        scale=1e-3,
    ),
    Trajectory(
        "Deforestation per year",
        "ha per year",
        (
            ("deforestation_ha", "primary forest cleared", "#c62828"),
            ("secondary_cleared_ha", "regrowth cleared again", "#ef9a9a"),
        ),
        from_zero=True,
    ),
    Trajectory(
        "Carbon stock",
        "million tC",
        (
            ("carbon_stock_tc", "biomass + soil", "#1b5e20"),
            ("biomass_carbon_tc", "biomass", "#8bc34a"),
        ),
        scale=1e-6,
    ),
    Trajectory(
        "Farm income",
        "USD per farm per year",
        (
            ("income_mean_usd", "mean", "#1565c0"),
            ("income_poorest20_usd", "poorest 20 % of farms (mean)", "#90caf9"),
            ("payments_mean_usd", "programme payments in it (mean)", "#43a047"),
        ),
    ),
)
#: The yearly columns the plots read.
PLOT_COLUMNS = [column for spec in TRAJECTORIES for column, _, _ in spec.lines]
#: Where a plot's axes are in its box (pixels from each side).
CHART_GRID = {"left": 64, "right": 16, "top": 72, "bottom": 42}
#: What the faint lines of the previous run are called in the hover box.
PREVIOUS = "previous run"


def to_points(table: pd.DataFrame, column: str, scale: float) -> list[list]:
    """``[year, value]`` pairs of a column, rounded for the hover box (None if missing)."""
    years = table["year"].to_numpy(int)
    values = table[column].to_numpy(float) * scale
    return [
        [int(year), float(f"{value:.4g}") if np.isfinite(value) else None]
        for year, value in zip(years, values, strict=True)
    ]


def chart_option(
    table: pd.DataFrame, spec: Trajectory, years: int, previous: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The ECharts option of a line plot of ``spec``'s columns (with hover values).

    With a ``previous`` table, that run's lines are drawn faint and dashed under
    this run's.
    """
    series = []
    for column, label, colour in spec.lines:
        if previous is not None and column in previous:
            series.append(
                {
                    "type": "line",
                    "name": f"{label} ({PREVIOUS})",
                    "data": to_points(previous, column, spec.scale),
                    "color": colour,
                    "showSymbol": False,
                    "lineStyle": {"type": "dashed", "width": 1.5, "opacity": 0.45},
                    "z": 1,
                    "silent": True,
                }
            )
    for column, label, colour in spec.lines:
        series.append(
            {
                "type": "line",
                "name": label,
                "data": to_points(table, column, spec.scale),
                "color": colour,
                "symbolSize": 4,
                "lineStyle": {"width": 2},
                "z": 2,
            }
        )
    return {
        "animation": False,
        "title": {"text": spec.title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 26, "data": [label for _, label, _ in spec.lines]},
        "grid": dict(CHART_GRID),
        "xAxis": {
            "type": "value",
            "name": "year",
            "nameLocation": "middle",
            "nameGap": 26,
            "min": 0,
            "max": max(years, 1),
            "minInterval": 1,
        },
        "yAxis": {
            "type": "value",
            "name": spec.unit,
            "nameLocation": "middle",
            "nameGap": 48,
            "scale": not spec.from_zero,
        },
        "series": series,
    }


def read_table(model: TeachingModel) -> pd.DataFrame:
    """A copy of the model's yearly table (read under the model's lock)."""
    with model.lock:
        return model.yearly_table().copy()


@solara.component
def TrajectoryPlot(model: TeachingModel, spec: Trajectory, previous: pd.DataFrame | None):
    """One of :data:`TRAJECTORIES`, redrawn each year."""
    update_counter.get()
    option = solara.use_memo(
        lambda: chart_option(read_table(model), spec, model.params.years, previous),
        dependencies=[model, model.year, spec, id(previous)],
    )
    with solara.Div(classes=["landsim-plot"]):
        solara.FigureEcharts(
            option=option, attributes={"style": "height: 330px; width: 100%"}, responsive=True
        )
