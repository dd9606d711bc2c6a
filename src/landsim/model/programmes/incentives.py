"""Incentives (ODD 7.15): how enrolment changes each farmer's option values and
the share of establishment costs paid up front, and the establishment support
a year's conversions are due."""

from __future__ import annotations

import math

import numpy as np

from landsim import carbon
from landsim.economics import Option, cocoa_yield, discount_factors
from landsim.model.programmes.terms import (
    FarmAreas,
    ProgrammeAccounts,
    carbon_price,
    claimable_cells,
    clearing_emission_tco2e_per_ha,
    contract_annuity,
    credited_share_of_clearing,
    expected_benefit,
    expels_next,
    is_active,
    meets_practice_obligation,
    restricted_clearing,
    shifts_to_claims,
    years_left,
)
from landsim.model.state import LOT_REFERENCE_HA, PERENNIALS, Cover, ModelState, system_params
from landsim.scenario import Programme


def adjust_values(
    spec: Programme,
    acc: ProgrammeAccounts,
    state: ModelState,
    year: int,
    areas: FarmAreas,
    clear_size: np.ndarray,
    a: np.ndarray,
) -> None:
    """Add ``spec``'s change in option values (USD/ha) to ``a``, the adjustments
    of its enrolled farms so far, shape (enrolled, options).

    - clear: the forest payment lost on the cleared ha over the contract years
      left, this year's avoided-emission credit lost (on at most the baseline's
      ha, and only if the farm would be paid: it meets its sustainable-practice
      obligation), and, where clearing breaks an
      obligation, the expected sanction per ha (detection probability x the
      payments at stake, and repayment if the programme claws back);
    - cocoa agroforestry / silvopasture: the establishment support (a grant, or
      the interest saved on a loan), the farmer's share of removal payments over
      the contract years left, the cocoa premium, and, while the farm falls short
      of its sustainable-practice obligation, the payments that meeting it would
      restore (per ha of shortfall);
    - abandon: the farmer's share of removal payments for regrowth.
    """
    sc, fs = state.params, state.farmers
    e = acc.enrolled
    annuity = contract_annuity(spec, state, year)
    left = years_left(spec, year, sc.decision.planning_horizon_years)
    disc = discount_factors(fs.discount_rate[e], max(left, 1))[:, :left]
    if spec.forest_payment is not None:
        a[:, Option.CLEAR] -= spec.forest_payment.usd_per_ha_per_year * annuity[e]
    if spec.carbon_payment is not None:
        cp = spec.carbon_payment
        price = carbon_price(spec, state, year) * cp.farmer_share
        if cp.pay_avoided_emissions:  # this year's credits, if they would be paid
            paid = meets_practice_obligation(spec, acc, year, areas)[e]
            lost = credited_share_of_clearing(spec, clear_size[e]) * paid
            a[:, Option.CLEAR] -= price * clearing_emission_tco2e_per_ha(state) * lost
        if cp.pay_removals:
            for option, curve in removal_curves(state, left).items():
                a[:, option] += price * disc @ curve
        if cp.pay_soil_carbon:
            for option, curve in soil_gain_curves(state, left).items():
                a[:, option] += price * disc @ curve
    ob = spec.obligations
    if ob is not None and (ob.no_clearing or ob.min_forest_share > 0):
        a[:, Option.CLEAR] -= expected_sanction(spec, acc, state, year, areas, clear_size, annuity)
    if ob is not None and ob.min_sustainable_ha_per_40ha > 0:
        bonus = restored_payments(spec, acc, state, year, areas, annuity)
        for system in PERENNIALS:
            a[:, system.option] += bonus
    if spec.establishment_support is not None:
        add_support_value(spec, state, e, a)
    if spec.premium is not None and left > 0:
        kg = cocoa_yield(np.arange(left), sc.cocoa_agroforestry)
        a[:, Option.COCOA_AGROFORESTRY] += spec.premium.cocoa_usd_per_kg * disc @ kg


def expected_sanction(
    spec: Programme,
    acc: ProgrammeAccounts,
    state: ModelState,
    year: int,
    areas: FarmAreas,
    clear_size: np.ndarray,
    annuity: np.ndarray,
) -> np.ndarray:
    """Expected sanction per ha of clearing that breaks an obligation (USD/ha), for
    the enrolled farms: detection probability x the payments at stake.

    A violation that expels the farm (:func:`terms.expels_next`: it has had its
    warnings) forfeits the payments of the contract years left and the support for
    the sustainable practice the contract still asks of it (:func:`support_at_stake`);
    a warning, or a programme that does not expel, costs only this year's
    payments. Clawback adds what was received.
    """
    e = acc.enrolled
    claimable = claimable_cells(state) if shifts_to_claims(spec) else None
    breaks = restricted_clearing(spec, clear_size, areas, claimable)[e] > 0
    yearly = expected_benefit(spec, state, year, areas.forest_ha)[e]
    expels = expels_next(spec, acc)[e]
    if expels.any():
        expelled_stake = yearly * annuity[e] + support_at_stake(spec, state, e, areas)
        at_stake = np.where(expels, expelled_stake, yearly)
    else:
        at_stake = yearly
    if spec.repay_on_violation:
        at_stake = at_stake + acc.received_usd[e]
    penalty = spec.detection_probability * at_stake / np.maximum(clear_size[e], 1)
    return np.where(breaks, penalty, 0.0)


def support_at_stake(
    spec: Programme, state: ModelState, enrolled: np.ndarray, areas: FarmAreas
) -> np.ndarray:
    """Establishment support an expelled farm forgoes (USD), for the enrolled farms:
    that for the sustainable-practice area its contract still asks of it (ha of
    shortfall x the support per ha of the cheaper system, as
    :func:`add_support_value` values it); 0 without support or such an obligation."""
    es, ob = spec.establishment_support, spec.obligations
    if es is None or ob.min_sustainable_ha_per_40ha <= 0:
        return np.zeros(int(enrolled.sum()))
    needed = ob.min_sustainable_ha_per_40ha * areas.lot_ha[enrolled] / LOT_REFERENCE_HA
    shortfall = np.maximum(needed - areas.sustainable_ha[enrolled], 0.0)
    per_ha = np.full(shortfall.shape, np.inf)
    for system in PERENNIALS:
        cost = system_params(system, state.params).establishment_cost_usd_per_ha
        per_ha = np.minimum(
            per_ha, support_per_ha(es, cost, state.farmers.discount_rate[enrolled])
        )
    return shortfall * per_ha


def support_per_ha(es, cost_usd_per_ha: float, discount_rate: np.ndarray) -> np.ndarray:
    """The value to each farmer of the support on 1 ha of a system costing
    ``cost_usd_per_ha`` to establish: a grant's share of it, or the interest a loan
    of that share saves (USD/ha)."""
    support = np.full(discount_rate.shape, es.share * cost_usd_per_ha)
    if es.mode == "loan":
        repay = discount_factors(discount_rate, es.loan_years).sum(axis=1)
        support = support * (1.0 - repay / es.loan_years)
    return support


def restored_payments(
    spec: Programme,
    acc: ProgrammeAccounts,
    state: ModelState,
    year: int,
    areas: FarmAreas,
    annuity: np.ndarray,
) -> np.ndarray:
    """Payments that meeting the sustainable-practice obligation would restore, per
    ha of shortfall (USD/ha), for the enrolled farms.

    Payments stop while the sustainable-practice area falls short: converting land
    to a perennial system restores them.
    """
    forest_ha, sustainable_ha, lot_ha = areas.forest_ha, areas.sustainable_ha, areas.lot_ha
    e = acc.enrolled
    needed = spec.obligations.min_sustainable_ha_per_40ha * lot_ha[e] / LOT_REFERENCE_HA
    shortfall = np.maximum(needed - sustainable_ha[e], 0.0)
    at_stake = expected_benefit(spec, state, year, forest_ha)[e] * annuity[e]
    return np.where(shortfall > 0, at_stake / np.maximum(shortfall, 1.0), 0.0)


def add_support_value(
    spec: Programme, state: ModelState, enrolled: np.ndarray, a: np.ndarray
) -> None:
    """Add the value per ha of the establishment support to the enrolled farms'
    adjustments ``a`` (USD/ha): a grant's share of the cost, or the interest a
    loan saves."""
    es, fs = spec.establishment_support, state.farmers
    for system in PERENNIALS:
        cost = system_params(system, state.params).establishment_cost_usd_per_ha
        a[:, system.option] += support_per_ha(es, cost, fs.discount_rate[enrolled])


def removal_curves(state: ModelState, years: int) -> dict[Option, np.ndarray]:
    """Biomass removals (tCO2e/ha) in each of the first ``years`` years after
    establishing each system (regrowth for abandonment)."""
    ages = np.arange(years + 1)
    out = {}
    systems = [(s.option, s.cover) for s in PERENNIALS]
    for option, code in [*systems, (Option.ABANDON, Cover.SECONDARY_FOREST)]:
        stock = carbon.biomass_density(np.full(ages.shape, code), ages, state.params)
        out[option] = np.diff(stock) * carbon.CO2_PER_C
    return out


def soil_gain_curves(state: ModelState, years: int) -> dict[Option, np.ndarray]:
    """Soil-carbon gains (tCO2e/ha) in each of the first ``years`` years after
    turning annual cropland into each perennial system (and into regrowth, for
    abandonment): the soil closes the share ``1 - r`` of its gap to the new cover's
    equilibrium each year (7.3), ``r = exp(-soil.approach_rate_per_year)``; none
    where that equilibrium is not above the cropland's."""
    r = math.exp(-state.params.soil.approach_rate_per_year)
    covers = [(s.option, s.cover) for s in PERENNIALS]
    codes = np.array([Cover.MONOCROP] + [c for _, c in covers] + [Cover.SECONDARY_FOREST])
    eq = carbon.soc_equilibrium(codes, state.params)
    out = {}
    for i, (option, _) in enumerate([*covers, (Option.ABANDON, None)], start=1):
        gap = max(float(eq[i] - eq[0]), 0.0)
        curve, gain = np.zeros(years), gap * (1.0 - r)
        for t in range(years):  # a loop over years only
            curve[t] = gain * carbon.CO2_PER_C
            gain *= r
        out[option] = curve
    return out


def upfront_shares(
    specs: list[Programme], accounts: list[ProgrammeAccounts], n: int, year: int
) -> dict[Option, np.ndarray]:
    """Share of the establishment cost each farmer pays up front, by option."""
    shares = {system.option: np.ones(n) for system in PERENNIALS}
    for spec, acc in zip(specs, accounts, strict=True):
        if spec.establishment_support is None or not is_active(spec, year):
            continue
        for option in shares:
            shares[option][acc.enrolled] *= 1.0 - spec.establishment_support.share
    return shares


def support_due(
    spec: Programme, acc: ProgrammeAccounts, state: ModelState, cells_by_option: dict
) -> np.ndarray:
    """Establishment support due to each farm for this year's conversions (USD)."""
    n, cell = state.farmers.n, state.landscape.cell_size_ha
    due = np.zeros(n)
    es = spec.establishment_support
    for system in PERENNIALS:
        farms = cells_by_option.get(system.option)
        if farms is None or farms.size == 0:
            continue
        ha = np.bincount(farms, minlength=n) * cell
        cost = system_params(system, state.params).establishment_cost_usd_per_ha
        due += np.where(acc.enrolled, es.share * cost * ha, 0)
    return due
