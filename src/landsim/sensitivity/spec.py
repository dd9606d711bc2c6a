"""The sections of a sensitivity experiment file, their validation, and reading one.

:class:`SensitivitySpec` is the contents of a file (``docs/sensitivity.md``), with
one :class:`Factor` per uncertain input and the method's :class:`Options`. The
sections are those of experiment files (closed, frozen, finite numbers, no
booleans for numbers; :mod:`landsim.experiment.spec`). :func:`build_spec`
validates the arguments of a :class:`~landsim.sensitivity.SensitivityAnalysis`
given in Python, :func:`read_sensitivity_file` those of a file.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from landsim.errors import validate_file_data
from landsim.experiment import Integer, Number, Section
from landsim.scenario import DEFAULT_NAME, ScenarioError, read_toml

METHODS = ("morris", "sobol", "fast", "delta", "pawn")

#: SALib distribution names and the factor keys that give their parameters.
DISTRIBUTIONS = {
    "unif": ("low", "high"),
    "triang": ("low", "high", "peak"),
    "norm": ("mean", "sd"),
    "truncnorm": ("low", "high", "mean", "sd"),
    "lognorm": ("mean", "sd"),
}


#: The logarithm of the largest float: a lognormal factor must stay below it.
LOG_MAX_FLOAT = math.log(sys.float_info.max)


class Factor(Section):
    """One uncertain input: uniform on [low, high] by default.

    ``dist`` is a SALib distribution: "unif" (low, high), "triang" (low, high,
    peak), "norm" (mean, sd), "truncnorm" (low, high, mean, sd) or "lognorm" (mean
    and sd of the logarithm).
    """

    dist: Literal["unif", "triang", "norm", "truncnorm", "lognorm"] = "unif"
    low: Number | None = None
    high: Number | None = None
    peak: Number | None = None
    mean: Number | None = None
    sd: Number | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self):
        needed = DISTRIBUTIONS[self.dist]
        missing = [k for k in needed if getattr(self, k) is None]
        if missing:
            raise ValueError(
                f"dist {self.dist!r} needs {', '.join(needed)} (missing: {', '.join(missing)})"
            )
        extra = [
            k
            for k in ("low", "high", "peak", "mean", "sd")
            if k not in needed and getattr(self, k) is not None
        ]
        if extra:
            raise ValueError(
                f"dist {self.dist!r} takes {', '.join(needed)} (not {', '.join(extra)})"
            )
        if "low" in needed and not self.high > self.low:
            raise ValueError(f"inverted bounds: high ({self.high}) must be > low ({self.low})")
        if self.dist == "triang" and not self.low <= self.peak <= self.high:
            raise ValueError(f"peak ({self.peak}) must lie within [low, high]")
        if self.dist == "lognorm" and self.mean + 3 * self.sd > LOG_MAX_FLOAT:
            raise ValueError(
                f"mean and sd are those of the logarithm of the value: mean + 3 sd = "
                f"{self.mean + 3 * self.sd:.4g} gives values of e^{self.mean + 3 * self.sd:.4g}, "
                f"beyond the largest float (e^{LOG_MAX_FLOAT:.1f}); for values near x, "
                "mean is about ln(x) (e.g. 6.9 for 1000)"
            )
        return self

    def salib_bounds(self) -> list[float]:
        """The ``bounds`` entry SALib expects for this distribution."""
        if self.dist == "triang":  # SALib: [lower, upper, peak as a fraction of the width]
            return [self.low, self.high, (self.peak - self.low) / (self.high - self.low)]
        return [getattr(self, k) for k in DISTRIBUTIONS[self.dist]]

    def extremes(self) -> list[float]:
        """Values to check against the scenario schema: bounds, or mean +/- 3 sd."""
        if self.low is not None:
            return [self.low, self.high]
        if self.dist == "lognorm":
            return [math.exp(self.mean - 3 * self.sd), math.exp(self.mean + 3 * self.sd)]
        return [self.mean - 3 * self.sd, self.mean + 3 * self.sd]


def _factor(value: Any) -> Any:
    """``[low, high]`` is shorthand for a uniform factor."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return {"low": value[0], "high": value[1]}
    return value


class Options(Section):
    """Method options (SALib's names)."""

    num_levels: Integer = Field(default=4, ge=2)  # morris grid levels
    calc_second_order: bool = False  # sobol
    M: Integer = Field(default=4, ge=1)  # fast interference factor
    S: Integer = Field(default=10, ge=2)  # pawn slices
    num_resamples: Integer = Field(default=100, ge=10)  # bootstrap resamples
    conf_level: Number = Field(default=0.95, gt=0, lt=1)


class SensitivitySpec(Section):
    """The contents of a sensitivity experiment file."""

    name: str
    description: str = ""
    method: Literal["morris", "sobol", "fast", "delta", "pawn"]
    n: Integer = Field(ge=1)
    seed: Integer = Field(ge=0)
    replicates: Integer = Field(default=1, ge=1)
    scenario: str = DEFAULT_NAME
    counterfactual: str | None = None
    years: Integer | None = Field(default=None, ge=1, le=1000)
    outputs: list[str] = Field(min_length=1)
    factors: dict[str, Factor] = Field(min_length=2)
    options: Options = Field(default_factory=Options)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data):
        if isinstance(data, dict) and isinstance(data.get("factors"), dict):
            data = {**data, "factors": {k: _factor(v) for k, v in data["factors"].items()}}
        return data

    @model_validator(mode="after")
    def _check(self):
        if self.method == "sobol" and self.n & (self.n - 1):
            lower = 1 << (self.n.bit_length() - 1)
            raise ValueError(
                f"n: Sobol' sampling needs n to be a power of two (got {self.n}; "
                f"try {lower} or {lower * 2})"
            )
        if self.method in ("morris", "fast"):
            for name, factor in self.factors.items():
                if factor.dist != "unif":
                    raise ValueError(
                        f'factors."{name}": method {self.method!r} takes uniform factors '
                        f"only (got dist {factor.dist!r})"
                    )
        if self.method == "fast" and self.n <= 4 * self.options.M**2:
            raise ValueError(
                f"n: eFAST needs n > 4 M^2 = {4 * self.options.M**2} samples per factor "
                f"(got {self.n})"
            )
        return self

    def sample_rows(self) -> int:
        """The number of sample points the method's sampler draws (counted, not drawn)."""
        d, n = len(self.factors), self.n
        if self.method == "morris":
            return n * (d + 1)
        if self.method == "sobol":
            return n * (2 * d + 2 if self.options.calc_second_order else d + 2)
        if self.method == "fast":
            return n * d
        return n


def validate_spec(data: dict, source: str) -> SensitivitySpec:
    """Validate the contents of a sensitivity experiment file.

    Raises
    ------
    ScenarioError
        Naming ``source``, the key and what is allowed.
    """
    return validate_file_data(SensitivitySpec, data, source)


def build_spec(
    factors: dict,
    method: str,
    n: int,
    outputs: list[str],
    *,
    seed: int,
    replicates: int,
    years: int | None,
    options: dict | None,
    name: str,
    source: str,
) -> SensitivitySpec:
    """Validate the arguments of an analysis given in Python (factors may be
    :class:`Factor` objects, dicts of their fields or ``[low, high]``)."""
    data = {
        "name": name,
        "method": method,
        "n": n,
        "seed": seed,
        "replicates": replicates,
        "outputs": outputs,
        "factors": {
            k: (v.model_dump(exclude_none=True) if isinstance(v, Factor) else v)
            for k, v in factors.items()
        },
        "options": options or {},
    }
    if years is not None:
        data["years"] = years
    return validate_spec(data, source)


def read_sensitivity_file(path: str | Path) -> dict[str, Any]:
    """Read and validate a sensitivity experiment file.

    Returns
    -------
    dict
        The keyword arguments of :class:`~landsim.sensitivity.SensitivityAnalysis`,
        with scenario files located relative to the file.

    Raises
    ------
    ScenarioError
        Naming the file, the key and what is allowed, or a missing scenario file.
    """
    path = Path(path)
    data = read_toml(path)
    spec = validate_spec(data, str(path))

    def locate(ref: str | None, key: str):
        if ref is None or ref == DEFAULT_NAME:
            return ref
        target = Path(ref) if Path(ref).is_absolute() else path.parent / ref
        if not target.is_file():
            raise ScenarioError(str(path), [(key, f"no such scenario file: {target}")])
        return target

    return {
        "factors": dict(spec.factors),
        "method": spec.method,
        "n": spec.n,
        "outputs": list(spec.outputs),
        "seed": spec.seed,
        "replicates": spec.replicates,
        "model": locate(spec.scenario, "scenario"),
        "counterfactual": locate(spec.counterfactual, "counterfactual"),
        "years": spec.years,
        "options": spec.options.model_dump(),
        "name": spec.name,
        "source": str(path),
    }
