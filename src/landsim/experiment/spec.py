"""The sections of an experiment file, their validation, and the scalar rule.

:class:`ExperimentSpec` is the contents of an experiment file; :class:`Outputs` and
:class:`Samples` are its ``[outputs]`` and ``[samples]`` tables. The sections are
closed (an unknown key is an error), frozen, and take finite numbers only;
:data:`Integer` and :data:`Number` refuse booleans (sensitivity files use them
too). :func:`parse_scalar` is the one reading of ``"column@stat"``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from landsim.errors import validate_file_data
from landsim.scenario import ScenarioError

#: End-of-run scalars kept when an experiment does not list its own.
DEFAULT_SCALARS = (
    "forest_area_ha",
    "cumulative_deforestation_ha",
    "carbon_stock_tc",
    "income_mean_usd",
    "income_gini",
)

#: Statistics a scalar may take over the years of a run: ``"column@stat"``.
SCALAR_STATS = ("final", "sum", "mean", "min", "max")

#: The sampling methods of ``[samples]``.
SAMPLE_METHODS = ("latin", "sobol", "uniform")


def _not_bool(what: str):
    """TOML ``true``/``false`` are not numbers (pydantic would read them as 1 and 0)."""

    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"must be {what}, not a boolean")
        return value

    return check


#: An integer or a float that refuses booleans (and, in these sections, NaN and inf).
Integer = Annotated[int, BeforeValidator(_not_bool("an integer"))]
Number = Annotated[float, BeforeValidator(_not_bool("a number"))]


class Section(BaseModel):
    """A table of an experiment or sensitivity file: closed, frozen, finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Outputs(Section):
    """What each run of a batch keeps.

    Attributes
    ----------
    yearly : bool or list of str
        The yearly table (all columns, none, or these columns).
    scalars : list of str
        End-of-run values: a yearly column (its value in the last year), or
        ``"column@stat"`` with stat one of :data:`SCALAR_STATS` (over years 1..T)
        or a year (``"forest_area_ha@10"``).
    farms : bool
        The per-farm table at the end of the run.
    raster_years : list of int
        Years at which to keep rasters (0 = the initial state).
    raster_layers : list of str
        Which raster layers to keep.
    """

    yearly: bool | list[str] = True
    scalars: list[str] = Field(default_factory=lambda: list(DEFAULT_SCALARS))
    farms: bool = False
    raster_years: list[Integer] = Field(default_factory=list)
    raster_layers: list[str] = Field(default_factory=lambda: ["cover"])


class Samples(Section):
    """``n`` points drawn by ``method`` over the box given by ``factors``."""

    n: Integer = Field(ge=1)
    method: Literal["latin", "sobol", "uniform"] = "latin"
    factors: dict[str, tuple[Number, Number]]

    @model_validator(mode="after")
    def _check(self):
        if not self.factors:
            raise ValueError("factors: at least one factor is needed")
        for key, (low, high) in self.factors.items():
            if not high > low:
                raise ValueError(f'factors."{key}": high ({high}) must be > low ({low})')
        if self.method == "sobol" and self.n & (self.n - 1):
            raise ValueError(f"n must be a power of two for method 'sobol' (got {self.n})")
        return self


class ExperimentSpec(Section):
    """The contents of an experiment file (see :mod:`landsim.experiment`)."""

    name: str
    description: str = ""
    scenarios: dict[str, str] = Field(min_length=1)
    seed: Integer = Field(ge=0)
    replicates: Integer = Field(default=1, ge=1)
    years: Integer | None = Field(default=None, ge=1, le=1000)
    grid: dict[str, list[Any]] | None = None
    points: list[dict[str, Any]] | None = None
    samples: Samples | None = None
    outputs: Outputs = Field(default_factory=Outputs)

    @model_validator(mode="after")
    def _one_design(self):
        given = [k for k in ("grid", "points", "samples") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(
                f"give at most one of grid, points and samples (got {', '.join(given)})"
            )
        for key, values in (self.grid or {}).items():
            if not values:
                raise ValueError(f'grid."{key}": needs at least one value')
        return self


def validate_spec(data: dict, source: str) -> ExperimentSpec:
    """Validate the contents of an experiment file.

    Raises
    ------
    ScenarioError
        Naming ``source``, the key and what is allowed.
    """
    return validate_file_data(ExperimentSpec, data, source)


def parse_scalar(text: str, source: str = "<outputs>", where: str = "outputs.scalars"):
    """Split ``"column@stat"`` into (column, stat); stat is a name from
    :data:`SCALAR_STATS` or a year (int). A bare column means its final value."""
    column, _, stat = text.partition("@")
    if not column:
        raise ScenarioError(source, [(where, f"empty column name in {text!r}")])
    if not stat:
        return column, "final"
    if stat in SCALAR_STATS:
        return column, stat
    if stat.isdigit():
        return column, int(stat)
    raise ScenarioError(
        source,
        [
            (
                where,
                f"{text!r}: unknown statistic {stat!r}; allowed: {', '.join(SCALAR_STATS)} "
                "or a year",
            )
        ],
    )
