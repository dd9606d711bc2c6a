"""Distributions of farmer attributes and landscape draws (constant, uniform,
normal, lognormal), and the rule that a distribution lies in its parameter's
allowed range.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from landsim.scenario.types import NonNegative, Positive, Real, _Section

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


#: The parameters of a distribution in the unit of its variable.
_UNIT_KEYS = ("value", "low", "high", "mean", "sd")


def rescale(dist: Constant | Uniform | Normal | LogNormal, mean: float):
    """``dist`` rescaled to a new mean.

    Every parameter in the unit of the variable is multiplied by the same factor,
    so the relative spread among farmers (the coefficient of variation) is kept
    and a positive variable stays positive. A distribution of mean 0 becomes the
    constant ``mean``.
    """
    old = dist.mean
    if old == 0:
        return Constant(value=mean)
    factor = mean / old
    scaled = {
        key: value * factor
        for key in _UNIT_KEYS
        if key in type(dist).model_fields and (value := getattr(dist, key)) is not None
    }
    return type(dist).model_validate(dist.model_dump() | scaled)


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
