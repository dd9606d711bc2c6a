"""Planting (reforestation, ARR) on the map (ODD 7.17).

A programme with a carbon payment puts the collective share of the credit money
it pays (``1 - farmer_share``; Piura: 90 %) in a planting fund at the settlement,
and plants trees with it in each of its years, after the farmers' land-use
changes and before growth (the money paid at the end of one year is planted the
next):

- *where*: the idle farmland of the farms enrolled in it (annual crops below
  ``monocrop.exhaustion_fertility``, pasture below ``pasture.degraded_fertility``:
  the worn-out land nobody crops or grazes, the "devastated land" of the Piura
  activity), never forest and never the reserve (unless
  ``landscape.protected_can_change``); the least fertile cells first, ties in
  raster order (no random draw);
- *how much*: whole cells at ``carbon_payment.reforestation_cost_usd_per_ha``, as
  many as the fund pays for and eligible cells allow; what is left stays in the
  fund for the next year, and is not spent once the programme ends (it is
  reported as ``planting_fund_usd``; the last year's money is never planted).
  Money paid into the fund counts as spent by the programme when it is paid,
  within the budgets, so planting never spends more than the budget;
- *what it becomes*: secondary forest marked ``planting`` in the restoration
  layer, which grows on its own curve (``forest.planted_agb_max_tc_per_ha``,
  ``planted_growth_rate`` and ``planted_shape``, :func:`landsim.carbon.planted_agb`)
  and counts under restoration, in a carbon pool of its own, while it stands;
- *who does the work*: the farmers whose land is planted, paid for
  ``forest.planting_labour_days_per_ha`` at ``labour.hired_wage_usd_per_day`` out
  of the planting cost (at most the cost), at the settlement: income to them, as
  the Piura farmers are "receiving payment for their labour". The days are not
  taken from the household's labour (planting is done in the slack season).

While any programme with a carbon payment is active, planted cells may not be
cleared (:func:`kept_cells`); once none is, they are fallow like any other,
cleared again once their soil has recovered if the owner chooses, and the mark
ends with the cover.
"""

from __future__ import annotations

import numpy as np

from landsim.model.processes.land_change import change_cover
from landsim.model.processes.survey import idle_limits
from landsim.model.programmes.terms import ProgrammeAccounts, is_active
from landsim.model.state import PLANTING, Cover, Landscape, ModelState
from landsim.scenario import Programme


def kept_cells(landscape: Landscape, specs, year: int) -> np.ndarray | None:
    """The cells no farmer may clear this year (flat mask): the planted ones,
    while a programme with a carbon payment is active; None when there are none."""
    if not any(is_active(s, year) and s.carbon_payment is not None for s in specs):
        return None
    if landscape.restoration is None:
        return None
    return landscape.restoration.ravel() == PLANTING


def eligible_cells(state: ModelState, enrolled: np.ndarray) -> np.ndarray:
    """The cells a programme may plant, in the order it plants them: the idle
    annual-crop and pasture cells of ``enrolled`` farms that may change, the least
    fertile first, ties in raster order (flat indices)."""
    ls, params = state.landscape, state.params
    cover, fert, owner = ls.cover.ravel(), ls.fertility.ravel(), ls.owner.ravel()
    cells = np.flatnonzero(owner >= 0)
    cells = cells[enrolled[owner[cells]]]
    c = cover[cells]
    farmland = (c == Cover.MONOCROP) | (c == Cover.PASTURE)
    idle = farmland & (fert[cells] < idle_limits(params).take(c))
    if not params.landscape.protected_can_change:
        idle &= ~ls.protected.ravel()[cells]
    cells = cells[idle]
    return cells[np.lexsort((cells, fert[cells]))]


def labour_pay_usd_per_ha(state: ModelState, spec: Programme) -> float:
    """What the planters are paid per ha planted (USD): the planting labour at
    the hired wage, at most the planting cost."""
    p = state.params
    pay = p.forest.planting_labour_days_per_ha * p.labour.hired_wage_usd_per_day
    return min(pay, spec.carbon_payment.reforestation_cost_usd_per_ha)


def plant(spec: Programme, acc: ProgrammeAccounts, state: ModelState) -> np.ndarray:
    """Plant what the programme's fund pays for (see the module docstring);
    returns the labour pay of each farm (USD), which counts as its income."""
    ls, n = state.landscape, state.farmers.n
    cell_ha = ls.cell_size_ha
    cost = spec.carbon_payment.reforestation_cost_usd_per_ha * cell_ha
    cells = eligible_cells(state, acc.enrolled)
    count = min(int(acc.planting_fund_usd // cost), cells.size)
    cells = cells[:count]
    pasture = int(np.count_nonzero(ls.cover.ravel()[cells] == Cover.PASTURE))
    change_cover(ls, cells, Cover.SECONDARY_FOREST)
    ls.restoration.ravel()[cells] = PLANTING
    acc.planting_fund_usd -= count * cost
    acc.planted_ha += count * cell_ha
    labour = np.bincount(ls.owner.ravel()[cells], minlength=n) * (
        labour_pay_usd_per_ha(state, spec) * cell_ha
    )
    acc.year["planted_ha"] = count * cell_ha
    acc.year["planted_pasture_ha"] = pasture * cell_ha
    acc.year["planting_spending_usd"] = count * cost
    acc.year["planting_labour_usd"] = float(labour.sum())
    return labour
