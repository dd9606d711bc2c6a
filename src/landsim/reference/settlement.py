"""The end of a programme's year, farmer by farmer: loans repaid, monitoring,
sanctions, and payments within the budgets (docs/schemes.md)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from landsim.reference.incentives import (
    carbon_price,
    clearing_emission_tco2e_per_ha,
    meets_practice_obligation,
    protected_forest_ha,
)

if TYPE_CHECKING:
    from landsim.reference.model import ReferenceModel
    from landsim.reference.programmes import ReferenceProgramme


def repay_loans(model: ReferenceModel, prog: ReferenceProgramme) -> None:
    """Every farmer repays this year's instalment from the savings it has left.

    Loans are repaid whatever the contract's state.

    Parameters
    ----------
    model : ReferenceModel
    prog : ReferenceProgramme
    """
    repaid = []
    for f in model.farmers:
        c = prog.contracts[f.farm_id]
        repay = min(c.loan_instalment_usd, c.loan_balance_usd, max(f.savings_usd, 0.0))
        c.loan_balance_usd -= repay
        f.savings_usd -= repay
        repaid.append(repay)
    prog.year["loan_repayments_usd"] = float(np.sum(repaid))


def counted_clearing_ha(spec, cleared: tuple) -> float:
    """A farm's clearing that counts against ``spec``'s obligations (ha): of the
    forest they protect (primary only, or all), on the land the contract covers
    (claimed land too, or only the land held); ``cleared`` is its
    :func:`landsim.reference.land.clearing_record`."""
    forest_ha, primary_ha, claims_ha, primary_claims_ha = cleared
    primary = spec.obligations.protected_forest == "primary"
    counted = primary_ha if primary else forest_ha
    if not spec.obligations.covers_claimed_land:
        counted = counted - (primary_claims_ha if primary else claims_ha)
    return counted


def find_violations(prog: ReferenceProgramme, year: int, areas: dict, cleared: dict):
    """Which enrolled farmers broke an obligation, and which met them all.

    Clearing that counts (:func:`counted_clearing_ha`) breaks a no-clearing
    obligation, and the forest share when the protected forest left is below it.

    Parameters
    ----------
    prog : ReferenceProgramme
    year : int
    areas : dict
        Farm id -> forest, sustainable-practice, lot and primary-forest area (ha).
    cleared : dict
        Farm id -> the forest it cleared this year, by kind and land (ha).

    Returns
    -------
    violated, compliant : dict
        Farm id -> bool, before detection.
    """
    ob = prog.spec.obligations
    violated, compliant = {}, {}
    for farm_id, c in enumerate(prog.contracts):
        lot_ha = areas[farm_id][2]
        violated[farm_id] = False
        compliant[farm_id] = c.enrolled
        if ob is not None:
            counted = counted_clearing_ha(prog.spec, cleared[farm_id]) > 0
            protected = protected_forest_ha(prog.spec, areas[farm_id])
            if c.enrolled and counted and ob.no_clearing:
                violated[farm_id] = True
            if c.enrolled and counted and protected < ob.min_forest_share * lot_ha:
                violated[farm_id] = True
            if not meets_practice_obligation(prog.spec, c, year, areas[farm_id]):
                compliant[farm_id] = False
    return violated, compliant


def monitor(
    model: ReferenceModel,
    prog: ReferenceProgramme,
    year: int,
    areas,
    cleared,
    rng,
) -> None:
    """Detect violations; sanction them; note who is compliant this year.

    Parameters
    ----------
    model : ReferenceModel
    prog : ReferenceProgramme
    year : int
    areas : dict
        Farm id -> forest, sustainable-practice, lot and primary-forest area (ha).
    cleared : dict
        Farm id -> the forest it cleared this year, by kind and land (ha).
    rng : numpy.random.Generator
        This year's programme stream: one uniform per farmer for detection.
    """
    spec, farmers = prog.spec, model.farmers
    violated, compliant = find_violations(prog, year, areas, cleared)
    uniforms = rng.random(len(farmers))
    detected = {
        f.farm_id: violated[f.farm_id] and uniforms[f.farm_id] < spec.detection_probability
        for f in farmers
    }
    prog.year["violations_detected"] = float(sum(detected.values()))
    clawbacks = []
    for f in farmers:
        c = prog.contracts[f.farm_id]
        if detected[f.farm_id]:
            compliant[f.farm_id] = False
        clawback = 0.0
        if spec.repay_on_violation and detected[f.farm_id]:
            # Savings can be below zero here (establishment was paid this year
            # and its support is settled later): claw back only what is there.
            clawback = min(c.received_usd, max(f.savings_usd, 0.0))
            f.savings_usd -= clawback
            c.received_usd -= clawback
        clawbacks.append(clawback)
        if spec.expel_on_violation and detected[f.farm_id]:
            if c.warnings >= spec.warnings_before_expulsion:
                c.enrolled = False
                c.expelled = True
            else:  # warned: unpaid this year, still enrolled
                c.warnings += 1
    prog.year["compliant_farms"] = float(sum(compliant.values()))
    if spec.repay_on_violation:
        prog.year["repayments_usd"] = float(np.sum(clawbacks))
    prog.compliant = compliant


def credits_tco2e(model: ReferenceModel, spec, farmer) -> float:
    """The carbon credits a farmer earned this year (tCO2e).

    Parameters
    ----------
    model : ReferenceModel
    spec : Programme
        A programme with a carbon payment.
    farmer : ReferenceFarmer

    Returns
    -------
    float
        Its biomass removals, and the emissions it avoided against the baseline of
        clearing, as the programme pays them.
    """
    cp = spec.carbon_payment
    credits = 0.0
    if cp.pay_removals:
        credits += farmer.removals_tco2e
    if cp.pay_soil_carbon:
        credits += farmer.soil_removals_tco2e
    if cp.pay_avoided_emissions:
        baseline = cp.baseline_clearing_ha_per_farm_per_year * clearing_emission_tco2e_per_ha(
            model
        )
        credits += max(baseline - farmer.emissions_tco2e, 0.0)
    return credits


def amounts_due(model: ReferenceModel, prog: ReferenceProgramme, year: int, areas: dict):
    """What the programme owes this year, before its budgets.

    Parameters
    ----------
    model : ReferenceModel
    prog : ReferenceProgramme
    year : int
    areas : dict
        Farm id -> forest, sustainable-practice and lot area (ha).

    Returns
    -------
    to_farmer : numpy.ndarray
        Payments due to each farmer (0 unless compliant), USD.
    collective : float
        Collective spending of the compliant farmers' credits, USD.
    support : numpy.ndarray
        Establishment support due to each farmer, USD.
    credits : float
        The compliant farmers' credits (tCO2e).
    """
    spec, farmers = prog.spec, model.farmers
    to_farmer, collective_by_farm, credits = [], [], []
    for f in farmers:
        forest_ha = areas[f.farm_id][0]
        to, collective, farm_credits = 0.0, 0.0, 0.0
        if spec.forest_payment is not None:
            to += spec.forest_payment.usd_per_ha_per_year * forest_ha
        if spec.carbon_payment is not None:
            cp = spec.carbon_payment
            farm_credits = credits_tco2e(model, spec, f)
            value = carbon_price(model, spec, year) * farm_credits
            to += cp.farmer_share * value
            collective = (1.0 - cp.farmer_share) * value
        if spec.premium is not None and spec.premium.paid_by == "programme":
            to += spec.premium.cocoa_usd_per_kg * f.cocoa_kg
        paid = prog.compliant[f.farm_id]
        to_farmer.append(to if paid else 0.0)
        collective_by_farm.append(collective if paid else 0.0)
        credits.append(farm_credits if paid else 0.0)
    support = [prog.contracts[f.farm_id].support_due_usd for f in farmers]
    collective = float(np.sum(collective_by_farm))
    return np.array(to_farmer), collective, np.array(support), float(np.sum(credits))


def funds_arrived(spec, year: int) -> float:
    """Money a programme has received by ``year`` (USD): the budget, or the
    tranches of ``funding.usd_by_year`` up to this programme year, added up."""
    if spec.funding is None:
        return spec.budget_usd
    return float(math.fsum(spec.funding.usd_by_year[: max(year - spec.start_year + 1, 0)]))


def repay_finance(prog: ReferenceProgramme, collective: float) -> float:
    """The collective share of the credits' value (USD) repays the programme's
    finance, outside the budget, under ``collective_use = "repay_finance"``;
    returns what the budget is to pay."""
    cp = prog.spec.carbon_payment
    repaid = collective if cp is not None and cp.collective_use == "repay_finance" else 0.0
    prog.year["finance_repaid_usd"] = repaid
    return collective - repaid


def pay_buyer_premium(model: ReferenceModel, prog: ReferenceProgramme, income: dict) -> None:
    """Buyers pay the premium on compliant farmers' certified cocoa, outside the
    budget; added to ``income`` (farm id -> USD)."""
    spec, total = prog.spec, []
    by_buyers = spec.premium is not None and spec.premium.paid_by == "buyers"
    for f in model.farmers:
        premium = 0.0
        if by_buyers and prog.compliant[f.farm_id]:
            premium = spec.premium.cocoa_usd_per_kg * f.cocoa_kg
        income[f.farm_id] += premium
        total.append(premium)
    prog.year["premium_from_buyers_usd"] = float(np.sum(total))


def pay(
    model: ReferenceModel,
    prog: ReferenceProgramme,
    to_farmer,
    collective,
    support,
    income,
    credits: float = 0.0,
) -> None:
    """Pay what is due, prorated so that neither budget is ever exceeded; the
    collective money goes to the planting fund (7.17), and the credits sold are
    those paid for.

    Parameters
    ----------
    model : ReferenceModel
    prog : ReferenceProgramme
    to_farmer, collective, support, credits
        :func:`amounts_due`.
    income : dict
        Farm id -> payments received this year (USD); added to here.
    """
    spec, farmers = prog.spec, model.farmers
    due = float(np.sum(to_farmer) + collective + np.sum(support))
    total = min(spec.budget_usd, prog.funds_usd)  # the budget, or what has arrived
    available = max(0.0, min(spec.budget_usd_per_year, total - prog.spent_usd))
    factor = 1.0 if due <= available else (available / due if due > 0 else 0.0)
    if due > 0:
        prog.paid_share = factor  # how far the farmers will trust its terms next year
    to_farmer, collective, support = to_farmer * factor, collective * factor, support * factor
    prog.spent_usd += float(np.sum(to_farmer) + collective + np.sum(support))
    es = spec.establishment_support
    for f in farmers:
        c = prog.contracts[f.farm_id]
        c.received_usd += to_farmer[f.farm_id]
        income[f.farm_id] += to_farmer[f.farm_id]
        f.savings_usd += support[f.farm_id]  # a grant is kept; a loan is repaid
        if es is not None and es.mode == "loan":
            c.loan_balance_usd += support[f.farm_id]
            c.loan_instalment_usd += support[f.farm_id] / es.loan_years
    if spec.carbon_payment is not None:
        prog.reforestation_ha += collective / spec.carbon_payment.reforestation_cost_usd_per_ha
        prog.planting_fund_usd += collective
        # Credits that repay finance are sold whatever the budget pays.
        sold = 1.0 if spec.carbon_payment.collective_use == "repay_finance" else factor
        prog.year["credits_tco2e"] = credits * sold
    prog.year["payments_to_farmers_usd"] = float(np.sum(to_farmer))
    prog.year["collective_spending_usd"] = collective
    prog.year["establishment_support_usd"] = float(np.sum(support))
