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
"""

from __future__ import annotations

import copy
import math
import stat
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from landsim.errors import ScenarioError, keys_at, problems_from

DEFAULT_NAME = "default"

#: Largest scenario (or experiment) file read, in bytes.
MAX_FILE_BYTES = 4 * 1024 * 1024
#: Deepest nesting of tables and arrays in a file (the schema needs 4).
MAX_DEPTH = 16
#: Longest ``extends`` chain, counting the file itself.
MAX_EXTENDS = 32
#: Longest scenario or programme name (characters).
MAX_NAME_CHARS = 100
#: Longest description and file path (characters).
MAX_TEXT_CHARS = 4096
#: Largest landscape side (cells), for the generator and landscape files alike.
MAX_GRID_SIDE = 20000
#: Largest seed (seeds are 0 to 2**63 - 1, so that they fit a 64-bit integer).
MAX_SEED = 2**63 - 1


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- value types


def _numeric(kind: str):
    """Refuse booleans and strings where a number is expected (pydantic would
    otherwise read ``true`` as 1 and ``"2"`` as 2)."""

    def check(value: Any) -> Any:
        if type(value) is float or type(value) is int:  # the common case, first
            return value
        if isinstance(value, bool | np.bool_):
            raise ValueError(f"must be {kind}, not a boolean")
        if isinstance(value, str | bytes):
            raise ValueError(f"must be {kind}, not a string")
        return value

    return BeforeValidator(check)


def _text(limit: int, what: str):
    def check(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"{what} is {len(value)} characters long; the limit is {limit}")
        bad = next((c for c in value if not c.isprintable() and c not in "\n\t"), None)
        if bad is not None:
            raise ValueError(
                f"{what} contains the control character U+{ord(bad):04X}; "
                "only printable characters are allowed"
            )
        return value

    return AfterValidator(check)


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if "\n" in value or "\t" in value:
        raise ValueError("must be one line (no newline or tab)")
    return value


Real = Annotated[float, _numeric("a number")]
Integer = Annotated[int, _numeric("an integer")]
Share = Annotated[Real, Field(ge=0, le=1)]
Positive = Annotated[Real, Field(gt=0)]
NonNegative = Annotated[Real, Field(ge=0)]
Name = Annotated[str, _text(MAX_NAME_CHARS, "name"), AfterValidator(_name)]
Text = Annotated[str, _text(MAX_TEXT_CHARS, "text")]
Flag = Annotated[bool, Field(strict=True)]  # true or false, not 1 or "yes"


# --------------------------------------------------------------------------- distributions


class Constant(_Section):
    """A fixed value (a plain number in TOML)."""

    dist: Literal["constant"] = "constant"
    value: Real

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)

    @property
    def mean(self) -> float:
        return self.value


class Uniform(_Section):
    """Uniform on [low, high]."""

    dist: Literal["uniform"]
    low: Real
    high: Real

    @model_validator(mode="after")
    def _check_bounds(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)

    @property
    def mean(self) -> float:
        return 0.5 * (self.low + self.high)


class Normal(_Section):
    """Normal with mean and sd, clipped to [low, high] when given (the explicit
    truncation: draws beyond a bound take the bound's value)."""

    dist: Literal["normal"]
    mean: Real
    sd: Annotated[Real, Field(ge=0)]
    low: Real | None = None
    high: Real | None = None

    @model_validator(mode="after")
    def _check_bounds(self):
        if self.low is not None and self.high is not None and self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        x = rng.normal(self.mean, self.sd, n)
        if self.low is not None or self.high is not None:
            x = np.clip(x, self.low, self.high)
        return x


class LogNormal(_Section):
    """Log-normal parameterised by its arithmetic mean (> 0) and coefficient of variation."""

    dist: Literal["lognormal"]
    mean: Positive
    cv: NonNegative

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        s2 = np.log1p(self.cv**2)
        return rng.lognormal(np.log(self.mean) - 0.5 * s2, np.sqrt(s2), n)


def _number_to_constant(v: Any) -> Any:
    if isinstance(v, bool | np.bool_):
        raise ValueError("must be a number or a distribution table, not a boolean")
    if isinstance(v, str | bytes):
        raise ValueError("must be a number or a distribution table, not a string")
    if isinstance(v, int | float):
        return {"dist": "constant", "value": v}
    return v


Distribution = Annotated[
    Constant | Uniform | Normal | LogNormal,
    Field(discriminator="dist"),
    BeforeValidator(_number_to_constant),
]


def _interval(low: float, high: float, low_open: bool) -> str:
    return f"{'(' if low_open else '['}{low:g}, {high:g}{')' if math.isinf(high) else ']'}"


def _check_support(dist, low: float, high: float, low_open: bool):
    """Check that a distribution's draws lie in a parameter's range ``[low, high]``
    (``(low, high]`` when ``low_open``; ``high`` may be ``inf``).

    A constant, a uniform's bounds and a normal's ``low``/``high`` must lie in the
    range. A normal is clipped only at the bounds the user gives, so it must give
    ``low`` when the range is bounded below and ``high`` when it is bounded above.
    A lognormal's support is ``(0, inf)``, so it needs a range that holds it.
    """

    def inside(x: float) -> bool:
        return (x > low if low_open else x >= low) and x <= high

    if isinstance(dist, Constant) and inside(dist.value):  # the common case, first
        return dist
    allowed = _interval(low, high, low_open)

    def outside(what: str, x: float) -> str:
        return f"{what} ({x:g}) is outside the allowed range {allowed}"

    problem = None
    if isinstance(dist, Constant):
        if not inside(dist.value):
            problem = outside("value", dist.value)
    elif isinstance(dist, Uniform):
        for what, x in (("low", dist.low), ("high", dist.high)):
            if not inside(x):
                problem = outside(f"uniform {what}", x)
                break
    elif isinstance(dist, Normal):
        for what, x, bound in (("low", dist.low, low), ("high", dist.high, high)):
            if x is not None and not inside(x):
                problem = outside(f"normal {what}", x)
                break
            if x is None and math.isfinite(bound):
                example = (
                    f"a {what} above {bound:g}"
                    if what == "low" and low_open
                    else f"{what} = {bound:g} (or another value inside the range)"
                )
                problem = (
                    f"a normal without {what} has draws outside the allowed range {allowed}: "
                    f"give {example} to truncate it explicitly"
                )
                break
    elif isinstance(dist, LogNormal) and (low > 0 or math.isfinite(high)):
        problem = (
            f"a lognormal draws from (0, inf), outside the allowed range {allowed}: "
            "use a constant, a uniform or a normal with low and high"
        )
    if problem is not None:
        raise PydanticCustomError("out_of_range", problem)
    return dist


def _dist_in(low: float, high: float = math.inf, *, low_open: bool = False):
    """A distribution whose draws must lie in ``[low, high]`` (see :func:`_check_support`)."""
    return Annotated[
        Distribution, AfterValidator(lambda d: _check_support(d, low, high, low_open))
    ]


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
    savings_rate: Share


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


class MarketParams(_Section):
    cocoa: PriceProcess
    monocrop: PriceProcess
    beef: PriceProcess
    carbon: PriceProcess


class ForestParams(_Section):
    primary_agb_tc_per_ha: Positive
    root_shoot_ratio: NonNegative
    secondary_agb_max_tc_per_ha: Positive
    secondary_growth_rate: Positive
    secondary_shape: Positive
    clearing_cost_usd_per_ha: NonNegative
    fertility_recovery_rate: Share
    reclear_fertility: Share


class MonocropParams(_Section):
    yield_t_per_ha: NonNegative
    operating_cost_usd_per_ha: NonNegative
    labour_days_per_ha: NonNegative
    agb_tc_per_ha: NonNegative
    fertility_depletion_rate: Share
    exhaustion_fertility: Share


class CocoaParams(_Section):
    mature_yield_kg_per_ha: NonNegative
    first_harvest_year: Integer = Field(ge=0, le=30)
    full_yield_year: Integer = Field(ge=0, le=30)
    production_cost_usd_per_kg: NonNegative
    establishment_cost_usd_per_ha: NonNegative
    labour_days_per_ha: NonNegative
    agb_max_tc_per_ha: NonNegative
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
    agb_max_tc_per_ha: NonNegative
    agb_growth_rate: Positive
    agb_shape: Positive
    fertility_recovery_rate: Share


class SoilParams(_Section):
    soc_reference_tc_per_ha: NonNegative
    factor_secondary_forest: Positive
    factor_monocrop: Positive
    factor_cocoa_agroforestry: Positive
    factor_silvopasture: Positive
    transition_years: Integer = Field(ge=1, le=100)


# --------------------------------------------------------------------------- programmes


class Obligations(_Section):
    """What an enrolled farm must do (Tambopata: on 40 ha keep >= 20 ha of forest
    and >= 3 ha under sustainable practice)."""

    no_clearing: Flag
    min_forest_share: Share
    min_sustainable_ha_per_40ha: NonNegative
    grace_years: Integer = Field(ge=0, le=100)


class ForestPayment(_Section):
    """Payment per ha of standing forest (primary or secondary) on the farm."""

    usd_per_ha_per_year: NonNegative


class CarbonPayment(_Section):
    """Results-based payment per tCO2e, shared between farmers and the
    programme's collective forest activities (Piura: 10 % / 90 %)."""

    usd_per_tco2e: Positive | None = None  # absent: the market carbon price path
    pay_removals: Flag
    pay_avoided_emissions: Flag
    baseline_clearing_ha_per_farm_per_year: NonNegative
    farmer_share: Share
    reforestation_cost_usd_per_ha: Positive


class EstablishmentSupport(_Section):
    """A share of the establishment cost of agroforestry and silvopasture, paid as
    a grant or lent (interest-free, repaid in equal yearly instalments)."""

    share: Share
    mode: Literal["grant", "loan"]
    loan_years: Integer = Field(ge=1, le=50)


class Training(_Section):
    """Training and technical assistance on enrolment."""

    knowledge_gain: Share


class Premium(_Section):
    """Deforestation-free cocoa: a price premium for certified (compliant) farms."""

    cocoa_usd_per_kg: NonNegative


class Programme(_Section):
    """An incentive programme: any combination of components, one budget."""

    name: Name
    start_year: Integer = Field(ge=1, le=100_000)
    end_year: Integer = Field(ge=1, le=100_000)
    budget_usd: NonNegative
    budget_usd_per_year: NonNegative
    enrolment_cap: Integer = Field(ge=0, le=2**31 - 1)
    targeting: Literal["first_come", "random", "highest_risk", "nearest_edge"]
    finance: Literal["public", "carbon_credits", "works_for_taxes"]
    detection_probability: Share
    expel_on_violation: Flag
    repay_on_violation: Flag
    obligations: Obligations | None = None
    forest_payment: ForestPayment | None = None
    carbon_payment: CarbonPayment | None = None
    establishment_support: EstablishmentSupport | None = None
    training: Training | None = None
    premium: Premium | None = None

    @model_validator(mode="after")
    def _check_years(self):
        if self.end_year < self.start_year:
            raise ValueError(
                f"end_year ({self.end_year}) must be >= start_year ({self.start_year})"
            )
        return self


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
    decision: DecisionParams
    markets: MarketParams
    forest: ForestParams
    monocrop: MonocropParams
    cocoa_agroforestry: CocoaParams
    silvopasture: SilvopastureParams
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


# --------------------------------------------------------------------------- loading


def _read_default() -> dict:
    text = resources.files("landsim.data").joinpath("default.toml").read_text("utf-8")
    return tomllib.loads(text)


def _deep_merge(base: dict, top: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and "dist" not in value:
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _set_path(data: dict, path: str, value: Any, source: str) -> None:
    """Set a dotted key path; a number steps into a list (``programmes.0.budget_usd``)."""
    keys = path.split(".")
    node: Any = data
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                where = ".".join(keys[:i]) or path
                raise ScenarioError(
                    source,
                    [
                        (
                            ".".join(keys[: i + 1]),
                            f"no item {key} in {where} (items 0-{len(node) - 1})"
                            if len(node)
                            else f"{where} is empty",
                        )
                    ],
                )
            key = int(key)
        elif not isinstance(node, dict):
            where = ".".join(keys[:i])
            allowed = keys_at(Scenario, where.split(".") if where else [])
            if node is None and allowed:
                msg = (
                    f"{where} is not set in this scenario; override {where} with a whole "
                    f"table (keys: {', '.join(allowed)})"
                )
                if key not in allowed:
                    msg = f"unknown key; allowed keys: {', '.join(allowed)} ({msg})"
            else:
                msg = f"unknown key: {where} is a value, not a table"
            raise ScenarioError(source, [(".".join(keys[: i + 1]), msg)])
        elif key not in node:
            allowed = "; allowed keys: " + ", ".join(node) if node else ""
            raise ScenarioError(source, [(".".join(keys[: i + 1]), "unknown key" + allowed)])
        if last:
            node[key] = value
        else:
            node = node[key]


def has_path(scenario: Scenario, path: str) -> bool:
    """Whether a dotted key path names a value of ``scenario``."""
    node: Any = scenario.to_dict()
    for key in path.split("."):
        if isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            return False
    return True


def is_scenario_key(path: str) -> bool:
    """Whether a dotted key path names a key of the scenario schema, in some
    scenario: a number steps into a list (``programmes.0.name``) and a name after
    a list names a key of its items (``programmes.obligations``, as in a TOML
    table header); optional sections count, and a distribution key
    (``farmers.discount_rate.low``) counts if some distribution has it."""
    models: list[Any] = [Scenario]
    for key in path.split("."):
        found: list[Any] = []
        for model in models:
            if isinstance(model, _ListOf):
                if key.isdigit():
                    found.extend(model.items)
                    continue
                candidates = [m for m in model.items if hasattr(m, "model_fields")]
            else:
                candidates = [model]
            for candidate in candidates:
                fields = getattr(candidate, "model_fields", {})
                if key in fields:
                    found.extend(_field_models(fields[key].annotation))
        if not found:
            return False
        models = found
    return True


class _ListOf:
    """A list field's item types, for :func:`is_scenario_key`."""

    def __init__(self, items: list[Any]):
        self.items = items


def _field_models(annotation: Any) -> list[Any]:
    """The models a field may hold (a :class:`_ListOf` for a list, ``None`` for a
    plain value), looking through unions and ``Annotated``."""
    out: list[Any] = []
    stack = [annotation]
    while stack:
        tp = stack.pop()
        if hasattr(tp, "model_fields"):
            out.append(tp)
        elif getattr(tp, "__origin__", None) is list:
            out.append(_ListOf(_field_models(get_args(tp)[0])))
        elif get_origin(tp) is Annotated:
            stack.append(get_args(tp)[0])
        elif get_args(tp):
            stack.extend(get_args(tp))
        else:
            out.append(None)
    return out


def _file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a scenario file, or None. Only regular files
    of at most MAX_FILE_BYTES are read (not devices such as /dev/zero, FIFOs or
    sockets, which could block or never end)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return "file not found"
    except PermissionError:
        return "permission denied"
    except (OSError, ValueError) as exc:  # e.g. a NUL byte or a name too long
        return f"cannot read this file: {getattr(exc, 'strerror', None) or exc}"
    if stat.S_ISDIR(info.st_mode):
        return "is a directory, expected a .toml file"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (a device, FIFO or socket); give a .toml file"
    if info.st_size > MAX_FILE_BYTES:
        return f"is {info.st_size:,} bytes; scenario files are limited to {MAX_FILE_BYTES:,}"
    return None


def read_toml(path: Path) -> dict:
    """Read a TOML file: a regular UTF-8 file (a UTF-8 byte-order mark is allowed)
    of at most MAX_FILE_BYTES, nested at most MAX_DEPTH deep. Anything else (a
    missing file, a directory, a device, another encoding, bad TOML) is a
    ScenarioError naming the file."""
    path = Path(path)
    src = str(path)
    problem = _file_problem(path)
    if problem is None:
        try:
            with path.open("rb") as fh:
                raw = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            problem = f"cannot read this file: {exc.strerror or exc}"
        else:
            if len(raw) > MAX_FILE_BYTES:
                problem = f"is larger than the limit of {MAX_FILE_BYTES:,} bytes"
    if problem is not None:
        raise ScenarioError(src, [("", problem)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        hint = ""
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            hint = " (it looks like UTF-16)"
        raise ScenarioError(
            src,
            [
                (
                    "",
                    f"not UTF-8 text{hint}: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
                    "cannot be decoded; TOML files must be saved as UTF-8",
                )
            ],
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(src, [("", f"not valid TOML: {exc}")]) from None
    except RecursionError:
        raise ScenarioError(
            src, [("", f"tables or arrays nested more than {MAX_DEPTH} deep")]
        ) from None
    _check_depth(data, src)
    return data


def _check_depth(data: dict, source: str) -> None:
    """Refuse tables and arrays nested more than MAX_DEPTH deep (without recursing)."""
    stack: list[tuple[Any, list[str]]] = [(data, [])]
    while stack:
        node, keys = stack.pop()
        if len(keys) > MAX_DEPTH:
            key = ".".join(keys[:MAX_DEPTH]) + ".…"
            raise ScenarioError(
                source, [(key, f"tables or arrays nested more than {MAX_DEPTH} deep")]
            )
        if isinstance(node, dict):
            stack.extend((v, [*keys, str(k)]) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, [*keys, str(i)]) for i, v in enumerate(node))


def _resolve(path: Path, source: str, key: str = "") -> Path:
    try:
        return path.resolve()
    except (OSError, ValueError, RuntimeError) as exc:
        raise ScenarioError(source, [(key, f"cannot read {str(path)!r}: {exc}")]) from None


def _read_with_extends(path: Path) -> dict:
    """Read a file and the chain of files it ``extends`` (at most MAX_EXTENDS)."""
    chain: list[Path] = []
    layers: list[dict] = []
    current = _resolve(path, str(path))
    while True:
        if current in chain:
            cycle = " -> ".join(str(p) for p in (*chain, current))
            raise ScenarioError(str(current), [("extends", f"circular extends: {cycle}")])
        if len(chain) == MAX_EXTENDS:
            raise ScenarioError(
                str(chain[0]),
                [("extends", f"the extends chain is longer than {MAX_EXTENDS} files")],
            )
        chain.append(current)
        data = read_toml(current)
        _resolve_relative_paths(data, current.parent)
        parent = data.pop("extends", None)
        layers.append(data)
        if parent is None or parent == DEFAULT_NAME:
            break
        if not isinstance(parent, str) or not parent:
            raise ScenarioError(str(current), [("extends", "must be a file name (string)")])
        if "\0" in parent or len(parent) > MAX_TEXT_CHARS:
            raise ScenarioError(str(current), [("extends", "is not a valid file name")])
        current = _resolve(current.parent / parent, str(current), "extends")
    merged = layers.pop()
    while layers:
        merged = _deep_merge(merged, layers.pop())
    return merged


def _resolve_relative_paths(data: dict, base: Path) -> None:
    """Make a landscape file named in a scenario relative to that scenario file."""
    landscape = data.get("landscape")
    if isinstance(landscape, dict):
        source = landscape.get("source")
        if isinstance(source, str) and source != "synthetic" and not Path(source).is_absolute():
            landscape["source"] = str(base / source)


def resolve_scenario(scenario: Scenario | str | Path | None) -> Scenario:
    """A :class:`Scenario` from a scenario object, a TOML path, or None (default)."""
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(scenario)


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Load and validate a scenario file (``None``: the embedded default).

    Raises
    ------
    ScenarioError
        With the file, the key path and what is allowed, for any invalid input.
    """
    if path is None:
        return _validate(_read_default(), "<embedded default>")
    path = Path(path)
    data = _read_with_extends(path)
    merged = _deep_merge(_read_default(), data)
    scenario = _validate(merged, str(path))
    return scenario


_DISTRIBUTIONS = {
    "constant": Constant,
    "uniform": Uniform,
    "normal": Normal,
    "lognormal": LogNormal,
}
_TAGS = set(_DISTRIBUTIONS)


def _validate(data: dict, source: str) -> Scenario:
    try:
        scenario = Scenario.model_validate(data)
        scenario._source = source
        return scenario
    except ValidationError as exc:
        problems = problems_from(exc, Scenario, quote_after=(), hidden=frozenset(_TAGS))
        raise ScenarioError(source, problems) from None
