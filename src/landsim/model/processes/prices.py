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

import numpy as np

from landsim.market import PRODUCTS
from landsim.model.state import ModelState


def form_expectations(state: ModelState) -> dict[str, tuple[np.ndarray, float]]:
    """Each farmer's expected price (an array over farmers) and the coefficient of
    variation of each product this year."""
    market, year, extrapolation = state.market, state.year, state.farmers.price_extrapolation
    out = {}
    for product in PRODUCTS:
        mean, cv = market.expectation(product, year)
        last = market.price(product, year - 1)
        out[product] = (mean + extrapolation * (last - mean), cv)
    return out
