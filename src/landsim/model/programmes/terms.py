"""What a programme's contract offers and asks of each farm.

The pieces shared by enrolment, the incentives in the option values and the
settlement at the end of the year: the farms' forest, sustainable-practice and
lot areas, the carbon price, the value of the contract years left, the emission
of clearing, the payments a farm can expect, and the clearing its obligations
forbid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from landsim import carbon
from landsim.economics import discount_factors
from landsim.model.state import LOT_REFERENCE_HA, Cover, ModelState
from landsim.scenario import Programme


@dataclass
class ProgrammeAccounts:
    """The state of one programme: per-farm arrays and its budget."""

    enrolled: np.ndarray
    ever_enrolled: np.ndarray
    expelled: np.ndarray
    enrolled_since: np.ndarray
    received_usd: np.ndarray
    loan_balance_usd: np.ndarray
    loan_instalment_usd: np.ndarray
    warnings: np.ndarray
    spent_usd: float = 0.0
    #: Money arrived so far (USD; the whole budget unless funding comes in tranches).
    funds_usd: float = math.inf
    #: Planting paid for (collective money / cost per ha), planted on the map, and
    #: the collective money paid but not yet spent on planting (USD).
    reforestation_ha: float = 0.0
    planted_ha: float = 0.0
    planting_fund_usd: float = 0.0
    #: The share of what was due that the programme paid the last year anything
    #: was due (1 before): how far enrolled farmers expect its terms to be kept.
    paid_share: float = 1.0
    year: dict = field(default_factory=dict)

    #: The per-farm arrays.
    PER_FARM = (
        "enrolled",
        "ever_enrolled",
        "expelled",
        "enrolled_since",
        "received_usd",
        "loan_balance_usd",
        "loan_instalment_usd",
        "warnings",
    )

    def extend(self, new: ProgrammeAccounts) -> None:
        """Append the farms of ``new``."""
        for name in self.PER_FARM:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(new, name)]))

    @classmethod
    def empty(cls, n: int) -> ProgrammeAccounts:
        return cls(
            enrolled=np.zeros(n, dtype=bool),
            ever_enrolled=np.zeros(n, dtype=bool),
            expelled=np.zeros(n, dtype=bool),
            enrolled_since=np.full(n, -1),
            received_usd=np.zeros(n),
            loan_balance_usd=np.zeros(n),
            loan_instalment_usd=np.zeros(n),
            warnings=np.zeros(n, dtype=np.int64),
        )


class FarmAreas(NamedTuple):
    """Areas of each farm (ha): forest (primary and secondary), sustainable
    practice (cocoa agroforestry and silvopasture), the lot, primary forest and
    cocoa agroforestry."""

    forest_ha: np.ndarray
    sustainable_ha: np.ndarray
    lot_ha: np.ndarray
    primary_ha: np.ndarray
    cocoa_ha: np.ndarray


def expels_next(spec: Programme, acc: ProgrammeAccounts) -> np.ndarray:
    """Whether each farm's next detected violation expels it: the programme expels
    violators and the farm has had its warnings."""
    if not spec.expel_on_violation:
        return np.zeros(acc.enrolled.size, dtype=bool)
    return acc.warnings >= spec.warnings_before_expulsion


def is_active(spec: Programme, year: int) -> bool:
    """Whether ``spec`` runs in ``year``."""
    return spec.start_year <= year <= spec.end_year


def enrolment_cap(spec: Programme, year: int) -> int:
    """Farms the programme may hold in ``year``: its cap, or that of the programme
    year (the last one held once the list ends)."""
    cap = spec.enrolment_cap
    if isinstance(cap, int):
        return cap
    return cap[min(max(year - spec.start_year, 0), len(cap) - 1)]


def funds_arrived(spec: Programme, year: int) -> float:
    """Money the programme has received by ``year`` (USD): its budget, or the
    tranches of ``funding.usd_by_year`` up to this programme year."""
    if spec.funding is None:
        return spec.budget_usd
    tranches = spec.funding.usd_by_year[: max(year - spec.start_year + 1, 0)]
    return float(math.fsum(tranches))


def years_left(spec: Programme, year: int, horizon: int) -> int:
    """Contract years left from ``year`` on, within the planning horizon."""
    return max(0, min(spec.end_year - year + 1, horizon))


def measure_farm_areas(state: ModelState) -> FarmAreas:
    """Forest, sustainable-practice, lot and primary-forest area of each farm (ha)."""
    ls, n = state.landscape, state.farmers.n
    owner, cover = ls.owner.ravel(), ls.cover.ravel()
    owned = owner >= 0
    o, c = owner[owned], cover[owned]
    area = np.bincount(o * len(Cover) + c, minlength=n * len(Cover)).reshape(n, len(Cover))
    cell = ls.cell_size_ha
    forest = (area[:, Cover.PRIMARY_FOREST] + area[:, Cover.SECONDARY_FOREST]) * cell
    sustainable = (area[:, Cover.COCOA_AGROFORESTRY] + area[:, Cover.SILVOPASTURE]) * cell
    primary = area[:, Cover.PRIMARY_FOREST] * cell
    cocoa = area[:, Cover.COCOA_AGROFORESTRY] * cell
    return FarmAreas(forest, sustainable, area.sum(axis=1) * cell, primary, cocoa)


def carbon_price(spec: Programme, state: ModelState, year: int) -> float:
    """The programme's carbon price (USD/tCO2e): fixed, or the market's."""
    cp = spec.carbon_payment
    if cp.usd_per_tco2e is not None:
        return cp.usd_per_tco2e
    return state.market.price("carbon", year)


def contract_annuity(spec: Programme, state: ModelState, year: int) -> np.ndarray:
    """Present value of 1 USD a year over the contract years left (within the
    planning horizon), at each farmer's discount rate."""
    left = years_left(spec, year, state.params.decision.planning_horizon_years)
    if left == 0:
        return np.zeros(state.farmers.n)
    return discount_factors(state.farmers.discount_rate, left).sum(axis=1)


def clearing_emission_tco2e_per_ha(state: ModelState) -> float:
    """Biomass emission of clearing 1 ha of primary forest for annual crops."""
    sc = state.params
    agb = sc.forest.primary_agb_tc_per_ha - sc.monocrop.agb_tc_per_ha
    return agb * (1.0 + sc.forest.root_shoot_ratio) * carbon.CO2_PER_C


def expected_benefit(
    spec: Programme, state: ModelState, year: int, forest_ha: np.ndarray
) -> np.ndarray:
    """Expected yearly payments to each farm if it joined (USD/yr)."""
    fs = state.farmers
    benefit = np.zeros(fs.n)
    if spec.forest_payment is not None:
        benefit += spec.forest_payment.usd_per_ha_per_year * forest_ha
    if spec.carbon_payment is not None:
        cp = spec.carbon_payment
        price = carbon_price(spec, state, year) * cp.farmer_share
        if cp.pay_removals:
            benefit += price * fs.removals_tco2e
        if cp.pay_soil_carbon:
            benefit += price * fs.soil_removals_tco2e
        if cp.pay_avoided_emissions:
            benefit += (
                price
                * cp.baseline_clearing_ha_per_farm_per_year
                * clearing_emission_tco2e_per_ha(state)
            )
    if spec.premium is not None:
        benefit += spec.premium.cocoa_usd_per_kg * fs.cocoa_kg
    return benefit


def shifts_to_claims(spec: Programme) -> bool:
    """Whether the farms enrolled in ``spec`` clear their claimable forest before
    their own: its obligations restrict clearing and its contract covers only the
    land they hold (``obligations.covers_claimed_land = false``)."""
    ob = spec.obligations
    restricts = ob is not None and (ob.no_clearing or ob.min_forest_share > 0)
    return restricts and not ob.covers_claimed_land


def claimable_cells(state: ModelState) -> np.ndarray:
    """Cells of unowned forest each farm may claim and clear this year: the claimable
    part of its clearing candidates (``survey.FarmSurvey.n_candidates``)."""
    ls, n = state.landscape, state.farmers.n
    fert, cover = ls.fertility.ravel(), ls.cover.ravel()
    forest = (cover == Cover.PRIMARY_FOREST) | (
        (cover == Cover.SECONDARY_FOREST) & (fert >= state.params.forest.reclear_fertility)
    )
    claim = ls.claim.ravel()
    open_ = forest & (ls.owner.ravel() < 0) & (claim >= 0)
    if not state.params.landscape.protected_can_change:
        open_ &= ~ls.protected.ravel()
    return np.bincount(claim[open_], minlength=n)


def meets_practice_obligation(
    spec: Programme, acc: ProgrammeAccounts, year: int, areas: FarmAreas
) -> np.ndarray:
    """Whether each farm meets the sustainable-practice obligation this year (its
    grace years over, or enough land under sustainable practice): a farm that does
    not is not paid, whatever it clears."""
    ob = spec.obligations
    if ob is None:
        return np.ones(acc.enrolled.size, dtype=bool)
    sustainable_ha, lot_ha = areas.sustainable_ha, areas.lot_ha
    grace_over = year - acc.enrolled_since >= ob.grace_years
    needed = ob.min_sustainable_ha_per_40ha * lot_ha / LOT_REFERENCE_HA
    return ~(grace_over & (sustainable_ha < needed))


def credited_share_of_clearing(spec: Programme, clear_size: np.ndarray) -> np.ndarray:
    """Share of each ha of clearing that costs the farm avoided-emission credits.

    Credits are the baseline's emission less the farm's own, never below zero
    (:func:`settlement.payments_due`): clearing ``s`` ha loses credits on at most
    the baseline's ``b`` ha, a share ``min(1, b / s)`` of each ha.
    """
    b = spec.carbon_payment.baseline_clearing_ha_per_farm_per_year
    if b <= 0:
        return np.zeros(clear_size.shape)
    return np.minimum(1.0, b / np.maximum(clear_size, b))


def protected_forest_ha(spec: Programme, areas: FarmAreas) -> np.ndarray:
    """Each farm's forest that the obligations protect (ha): its primary forest, or
    all its forest (``obligations.protected_forest``)."""
    if spec.obligations.protected_forest == "primary":
        return areas.primary_ha
    return areas.forest_ha


def counted_clearing(spec: Programme, cleared) -> np.ndarray:
    """The clearing of each farm that counts against ``spec``'s obligations (ha):
    of the forest they protect (primary only, or all), on the land the contract
    covers (claimed land too, or only the land held). ``cleared`` is the year's
    :class:`~landsim.model.processes.land_change.FarmClearing`."""
    ob = spec.obligations
    primary = ob.protected_forest == "primary"
    counted = cleared.primary_ha if primary else cleared.forest_ha
    if not ob.covers_claimed_land:
        counted = counted - (cleared.primary_claims_ha if primary else cleared.claims_ha)
    return counted


def restricted_clearing(
    spec: Programme,
    clear_size: np.ndarray,
    areas: FarmAreas,
    claimable: np.ndarray | None = None,
) -> np.ndarray:
    """Ha a year of clearing the obligations forbid (at most what the farmer
    could clear).

    Where the contract does not cover claimable land (:func:`shifts_to_claims`),
    the farm clears its ``claimable`` cells first and only the rest counts. Where
    only primary forest is protected, a farm expects the primary share of its
    forest among what it clears (it clears the forest nearest its fields,
    whatever it is: ODD 7.10).
    """
    ob = spec.obligations
    if ob is None:
        return np.zeros_like(areas.forest_ha)
    if shifts_to_claims(spec):
        clear_size = np.maximum(clear_size - claimable, 0)
    hit = clear_size.astype(float)
    if ob.protected_forest == "primary":
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(areas.forest_ha > 0, areas.primary_ha / areas.forest_ha, 0.0)
        hit = hit * share
    if ob.no_clearing:
        return hit
    allowance = np.maximum(
        protected_forest_ha(spec, areas) - ob.min_forest_share * areas.lot_ha, 0.0
    )
    return np.maximum(hit - allowance, 0.0)
