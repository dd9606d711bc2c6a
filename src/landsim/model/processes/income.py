"""Production, income and savings (ODD: "Production and income").

Annual crops yield in proportion to soil fertility (exhausted land, below
``monocrop.exhaustion_fertility``, is not cropped, and degraded pasture, below
``pasture.degraded_fertility``, not grazed: they lie idle until they are
abandoned, planted or restored); cocoa agroforestry follows its
yield curve by age; silvopasture sells beef from its first income year, pasture
from its first income year in proportion to its soil's fertility. Revenue is
at this year's prices. A farm short of labour hires workers and pays them from its
savings; land whose labour is not covered produces (and costs) in proportion to
the labour it gets; spare household days earn off-farm wages (``labour``). Savings
take the saved share of a profit (``farmers.savings_rate``) or absorb a loss; debt
is not modelled.
"""

from __future__ import annotations

import numpy as np

from landsim.economics import cocoa_yield
from landsim.market import PRODUCTS, Market
from landsim.model.ownership import Ownership
from landsim.model.processes import labour
from landsim.model.processes.survey import idle_limits
from landsim.model.state import N_COVERS, Cover, FarmerState, Landscape
from landsim.scenario import CocoaParams, Scenario


class CocoaYields:
    """``cocoa_yield(ages)`` (kg/ha) looked up in a table by age (whole years)."""

    def __init__(self, params: CocoaParams):
        self.params = params
        self._table = np.zeros(0)

    def __call__(self, ages: np.ndarray) -> np.ndarray:
        table = self._table
        if ages.size and int(ages.max()) >= table.size:
            table = cocoa_yield(np.arange(max(2 * int(ages.max()), 128)), self.params)
            self._table = table
        return table.take(ages.astype(np.intp))


def produce(
    params: Scenario,
    landscape: Landscape,
    farmers: FarmerState,
    ownership: Ownership,
    market: Market,
    year: int,
    cocoa_yields: CocoaYields,
    days_per_ha: np.ndarray,
) -> None:
    """Revenue, operating costs, labour, net income and cocoa production of each
    farm at this year's prices (``farmers.revenue_usd`` and the like)."""
    sc, ls, fs = params, landscape, farmers
    owned, o = ownership.owned, ownership.owned_farm
    c = ls.cover.ravel()[owned]
    # Annual crops, cocoa, silvopasture and pasture produce (or cost anything),
    # but not idle land (exhausted annual crops, degraded pasture).
    producing = np.flatnonzero(c >= Cover.MONOCROP)
    cells, o, c = owned[producing], o[producing], c[producing]
    a, f = ls.age.ravel()[cells], ls.fertility.ravel()[cells]
    idle = f < idle_limits(sc).take(c)
    working = ~idle
    o_w, c_w = o[working], c[working]
    area = np.bincount(o_w * N_COVERS + c_w, minlength=fs.n * N_COVERS).reshape(fs.n, N_COVERS)
    needed = labour.days_needed(area, days_per_ha, ls.cell_size_ha)
    work = labour.work(needed, fs.labour_days_per_year, fs.savings_usd, sc.labour)
    cells, o, c, a, f = cells[working], o_w, c_w, a[working], f[working]
    p = {name: market.price(name, year) for name in PRODUCTS}

    revenue = np.zeros(cells.size)
    cost = np.zeros(cells.size)
    m = c == Cover.MONOCROP
    revenue[m] = sc.monocrop.yield_t_per_ha * f[m] * p["monocrop"]
    cost[m] = sc.monocrop.operating_cost_usd_per_ha
    af = c == Cover.COCOA_AGROFORESTRY
    kg = cocoa_yields(a[af])
    revenue[af] = kg * p["cocoa"]
    cost[af] = kg * sc.cocoa_agroforestry.production_cost_usd_per_kg
    sp = c == Cover.SILVOPASTURE
    producing = a[sp] >= sc.silvopasture.first_income_year
    revenue[sp] = np.where(producing, sc.silvopasture.beef_yield_kg_per_ha * p["beef"], 0.0)
    cost[sp] = sc.silvopasture.operating_cost_usd_per_ha
    pa = c == Cover.PASTURE
    grazed = a[pa] >= sc.pasture.first_income_year
    revenue[pa] = np.where(grazed, sc.pasture.beef_yield_kg_per_ha * f[pa] * p["beef"], 0.0)
    cost[pa] = sc.pasture.operating_cost_usd_per_ha

    cell, worked = ls.cell_size_ha, work.worked_share
    fs.revenue_usd[:] = np.bincount(o, revenue, fs.n) * cell * worked
    fs.operating_cost_usd[:] = np.bincount(o, cost, fs.n) * cell * worked
    fs.cocoa_kg[:] = np.bincount(o[af], kg, fs.n) * cell * worked
    fs.hired_days[:] = work.hired_days
    fs.off_farm_days[:] = work.off_farm_days
    fs.hired_labour_usd[:] = work.hired_days * sc.labour.hired_wage_usd_per_day
    fs.off_farm_income_usd[:] = work.off_farm_days * sc.labour.off_farm_wage_usd_per_day
    fs.net_income_usd[:] = (
        fs.revenue_usd - fs.operating_cost_usd - fs.hired_labour_usd + fs.off_farm_income_usd
    )


def save(farmers: FarmerState, savings_rate: float) -> None:
    """Savings take the saved share of a profit, or absorb a loss; debt is not
    modelled (savings stop at 0)."""
    fs = farmers
    fs.cumulative_income_usd += fs.net_income_usd
    net = fs.net_income_usd
    saved = np.where(net > 0, savings_rate * net, net)
    fs.savings_usd[:] = np.maximum(fs.savings_usd + saved, 0.0)
