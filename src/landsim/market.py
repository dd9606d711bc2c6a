"""Markets: yearly price paths and the expectations farmers form from them.

A price is either a mean-reverting log price (a discretised Ornstein-Uhlenbeck
process on ``log p``) or an explicit yearly path (for boom-and-bust scenarios).
Farmers expect the mean of the last ``price_memory_years`` prices (adaptive
expectations) and perceive risk as the coefficient of variation over that window.

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

        self._expected = {name: expectations(path, memory) for name, path in self.paths.items()}

    def price(self, product: str, year: int) -> float:
        """Realised price in ``year`` (0 = start)."""
        return float(self.paths[product][self.memory + year])

    def expectation(self, product: str, year: int) -> tuple[float, float]:
        """Expected price and its coefficient of variation, formed before ``year``."""
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
