"""Scenarios: TOML files validated into typed objects.

Every scenario is merged on top of the embedded default scenario
(``landsim/data/default.toml``), the single place where defaults live. A file may
say ``extends = "other.toml"`` (a path relative to the file, or ``"default"``) and
override a few keys. Validation happens here and only here: unknown keys, wrong
types and out-of-range values raise :class:`ScenarioError`, whose message names
the file, the key path and what is allowed.

Rules every value obeys (whether it comes from a file or from
:meth:`Scenario.with_overrides`):

* numbers are finite (no ``inf`` or ``nan``) and are numbers, not booleans or
  strings;
* a distribution must lie in its parameter's allowed range (see
  :func:`_check_support`): a constant or a uniform's ``[low, high]`` inside the
  range; a normal is truncated (clipped) only where the user gives ``low`` or
  ``high``, so a normal for a parameter bounded below (or above) must give a
  ``low`` (or ``high``) inside the range; a lognormal (support ``(0, inf)``)
  only for parameters unbounded above;
* files are regular UTF-8 files of at most :data:`MAX_FILE_BYTES`, nested at
  most :data:`MAX_DEPTH` tables or arrays deep, in ``extends`` chains of at most
  :data:`MAX_EXTENDS` files; names are at most :data:`MAX_NAME_CHARS`
  printable characters.

=================  ============================================================
module             what it holds
=================  ============================================================
``types``          value types and limits
``distributions``  distributions and the range rule
``schema``         the sections and :class:`Scenario`
``roads``          the road-building schedule and its checks (:func:`road_problems`)
``io``             files, ``extends``, the default, overrides, error translation
=================  ============================================================
"""

from landsim.errors import ScenarioError
from landsim.scenario.distributions import (
    Constant,
    Distribution,
    LogNormal,
    Normal,
    Uniform,
    rescale,
)
from landsim.scenario.io import (
    get_path,
    has_path,
    is_scenario_key,
    load_scenario,
    read_toml,
    resolve_scenario,
    set_table_path,
)
from landsim.scenario.programmes import (
    CarbonPayment,
    EstablishmentSupport,
    ForestPayment,
    Funding,
    Obligations,
    Participation,
    Premium,
    Programme,
    Training,
)
from landsim.scenario.roads import (
    RoadExtension,
    RoadParams,
    cell_side_km,
    check_roads,
    road_problems,
)
from landsim.scenario.schema import (
    CocoaParams,
    DecisionParams,
    FarmerParams,
    ForestParams,
    LabourParams,
    LandscapeParams,
    MarketParams,
    MonocropParams,
    PastureParams,
    PriceProcess,
    Scenario,
    SettlerParams,
    SilvopastureParams,
    SoilParams,
    SupplyPriceProcess,
    lot_depth_cells,
)
from landsim.scenario.types import (
    DEFAULT_NAME,
    MAX_DEPTH,
    MAX_EXTENDS,
    MAX_FILE_BYTES,
    MAX_GRID_SIDE,
    MAX_NAME_CHARS,
    MAX_SEED,
    MAX_TEXT_CHARS,
    Flag,
    Integer,
    Name,
    NonNegative,
    Positive,
    Real,
    Share,
    Text,
)

__all__ = [
    "DEFAULT_NAME",
    "MAX_DEPTH",
    "MAX_EXTENDS",
    "MAX_FILE_BYTES",
    "MAX_GRID_SIDE",
    "MAX_NAME_CHARS",
    "MAX_SEED",
    "MAX_TEXT_CHARS",
    "CarbonPayment",
    "CocoaParams",
    "Constant",
    "DecisionParams",
    "Distribution",
    "EstablishmentSupport",
    "FarmerParams",
    "Flag",
    "ForestParams",
    "ForestPayment",
    "Funding",
    "Integer",
    "LabourParams",
    "LandscapeParams",
    "LogNormal",
    "MarketParams",
    "MonocropParams",
    "Name",
    "NonNegative",
    "Normal",
    "Obligations",
    "Participation",
    "PastureParams",
    "Positive",
    "Premium",
    "PriceProcess",
    "Programme",
    "Real",
    "RoadExtension",
    "RoadParams",
    "Scenario",
    "ScenarioError",
    "SettlerParams",
    "Share",
    "SilvopastureParams",
    "SoilParams",
    "SupplyPriceProcess",
    "Text",
    "Training",
    "Uniform",
    "cell_side_km",
    "check_roads",
    "get_path",
    "has_path",
    "is_scenario_key",
    "load_scenario",
    "lot_depth_cells",
    "read_toml",
    "rescale",
    "resolve_scenario",
    "road_problems",
    "set_table_path",
]
