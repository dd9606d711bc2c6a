"""Enrolment (ODD 7.15): contracts end, volunteers apply and are admitted in the
targeting order up to the enrolment cap, and the admitted are trained.

A farmer applies when a logit draw on the net benefit per ha (expected yearly
payments minus the clearing value it gives up and its transaction cost spread over
the contract years left, divided by its lot area) says so; only farms that could
be paid (positive benefit; any farm, if the programme offers establishment support
or training), meet the forest-share obligation at entry and can pay the
transaction cost apply. Who enrols is thus a result: farms that meant to clear
little give up little and join first (self-selection).
"""

from __future__ import annotations

import numpy as np

from landsim.model.processes.land_change import forest_edge_distance
from landsim.model.programmes.terms import (
    FarmAreas,
    ProgrammeAccounts,
    claimable_cells,
    contract_annuity,
    enrolment_cap,
    expected_benefit,
    protected_forest_ha,
    restricted_clearing,
    shifts_to_claims,
)
from landsim.model.state import ModelState
from landsim.scenario import Programme


def enrol(
    spec: Programme,
    acc: ProgrammeAccounts,
    state: ModelState,
    year: int,
    areas: FarmAreas,
    clear_value: np.ndarray,
    clear_size: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Admit this year's applicants to ``spec``; returns the admitted farms' ids.

    Draws one uniform per farmer from ``rng`` (and, for random targeting, a
    permutation of the applicants).
    """
    forest_ha, lot_ha = areas.forest_ha, areas.lot_ha
    benefit = expected_benefit(spec, state, year, forest_ha)
    claimable = claimable_cells(state) if shifts_to_claims(spec) else None
    restricted = restricted_clearing(spec, clear_size, areas, claimable)
    forgone = np.maximum(clear_value, 0.0) * restricted
    net = benefit - forgone
    eligible = ~acc.enrolled & ~acc.expelled & ((benefit > 0) | offers_support(spec))
    if spec.participation is not None:  # a one-off cost, spread over the years left
        cost = spec.participation.transaction_cost_usd
        net = net - cost / np.maximum(contract_annuity(spec, state, year), 1e-9)
        eligible &= state.farmers.savings_usd >= cost
        if spec.participation.eligible == "cocoa_growers":
            eligible &= areas.cocoa_ha > 0
    net_per_ha = net / np.maximum(lot_ha, 1e-9)
    if spec.obligations is not None:
        eligible &= protected_forest_ha(spec, areas) >= spec.obligations.min_forest_share * lot_ha
    scale = state.params.decision.logit_scale
    p_join = 1.0 / (1.0 + np.exp(-np.clip(scale * net_per_ha, -50, 50)))
    u = rng.random(state.farmers.n)
    applicants = np.flatnonzero(eligible & (u < p_join))
    room = enrolment_cap(spec, year) - int(acc.enrolled.sum())
    if room <= 0 or applicants.size == 0:
        return applicants[:0]
    order = targeting_order(spec, state, applicants, net_per_ha, clear_value, clear_size, rng)
    chosen = applicants[order][:room]
    acc.enrolled[chosen] = True
    acc.ever_enrolled[chosen] = True
    acc.enrolled_since[chosen] = year
    if spec.participation is not None:
        state.farmers.savings_usd[chosen] -= spec.participation.transaction_cost_usd
    acc.year["newly_enrolled"] = float(chosen.size)
    return chosen


def offers_support(spec: Programme) -> bool:
    """Whether the programme offers more than payments (establishment support or
    training): then farms it would not pay may join too."""
    return spec.establishment_support is not None or spec.training is not None


def targeting_order(
    spec: Programme,
    state: ModelState,
    applicants: np.ndarray,
    net_per_ha: np.ndarray,
    clear_value: np.ndarray,
    clear_size: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """The order in which ``applicants`` are admitted, by the targeting rule."""
    if spec.targeting == "first_come":  # the keenest apply first
        return np.argsort(-net_per_ha[applicants], kind="stable")
    if spec.targeting == "random":
        return rng.permutation(applicants.size)
    if spec.targeting == "highest_risk":  # the most clearing value at stake
        risk = np.maximum(clear_value, 0.0) * clear_size
        return np.argsort(-risk[applicants], kind="stable")
    # nearest_edge: farms whose forest lies closest to fields and roads
    exposure = forest_edge_distance(state.landscape, state.farmers.n)
    return np.argsort(exposure[applicants], kind="stable")


def train(spec: Programme, state: ModelState, farms: np.ndarray) -> None:
    """Training raises the admitted farmers' knowledge towards 1."""
    if spec.training is None:
        return
    k = state.farmers.knowledge
    k[farms] += spec.training.knowledge_gain * (1 - k[farms])
