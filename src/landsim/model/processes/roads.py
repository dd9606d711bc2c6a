"""Road building (ODD 7.0a): the scenario's schedule of new road segments.

At the start of year ``t`` (step 0, before the year's settlers arrive), every
segment of ``roads.extensions`` whose ``year`` is ``t`` is built: the cells of
the straight line between the cells of its two ends become road cells (cells that
front a road, like those of the generator's roads, which run along cell edges and
take no area: a cell's cover, owner, claim and protection do not change), and
``road_distance_km`` is computed again from the new road layer.

An end ``[x, y]`` (km east of the western edge, km south of the northern edge)
lies in the cell of column ``floor(x / side)`` and row ``floor(y / side)`` (to
within 1e-9 of a cell, so that a point on a cell boundary falls in the cell east
or south of it), the raster's far edges in its last column and row. The line is
rasterised 8-connected from the end first in raster order: with ``n`` the larger
of the row and column differences, step ``k = 0..n`` moves ``k`` cells along
that axis and ``d k / n`` along the other (``d`` its difference), rounded to the
nearest cell, halves away from the first end; so it holds ``n + 1`` cells, both
ends among them, and is the same whichever end comes first.

New roads then count wherever roads do: settlers arrive at road-fronting open
forest (``settlers``), clearing takes the cells nearest fields or roads first,
and forest on a road cell is at the forest's edge (``land_change``). Nothing the
model keeps across years depends on the roads (the ownership index reads owner,
claim and protection; the clearing distances are computed each year), so nothing
else is rebuilt.
"""

from __future__ import annotations

import math

import numpy as np

from landsim.landscape import distance_to_road
from landsim.model.state import Landscape, ModelState

#: Tolerance (in cell sides) of the cell of a point on a cell boundary.
BOUNDARY_TOLERANCE_CELLS = 1e-9


def point_cell(point_km, shape: tuple[int, int], cell_side_km: float) -> tuple[int, int]:
    """The (row, column) of the cell that holds ``point_km`` = ``[x, y]`` (km from
    the north-west corner; the far edges belong to the last column and row)."""
    x, y = point_km
    height, width = shape
    col = math.floor(x / cell_side_km + BOUNDARY_TOLERANCE_CELLS)
    row = math.floor(y / cell_side_km + BOUNDARY_TOLERANCE_CELLS)
    return min(max(row, 0), height - 1), min(max(col, 0), width - 1)


def segment_cells(start: tuple[int, int], end: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the 8-connected straight line of cells from ``start``
    to ``end`` (both ``(row, column)``), both included, in order along the line
    from the end first in raster order (see the module docstring).

    Examples
    --------
    >>> rows, cols = segment_cells((1, 0), (3, 5))
    >>> list(zip(rows.tolist(), cols.tolist()))
    [(1, 0), (1, 1), (2, 2), (2, 3), (3, 4), (3, 5)]
    """
    (r0, c0), (r1, c1) = sorted((tuple(start), tuple(end)))
    n = max(abs(r1 - r0), abs(c1 - c0))
    step = np.arange(n + 1, dtype=np.int64)
    if n == 0:
        return np.array([r0]), np.array([c0])

    def along(first: int, last: int) -> np.ndarray:
        d = last - first  # |d| k / n rounded half up, on the side of d
        return first + np.sign(d) * ((2 * abs(d) * step + n) // (2 * n))

    return along(r0, r1), along(c0, c1)


def build_segment(landscape: Landscape, from_km, to_km) -> int:
    """Make the cells of the segment from ``from_km`` to ``to_km`` road cells
    (in place). Returns how many were not road before."""
    ls = landscape
    side = ls.cell_side_km
    rows, cols = segment_cells(
        point_cell(from_km, ls.shape, side), point_cell(to_km, ls.shape, side)
    )
    new = int(np.count_nonzero(~ls.road[rows, cols]))
    ls.road[rows, cols] = True
    return new


def build_roads(state: ModelState) -> int:
    """Build this year's segments of the scenario's road schedule (in place) and
    recompute the distance to the nearest road. Returns the cells that became road."""
    ls = state.landscape
    due = [e for e in state.params.roads.extensions if e.year == state.year]
    if not due:
        return 0
    new = sum(build_segment(ls, e.from_km, e.to_km) for e in due)
    if new:
        ls.road_distance_km[:] = distance_to_road(ls.road, ls.cell_side_km)
    return new
