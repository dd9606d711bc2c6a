"""Enrolment (ODD 7.15): contracts end, volunteers apply and are admitted in the
targeting order up to the enrolment cap, and the admitted are trained.

A farmer applies when a logit draw on the net benefit per ha (expected yearly
payments minus the clearing value it gives up, divided by its lot area) says so;
only farms that could be paid (positive benefit) and meet the forest-share
obligation at entry apply.
"""

from __future__ import annotations

import numpy as np

from landsim.model.processes.land_change import forest_edge_distance
from landsim.model.programmes.terms import (
    FarmAreas,
    ProgrammeAccounts,
    claimable_cells,
    expected_benefit,
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
    forest_ha, _, lot_ha = areas
    benefit = expected_benefit(spec, state, year, forest_ha)
    claimable = claimable_cells(state) if shifts_to_claims(spec) else None
    forgone = np.maximum(clear_value, 0.0) * restricted_clearing(
        spec, clear_size, forest_ha, lot_ha, claimable
    )
    net_per_ha = (benefit - forgone) / np.maximum(lot_ha, 1e-9)
    eligible = ~acc.enrolled & ~acc.expelled & (benefit > 0)
    if spec.obligations is not None:
        eligible &= forest_ha >= spec.obligations.min_forest_share * lot_ha
    scale = state.params.decision.logit_scale
    p_join = 1.0 / (1.0 + np.exp(-np.clip(scale * net_per_ha, -50, 50)))
    u = rng.random(state.farmers.n)
    applicants = np.flatnonzero(eligible & (u < p_join))
    room = spec.enrolment_cap - int(acc.enrolled.sum())
    if room <= 0 or applicants.size == 0:
        return applicants[:0]
    order = targeting_order(spec, state, applicants, net_per_ha, clear_value, clear_size, rng)
    chosen = applicants[order][:room]
    acc.enrolled[chosen] = True
    acc.ever_enrolled[chosen] = True
    acc.enrolled_since[chosen] = year
    acc.year["newly_enrolled"] = float(chosen.size)
    return chosen


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
