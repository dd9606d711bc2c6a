"""Price expectations (ODD: "Sensing" and "Prediction").

Every farmer expects this year's price of each product to be the mean of the
recent price history (``decision.price_memory_years``), with its coefficient of
variation as the risk it perceives (:func:`landsim.market.expectations`).
"""

from __future__ import annotations

from landsim.market import PRODUCTS, Market


def form_expectations(market: Market, year: int) -> dict[str, tuple[float, float]]:
    """Expected price and its coefficient of variation of each product in ``year``."""
    return {product: market.expectation(product, year) for product in PRODUCTS}
