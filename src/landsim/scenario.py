"""Scenarios: TOML files validated into typed objects.

Every scenario is merged on top of the embedded default scenario
(``landsim/data/default.toml``), the single place where defaults live. A file may
say ``extends = "other.toml"`` (a path relative to the file, or ``"default"``) and
override a few keys. Validation happens here and only here: unknown keys, wrong
types and out-of-range values raise :class:`ScenarioError`, whose message names
the file, the key path and what is allowed.
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

DEFAULT_NAME = "default"


class ScenarioError(ValueError):
    """A scenario (or landscape) file a user gave is not valid.

    Parameters
    ----------
    source : str
        The file (or ``"<dict>"``) the problem is in.
    problems : list of (str, str)
        ``(key path, message)`` pairs.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: {key}: {msg}" if key else f"{source}: {msg}" for key, msg in problems]
        super().__init__("\n".join(lines))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- distributions


class Constant(_Section):
    """A fixed value (a plain number in TOML)."""

    dist: Literal["constant"] = "constant"
    value: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)

    @property
    def mean(self) -> float:
        return self.value


class Uniform(_Section):
    """Uniform on [low, high]."""

    dist: Literal["uniform"]
    low: float
    high: float

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
    """Normal with mean and sd, clipped to [low, high] when given."""

    dist: Literal["normal"]
    mean: float
    sd: float = Field(ge=0)
    low: float | None = None
    high: float | None = None

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        x = rng.normal(self.mean, self.sd, n)
        if self.low is not None or self.high is not None:
            x = np.clip(x, self.low, self.high)
        return x


class LogNormal(_Section):
    """Log-normal parameterised by its arithmetic mean (> 0) and coefficient of variation."""

    dist: Literal["lognormal"]
    mean: float = Field(gt=0)
    cv: float = Field(ge=0)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        s2 = np.log1p(self.cv**2)
        return rng.lognormal(np.log(self.mean) - 0.5 * s2, np.sqrt(s2), n)


def _number_to_constant(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return {"dist": "constant", "value": v}
    return v


Distribution = Annotated[
    Constant | Uniform | Normal | LogNormal,
    Field(discriminator="dist"),
    BeforeValidator(_number_to_constant),
]

# --------------------------------------------------------------------------- sections

Share = Annotated[float, Field(ge=0, le=1)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]


class LandscapeParams(_Section):
    source: str
    width: int = Field(ge=10, le=20000)
    height: int = Field(ge=10, le=20000)
    cell_size_ha: Positive
    n_farms: int = Field(ge=1)
    lot_size_ha: Distribution
    lot_depth_km: Positive
    reserve_fraction: Annotated[float, Field(ge=0, lt=1)]
    claim_distance_km: NonNegative
    initial_cleared_fraction: Distribution
    initial_fallow_share: Share
    initial_fertility: Distribution
    protected_can_change: bool


class FarmerParams(_Section):
    discount_rate: Distribution
    risk_aversion: Distribution
    labour_ha_per_year: Distribution
    labour_days_per_year: Distribution
    savings_usd: Distribution
    knowledge: Distribution
    savings_rate: Share


class DecisionParams(_Section):
    planning_horizon_years: int = Field(ge=1, le=100)
    logit_scale: NonNegative
    imitation_weight_usd_per_ha: NonNegative
    neighbours: int = Field(ge=1, le=50)
    knowledge_learning_rate: Share
    knowledge_cost_premium: NonNegative
    technology_uncertainty: NonNegative
    price_memory_years: int = Field(ge=1, le=50)


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
    first_harvest_year: int = Field(ge=0, le=30)
    full_yield_year: int = Field(ge=0, le=30)
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
    first_income_year: int = Field(ge=0, le=30)
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
    transition_years: int = Field(ge=1, le=100)


# --------------------------------------------------------------------------- programmes


class Obligations(_Section):
    """What an enrolled farm must do (Tambopata: on 40 ha keep >= 20 ha of forest
    and >= 3 ha under sustainable practice)."""

    no_clearing: bool
    min_forest_share: Share
    min_sustainable_ha_per_40ha: NonNegative
    grace_years: int = Field(ge=0, le=100)


class ForestPayment(_Section):
    """Payment per ha of standing forest (primary or secondary) on the farm."""

    usd_per_ha_per_year: NonNegative


class CarbonPayment(_Section):
    """Results-based payment per tCO2e, shared between farmers and the
    programme's collective forest activities (Piura: 10 % / 90 %)."""

    usd_per_tco2e: Positive | None = None  # absent: the market carbon price path
    pay_removals: bool
    pay_avoided_emissions: bool
    baseline_clearing_ha_per_farm_per_year: NonNegative
    farmer_share: Share
    reforestation_cost_usd_per_ha: Positive


class EstablishmentSupport(_Section):
    """A share of the establishment cost of agroforestry and silvopasture, paid as
    a grant or lent (interest-free, repaid in equal yearly instalments)."""

    share: Share
    mode: Literal["grant", "loan"]
    loan_years: int = Field(ge=1, le=50)


class Training(_Section):
    """Training and technical assistance on enrolment."""

    knowledge_gain: Share


class Premium(_Section):
    """Deforestation-free cocoa: a price premium for certified (compliant) farms."""

    cocoa_usd_per_kg: NonNegative


class Programme(_Section):
    """An incentive programme: any combination of components, one budget."""

    name: str
    start_year: int = Field(ge=1)
    end_year: int = Field(ge=1)
    budget_usd: NonNegative
    budget_usd_per_year: NonNegative
    enrolment_cap: int = Field(ge=0)
    targeting: Literal["first_come", "random", "highest_risk", "nearest_edge"]
    finance: Literal["public", "carbon_credits", "works_for_taxes"]
    detection_probability: Share
    expel_on_violation: bool
    repay_on_violation: bool
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

    name: str
    description: str
    seed: int = Field(ge=0)
    years: int = Field(ge=1, le=1000)
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
        data = self.to_dict()
        for path, value in overrides.items():
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
        elif not isinstance(node, dict) or key not in node:
            raise ScenarioError(source, [(".".join(keys[: i + 1]), "unknown key")])
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


def read_toml(path: Path) -> dict:
    """Read a TOML file; a missing file, a directory or bad TOML is a ScenarioError
    naming the file."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError(str(path), [("", "file not found")]) from None
    except IsADirectoryError:
        raise ScenarioError(str(path), [("", "is a directory, expected a .toml file")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), [("", f"not valid TOML: {exc}")]) from None


def _read_with_extends(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(str(p) for p in (*seen, path))
        raise ScenarioError(str(path), [("extends", f"circular extends: {chain}")])
    data = read_toml(path)
    _resolve_relative_paths(data, path.parent)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(str(path), [("extends", "must be a file name (string)")])
    if parent == DEFAULT_NAME:
        return data
    base = _read_with_extends(path.parent / parent, (*seen, path))
    return _deep_merge(base, data)


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
        problems = []
        for err in exc.errors():
            raw = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p)]
            loc = [str(p) for p in raw if p not in _TAGS]
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key" + _allowed_keys(raw)
            elif err["type"] == "missing":
                msg = "required key is missing"
            elif "input" in err and not isinstance(err["input"], dict):
                msg += f" (got {err['input']!r})"
            problems.append((".".join(loc), msg))
        raise ScenarioError(source, problems) from None


def _allowed_keys(loc: list) -> str:
    """List the keys allowed where an unknown key ``loc`` was found (``loc`` as
    pydantic gives it, with distribution tags such as ``"uniform"``)."""
    model: Any = Scenario
    for key in loc[:-1]:
        if key in _TAGS:
            model = _DISTRIBUTIONS[key]
            continue
        if isinstance(key, int):  # an item of a list such as programmes
            continue
        field = getattr(model, "model_fields", {}).get(key)
        if field is None:
            return ""
        model = field.annotation
        # Unwrap list[X] and X | None to X.
        while get_args(model) and not hasattr(model, "model_fields"):
            model = next(a for a in get_args(model) if a is not type(None))
    fields = getattr(model, "model_fields", None)
    if not fields:
        return ""
    return "; allowed keys: " + ", ".join(fields)
