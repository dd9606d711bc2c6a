"""Economics of the land uses: yield curves, yearly margins, net present values,
and the bounded-rational (multinomial logit) choice between options.

All functions are vectorised over farmers: arrays of shape ``(n_farms,)`` or
``(n_farms, horizon)``; money in USD, areas in ha, years as integers.

References
----------
McFadden, D. (1974). Conditional logit analysis of qualitative choice behavior.
In P. Zarembka (Ed.), Frontiers in Econometrics (pp. 105-142). Academic Press.
Villamor, G. B., et al. (2014). Biodiversity in rubber agroforests, carbon
emissions, and rural livelihoods: an agent-based model of land-use dynamics in
lowland Sumatra. Environmental Modelling & Software, 61, 151-165. (NPV-based
spatial multinomial logit land-use choice.)
Markowitz, H. (1952). Portfolio selection. Journal of Finance, 7, 77-91. (Risk
penalty on the dispersion of returns.)
"""

from __future__ import annotations

import math
from enum import IntEnum

import numpy as np

from landsim.scenario import CocoaParams, MonocropParams, PastureParams, SilvopastureParams


class Option(IntEnum):
    """What a farmer can do in a year (one option per farmer per year)."""

    KEEP = 0
    CLEAR = 1
    COCOA_AGROFORESTRY = 2
    SILVOPASTURE = 3
    ABANDON = 4
    PASTURE = 5
    COCOA_ON_CLEARED = 6
    RESTORE_PASTURE = 7


OPTION_NAMES = tuple(o.name.lower() for o in Option)


def discount_factors(rates: np.ndarray, horizon: int) -> np.ndarray:
    """``(1 + r) ** -t`` for t = 1..horizon; shape ``(n, horizon)``.

    Cash flows are taken at the end of each year; year 1 is the current year.
    """
    t = np.arange(1, horizon + 1)
    return (1.0 + np.asarray(rates, dtype=np.float64)[:, None]) ** -t[None, :]


def valuation_years(horizon: int, cocoa: CocoaParams, silvopasture: SilvopastureParams) -> int:
    """Years of discount factors a valuation needs: the planning horizon (annual
    crops, pasture) or a perennial system's productive life, whichever is longer."""
    return max(horizon, cocoa.productive_life_years, silvopasture.productive_life_years)


def cocoa_yield(age, params: CocoaParams):
    """Cocoa yield (kg/ha/yr) of an agroforestry plot by age (years).

    Zero before ``first_harvest_year``; rising linearly to ``mature_yield_kg_per_ha``
    at ``full_yield_year``; constant after.
    """
    age = np.asarray(age, dtype=np.float64)
    a1, a2 = params.first_harvest_year, params.full_yield_year
    share = np.clip((age - a1 + 1.0) / (a2 - a1 + 1.0), 0.0, 1.0)
    return np.where(age >= a1, params.mature_yield_kg_per_ha * share, 0.0)


def monocrop_fertility_path(f0: np.ndarray, depletion: float, horizon: int) -> np.ndarray:
    """Fertility in years 1..horizon of cultivation from ``f0``: ``f0 (1-d)^(t-1)``."""
    return np.asarray(f0, dtype=np.float64)[:, None] * (1.0 - depletion) ** np.arange(horizon)


def monocrop_revenue(fertility, price: float, params: MonocropParams):
    """Revenue (USD/ha/yr) of the annual crop: ``yield x fertility x price``."""
    return params.yield_t_per_ha * fertility * price


def monocrop_margin(fertility, price: float, params: MonocropParams):
    """Net margin (USD/ha/yr) of the annual crop: ``yield x fertility x price - cost``."""
    return monocrop_revenue(fertility, price, params) - params.operating_cost_usd_per_ha


def value_options(
    *,
    discount_rate: np.ndarray,
    risk_aversion: np.ndarray,
    knowledge: np.ndarray,
    horizon: int,
    prices: dict[str, tuple[float, float]],
    forest_fertility: np.ndarray,
    monocrop_fertility: np.ndarray,
    exhausted_fertility: np.ndarray,
    share_adopting: dict[str, np.ndarray],
    monocrop: MonocropParams,
    cocoa: CocoaParams,
    silvopasture: SilvopastureParams,
    pasture: PastureParams,
    pasture_fertility: np.ndarray,
    clearing_cost_usd_per_ha: float,
    fallow_recovery_rate: float,
    reclear_fertility: float,
    imitation_weight_usd_per_ha: float,
    knowledge_cost_premium: float,
    technology_uncertainty: float,
    wage_usd_per_day: np.ndarray | None = None,
    discount: np.ndarray | None = None,
    options=None,
) -> np.ndarray:
    """Expected value (USD/ha) of each :class:`Option` relative to keeping things.

    Each value is a net present value per ha over the farmer's planning horizon at
    its own discount rate, minus a risk penalty ``risk_aversion x CV x PV(revenue)``
    (CV: the coefficient of variation of the price over the memory window, plus
    ``technology_uncertainty x (1 - knowledge)`` for the new systems), plus a
    social-learning term ``imitation_weight x share of neighbours adopting``.
    ``prices`` holds each product's expected price (a number, or an array with one
    per farmer) and its coefficient of variation. Every year's margin is net of
    the land use's labour (``labour_days_per_ha``)
    valued at the farmer's marginal wage ``wage_usd_per_day`` (USD/person-day; see
    :func:`landsim.model.processes.labour.marginal_wage`; None: family labour
    costs nothing).

    - clear: a new annual-crop field (cultivated while its margin is positive) at
      the mean soil fertility of the forest the farmer may clear, less the
      clearing cost (family labour valued in USD/ha);
    - pasture: forest cleared and sown to grass, grazed from its first income year
      at a productivity that falls with the soil's fertility (and not at all once
      degraded, below ``pasture.degraded_fertility``), less the clearing cost and
      the cost of sowing;
    - restore pasture: the least fertile pasture renovated to
      ``pasture.restored_fertility`` and grazed again from its first income
      year, less ``pasture.restoration_cost_usd_per_ha`` and the pasture it was
      (``pasture_fertility``);
    - cocoa agroforestry / silvopasture: establishment cost (perceived higher by
      ``knowledge_cost_premium x (1 - knowledge)``) and income from the yield curve,
      less the annual crop (cocoa) or the pasture (silvopasture) given up on the
      converted (least fertile) land, ``pasture_fertility`` for pasture;
    - cocoa on cleared land: cocoa agroforestry planted on forest cleared for it,
      less the clearing cost instead of a field given up;
    - abandon: exhausted cropland and degraded pasture left to regrow instead of
      lying idle (kept, they are not used, so keeping them is worth nothing; the
      fertility is their mean ``exhausted_fertility``): the fallow
      is worth the field it gives once its soil has recovered (see
      :func:`fallow_value`).

    Annual crops and new pasture are valued over the planning horizon
    ``horizon``; cocoa agroforestry and silvopasture over their productive life
    (``productive_life_years``), with the field or pasture they replace valued over
    the same years.

    ``discount`` may pass ``discount_factors(discount_rate, valuation_years(...))``
    computed beforehand; ``options`` (an iterable of :class:`Option`) limits the columns
    computed (the others are left at 0): each column is computed independently,
    so its values are the same either way.

    Returns
    -------
    ndarray, shape (n_farms, len(Option))
    """
    wanted = set(Option) if options is None else set(options)
    years = valuation_years(horizon, cocoa, silvopasture)
    full = discount_factors(discount_rate, years) if discount is None else discount
    # Expected prices: one per farmer (a column) or one for all.
    p_m, cv_m = prices["monocrop"]
    p_c, cv_c = prices["cocoa"]
    p_b, cv_b = prices["beef"]
    p_m, p_c, p_b = (np.reshape(p, (-1, 1)) if np.ndim(p) else p for p in (p_m, p_c, p_b))
    wage = np.zeros(discount_rate.size) if wage_usd_per_day is None else wage_usd_per_day
    crop_labour = (wage * monocrop.labour_days_per_ha)[:, None]

    def monocrop_npv(f0, stop_when_unprofitable: bool, years: int = horizon):
        d = full[:, :years]
        fert = monocrop_fertility_path(f0, monocrop.fertility_depletion_rate, years)
        revenue = monocrop_revenue(fert, p_m, monocrop)
        margin = revenue - monocrop.operating_cost_usd_per_ha - crop_labour
        if stop_when_unprofitable:
            margin = np.maximum(margin, 0.0)
            revenue = np.where(margin > 0, revenue, 0.0)
        return (margin * d).sum(1), (revenue * d).sum(1)

    def pasture_npv(f0, new: bool, years: int = horizon):
        # Grazed from the first income year while not degraded (degraded
        # pasture lies idle: no revenue, cost or labour).
        d, age = full[:, :years], np.arange(years)
        fert = monocrop_fertility_path(f0, pasture.fertility_depletion_rate, years)
        grazed = age >= pasture.first_income_year if new else np.ones(years, dtype=bool)
        revenue = np.where(grazed, pasture.beef_yield_kg_per_ha * fert * p_b, 0.0)
        margin = revenue - pasture.operating_cost_usd_per_ha - pasture_labour
        used = fert >= pasture.degraded_fertility
        margin, revenue = np.where(used, margin, 0.0), np.where(used, revenue, 0.0)
        return (margin * d).sum(1), (revenue * d).sum(1)

    pasture_labour = (wage * pasture.labour_days_per_ha)[:, None]
    values = np.zeros((discount_rate.size, len(Option)))
    if Option.CLEAR in wanted:
        new_field, new_field_rev = monocrop_npv(forest_fertility, True)
        values[:, Option.CLEAR] = (
            new_field - risk_aversion * cv_m * new_field_rev - clearing_cost_usd_per_ha
        )
    if Option.PASTURE in wanted:
        new_pasture, new_pasture_rev = pasture_npv(forest_fertility, True)
        values[:, Option.PASTURE] = (
            new_pasture
            - risk_aversion * cv_b * new_pasture_rev
            - clearing_cost_usd_per_ha
            - pasture.establishment_cost_usd_per_ha
        )
    if Option.RESTORE_PASTURE in wanted:
        renewed, renewed_rev = pasture_npv(
            np.full(pasture_fertility.shape, pasture.restored_fertility), True
        )
        kept_pasture, kept_pasture_rev = pasture_npv(pasture_fertility, False)
        values[:, Option.RESTORE_PASTURE] = (
            renewed
            - risk_aversion * cv_b * renewed_rev
            - pasture.restoration_cost_usd_per_ha
            - (kept_pasture - risk_aversion * cv_b * kept_pasture_rev)
        )
    if Option.ABANDON in wanted:
        years_fallow, recovered = fallow_recovery(
            exhausted_fertility, fallow_recovery_rate, reclear_fertility, horizon
        )
        field, field_rev = monocrop_npv(recovered, True)
        values[:, Option.ABANDON] = fallow_value(
            field - risk_aversion * cv_m * field_rev - clearing_cost_usd_per_ha,
            years_fallow,
            full,
            horizon,
        )
    if not wanted & {Option.COCOA_AGROFORESTRY, Option.SILVOPASTURE, Option.COCOA_ON_CLEARED}:
        return values

    novice = technology_uncertainty * (1.0 - knowledge)
    cost_factor = 1.0 + knowledge_cost_premium * (1.0 - knowledge)

    def new_system(net, revenue, cv, establishment_usd_per_ha, share, forgone):
        return (
            net
            - risk_aversion * (cv + novice) * revenue
            - establishment_usd_per_ha * cost_factor
            - forgone
            + imitation_weight_usd_per_ha * share
        )

    # A perennial system is valued over its productive life, and so is what it
    # replaces.
    life = cocoa.productive_life_years
    d_c = full[:, :life]
    cocoa_kg = cocoa_yield(np.arange(life), cocoa)
    cocoa_rev = (d_c * (cocoa_kg * p_c)).sum(1)
    cocoa_net = (d_c * (cocoa_kg * (p_c - cocoa.production_cost_usd_per_kg))).sum(1) - (
        wage * cocoa.labour_days_per_ha * d_c.sum(1)
    )
    if Option.COCOA_AGROFORESTRY in wanted:
        kept_field, kept_field_rev = monocrop_npv(monocrop_fertility, True, life)
        values[:, Option.COCOA_AGROFORESTRY] = new_system(
            cocoa_net,
            cocoa_rev,
            cv_c,
            cocoa.establishment_cost_usd_per_ha,
            share_adopting["cocoa_agroforestry"],
            kept_field - risk_aversion * cv_m * kept_field_rev,
        )
    if Option.COCOA_ON_CLEARED in wanted:  # forest cleared and planted to cocoa
        values[:, Option.COCOA_ON_CLEARED] = new_system(
            cocoa_net,
            cocoa_rev,
            cv_c,
            cocoa.establishment_cost_usd_per_ha,
            share_adopting["cocoa_agroforestry"],
            clearing_cost_usd_per_ha,
        )
    if Option.SILVOPASTURE in wanted:
        life = silvopasture.productive_life_years
        d_sp = full[:, :life]
        kept_pasture, kept_pasture_rev = pasture_npv(pasture_fertility, False, life)
        beef_kg = np.where(
            np.arange(life) >= silvopasture.first_income_year,
            silvopasture.beef_yield_kg_per_ha,
            0,
        )
        sp_rev = (d_sp * (beef_kg * p_b)).sum(1)
        sp_net = (d_sp * (beef_kg * p_b - silvopasture.operating_cost_usd_per_ha)).sum(1) - (
            wage * silvopasture.labour_days_per_ha * d_sp.sum(1)
        )
        values[:, Option.SILVOPASTURE] = new_system(
            sp_net,
            sp_rev,
            cv_b,
            silvopasture.establishment_cost_usd_per_ha,
            share_adopting["silvopasture"],
            kept_pasture - risk_aversion * cv_b * kept_pasture_rev,
        )
    return values


def fallow_recovery(
    f0: np.ndarray, rate: float, reclear_fertility: float, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Years until fallow from soil fertility ``f0`` may be cleared again, and its
    fertility then.

    Fallow recovers ``f + rate (1 - f)`` a year (``forest.fertility_recovery_rate``)
    until it reaches ``reclear_fertility``; the count stops at ``horizon`` (the
    fallow is then worth nothing within the planning horizon).
    """
    f = np.asarray(f0, dtype=np.float64).copy()
    years = np.zeros(f.shape, dtype=np.int64)
    for _ in range(horizon):
        growing = f < reclear_fertility
        if not growing.any():
            break
        f = np.where(growing, f + rate * (1.0 - f), f)
        years += growing
    return years, f


def fallow_value(
    field_usd_per_ha: np.ndarray, years: np.ndarray, discount: np.ndarray, horizon: int
) -> np.ndarray:
    """Present value (USD/ha) of a fallow cleared again after ``years``: the value of
    the new field then (``field_usd_per_ha``, if positive; the farmer need not clear
    it), discounted over the years of regrowth; nothing if that is ``horizon`` years
    or more.

    ``discount`` holds each farmer's discount factors for years 1, 2, ...
    (:func:`discount_factors`).
    """
    rows = np.arange(years.size)
    waited = np.where(years > 0, discount[rows, np.maximum(years - 1, 0)], 1.0)
    return np.where(years < horizon, waited * np.maximum(field_usd_per_ha, 0.0), 0.0)


def logit_probabilities(values: np.ndarray, scale: float, feasible: np.ndarray) -> np.ndarray:
    """Multinomial logit choice probabilities ``exp(scale V_j) / sum_k exp(scale V_k)``
    over the feasible options of each row (infeasible options get probability 0).

    Parameters
    ----------
    values : ndarray, shape (n, J)
        Option values (USD/ha).
    scale : float
        Logit scale (1 / (USD/ha)): 0 gives uniform choice among feasible options,
        large values approach the deterministic best choice.
    feasible : bool ndarray, shape (n, J)
        At least one option per row must be feasible.
    """
    u = np.where(feasible, scale * values, -np.inf)
    u -= u.max(axis=1, keepdims=True)
    w = np.exp(u)
    return w / w.sum(axis=1, keepdims=True)


def draw_choices(probabilities: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Sample one option per row by inverting the cumulative probabilities."""
    cum = np.cumsum(probabilities, axis=1)
    target = uniforms * cum[:, -1]
    # Index of the first cumulative probability above the target: an option of
    # probability 0 never is, whatever the rounding.
    return (cum <= target[:, None]).sum(axis=1)


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = equal, -> 1 = concentrated).

    Negative values (losses) are counted as zero income.
    """
    return gini_sorted(np.sort(np.asarray(x, dtype=np.float64)))


def gini_sorted(x: np.ndarray) -> float:
    """:func:`gini` of values already sorted in ascending order."""
    x = np.clip(x, 0.0, None)
    n, total = x.size, x.sum()
    if n == 0 or total <= 0:
        return 0.0
    i = np.arange(1, n + 1)
    return max(0.0, float(2.0 * (i * x).sum() / (n * total) - (n + 1.0) / n))


def income_distribution(income: np.ndarray, poorest_share: float = 0.2) -> dict[str, float]:
    """Median, 10th percentile, Gini coefficient and mean of the poorest
    ``poorest_share`` of incomes (at least one), from one sort.

    The values are those of ``np.median``, ``np.percentile(income, 10)`` (linear
    interpolation), :func:`gini` and the mean of the first values of ``np.sort``,
    to the last bit.
    """
    x = np.sort(np.asarray(income, dtype=np.float64))
    n = x.size
    half = n // 2
    # np.median is the mean of the middle value(s), a sum that starts from +0.0.
    median = 0.0 + float(x[half]) if n % 2 else (0.0 + float(x[half - 1]) + float(x[half])) / 2.0
    # np.percentile's linear rule: position (n - 1) q between order statistics.
    position = (n - 1) * 0.1
    below = math.floor(position)
    weight = position - below
    a, b = float(x[below]), float(x[min(below + 1, n - 1)])
    step = b - a
    p10 = a + step * weight if weight < 0.5 else b - step * (1.0 - weight)
    poorest = x[: max(1, math.ceil(poorest_share * n))]
    return {
        "median": median,
        "p10": p10,
        "gini": gini_sorted(x),
        "poorest_mean": float(poorest.mean()),
    }
