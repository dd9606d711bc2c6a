"""What a programme's contract offers and asks of each farm.

The pieces shared by enrolment, the incentives in the option values and the
settlement at the end of the year: the farms' forest, sustainable-practice and
lot areas, the carbon price, the value of the contract years left, the emission
of clearing, the payments a farm can expect, and the clearing its obligations
forbid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from landsim import carbon
from landsim.economics import discount_factors
from landsim.model.state import Cover, ModelState
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
    spent_usd: float = 0.0
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
        )


class FarmAreas(NamedTuple):
    """Areas of each farm (ha)."""

    forest_ha: np.ndarray
    sustainable_ha: np.ndarray
    lot_ha: np.ndarray


def is_active(spec: Programme, year: int) -> bool:
    """Whether ``spec`` runs in ``year``."""
    return spec.start_year <= year <= spec.end_year


def years_left(spec: Programme, year: int, horizon: int) -> int:
    """Contract years left from ``year`` on, within the planning horizon."""
    return max(0, min(spec.end_year - year + 1, horizon))


def measure_farm_areas(state: ModelState) -> FarmAreas:
    """Forest, sustainable-practice and lot area of each farm (ha)."""
    ls, n = state.landscape, state.farmers.n
    owner, cover = ls.owner.ravel(), ls.cover.ravel()
    owned = owner >= 0
    o, c = owner[owned], cover[owned]
    area = np.bincount(o * len(Cover) + c, minlength=n * len(Cover)).reshape(n, len(Cover))
    cell = ls.cell_size_ha
    forest = (area[:, Cover.PRIMARY_FOREST] + area[:, Cover.SECONDARY_FOREST]) * cell
    sustainable = (area[:, Cover.COCOA_AGROFORESTRY] + area[:, Cover.SILVOPASTURE]) * cell
    return FarmAreas(forest, sustainable, area.sum(axis=1) * cell)


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
        if cp.pay_avoided_emissions:
            benefit += (
                price
                * cp.baseline_clearing_ha_per_farm_per_year
                * clearing_emission_tco2e_per_ha(state)
            )
    if spec.premium is not None:
        benefit += spec.premium.cocoa_usd_per_kg * fs.cocoa_kg
    return benefit


def restricted_clearing(
    spec: Programme, clear_size: np.ndarray, forest_ha: np.ndarray, lot_ha: np.ndarray
) -> np.ndarray:
    """Ha a year of clearing the obligations forbid (at most what the farmer
    could clear)."""
    ob = spec.obligations
    if ob is None:
        return np.zeros_like(forest_ha)
    if ob.no_clearing:
        return clear_size.astype(float)
    allowance = np.maximum(forest_ha - ob.min_forest_share * lot_ha, 0.0)
    return np.maximum(clear_size - allowance, 0.0)
