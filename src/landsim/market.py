"""Markets: yearly price paths and the expectations farmers form from them.

A price is either a mean-reverting log price (a discretised Ornstein-Uhlenbeck
process on ``log p``) or an explicit yearly path (for boom-and-bust scenarios).
Farmers expect the mean of the last ``price_memory_years`` prices (adaptive
expectations) and perceive risk as the coefficient of variation over that window.

The annual-crop and beef prices may respond to the landscape's own supply
(``supply_flexibility`` φ > 0, ODD 7.4): the realised price of year ``t >= 2`` is
the process's price times ``(S_t / S_1) ** -φ``, where ``S_t`` is the landscape's
supply at the start of year ``t`` (:meth:`Market.set_supply`); expectations are
then formed from the realised prices, year by year. With φ = 0 (the default) the
prices are exogenous and every expectation is computed up front, as before.
``realised_prices`` fixes a product's realised prices of years 1, 2, ... (the
last holds) instead: ``compare`` uses it to run a scenario at the prices of its
counterfactual (market leakage).

References
----------
Dixit, A. K., & Pindyck, R. S. (1994). Investment under Uncertainty. Princeton
University Press, ch. 3 (mean-reverting price processes).
"""

from __future__ import annotations

import numpy as np

from landsim.scenario import MarketParams, PriceProcess

PRODUCTS = ("cocoa", "monocrop", "beef", "carbon")
UNITS = {
    "cocoa": "usd_per_kg",
    "monocrop": "usd_per_t",
    "beef": "usd_per_kg",
    "carbon": "usd_per_tco2e",
}


def simulate_price_path(
    process: PriceProcess, n_years: int, history: int, rng: np.random.Generator
) -> np.ndarray:
    """Prices for ``history`` years before the start, year 0 and years 1..n_years.

    Returns an array of length ``history + n_years + 1``; index ``history`` is
    year 0. An OU process starts at ``initial`` ``history`` years before year 0 (so
    farmers have a price history at the start); a path is held at its first value
    before year 0 and at its last value after it ends.
    """
    n = history + n_years + 1
    if process.process == "path":
        values = np.asarray(process.values, dtype=np.float64)
        idx = np.clip(np.arange(n) - history, 0, values.size - 1)
        return values[idx]
    # Exact discretisation of d(log p) = theta (log mu - log p) dt + sigma dW, dt = 1 yr.
    theta, sigma = process.reversion, process.sigma
    decay = np.exp(-theta)
    sd = sigma * np.sqrt((1 - decay**2) / (2 * theta)) if theta > 0 else sigma
    shocks = rng.standard_normal(n - 1) * sd
    log_mu = np.log(process.mean)
    x = np.empty(n)
    x[0] = np.log(process.initial)
    for t in range(1, n):  # loop over years only
        x[t] = log_mu + (x[t - 1] - log_mu) * decay + shocks[t - 1]
    return np.exp(x)


class Market:
    """Price paths of every product for one run, drawn once from ``rng``.

    Parameters
    ----------
    params : MarketParams
    n_years : int
    memory : int
        Years of price history used for expectations.
    rng : numpy.random.Generator
    """

    def __init__(self, params: MarketParams, n_years: int, memory: int, rng):
        self.memory = memory
        # One independent stream per product: changing one price's process
        # leaves the other prices' draws unchanged (common random numbers).
        streams = rng.spawn(len(PRODUCTS))
        self.paths = {
            name: simulate_price_path(getattr(params, name), n_years, memory, stream)
            for name, stream in zip(PRODUCTS, streams, strict=True)
        }

        #: Products whose realised prices differ from their path, and those prices
        #: (years as in ``paths``); the others' expectations are precomputed.
        self.realised: dict[str, np.ndarray] = {}
        #: Price flexibility of each product responding to supply.
        self.flexibility: dict[str, float] = {}
        for name in PRODUCTS:
            process = getattr(params, name)
            fixed = list(getattr(process, "realised_prices", None) or [])
            if fixed:
                realised = self.paths[name].copy()
                idx = np.clip(np.arange(realised.size - memory - 1), 0, len(fixed) - 1)
                realised[memory + 1 :] = np.asarray(fixed, dtype=np.float64)[idx]
                self.realised[name] = realised
            elif getattr(process, "supply_flexibility", 0.0) > 0:
                self.realised[name] = self.paths[name].copy()
                self.flexibility[name] = float(process.supply_flexibility)
        self._reference_supply: dict[str, float] = {}
        self._expected = {
            name: expectations(path, memory)
            for name, path in self.paths.items()
            if name not in self.realised
        }

    @property
    def responds_to_supply(self) -> bool:
        """Whether any price responds to the landscape's supply."""
        return bool(self.flexibility)

    def set_supply(self, year: int, supply: dict[str, float]) -> None:
        """Set the realised price of ``year`` from the landscape's supply at its
        start (``supply``: product -> amount, for the products that respond): the
        path's price times ``(S_year / S_1) ** -flexibility``; year 1 sets the
        reference supply ``S_1`` (and keeps the path's price). A supply of zero
        (nothing produced) keeps the path's price."""
        i = self.memory + year
        for name, flex in self.flexibility.items():
            amount = float(supply[name])
            if year == 1:
                self._reference_supply[name] = amount
            reference = self._reference_supply.get(name, 0.0)
            price = self.paths[name][i]
            if reference > 0 and amount > 0:
                price = price * (amount / reference) ** -flex
            self.realised[name][i] = price

    def price(self, product: str, year: int) -> float:
        """Realised price in ``year`` (0 = start)."""
        path = self.realised.get(product, self.paths[product])
        return float(path[self.memory + year])

    def expectation(self, product: str, year: int) -> tuple[float, float]:
        """Expected price and its coefficient of variation, formed before ``year``
        (from the realised prices of the ``memory`` years before it)."""
        if product in self.realised:
            window = self.realised[product][year : year + self.memory]
            mean = window.mean()
            return float(mean), float(window.std() / mean)
        mean, cv = self._expected[product]
        return float(mean[year]), float(cv[year])


def expectations(path: np.ndarray, memory: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and coefficient of variation of every window of ``memory`` prices:
    element ``y`` is that of ``path[y : y + memory]``, the prices known before
    year ``y``.

    The values are those of ``window.mean()`` and ``window.std() / mean`` of each
    window, to the last bit: a window shorter than 8 is summed in order either way;
    longer ones (which numpy sums pairwise) are summed one by one.
    """
    windows = np.lib.stride_tricks.sliding_window_view(path, memory)
    if memory < 8:
        mean = windows.mean(axis=1)
        return mean, windows.std(axis=1) / mean
    mean = np.array([w.mean() for w in windows])
    return mean, np.array([w.std() for w in windows]) / mean
