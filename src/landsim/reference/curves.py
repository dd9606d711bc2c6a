"""Yield curves, discounting, the logit choice and plain sums of the reference.

Each function works on one plot, one farmer or one list of numbers, in plain Python.
"""

from __future__ import annotations

import math


def cocoa_yield_kg_per_ha(age: int, cocoa) -> float:
    """Cocoa yield (kg/ha/yr) of an agroforestry plot of ``age`` years (ODD 7.6).

    Parameters
    ----------
    age : int
        Years since the plot was established.
    cocoa : CocoaParams
        The scenario's ``cocoa_agroforestry`` section.

    Returns
    -------
    float
        Zero before ``first_harvest_year``, rising linearly to the mature yield at
        ``full_yield_year``, constant after.
    """
    a1, a2 = cocoa.first_harvest_year, cocoa.full_yield_year
    if age < a1:
        return 0.0
    share = min(max((age - a1 + 1.0) / (a2 - a1 + 1.0), 0.0), 1.0)
    return cocoa.mature_yield_kg_per_ha * share


def beef_yield_kg_per_ha(age: int, silvopasture) -> float:
    """Beef yield (kg liveweight/ha/yr) of a silvopasture plot of ``age`` years.

    Parameters
    ----------
    age : int
        Years since the plot was established.
    silvopasture : SilvopastureParams
        The scenario's ``silvopasture`` section.

    Returns
    -------
    float
        Zero before ``first_income_year``, the full yield after.
    """
    if age >= silvopasture.first_income_year:
        return silvopasture.beef_yield_kg_per_ha
    return 0.0


def discount_factor(rate: float, years: int) -> float:
    """Present value of 1 USD received at the end of year ``years``: ``(1 + r)^-t``.

    Parameters
    ----------
    rate : float
        The yearly discount rate.
    years : int
        How many years from now.

    Returns
    -------
    float
    """
    return (1.0 + rate) ** -years


def logit_choice(values: list[float], feasible: list[bool], scale: float, uniform: float):
    """Draw one option by multinomial logit over the feasible ones (ODD 7.9).

    ``P_j = exp(scale V_j) / sum_k exp(scale V_k)`` over feasible options, sampled
    by inverting the cumulative probabilities with ``uniform``.

    Parameters
    ----------
    values : list of float
        The value of each option (USD/ha).
    feasible : list of bool
        Which options may be chosen.
    scale : float
        The logit scale (1/USD); 0 makes every feasible option equally likely.
    uniform : float
        A uniform draw in [0, 1).

    Returns
    -------
    int
        The position of the chosen option in ``values``.

    References
    ----------
    McFadden, D. (1974). Conditional logit analysis of qualitative choice
    behavior. In P. Zarembka (Ed.), Frontiers in Econometrics (pp. 105-142).
    """
    utilities = [scale * v if ok else -math.inf for v, ok in zip(values, feasible, strict=True)]
    top = max(utilities)
    weights = [math.exp(u - top) for u in utilities]
    total = 0.0
    for w in weights:
        total += w
    cumulative, running = [], 0.0
    for w in weights:
        running += w / total
        cumulative.append(running)
    target = uniform * cumulative[-1]
    # The first option whose cumulative probability exceeds the target.
    return sum(1 for c in cumulative if c <= target)


def sum_in_order(values) -> float:
    """Sum floats one after another.

    Python's ``sum`` compensates rounding and numpy's ``bincount`` does not; the
    reference sums a farm's cells the plain way, in raster order.

    Parameters
    ----------
    values : iterable of float

    Returns
    -------
    float
    """
    total = 0.0
    for v in values:
        total += v
    return total


def pasture_value(
    farmer, f0: float, price: float, new: bool, wage: float, years: int | None = None
):
    """Present value of grazing a pasture over the farmer's planning horizon (7.6),
    while it is not degraded (below ``pasture.degraded_fertility`` it is not
    grazed: no revenue, cost or labour).

    Parameters
    ----------
    farmer : ReferenceFarmer
    f0 : float
        The soil's fertility in the first year; it depletes every year.
    price : float
        The expected beef price (USD/kg liveweight).
    new : bool
        A pasture sown this year (grazed from ``pasture.first_income_year``), or
        one already grazed.
    wage : float
        The farmer's marginal wage (USD/person-day).
    years : int, optional
        Value it over these years instead of the planning horizon.

    Returns
    -------
    value, revenue : float
        Discounted margins and discounted revenue (USD/ha).
    """
    sc = farmer.model.params
    pa = sc.pasture
    horizon = sc.decision.planning_horizon_years if years is None else years
    value = revenue = 0.0
    labour_usd = wage * pa.labour_days_per_ha
    for t in range(1, horizon + 1):
        fertility = f0 * (1.0 - pa.fertility_depletion_rate) ** (t - 1)
        if fertility < pa.degraded_fertility:
            continue  # degraded: no longer grazed
        grazed = t - 1 >= pa.first_income_year or not new
        gross = pa.beef_yield_kg_per_ha * fertility * price if grazed else 0.0
        d = discount_factor(farmer.discount_rate, t)
        value += (gross - pa.operating_cost_usd_per_ha - labour_usd) * d
        revenue += gross * d
    return value, revenue


def annual_crop_value(
    farmer,
    f0: float,
    price: float,
    stop_when_unprofitable: bool,
    wage: float = 0.0,
    years: int | None = None,
):
    """Present value of cropping a field over the farmer's planning horizon (7.6).

    Parameters
    ----------
    farmer : ReferenceFarmer
    f0 : float
        The field's fertility in the first year; it depletes every year.
    price : float
        The expected annual-crop price (USD/t).
    stop_when_unprofitable : bool
        Leave out the years whose margin is not positive.
    wage : float
        The farmer's marginal wage (USD/person-day) at which the crop's labour is
        valued.
    years : int, optional
        Value it over these years instead of the planning horizon.

    Returns
    -------
    value, revenue : float
        Discounted margins and discounted revenue (USD/ha).
    """
    sc = farmer.model.params
    m = sc.monocrop
    horizon = sc.decision.planning_horizon_years if years is None else years
    value = revenue = 0.0
    labour_usd = wage * m.labour_days_per_ha
    for t in range(1, horizon + 1):
        fertility = f0 * (1.0 - m.fertility_depletion_rate) ** (t - 1)
        gross = m.yield_t_per_ha * fertility * price
        margin = gross - m.operating_cost_usd_per_ha - labour_usd
        if stop_when_unprofitable and margin <= 0:
            continue
        d = discount_factor(farmer.discount_rate, t)
        value += margin * d
        revenue += gross * d
    return value, revenue


def fallow_value(farmer, f0: float, price: float, cv: float, wage: float) -> float:
    """Present value (USD/ha) of leaving exhausted land to regrow (7.6).

    The fallow recovers ``f + g (1 - f)`` a year (``forest.fertility_recovery_rate``)
    until its fertility reaches ``forest.reclear_fertility``; it is then worth the
    new field it gives (valued like clearing, if positive), discounted over the
    years of regrowth; nothing if regrowth takes the whole planning horizon.

    Parameters
    ----------
    farmer : ReferenceFarmer
    f0 : float
        The exhausted land's fertility.
    price, cv : float
        The expected annual-crop price (USD/t) and its coefficient of variation.
    wage : float
        The farmer's marginal wage (USD/person-day).

    Returns
    -------
    float
    """
    sc = farmer.model.params
    horizon = sc.decision.planning_horizon_years
    rate, reclear = sc.forest.fertility_recovery_rate, sc.forest.reclear_fertility
    fertility, years = f0, 0
    while fertility < reclear and years < horizon:
        fertility = fertility + rate * (1.0 - fertility)
        years += 1
    if years >= horizon:
        return 0.0
    field, revenue = annual_crop_value(farmer, fertility, price, True, wage)
    value = field - farmer.risk_aversion * cv * revenue - sc.forest.clearing_cost_usd_per_ha
    return discount_factor(farmer.discount_rate, years) * max(value, 0.0)


def restoration_value(farmer, f0: float, price: float, cv: float, wage: float) -> float:
    """Value (USD/ha) of renovating pasture of fertility ``f0`` (7.6): grazed again
    from ``pasture.restored_fertility``, less the restoration cost and the pasture
    it was, over the planning horizon, each net of its risk penalty.

    Parameters
    ----------
    farmer : ReferenceFarmer
    f0 : float
        The pasture's fertility now (the farm's least fertile pasture).
    price, cv : float
        The expected beef price (USD/kg liveweight) and its coefficient of variation.
    wage : float
        The farmer's marginal wage (USD/person-day).

    Returns
    -------
    float
    """
    pa, rho = farmer.model.params.pasture, farmer.risk_aversion
    renewed, renewed_revenue = pasture_value(farmer, pa.restored_fertility, price, True, wage)
    kept, kept_revenue = pasture_value(farmer, f0, price, False, wage)
    return (
        renewed
        - rho * cv * renewed_revenue
        - pa.restoration_cost_usd_per_ha
        - (kept - rho * cv * kept_revenue)
    )


def expected_price(weight: float, history: tuple[float, float, float]) -> tuple[float, float]:
    """A farmer's expected price and perceived coefficient of variation (7.4).

    Parameters
    ----------
    weight : float
        The farmer's extrapolation weight (``farmers.price_extrapolation``).
    history : tuple of float
        The recent mean price, its coefficient of variation, last year's price.

    Returns
    -------
    price, cv : float
        The mean moved towards last year's price by ``weight``, and the CV.

    References
    ----------
    Nerlove, M. (1958). Adaptive expectations and cobweb phenomena. The Quarterly
    Journal of Economics, 72(2), 227-240.
    """
    mean, cv, last = history
    return mean + weight * (last - mean), cv
