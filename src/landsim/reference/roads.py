"""The reference's road building (ODD 7.0a), cell by cell: at the start of a year,
each scheduled segment of that year becomes a line of road cells, and each cell's
distance to the nearest road is brought up to date."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from landsim.reference.model import ReferenceModel


def end_cell(model: ReferenceModel, point_km) -> tuple[int, int]:
    """The (x, y) cell coordinate of a segment's end ``[x_km, y_km]`` (km east of
    the western edge and south of the northern edge): the cell whose square holds
    it, a point on a boundary (to within 1e-9 of a cell) in the cell east or south
    of it, the far edges in the last column and row."""
    side = math.sqrt(model.cell_size_ha) * 0.1
    height, width = model.shape
    x = min(max(math.floor(point_km[0] / side + 1e-9), 0), width - 1)
    y = min(max(math.floor(point_km[1] / side + 1e-9), 0), height - 1)
    return x, y


def line_of_cells(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    """The cells (x, y) of the straight line between two cells, both included.

    The line is drawn from the end that comes first in raster order (row, then
    column). It takes one cell per step along the axis of the larger difference
    ``n``; at step ``k`` the other coordinate is the cell nearest the exact line,
    ``k / n`` of the way along it, a half rounded away from the first end.
    """
    (y0, x0), (y1, x1) = sorted([(first[1], first[0]), (last[1], last[0])])
    n = max(abs(x1 - x0), abs(y1 - y0))
    cells = []
    for k in range(n + 1):
        point = []
        for start, end in ((x0, x1), (y0, y1)):
            exact = Fraction(abs(end - start) * k, n) if n else Fraction(0)
            offset = math.floor(exact + Fraction(1, 2))
            point.append(start + (offset if end >= start else -offset))
        cells.append((point[0], point[1]))
    return cells


def build_roads(model: ReferenceModel) -> int:
    """Build the segments scheduled for this year: their cells front a road from
    now on (cover, owner, claim and protection unchanged), and every cell's
    distance to the nearest road becomes the smaller of its distance before and
    its distance to the new road cells. Returns the cells that became road."""
    new = []
    for extension in model.params.roads.extensions:
        if extension.year != model.year:
            continue
        ends = end_cell(model, extension.from_km), end_cell(model, extension.to_km)
        for x, y in line_of_cells(*ends):
            cell = model.grid[(x, y)]
            if not cell.road:
                cell.road = True
                new.append((x, y))
    if new:
        update_road_distance(model, new)
    return len(new)


def update_road_distance(model: ReferenceModel, new: list[tuple[int, int]]) -> None:
    """Bring each cell's distance to the nearest road (km, from its centre to the
    road along the edge of the nearest road cell: half a cell more than the
    distance between the two cells' centres) up to date with the ``new`` road
    cells."""
    side = math.sqrt(model.cell_size_ha) * 0.1
    distance = model.road_distance_km
    for cell in model.cells:
        x, y = cell.coordinate
        nearest = min((x - rx) ** 2 + (y - ry) ** 2 for rx, ry in new)
        km = np.float32((math.sqrt(nearest) + 0.5) * side)
        if km < distance[y, x]:
            distance[y, x] = km
