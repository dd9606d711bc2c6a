"""Planting (reforestation, ARR) of the reference, cell by cell (ODD 7.17): a
programme's planting fund plants the idle farmland of its enrolled farmers, the
least fertile cells first, and pays the farmers of the planted land for the work;
planted cells may not be cleared while a programme with a carbon payment runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from landsim.model.state import PLANTING, Cover

if TYPE_CHECKING:
    from landsim.reference.model import ReferenceModel
    from landsim.reference.programmes import ReferenceProgramme


def planting_kept(model: ReferenceModel) -> bool:
    """Whether planted cells may not be cleared this year: a programme with a
    carbon payment is active."""
    return any(
        p.active(model.year) and p.spec.carbon_payment is not None
        for p in model.programmes.programmes
    )


def plantable(model: ReferenceModel, prog: ReferenceProgramme) -> list:
    """The cells the programme may plant, in the order it plants them: idle annual
    crops and pasture of its enrolled farmers that may change, the least fertile
    first, then in raster order.

    Parameters
    ----------
    model : ReferenceModel
    prog : ReferenceProgramme

    Returns
    -------
    list of Cell
    """
    cells = []
    for f in model.farmers:
        if not prog.contracts[f.farm_id].enrolled:
            continue
        for cell in f.cells:
            farmland = cell.cover in (Cover.MONOCROP, Cover.PASTURE)
            if farmland and f.is_idle(cell) and model.may_change(cell):
                cells.append(cell)
    return sorted(cells, key=lambda c: (c.fertility, model.raster_index(c)))


def plant(model: ReferenceModel, prog: ReferenceProgramme, income: dict) -> None:
    """Plant as many whole cells as the programme's fund pays for; the rest of the
    fund waits for next year. The farmers of the planted cells are paid the
    planting labour at the hired wage (at most the planting cost).

    Parameters
    ----------
    model : ReferenceModel
    prog : ReferenceProgramme
    income : dict
        Farm id -> the planting labour paid this year (USD); added to here.
    """
    sc, cell_ha = model.params, model.cell_size_ha
    cost_per_ha = prog.spec.carbon_payment.reforestation_cost_usd_per_ha
    cost = cost_per_ha * cell_ha
    cells = plantable(model, prog)
    count = min(int(prog.planting_fund_usd // cost), len(cells))
    planted_by_farm = {f.farm_id: 0 for f in model.farmers}
    pasture = sum(cell.cover == Cover.PASTURE for cell in cells[:count])
    for cell in cells[:count]:
        model.change_cover(cell, Cover.SECONDARY_FOREST)
        cell.restoration = PLANTING
        planted_by_farm[cell.owner] += 1
    prog.planting_fund_usd -= count * cost
    prog.planted_ha += count * cell_ha
    days, wage = sc.forest.planting_labour_days_per_ha, sc.labour.hired_wage_usd_per_day
    pay_per_cell = min(days * wage, cost_per_ha) * cell_ha
    labour = [planted_by_farm[f.farm_id] * pay_per_cell for f in model.farmers]
    for f in model.farmers:
        income[f.farm_id] += labour[f.farm_id]
    prog.year["planted_ha"] = count * cell_ha
    prog.year["planted_pasture_ha"] = pasture * cell_ha
    prog.year["planting_spending_usd"] = count * cost
    prog.year["planting_labour_usd"] = float(np.sum(labour))  # numpy's sum, as the model's
