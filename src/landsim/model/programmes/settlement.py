"""Settlement (ODD 7.15): at the end of the year, loans are repaid, enrolled farms
are monitored and sanctioned, and what is due is paid, prorated so that money
paid never exceeds the yearly or the total budget."""

from __future__ import annotations

import numpy as np

from landsim.model.processes.land_change import FarmClearing
from landsim.model.programmes.terms import (
    FarmAreas,
    ProgrammeAccounts,
    carbon_price,
    clearing_emission_tco2e_per_ha,
    counted_clearing,
    expels_next,
    meets_practice_obligation,
    protected_forest_ha,
)
from landsim.model.state import ModelState
from landsim.scenario import Programme


def repay_loans(acc: ProgrammeAccounts, savings_usd: np.ndarray) -> None:
    """Loan instalments are repaid from savings, whatever the contract's state."""
    repay = np.minimum(acc.loan_instalment_usd, acc.loan_balance_usd)
    # Savings can be below zero here (establishment was paid this year and its
    # support is settled below): repay only from what is there.
    repay = np.minimum(repay, np.maximum(savings_usd, 0.0))
    acc.loan_balance_usd -= repay
    savings_usd -= repay
    acc.year["loan_repayments_usd"] = float(repay.sum())


def monitor(
    spec: Programme,
    acc: ProgrammeAccounts,
    year: int,
    areas: FarmAreas,
    clearing: FarmClearing,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Violations detected (one uniform per farmer) and the farms that comply.

    Clearing that counts against the obligations (:func:`terms.counted_clearing`:
    of the protected forest, on the land the contract covers) breaks a
    no-clearing obligation, and breaks the forest-share obligation when the farm's
    protected forest is below the share after it.

    Returns
    -------
    detected, compliant : ndarray of bool
    """
    e = acc.enrolled.copy()
    ob = spec.obligations
    violated = np.zeros(e.size, dtype=bool)
    compliant = e & meets_practice_obligation(spec, acc, year, areas)
    if ob is not None:
        cleared = counted_clearing(spec, clearing)
        if ob.no_clearing:
            violated |= e & (cleared > 0)
        below = protected_forest_ha(spec, areas) < ob.min_forest_share * areas.lot_ha
        violated |= e & (cleared > 0) & below
    detected = violated & (rng.random(e.size) < spec.detection_probability)
    acc.year["violations_detected"] = float(detected.sum())
    compliant &= ~detected
    acc.year["compliant_farms"] = float(compliant.sum())
    return detected, compliant


def sanction(
    spec: Programme, acc: ProgrammeAccounts, detected: np.ndarray, savings_usd: np.ndarray
) -> None:
    """Claw back what detected violators received (from their savings), and expel
    those who have had their warnings (warn the others), as the programme's rules
    say."""
    if spec.repay_on_violation:
        # Savings can be below zero here (establishment was paid this year and its
        # support is settled below): claw back only what is there.
        available = np.maximum(savings_usd, 0.0)
        clawback = np.where(detected, np.minimum(acc.received_usd, available), 0.0)
        savings_usd -= clawback
        acc.received_usd -= clawback
        acc.year["repayments_usd"] = float(clawback.sum())
    if spec.expel_on_violation:
        expel = detected & expels_next(spec, acc)
        acc.warnings[detected & ~expel] += 1  # warned: unpaid this year, still enrolled
        acc.enrolled[expel] = False
        acc.expelled[expel] = True


def payments_due(
    spec: Programme,
    state: ModelState,
    year: int,
    forest_ha: np.ndarray,
    compliant: np.ndarray,
    farm_carbon: dict,
) -> tuple[np.ndarray, float, float]:
    """What compliant farms are due this year (USD each), the collective share
    of carbon payments (USD) and the credits it pays for (tCO2e)."""
    fs = state.farmers
    to_farmer = np.zeros(fs.n)
    credits = np.zeros(fs.n)
    if spec.forest_payment is not None:
        to_farmer += spec.forest_payment.usd_per_ha_per_year * forest_ha
    if spec.carbon_payment is not None:
        cp = spec.carbon_payment
        if cp.pay_removals:
            credits += farm_carbon["removals_tco2e"]
        if cp.pay_soil_carbon:
            credits += fs.soil_removals_tco2e
        if cp.pay_avoided_emissions:
            baseline = cp.baseline_clearing_ha_per_farm_per_year * clearing_emission_tco2e_per_ha(
                state
            )
            credits += np.maximum(baseline - farm_carbon["emissions_tco2e"], 0.0)
        value = carbon_price(spec, state, year) * credits
        to_farmer += cp.farmer_share * value
        collective_by_farm = (1.0 - cp.farmer_share) * value
    else:
        collective_by_farm = np.zeros(fs.n)
    if spec.premium is not None and spec.premium.paid_by == "programme":
        to_farmer += spec.premium.cocoa_usd_per_kg * fs.cocoa_kg
    to_farmer = np.where(compliant, to_farmer, 0.0)
    collective = float(np.where(compliant, collective_by_farm, 0.0).sum())
    return to_farmer, collective, float(np.where(compliant, credits, 0.0).sum())


def repay_finance(spec: Programme, acc: ProgrammeAccounts, collective: float) -> float:
    """Route the collective share of the credits' value (USD): under
    ``collective_use = "repay_finance"`` it is credit revenue that repays the
    programme's finance (recorded, outside the budget); otherwise the budget pays
    it. Returns what the budget is to pay."""
    cp = spec.carbon_payment
    repaid = collective if cp is not None and cp.collective_use == "repay_finance" else 0.0
    acc.year["finance_repaid_usd"] = repaid
    return collective - repaid


def pay_buyer_premium(
    spec: Programme, acc: ProgrammeAccounts, state: ModelState, compliant: np.ndarray
) -> np.ndarray:
    """The premium buyers pay on the certified cocoa of compliant farms (USD each):
    market income, outside the programme's budget."""
    premium = np.zeros(state.farmers.n)
    if spec.premium is not None and spec.premium.paid_by == "buyers":
        premium = np.where(compliant, spec.premium.cocoa_usd_per_kg * state.farmers.cocoa_kg, 0.0)
    acc.year["premium_from_buyers_usd"] = float(premium.sum())
    return premium


def budget_factor(spec: Programme, acc: ProgrammeAccounts, due: float) -> float:
    """The share of ``due`` (USD) that the yearly and total budgets left, and the
    money arrived so far, can pay."""
    total = min(spec.budget_usd, acc.funds_usd)
    available = max(0.0, min(spec.budget_usd_per_year, total - acc.spent_usd))
    return 1.0 if due <= available else (available / due if due > 0 else 0.0)


def pay(
    spec: Programme,
    acc: ProgrammeAccounts,
    to_farmer: np.ndarray,
    collective: float,
    support: np.ndarray,
    savings_usd: np.ndarray,
    credits_tco2e: float = 0.0,
) -> np.ndarray:
    """Pay what is due, prorated to the budget left; returns the payments that
    count as each farmer's income this year (USD).

    Collective carbon money goes to the planting fund (``planting``); the credits
    sold are those paid for (``credits_tco2e`` prorated like the money);
    establishment support goes to savings, kept as a grant or repaid in
    instalments as a loan.
    """
    due = float(to_farmer.sum() + collective + support.sum())
    factor = budget_factor(spec, acc, due)
    if due > 0:
        acc.paid_share = factor
    to_farmer, collective, support = (
        to_farmer * factor,
        collective * factor,
        support * factor,
    )
    paid = float(to_farmer.sum() + collective + support.sum())
    acc.spent_usd += paid
    acc.received_usd += to_farmer
    if spec.carbon_payment is not None:
        acc.reforestation_ha += collective / spec.carbon_payment.reforestation_cost_usd_per_ha
        acc.planting_fund_usd += collective
        # Credits that repay finance are sold whatever the budget pays; others are
        # those the budget paid for.
        sold = 1.0 if spec.carbon_payment.collective_use == "repay_finance" else factor
        acc.year["credits_tco2e"] = credits_tco2e * sold
    savings_usd += support
    es = spec.establishment_support
    if es is not None and es.mode == "loan":
        acc.loan_balance_usd += support
        acc.loan_instalment_usd += support / es.loan_years
    acc.year["payments_to_farmers_usd"] = float(to_farmer.sum())
    acc.year["collective_spending_usd"] = collective
    acc.year["establishment_support_usd"] = float(support.sum())
    return to_farmer
