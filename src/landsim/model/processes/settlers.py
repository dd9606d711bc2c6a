"""Settlers (ODD 7.0): in-migration at the frontier.

At the start of each year, ``Poisson(λ)`` households arrive, with

    λ = settlers.arrivals_per_farm_per_year x n
        x (max(R, 0) / settlers.reference_rent_usd_per_ha) ** settlers.rent_elasticity

where ``n`` is the number of farms and ``R`` last year's land rent: the mean over
farms of the best value (USD/ha) of an option that clears forest, where positive
(:func:`land_rent`); in the first year the rent factor is 1. Each household
arrives at a road-fronting cell of open forest (unowned, unclaimed, primary
forest, and unprotected unless the scenario lets protected land change) drawn at
random, and claims the ``settlers.lot_size_ha`` of open forest nearest it (squared
distance in cells, ties in raster order). It then farms like the others: its
attributes are drawn from the farmers' distributions
(:func:`landsim.agents.draw_settlers`). Arrivals stop when no open forest fronts a road.

References
----------
Angelsen, A., & Kaimowitz, D. (1999). Rethinking the causes of deforestation:
lessons from economic models. The World Bank Research Observer, 14(1), 73-98.
(Migration to the frontier responds to land rents.)
"""

from __future__ import annotations

import numpy as np

from landsim.agents import draw_settlers
from landsim.model.state import CLEARING, NO_OWNER, Cover, Landscape, ModelState
from landsim.scenario import SettlerParams


def land_rent(values: np.ndarray) -> float:
    """The mean over farms of the best value (USD/ha) of clearing a ha of forest for
    any use, where positive (0 for a farm with none); ``values`` without any
    programme's incentives."""
    if values.shape[0] == 0:
        return 0.0
    best = values[:, list(CLEARING)].max(axis=1)
    return float(np.mean(np.maximum(best, 0.0)))


def expected_arrivals(rent_usd_per_ha: float | None, n_farms: int, params: SettlerParams) -> float:
    """λ, the expected number of households arriving this year (see the module
    docstring); ``rent_usd_per_ha`` None in the first year."""
    base = params.arrivals_per_farm_per_year * n_farms
    if rent_usd_per_ha is None:
        return base
    ratio = max(rent_usd_per_ha, 0.0) / params.reference_rent_usd_per_ha
    return base * ratio**params.rent_elasticity


def open_forest(landscape: Landscape, protected_can_change: bool) -> np.ndarray:
    """Cells a settler may claim (flat bool): unowned, unclaimed primary forest,
    unprotected unless protected land may change."""
    ls = landscape
    free = (ls.owner == NO_OWNER) & (ls.claim == NO_OWNER) & (ls.cover == Cover.PRIMARY_FOREST)
    if not protected_can_change:
        free &= ~ls.protected
    return free.ravel()


def _nearest_open(free2d, seed, size):
    """Open cells (flat, raster order) and squared distances in a square window
    around ``seed`` that holds the ``size`` nearest open cells: every cell outside
    it is farther than the size-th nearest inside (else the window doubles)."""
    height, width = free2d.shape
    sy, sx = divmod(seed, width)
    r = max(2, int(size**0.5))
    while True:
        top, bottom = max(sy - r, 0), min(sy + r + 1, height)
        left, right = max(sx - r, 0), min(sx + r + 1, width)
        whole = top == 0 and left == 0 and bottom == height and right == width
        wy, wx = np.nonzero(free2d[top:bottom, left:right])
        wy += top
        wx += left
        d2 = (wy - sy) ** 2 + (wx - sx) ** 2
        if whole or (d2.size >= size and np.partition(d2, size - 1)[size - 1] < (r + 1) ** 2):
            return wy * width + wx, d2
        r *= 2


def lay_out_lots(
    landscape: Landscape,
    count: int,
    params: SettlerParams,
    protected_can_change: bool,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """The lots (flat cell indices, raster order) of up to ``count`` settlers, one
    after another: a road-fronting open cell drawn at random (one integer draw per
    settler), and the open cells nearest it."""
    height, width = landscape.shape
    size = max(1, round(params.lot_size_ha / landscape.cell_size_ha))
    free = open_forest(landscape, protected_can_change)
    free2d = free.reshape(height, width)
    seeds = np.flatnonzero(free & landscape.road.ravel())
    lots = []
    for _ in range(count):
        seeds = seeds[free[seeds]]
        if not seeds.size:
            break
        seed = int(seeds[rng.integers(seeds.size)])
        cells, d2 = _nearest_open(free2d, seed, size)
        nearest = np.argsort(d2, kind="stable")[:size]
        lot = np.sort(cells[nearest])
        free[lot] = False
        lots.append(lot)
    return lots


def arrive(state: ModelState, rent_usd_per_ha: float | None, rng: np.random.Generator) -> int:
    """This year's settlers: how many arrive (one Poisson draw when λ > 0), their
    lots (the owner layer), and their farmers appended to ``state.farmers``.
    Returns how many arrived."""
    p, ls, fs = state.params.settlers, state.landscape, state.farmers
    expected = expected_arrivals(rent_usd_per_ha, fs.n, p)
    count = int(rng.poisson(expected)) if expected > 0 else 0
    can_change = state.params.landscape.protected_can_change
    lots = lay_out_lots(ls, count, p, can_change, rng) if count else []
    if not lots:
        return 0
    first, owner = fs.n, ls.owner.ravel()
    for i, lot in enumerate(lots):
        owner[lot] = first + i
    k = fs.neighbours.shape[1]
    fs.extend(draw_settlers(state.params.farmers, ls.owner, first, len(lots), k, rng))
    fs.arrived_year[first:] = state.year
    return len(lots)
