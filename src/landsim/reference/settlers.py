"""The reference's settlers (ODD 7.0), cell by cell: how many households arrive,
where each claims its lot, and how it joins the farmers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from landsim.agents import draw_settlers
from landsim.model.state import CLEARING, NO_OWNER, Cover

if TYPE_CHECKING:
    from landsim.reference.model import ReferenceModel


def land_rent(values: list[list[float]]) -> float:
    """The mean over farmers of the best value (USD/ha) of an option that clears
    forest, where positive (0 for a farmer with none).

    Parameters
    ----------
    values : list of list of float
        Each farmer's option values, without any programme's incentives.
    """
    if not values:
        return 0.0
    best = [max(max(v[o] for o in CLEARING), 0.0) for v in values]
    return float(np.mean(best))


def expected_arrivals(model: ReferenceModel) -> float:
    """The expected number of households arriving this year: the rate per farm
    times the farms, times last year's rent over the reference rent to the rent
    elasticity (times 1 in the first year)."""
    p = model.params.settlers
    base = p.arrivals_per_farm_per_year * len(model.farmers)
    if model.land_rent is None:
        return base
    ratio = max(model.land_rent, 0.0) / p.reference_rent_usd_per_ha
    return base * ratio**p.rent_elasticity


def is_open(model: ReferenceModel, cell) -> bool:
    """Whether a settler may claim ``cell``: unowned, unclaimed primary forest,
    unprotected unless protected land may change."""
    return (
        cell.owner == NO_OWNER
        and cell.claim == NO_OWNER
        and cell.cover == Cover.PRIMARY_FOREST
        and model.may_change(cell)
    )


def lay_out_lots(model: ReferenceModel, count: int, rng) -> list[list]:
    """The lots of up to ``count`` settlers, one after another.

    Each draws one of the road-fronting open cells at random (one integer per
    settler) and claims the open cells nearest it (squared distance in cells,
    ties in raster order).

    Returns
    -------
    list of list of Cell
        Each lot's cells in raster order.
    """
    size = max(1, round(model.params.settlers.lot_size_ha / model.cell_size_ha))
    free = [cell for cell in model.cells if is_open(model, cell)]
    lots = []
    for _ in range(count):
        seeds = [cell for cell in free if cell.road]
        if not seeds:
            break
        sx, sy = seeds[int(rng.integers(len(seeds)))].coordinate

        def distance2(cell, sx=sx, sy=sy) -> int:
            x, y = cell.coordinate
            return (y - sy) ** 2 + (x - sx) ** 2

        lot = sorted(sorted(free, key=distance2)[:size], key=model.raster_index)
        taken = set(lot)
        free = [cell for cell in free if cell not in taken]
        lots.append(lot)
    return lots


def welcome_settlers(model: ReferenceModel) -> int:
    """This year's settlers arrive, claim their lots and join the farmers, with
    an open contract with every programme. Returns how many arrived."""
    rng = model.settler_rng
    expected = expected_arrivals(model)
    count = int(rng.poisson(expected)) if expected > 0 else 0
    lots = lay_out_lots(model, count, rng) if count else []
    first = len(model.farmers)
    for i, lot in enumerate(lots):
        for cell in lot:
            cell.owner = first + i
    if not lots:
        return 0
    owner = np.array(model.grid.owner.data.T)
    k = len(model.farmers[0].neighbours)
    draws = draw_settlers(model.params.farmers, owner, first, len(lots), k, rng)
    for i, lot in enumerate(lots):
        farmer = model.new_farmer(first + i, draws, i)
        farmer.cells = list(lot)
        model.farmers.append(farmer)
    model.programmes.add_farms(len(lots))
    return len(lots)
