"""Price expectations (ODD: "Sensing" and "Prediction", 4b.5).

Each farmer expects the price of each product to be the mean ``m`` of the recent
price history (``decision.price_memory_years``) moved towards last year's price
``p`` by its own extrapolation weight ``w`` (``farmers.price_extrapolation``):
``m + w (p - m)``, an adaptive expectation at ``w = 0`` and a naive one at ``w =
1``; the risk it perceives is the history's coefficient of variation, the same
for all (:meth:`landsim.market.Market.expectation`).

References
----------
Nerlove, M. (1958). Adaptive expectations and cobweb phenomena. The Quarterly
Journal of Economics, 72(2), 227-240.
"""

from __future__ import annotations

import math

import numpy as np

from landsim.market import PRODUCTS
from landsim.model.processes.survey import idle_limits
from landsim.model.state import Cover, ModelState


def regional_supply(state: ModelState) -> dict[str, float]:
    """The landscape's supply of annual crops (t) and beef (kg liveweight): what
    the land in production gives in a year at full labour (7.11's yields: annual
    crops and grazed pasture in proportion to fertility, idle land nothing,
    silvopasture its yield from its first income year). Summed exactly
    (``math.fsum``), so the order of the cells does not matter."""
    sc, ls = state.params, state.landscape
    owned = ls.owner.ravel() >= 0
    c, f, a = (layer.ravel()[owned] for layer in (ls.cover, ls.fertility, ls.age))
    working = f >= idle_limits(sc).take(c)
    crop = (c == Cover.MONOCROP) & working
    grazed = (c == Cover.PASTURE) & working & (a >= sc.pasture.first_income_year)
    silvo = (c == Cover.SILVOPASTURE) & (a >= sc.silvopasture.first_income_year)
    beef = sc.pasture.beef_yield_kg_per_ha * f[grazed]
    silvo_kg = sc.silvopasture.beef_yield_kg_per_ha * int(silvo.sum())
    cell = ls.cell_size_ha
    return {
        "monocrop": math.fsum(sc.monocrop.yield_t_per_ha * f[crop]) * cell,
        "beef": math.fsum([*beef.tolist(), silvo_kg]) * cell,
    }


def form_expectations(state: ModelState) -> dict[str, tuple[np.ndarray, float]]:
    """Each farmer's expected price (an array over farmers) and the coefficient of
    variation of each product this year. Where prices respond to supply, this
    year's realised prices are first set from the landscape's supply now
    (:meth:`landsim.market.Market.set_supply`)."""
    market, year, extrapolation = state.market, state.year, state.farmers.price_extrapolation
    if market.responds_to_supply:
        market.set_supply(year, regional_supply(state))
    out = {}
    for product in PRODUCTS:
        mean, cv = market.expectation(product, year)
        last = market.price(product, year - 1)
        out[product] = (mean + extrapolation * (last - mean), cv)
    return out
