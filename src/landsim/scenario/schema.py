"""The scenario schema: one pydantic section per part of the model and of the
programmes, and :class:`Scenario`, the fully resolved and validated scenario.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    model_validator,
)

from landsim.errors import ScenarioError
from landsim.scenario.distributions import _dist_in
from landsim.scenario.programmes import Programme
from landsim.scenario.roads import RoadParams
from landsim.scenario.types import (
    MAX_GRID_SIDE,
    MAX_SEED,
    Flag,
    Integer,
    Name,
    NonNegative,
    Positive,
    Real,
    Share,
    Text,
    _Section,
)

# --------------------------------------------------------------------------- sections


def lot_depth_cells(params: LandscapeParams) -> int:
    """The depth of a fishbone lot in cells (at least one)."""
    side_km = float(np.sqrt(params.cell_size_ha)) * 0.1
    return max(1, round(params.lot_depth_km / side_km))


def _landscape_source(value: str) -> str:
    if value != "synthetic" and not value.endswith(".npz"):
        raise ValueError(f'must be "synthetic" or an .npz file (got {value!r})')
    return value


class LandscapeParams(_Section):
    source: Annotated[Text, AfterValidator(_landscape_source)]
    width: Integer = Field(ge=10, le=MAX_GRID_SIDE)
    height: Integer = Field(ge=10, le=MAX_GRID_SIDE)
    cell_size_ha: Annotated[Real, Field(ge=0.01, le=10000)]
    n_farms: Integer = Field(ge=1, le=MAX_GRID_SIDE**2)
    lot_size_ha: _dist_in(0.0, low_open=True)
    lot_depth_km: Annotated[Real, Field(gt=0, le=100)]
    reserve_fraction: Annotated[Real, Field(ge=0, lt=1)]
    claim_distance_km: Annotated[Real, Field(ge=0, le=100)]
    initial_cleared_fraction: _dist_in(0.0, 1.0)
    initial_fallow_share: Share
    initial_pasture_share: Share
    initial_cocoa_farm_share: Share
    initial_cocoa_share: Share
    initial_fertility: _dist_in(0.0, 1.0)
    protected_can_change: Flag

    @model_validator(mode="after")
    def _check_layout(self):
        if self.source != "synthetic":
            return self
        # The synthetic layout needs a settled strip and at least one feeder road.
        depth = lot_depth_cells(self)
        reserve_rows = round(self.reserve_fraction * self.height)
        if depth >= self.width:
            side_km = float(np.sqrt(self.cell_size_ha)) * 0.1
            raise ValueError(
                f"no room for lots: lot_depth_km = {self.lot_depth_km:g} is {depth} cells "
                f"(cells are {side_km:g} km wide), not less than width = {self.width}"
            )
        if reserve_rows >= self.height:
            raise ValueError(
                f"no room for lots: reserve_fraction = {self.reserve_fraction:g} leaves no "
                f"rows outside the reserve (height = {self.height})"
            )
        return self


class FarmerParams(_Section):
    """Farmer attributes drawn per farm; each distribution must lie in the
    attribute's range (non-negative; knowledge in [0, 1])."""

    discount_rate: _dist_in(0.0)
    risk_aversion: _dist_in(0.0)
    labour_ha_per_year: _dist_in(0.0)
    labour_days_per_year: _dist_in(0.0)
    savings_usd: _dist_in(0.0)
    knowledge: _dist_in(0.0, 1.0)
    price_extrapolation: _dist_in(0.0, 1.0)
    change_share: _dist_in(0.0, 1.0)
    savings_rate: Share


class LabourParams(_Section):
    """The labour market: hired labour at a wage, and off-farm work for the
    household's spare days (ODD 7.7 and 7.11)."""

    hired_wage_usd_per_day: NonNegative
    max_hired_days_per_year: NonNegative
    off_farm_wage_usd_per_day: NonNegative
    off_farm_days_per_year: NonNegative


class SettlerParams(_Section):
    """In-migration (ODD 7.0): households that arrive along roads and claim unowned
    forest, at a rate that follows the land rent farmers see."""

    arrivals_per_farm_per_year: Share
    reference_rent_usd_per_ha: Positive
    rent_elasticity: NonNegative
    lot_size_ha: Positive
    tenure_value_usd_per_ha: NonNegative


class DecisionParams(_Section):
    planning_horizon_years: Integer = Field(ge=1, le=100)
    logit_scale: NonNegative
    imitation_weight_usd_per_ha: NonNegative
    neighbours: Integer = Field(ge=1, le=50)
    knowledge_learning_rate: Share
    knowledge_cost_premium: Share
    technology_uncertainty: NonNegative
    price_memory_years: Integer = Field(ge=1, le=50)


class PriceProcess(_Section):
    """A price: a mean-reverting log price (``"ou"``) or an explicit yearly path."""

    process: Literal["ou", "path"]
    initial: Positive
    mean: Positive
    sigma: NonNegative
    reversion: NonNegative
    values: list[Positive]

    @model_validator(mode="after")
    def _check_path(self):
        if self.process == "path" and not self.values:
            raise ValueError('process = "path" needs a non-empty list of yearly values')
        return self


class SupplyPriceProcess(PriceProcess):
    """A price that may respond to the landscape's own supply (annual crops, beef):
    the process's price times ``(S_t / S_1) ** -supply_flexibility``, ``S_t`` the
    output of the land in production at the start of year ``t`` (ODD 7.4)."""

    supply_flexibility: Annotated[Real, Field(ge=0, le=5)]
    realised_prices: list[Positive]  # set by compare for its runs at fixed prices


class MarketParams(_Section):
    cocoa: PriceProcess
    monocrop: SupplyPriceProcess
    beef: SupplyPriceProcess
    carbon: PriceProcess


class ForestParams(_Section):
    primary_agb_tc_per_ha: Positive
    root_shoot_ratio: NonNegative
    secondary_agb_max_tc_per_ha: Positive
    secondary_growth_rate: Positive
    secondary_shape: Positive
    planted_agb_max_tc_per_ha: Positive
    planted_growth_rate: Positive
    planted_shape: Positive
    planting_labour_days_per_ha: NonNegative
    regrowth_loss_per_reclearing: Share
    regrowth_loss_max: Annotated[Real, Field(ge=0, lt=1)]
    clearing_cost_usd_per_ha: NonNegative
    fertility_recovery_rate: Share
    reclear_fertility: Share


class MonocropParams(_Section):
    yield_t_per_ha: NonNegative
    operating_cost_usd_per_ha: NonNegative
    labour_days_per_ha: NonNegative
    agb_tc_per_ha: NonNegative
    root_shoot_ratio: NonNegative
    fertility_depletion_rate: Share
    exhaustion_fertility: Share


class CocoaParams(_Section):
    mature_yield_kg_per_ha: NonNegative
    first_harvest_year: Integer = Field(ge=0, le=30)
    full_yield_year: Integer = Field(ge=0, le=30)
    production_cost_usd_per_kg: NonNegative
    establishment_cost_usd_per_ha: NonNegative
    labour_days_per_ha: NonNegative
    productive_life_years: Integer = Field(ge=1, le=100)
    agb_max_tc_per_ha: NonNegative
    root_shoot_ratio: NonNegative
    agb_growth_rate: Positive
    agb_shape: Positive
    fertility_recovery_rate: Share

    @model_validator(mode="after")
    def _check_years(self):
        if self.full_yield_year < self.first_harvest_year:
            raise ValueError(
                f"full_yield_year ({self.full_yield_year}) must be >= "
                f"first_harvest_year ({self.first_harvest_year})"
            )
        return self


class SilvopastureParams(_Section):
    beef_yield_kg_per_ha: NonNegative
    operating_cost_usd_per_ha: NonNegative
    establishment_cost_usd_per_ha: NonNegative
    first_income_year: Integer = Field(ge=0, le=30)
    labour_days_per_ha: NonNegative
    productive_life_years: Integer = Field(ge=1, le=100)
    agb_max_tc_per_ha: NonNegative
    root_shoot_ratio: NonNegative
    agb_growth_rate: Positive
    agb_shape: Positive
    fertility_recovery_rate: Share


class PastureParams(_Section):
    beef_yield_kg_per_ha: NonNegative
    operating_cost_usd_per_ha: NonNegative
    establishment_cost_usd_per_ha: NonNegative
    first_income_year: Integer = Field(ge=0, le=30)
    labour_days_per_ha: NonNegative
    agb_tc_per_ha: NonNegative
    root_shoot_ratio: NonNegative
    fertility_depletion_rate: Share
    degraded_fertility: Share
    restoration_cost_usd_per_ha: NonNegative
    restored_fertility: Share


class SoilFactors(_Section):
    """IPCC Tier 1 stock-change factors of a land use (dimensionless): the
    equilibrium soil carbon is ``soc_reference_tc_per_ha * land_use * management *
    input`` (IPCC 2019 Refinement, Vol. 4, eq. 2.25)."""

    land_use: Annotated[Real, Field(gt=0, le=2)]
    management: Annotated[Real, Field(gt=0, le=2)]
    input: Annotated[Real, Field(gt=0, le=2)]

    @property
    def combined(self) -> float:
        """``land_use * management * input``, multiplied in that order."""
        return self.land_use * self.management * self.input


class SoilParams(_Section):
    soc_reference_tc_per_ha: NonNegative
    approach_rate_per_year: Annotated[Real, Field(gt=0, le=5)]
    secondary_forest: SoilFactors
    monocrop: SoilFactors
    cocoa_agroforestry: SoilFactors
    silvopasture: SoilFactors
    pasture: SoilFactors


class Scenario(_Section):
    """A fully resolved, validated scenario.

    Build one with :func:`load_scenario` (from a file or the embedded default) or
    :meth:`Scenario.from_dict`; derive variants with :meth:`with_overrides`.
    """

    name: Name
    description: Text
    seed: Integer = Field(ge=0, le=MAX_SEED)
    years: Integer = Field(ge=1, le=1000)
    landscape: LandscapeParams
    farmers: FarmerParams
    labour: LabourParams
    settlers: SettlerParams
    roads: RoadParams
    decision: DecisionParams
    markets: MarketParams
    forest: ForestParams
    monocrop: MonocropParams
    cocoa_agroforestry: CocoaParams
    silvopasture: SilvopastureParams
    pasture: PastureParams
    soil: SoilParams
    programmes: list[Programme]
    _source: str = PrivateAttr("<embedded default>")

    @property
    def source(self) -> str:
        """The file this scenario was loaded from (or a description of its origin)."""
        return self._source

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> Scenario:
        """Validate ``data`` merged on top of the embedded default."""
        from landsim.scenario.io import _check_depth, _deep_merge, _read_default, _validate

        if not isinstance(data, dict):
            raise ScenarioError(
                source, [("", f"must be a table (dict), not {type(data).__name__}")]
            )
        _check_depth(data, source)
        merged = _deep_merge(_read_default(), data)
        return _validate(merged, source)

    def with_overrides(self, overrides: dict[str, Any], source: str | None = None) -> Scenario:
        """Return a copy with values replaced by dotted key path, e.g.
        ``{"farmers.discount_rate.low": 0.1, "years": 20}``.

        ``source`` names the origin of the overrides in error messages (default:
        this scenario's source, "with overrides").
        """
        from landsim.scenario.io import _check_depth, _set_path, _validate

        if source is None:
            suffix = " (with overrides)"
            source = self.source if self.source.endswith(suffix) else self.source + suffix
        if not isinstance(overrides, dict):
            raise ScenarioError(source, [("", "overrides must be a dict of key paths to values")])
        data = self.to_dict()
        for path, value in overrides.items():
            if not isinstance(path, str):
                raise ScenarioError(source, [(repr(path), "a key path must be a string")])
            _check_depth({"": value}, source)
            _set_path(data, path, value, source)
        return _validate(data, source)

    def to_dict(self) -> dict:
        """The resolved scenario as plain data (what manifests record)."""
        return self.model_dump(mode="json")
