"""The road-building schedule of a scenario (``[roads]``, ODD 7.0a) and its checks.

A scenario lists road segments to build during the run, each a straight line
between two points given in km from the raster's origin, its north-west corner
(``x`` east of the western edge, ``y`` south of the northern edge: the order of
the layers' columns and rows). :func:`road_problems` is the one place where a
schedule is checked against the run's years and the landscape's extent: the
scenario's validation calls it (with the extent of a synthetic landscape), and so
do the models once their landscape is built or read (any landscape).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator

from landsim.errors import ScenarioError
from landsim.scenario.types import Integer, Real, _Section

#: How far (in cell sides) a point may lie beyond the raster's far edges, for
#: coordinates such as ``20.000000000000004`` that mean the edge itself.
EDGE_TOLERANCE_CELLS = 1e-9

POINT_SHAPE = (
    "must be a point [x, y] of two numbers in km from the raster's origin, its "
    "north-west corner (x east of the western edge, y south of the northern edge)"
)


def _point_shape(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) == 2:
        return value
    raise ValueError(POINT_SHAPE)


#: A point [x, y] in km from the raster's north-west corner.
PointKm = Annotated[tuple[Real, Real], BeforeValidator(_point_shape)]


class RoadExtension(_Section):
    """A straight road segment that is built at the start of ``year`` (before the
    settlers of that year arrive), from the cell of ``from_km`` to the cell of
    ``to_km``."""

    year: Integer
    from_km: PointKm
    to_km: PointKm


class RoadParams(_Section):
    """Road building over time (none by default: the road network does not change)."""

    extensions: list[RoadExtension]


def cell_side_km(cell_size_ha: float) -> float:
    """The side of a square cell of ``cell_size_ha`` ha, in km."""
    return float(math.sqrt(cell_size_ha)) * 0.1


def road_problems(
    roads: RoadParams,
    years: int,
    shape: tuple[int, int] | None = None,
    cell_size_ha: float | None = None,
) -> list[tuple[str, str]]:
    """``(key path, message)`` for each scheduled segment that cannot be built:
    a year outside the run (1 to ``years``), an end west or north of the raster,
    or, where the landscape's ``shape`` (rows, columns) and cell size are given,
    an end east or south of it.

    Parameters
    ----------
    roads : RoadParams
    years : int
        The run's number of years.
    shape : (int, int), optional
        Rows and columns of the landscape (None: not known yet, e.g. before an
        ``.npz`` file is read).
    cell_size_ha : float, optional
        Area of one cell (ha); needed with ``shape``.
    """
    problems = []
    if shape is not None:
        side = cell_side_km(cell_size_ha)
        height, width = shape
        width_km, height_km = width * side, height * side
        slack = EDGE_TOLERANCE_CELLS * side
    for i, extension in enumerate(roads.extensions):
        key = f"roads.extensions.{i}"
        if not 1 <= extension.year <= years:
            problems.append(
                (
                    f"{key}.year",
                    f"year {extension.year} is outside the run: allowed 1-{years} "
                    f"(years = {years})",
                )
            )
        for name in ("from_km", "to_km"):
            x, y = getattr(extension, name)
            if shape is None and min(x, y) < 0:
                allowed = "allowed x and y >= 0 km (the landscape's extent is not known yet)"
            elif shape is not None and not (
                0 <= x <= width_km + slack and 0 <= y <= height_km + slack
            ):
                allowed = (
                    f"allowed x 0-{width_km:g} km (east of the western edge) and y "
                    f"0-{height_km:g} km (south of the northern edge) on this {width} x "
                    f"{height} landscape of {side:g} km cells"
                )
            else:
                continue
            problems.append(
                (f"{key}.{name}", f"[{x:g}, {y:g}] lies outside the raster: {allowed}")
            )
    return problems


def check_roads(scenario, shape: tuple[int, int], cell_size_ha: float) -> None:
    """Refuse a road schedule that the landscape (``shape`` rows and columns of
    ``cell_size_ha`` ha) or the run's years cannot hold.

    Raises
    ------
    ScenarioError
        Naming the scenario's file, each segment's key and the allowed values.
    """
    problems = road_problems(scenario.roads, scenario.years, shape, cell_size_ha)
    if problems:
        raise ScenarioError(scenario.source, problems)
