"""Bit-identical fast paths of the yearly step.

Each function here computes exactly what a plain numpy operation (named in its
docstring) computes, only faster, and ``tests/test_fastpaths.py`` checks it
against that operation. The rules of the model live in ``processes/``; nothing here
decides anything.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from landsim.landscape import Cover

N_COVERS = len(Cover)

#: Distances (cells) to which :func:`clearing_distances` searches outwards from
#: the fields, in turn, before it transforms the raster instead.
CLEARING_SEARCH_LEVELS: tuple[int, ...] = (3, 8)
#: Cells around the clearing candidates that :func:`field_distance` includes in its
#: window (the whole raster is transformed if this is not enough).
FIELD_DISTANCE_MARGIN = 12


def argsort_stable(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")``, faster for distinct values.

    The default (unstable) sort is several times faster; when no two values are
    equal the sorted order is unique, so it is the stable sort's. Ties (or NaN)
    fall back to the stable sort.

    Parameters
    ----------
    values : ndarray
        1-d array to sort.

    Returns
    -------
    ndarray
        The indices that sort ``values``, equal values in their original order.
    """
    order = np.argsort(values)
    ranked = values[order]
    if not (ranked[1:] > ranked[:-1]).all():
        order = np.argsort(values, kind="stable")
    return order


def count_covers(cover: np.ndarray) -> np.ndarray:
    """Cells of each cover: ``np.bincount(cover.ravel(), minlength=N_COVERS)``, without
    the conversion of the 8-bit codes to full integers that bincount makes."""
    return np.array([np.count_nonzero(cover == code) for code in range(N_COVERS)])


def cover_mask(cover: np.ndarray, codes) -> np.ndarray:
    """``np.isin(cover, codes)`` by comparing the 8-bit codes, several times faster
    than a lookup (which converts them to full integers)."""
    codes = {int(code) for code in codes}
    others = set(range(N_COVERS)) - codes
    if len(others) < len(codes):
        mask = np.ones(cover.shape, dtype=bool)
        for code in others:
            mask &= cover != code
    else:
        mask = np.zeros(cover.shape, dtype=bool)
        for code in codes:
            mask |= cover == code
    return mask


def dilate_padded(flat: np.ndarray, stride: int) -> np.ndarray:
    """The cells within one cell (the 8 neighbours) of a cell of a mask: a binary
    dilation by a 3 x 3 square, without wrapping at the edges. The mask is held as
    the flat array of its rows, each padded with a last column that must be (and
    stays) False, so that shifting the flat array by one never joins two rows."""
    across = flat.copy()
    across[1:] |= flat[:-1]
    across[:-1] |= flat[1:]
    across.reshape(-1, stride)[:, -1] = False
    out = across.copy()
    out[stride:] |= across[:-stride]
    out[:-stride] |= across[stride:]
    return out


def distance_to_fields(landscape) -> np.ndarray:
    """Chessboard distance (cells) from each forest cell to the nearest
    non-forest cell or road; 0 elsewhere. Flat array."""
    ls = landscape
    forest = (ls.cover <= Cover.SECONDARY_FOREST) & ~ls.road  # the two forest codes
    return ndimage.distance_transform_cdt(forest, metric="chessboard").ravel()


def clearing_distances(
    landscape,
    cand: np.ndarray,
    group: np.ndarray,
    k_clear: np.ndarray,
    levels_to_search: tuple[int, ...] = CLEARING_SEARCH_LEVELS,
    margin: int = FIELD_DISTANCE_MARGIN,
) -> tuple[np.ndarray, int]:
    """Distances of the clearing candidates to the nearest field or road, exact
    wherever they decide which cells are cleared, and a bound above them.

    ``group`` is ``farm x 2 + is_claim`` of each candidate; farm f clears the
    ``k_clear[f]`` first cells of its own land, then of its claims, each group
    nearest first. Within a group that is cleared whole, or not at all, the order
    does not matter (its distances are returned as 0). In the others, the ``r``
    cells to clear are the ``r`` nearest: once ``r`` cells of the group lie within
    ``d`` cells of a field, the others' distances may be anything above ``d``.
    The search grows the fields one cell at a time (a chessboard dilation) to
    each distance of ``levels_to_search`` in turn, until every such group has its
    ``r`` cells within it; distances beyond are returned as one more. Past the
    last, it falls back to :func:`field_distance`.
    """
    n_groups = 2 * k_clear.size
    size = np.bincount(group, minlength=n_groups)
    need = np.empty(n_groups, dtype=np.int64)
    own = size[0::2]
    need[0::2] = np.minimum(k_clear, own)
    need[1::2] = np.minimum(np.maximum(k_clear - own, 0), size[1::2])
    need[need >= size] = 0  # groups cleared whole need no distances
    dist = np.zeros(cand.size, dtype=np.int64)
    todo = np.flatnonzero(need[group])  # candidates whose distance matters
    if not todo.size:
        return dist, 1
    # Fields and roads (distance 0) on rows padded with one column that stays
    # empty, so that a row's last cell and the next row's first are not
    # neighbours when the flat array is shifted by one.
    ls = landscape
    height, width = ls.shape
    padded = np.zeros((height, width + 1), dtype=bool)
    np.logical_or(ls.cover > Cover.SECONDARY_FOREST, ls.road, out=padded[:, :width])
    cells = cand[todo]
    cells += cells // width  # the padded flat index
    todo_group = group[todo]
    reach = [padded.ravel()]  # reach[d]: the cells within d of a field or road
    for levels in levels_to_search:
        while len(reach) <= levels:
            reach.append(dilate_padded(reach[-1], width + 1))
        # A cell's distance (capped at levels + 1) is the number of the sets
        # reach[0..levels] that do not hold it.
        within = np.zeros(cells.size, dtype=np.int64)
        for reached in reach:
            within += reached[cells]
        level = levels + 1 - within
        counts = np.bincount(todo_group[level <= levels], minlength=n_groups)
        if (counts >= need).all():
            dist[todo] = level
            return dist, levels + 2
    exact = field_distance(ls, cand, margin).astype(np.int64)
    return exact, int(exact.max()) + 1


def field_distance(
    landscape, cells: np.ndarray, margin: int = FIELD_DISTANCE_MARGIN
) -> np.ndarray:
    """``distance_to_fields(landscape)[cells]``, computed on a window around ``cells``.

    The transform runs on the bounding box of ``cells`` widened by ``margin``
    (it leaves out, for example, the reserve). A cell's distance within the window
    is exact if it is no larger than the distance from the cell to the nearest
    cell beyond the window, on the sides where the window is cut short of the
    raster's edge: a field or road out there cannot be nearer. If that fails for
    any cell, the whole raster is transformed.
    """
    ls = landscape
    height, width = ls.shape
    rows, cols = np.divmod(cells, width)
    top, bottom = max(int(rows.min()) - margin, 0), min(int(rows.max()) + margin + 1, height)
    left, right = max(int(cols.min()) - margin, 0), min(int(cols.max()) + margin + 1, width)
    window = np.s_[top:bottom, left:right]
    forest = (ls.cover[window] <= Cover.SECONDARY_FOREST) & ~ls.road[window]
    dist = ndimage.distance_transform_cdt(forest, metric="chessboard")[rows - top, cols - left]
    beyond = np.full(cells.shape, max(height, width))
    for cut, gap in (
        (top > 0, rows - top + 1),
        (bottom < height, bottom - rows),
        (left > 0, cols - left + 1),
        (right < width, right - cols),
    ):
        if cut:
            np.minimum(beyond, gap, out=beyond)
    if dist.min() >= 0 and (dist <= beyond).all():
        return dist
    return distance_to_fields(ls)[cells]
