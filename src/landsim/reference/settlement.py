"""The end of a programme's year, farmer by farmer: loans repaid, monitoring,
sanctions, and payments within the budgets (docs/schemes.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from landsim.model.state import LOT_REFERENCE_HA
from landsim.reference.incentives import carbon_price, clearing_emission_tco2e_per_ha

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


def find_violations(prog: ReferenceProgramme, year: int, areas: dict, cleared_ha: dict):
    """Which enrolled farmers broke an obligation, and which met them all.

    Parameters
    ----------
    prog : ReferenceProgramme
    year : int
    areas : dict
        Farm id -> forest, sustainable-practice and lot area (ha).
    cleared_ha : dict
        Farm id -> forest it cleared this year (ha).

    Returns
    -------
    violated, compliant : dict
        Farm id -> bool, before detection.
    """
    ob = prog.spec.obligations
    violated, compliant = {}, {}
    for farm_id, c in enumerate(prog.contracts):
        forest_ha, sustainable_ha, lot_ha = areas[farm_id]
        cleared = cleared_ha[farm_id] > 0
        violated[farm_id] = False
        compliant[farm_id] = c.enrolled
        if ob is not None:
            if c.enrolled and cleared and ob.no_clearing:
                violated[farm_id] = True
            if c.enrolled and cleared and forest_ha < ob.min_forest_share * lot_ha:
                violated[farm_id] = True
            grace_over = year - c.enrolled_since >= ob.grace_years
            needed = ob.min_sustainable_ha_per_40ha * lot_ha / LOT_REFERENCE_HA
            if grace_over and sustainable_ha < needed:
                compliant[farm_id] = False
    return violated, compliant


def monitor(
    model: ReferenceModel, prog: ReferenceProgramme, year: int, areas, cleared_ha, rng
) -> None:
    """Detect violations; sanction them; note who is compliant this year.

    Parameters
    ----------
    model : ReferenceModel
    prog : ReferenceProgramme
    year : int
    areas : dict
        Farm id -> forest, sustainable-practice and lot area (ha).
    cleared_ha : dict
        Farm id -> forest it cleared this year (ha).
    rng : numpy.random.Generator
        This year's programme stream: one uniform per farmer for detection.
    """
    spec, farmers = prog.spec, model.farmers
    violated, compliant = find_violations(prog, year, areas, cleared_ha)
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
            c.enrolled = False
            c.expelled = True
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
        if spec.premium is not None:
            to += spec.premium.cocoa_usd_per_kg * f.cocoa_kg
        paid = prog.compliant[f.farm_id]
        to_farmer.append(to if paid else 0.0)
        collective_by_farm.append(collective if paid else 0.0)
        credits.append(farm_credits if paid else 0.0)
    support = [prog.contracts[f.farm_id].support_due_usd for f in farmers]
    collective = float(np.sum(collective_by_farm))
    return np.array(to_farmer), collective, np.array(support), float(np.sum(credits))


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
    available = max(0.0, min(spec.budget_usd_per_year, spec.budget_usd - prog.spent_usd))
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
        prog.year["credits_tco2e"] = credits * factor
    prog.year["payments_to_farmers_usd"] = float(np.sum(to_farmer))
    prog.year["collective_spending_usd"] = collective
    prog.year["establishment_support_usd"] = float(np.sum(support))
