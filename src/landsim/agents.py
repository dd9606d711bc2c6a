"""Farmers: one Mesa agent per farm, over struct-of-arrays state.

The state of all farmers lives in :class:`FarmerState` (one numpy array per
attribute), which the model's yearly step updates in vectorised operations. A
:class:`Farmer` agent holds only its farm id and exposes its row of that state
for inspection (``model.farmer(3).savings_usd``), so Mesa's agent tools
(``agents_by_type``, ``AgentSet.select`` and ``agg``) work as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import mesa
import numpy as np
from scipy.spatial import cKDTree

from landsim.scenario import FarmerParams

#: Heterogeneous attributes drawn from the scenario's distributions (scenario key
#: ``farmers.<name>``), in the order they are drawn.
DRAWN_ATTRIBUTES = (
    "discount_rate",
    "risk_aversion",
    "labour_ha_per_year",
    "labour_days_per_year",
    "savings_usd",
    "knowledge",
    "price_extrapolation",
    "change_share",
)


@dataclass
class FarmerState:
    """All farmers' state, one array of length ``n_farms`` per attribute.

    Attributes
    ----------
    discount_rate : 1/yr
    risk_aversion : weight on the coefficient of variation of revenue
    labour_ha_per_year : ha the household can clear or establish in a year
    labour_days_per_year : household labour (person-days/yr) for cultivation
    savings_usd : USD; establishment of agroforestry and silvopasture is paid from it
    knowledge : 0-1, knowledge of agroforestry and silvopasture
    price_extrapolation : 0-1, weight of last year's price against the recent mean
        in the farmer's price expectations
    change_share : 0-1, the share of what its constraints allow that the farmer
        changes in a year (at least one cell)
    neighbours : int array (n_farms, k), ids of the k nearest farms
    revenue_usd, operating_cost_usd, investment_usd, net_income_usd : last year's
        flows (USD/yr); net income = revenue - operating cost + programme payments
    last_option : last year's land-use change (:class:`landsim.economics.Option`)
    abandoned : whether the farmer abandoned exhausted land last year
    deforested_ha : primary forest the farm cleared since the start (ha)
    claimed_ha : unowned land the farm cleared and took since the start (ha)
    cumulative_income_usd : net income summed since the start (USD)
    payments_usd : last year's programme payments, part of net income (USD)
    cocoa_kg : last year's cocoa production (kg)
    removals_tco2e, emissions_tco2e : last year's biomass carbon gains and losses
        on the farm (tCO2e)
    soil_removals_tco2e : last year's soil carbon gains on the farm (tCO2e)
    hired_days, off_farm_days : last year's hired labour on the farm and the
        household's work off it (person-days)
    hired_labour_usd, off_farm_income_usd : their cost and income (USD), part of
        net income
    arrived_year : the year the household arrived (0: there at the start; a
        settler's year of arrival otherwise)
    """

    discount_rate: np.ndarray
    risk_aversion: np.ndarray
    labour_ha_per_year: np.ndarray
    labour_days_per_year: np.ndarray
    savings_usd: np.ndarray
    knowledge: np.ndarray
    price_extrapolation: np.ndarray
    change_share: np.ndarray
    neighbours: np.ndarray
    revenue_usd: np.ndarray
    operating_cost_usd: np.ndarray
    investment_usd: np.ndarray
    net_income_usd: np.ndarray
    last_option: np.ndarray
    abandoned: np.ndarray
    deforested_ha: np.ndarray
    claimed_ha: np.ndarray
    cumulative_income_usd: np.ndarray
    payments_usd: np.ndarray
    cocoa_kg: np.ndarray
    removals_tco2e: np.ndarray
    emissions_tco2e: np.ndarray
    soil_removals_tco2e: np.ndarray
    hired_days: np.ndarray
    off_farm_days: np.ndarray
    hired_labour_usd: np.ndarray
    off_farm_income_usd: np.ndarray
    arrived_year: np.ndarray

    @property
    def n(self) -> int:
        return self.discount_rate.size

    def extend(self, new: FarmerState) -> None:
        """Append the farmers of ``new`` (farm ids ``n``, ``n + 1``, ...)."""
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(new, f.name)]))


def draw_farmers(
    params: FarmerParams, owner: np.ndarray, n_neighbours: int, rng: np.random.Generator
) -> FarmerState:
    """Draw heterogeneous farmer attributes and find each farm's neighbours."""
    n = int(owner.max()) + 1 if owner.size else 0
    return _new_farmers(params, n, find_neighbours(owner, n, n_neighbours), rng)


def draw_settlers(
    params: FarmerParams,
    owner: np.ndarray,
    first_id: int,
    count: int,
    n_neighbours: int,
    rng: np.random.Generator,
) -> FarmerState:
    """The farmers of ``count`` settler households whose lots already carry their
    farm ids ``first_id``, ``first_id + 1``, ... in ``owner``: attributes drawn from
    the same distributions as the first farmers', and the ``n_neighbours`` farms
    nearest each (the earlier farms keep theirs)."""
    return _new_farmers(
        params, count, find_neighbours(owner, first_id + count, n_neighbours, first_id), rng
    )


def _new_farmers(
    params: FarmerParams, n: int, neighbours: np.ndarray, rng: np.random.Generator
) -> FarmerState:
    # The scenario's validation keeps every distribution inside its attribute's
    # range (a normal is truncated only at the low/high the user gives), so draws
    # are used as they are: nothing is clipped here.
    attrs = {
        name: getattr(params, name).sample(rng, n).astype(np.float64) for name in DRAWN_ATTRIBUTES
    }
    zeros = np.zeros(n)
    return FarmerState(
        **attrs,
        neighbours=neighbours,
        revenue_usd=zeros.copy(),
        operating_cost_usd=zeros.copy(),
        investment_usd=zeros.copy(),
        net_income_usd=zeros.copy(),
        last_option=np.zeros(n, dtype=np.int8),
        abandoned=np.zeros(n, dtype=bool),
        deforested_ha=zeros.copy(),
        claimed_ha=zeros.copy(),
        cumulative_income_usd=zeros.copy(),
        payments_usd=zeros.copy(),
        cocoa_kg=zeros.copy(),
        removals_tco2e=zeros.copy(),
        emissions_tco2e=zeros.copy(),
        soil_removals_tco2e=zeros.copy(),
        hired_days=zeros.copy(),
        off_farm_days=zeros.copy(),
        hired_labour_usd=zeros.copy(),
        off_farm_income_usd=zeros.copy(),
        arrived_year=np.zeros(n, dtype=np.int64),
    )


def find_neighbours(owner: np.ndarray, n_farms: int, k: int, first: int = 0) -> np.ndarray:
    """The ``k`` farms whose lot centroids are nearest each farm's (excluding itself),
    for farms ``first`` onwards."""
    if n_farms <= 1:
        return np.zeros((n_farms, 1), dtype=np.int64)[first:]
    rows, cols = np.nonzero(owner >= 0)
    farm = owner[rows, cols]
    count = np.bincount(farm, minlength=n_farms)
    centroids = np.column_stack(
        [
            np.bincount(farm, rows, n_farms) / np.maximum(count, 1),
            np.bincount(farm, cols, n_farms) / np.maximum(count, 1),
        ]
    )
    k = min(k, n_farms - 1)
    _, idx = cKDTree(centroids).query(centroids[first:], k=k + 1)
    idx = idx.reshape(n_farms - first, k + 1)
    # Drop each farm itself; where coincident centroids hide it, drop the farthest.
    drop = idx == np.arange(first, n_farms)[:, None]
    drop[~drop.any(axis=1), -1] = True
    return idx[~drop].reshape(n_farms - first, k).astype(np.int64)


class Farmer(mesa.Agent):
    """A farm household. Its state is row ``farm_id`` of ``model.farmers``.

    Parameters
    ----------
    model : LandUseModel
    farm_id : int
        Index into the model's :class:`FarmerState` arrays and value in the
        landscape's ``owner`` layer.
    """

    def __init__(self, model, farm_id: int):
        super().__init__(model)
        self.farm_id = int(farm_id)

    def __getattr__(self, name: str):
        # Expose the farmer's row of the struct-of-arrays state as attributes.
        state = self.__dict__.get("model") and self.model.farmers
        if state is not None and name in _STATE_FIELDS:
            value = getattr(state, name)[self.farm_id]
            return value if isinstance(value, np.ndarray) else value.item()
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def cells(self) -> np.ndarray:
        """Flat indices of the cells this farm owns."""
        return np.flatnonzero(self.model.landscape.owner.ravel() == self.farm_id)

    @property
    def area_ha(self) -> float:
        return self.cells.size * self.model.landscape.cell_size_ha

    def __repr__(self) -> str:
        return f"Farmer(farm_id={self.farm_id}, area_ha={self.area_ha:g})"


_STATE_FIELDS = frozenset(f.name for f in fields(FarmerState))
