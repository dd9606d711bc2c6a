"""Experiment files: which runs a batch makes and what it keeps.

An experiment (a TOML file in ``experiments/``) declares

- ``scenarios``: the base scenario(s), ``id = "path.toml"`` (relative to the
  experiment file) or ``id = "default"`` for the embedded default;
- the parameter overrides, at most one of

  - ``[grid]``: a full-factorial grid, ``"dotted.key" = [value, ...]``;
  - ``[[points]]``: an explicit list of override tables;
  - ``[samples]``: ``n`` points drawn by ``method`` ("latin", "sobol" or
    "uniform") over ``[samples.factors]``, ``"dotted.key" = [low, high]``;

  (none: each base scenario as it is);
- ``replicates`` and ``seed``: replicate ``r`` of every scenario and point runs with
  ``numpy.random.SeedSequence(seed).spawn(replicates)[r]``, so replicates are
  independent streams and points share common random numbers;
- ``years`` (optional): a horizon for every run;
- ``[outputs]``: what each run keeps (the yearly table or some of its columns,
  end-of-run scalars, the final farm table, rasters at chosen years).

Override keys are the dotted key paths of scenario files (``"farmers.discount_rate"``,
``"markets.cocoa.mean"``, ``"programmes.0.forest_payment.usd_per_ha_per_year"``): one
vocabulary for TOML, code, sliders and sensitivity factors.

Everything is checked when the experiment is loaded, before any run starts: the
runs and the memory of the design are counted (not built) against
:data:`MAX_RUNS` and :data:`MAX_DESIGN_BYTES`; every value of a grid key and every
sample bound, then every design point, is applied to every base scenario, so an
unknown key or an invalid value is reported against the experiment file with its
key and what is allowed. Booleans are not numbers, and the experiment's own
numbers are finite. An integer key in ``[samples]`` is drawn over the integers of
its bounds.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from landsim.errors import problems_from
from landsim.limits import model_memory_bytes
from landsim.scenario import DEFAULT_NAME, Scenario, ScenarioError, load_scenario, read_toml

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

#: Mixed into the experiment seed for the sample stream, so that drawing the sample
#: points never shares a stream with a replicate.
SAMPLE_STREAM = 0x5A3B1E

#: The most runs one batch (or sensitivity analysis) may ask for: 1,000,000 runs of
#: the default scenario are about 70 core-hours, and their run table alone about
#: 1 GB in memory. Split a larger study into several experiments.
MAX_RUNS = 1_000_000

#: The most memory the design itself (its points and runs, before any result) may
#: take.
MAX_DESIGN_BYTES = 2**30

#: Estimated bytes of one design point (a dict) and of each of its keys, and of one
#: run (what :meth:`Experiment.runs` builds), for :func:`check_design_size`.
POINT_BYTES, KEY_BYTES, RUN_BYTES = 240, 110, 160


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


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Outputs(_Section):
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


class Samples(_Section):
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


class ExperimentSpec(_Section):
    """The contents of an experiment file (see the module docstring)."""

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


@dataclass(frozen=True)
class Run:
    """One run of a batch: a base scenario, a point of the design, a replicate."""

    run_id: int
    scenario_id: str
    point: int
    replicate: int
    overrides: dict[str, Any]


class Experiment:
    """A validated experiment: base scenarios, design points, seeds and outputs.

    Build one with :func:`load_experiment` (a file) or :meth:`from_dict`. The runs
    are :meth:`runs`, in a fixed order (scenario, point, replicate) that is the same
    whatever backend executes them.

    Attributes
    ----------
    spec : ExperimentSpec
        The experiment as given.
    source : str
        The file it came from (or ``"<dict>"``).
    scenarios : dict of str to Scenario
        The resolved base scenarios (with the experiment's ``years``).
    points : list of dict
        The override tables of the design (``[{}]`` when there is none).
    """

    def __init__(self, spec: ExperimentSpec, source: str, base_dir: Path | None = None):
        self.spec = spec
        self.source = source
        self.base_dir = base_dir
        self.scenarios = self._resolve_scenarios()
        self._build()

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_dict(
        cls, data: dict, source: str = "<dict>", base_dir: str | Path | None = None
    ) -> Experiment:
        """Validate an experiment given as plain data.

        Scenario entries may be paths (relative to ``base_dir``), ``"default"`` or
        :class:`~landsim.scenario.Scenario` objects.
        """
        data = dict(data)
        objects = {}
        scenarios = data.get("scenarios")
        if isinstance(scenarios, dict):
            scenarios = dict(scenarios)
            for key, value in scenarios.items():
                if isinstance(value, Scenario):
                    objects[key] = value
                    scenarios[key] = f"<object {value.name}>"
            data["scenarios"] = scenarios
        spec = _validate_spec(data, source)
        experiment = cls.__new__(cls)
        experiment.spec = spec
        experiment.source = source
        experiment.base_dir = Path(base_dir) if base_dir is not None else None
        experiment.scenarios = experiment._resolve_scenarios(objects)
        experiment._build()
        return experiment

    @classmethod
    def for_points(
        cls, name: str, points: list[dict[str, Any]], seed: int, replicates: int = 1
    ) -> Experiment:
        """An experiment over plain parameter points with no scenario, for a Python
        function evaluated in place of the model (``run_batch(..., function=f)``)."""
        spec = ExperimentSpec(
            name=name,
            seed=seed,
            replicates=replicates,
            scenarios={"function": "<function>"},
            points=[dict(p) for p in points],
            outputs=Outputs(yearly=False, scalars=[]),
        )
        experiment = cls.__new__(cls)
        experiment.spec = spec
        experiment.source = "<function>"
        experiment.base_dir = None
        experiment.scenarios = {"function": None}
        experiment._check_size()
        experiment.points = experiment._design_points()
        return experiment

    def _resolve_scenarios(self, objects: dict[str, Scenario] | None = None) -> dict:
        resolved = {}
        for key, ref in self.spec.scenarios.items():
            if objects and key in objects:
                scenario = objects[key]
            elif ref == DEFAULT_NAME:
                scenario = load_scenario(None)
            else:
                path = Path(ref)
                if not path.is_absolute() and self.base_dir is not None:
                    path = self.base_dir / path
                if not path.is_file():
                    raise ScenarioError(
                        self.source,
                        [(f"scenarios.{key}", f"no such scenario file: {path}")],
                    )
                scenario = load_scenario(path)
            if self.spec.years is not None:
                scenario = scenario.with_overrides({"years": self.spec.years})
            resolved[key] = scenario
        return resolved

    def _build(self) -> None:
        """Count the design (refusing one too large to hold or run), build its points
        and check them against every base scenario."""
        self._check_size()
        self._check_sample_factors()
        self.points = self._design_points()
        self._check_points()

    def design_size(self) -> tuple[int, int, str]:
        """(points, override keys, the key that sets the number of points), counted
        from the spec without building the points (a grid is a product)."""
        spec = self.spec
        if spec.grid is not None:
            return math.prod(len(v) for v in spec.grid.values()), len(spec.grid), "grid"
        if spec.points is not None:
            keys = {k for point in spec.points for k in point}
            return max(1, len(spec.points)), len(keys), "points"
        if spec.samples is not None:
            return spec.samples.n, len(spec.samples.factors), "samples.n"
        return 1, 0, "replicates"

    def _check_size(self) -> None:
        n_points, n_keys, key = self.design_size()
        n_scenarios, replicates = len(self.spec.scenarios), self.spec.replicates
        check_design_size(
            self.source,
            "replicates" if replicates >= n_points else key,
            n_points=n_points,
            n_keys=n_keys,
            n_runs=n_scenarios * n_points * replicates,
            detail=(
                f"{n_scenarios} scenario(s) x {n_points:,} point(s) x {replicates:,} replicate(s)"
            ),
        )

    def integer_keys(self, keys) -> set[str]:
        """The keys among ``keys`` that hold an integer in some base scenario."""
        return {
            key
            for key in keys
            for scenario in self.scenarios.values()
            if scenario is not None and is_integer_key(scenario, key)
        }

    def _check_sample_factors(self) -> None:
        """An integer key is sampled over the integers of its bounds, which must be
        integers themselves."""
        samples = self.spec.samples
        if samples is None:
            return
        self._integer_factors = self.integer_keys(samples.factors)
        problems = [
            (
                f'samples.factors."{key}"',
                f"an integer key: its bounds must be integers (got {list(bounds)}); it "
                "is drawn uniformly from the integers low..high, both included",
            )
            for key, bounds in samples.factors.items()
            if key in self._integer_factors and not all(float(b).is_integer() for b in bounds)
        ]
        if problems:
            raise ScenarioError(self.source, problems)

    def _design_points(self) -> list[dict[str, Any]]:
        spec = self.spec
        if spec.grid is not None:
            keys = list(spec.grid)
            return [
                dict(zip(keys, combo, strict=True))
                for combo in itertools.product(*(spec.grid[k] for k in keys))
            ]
        if spec.points is not None:
            return [dict(p) for p in spec.points] or [{}]
        if spec.samples is not None:
            return draw_samples(spec.samples, spec.seed, getattr(self, "_integer_factors", ()))
        return [{}]

    def _check_points(self) -> None:
        """Apply the overrides to every base scenario, so that a bad key or value is
        reported now, against the experiment file, and not in the middle of a batch:
        each value of a grid key and each sample bound alone (so that the message
        names it), then every point of the design (values that are valid alone may
        not be together, e.g. a range whose low end passes its high end)."""
        spec = self.spec
        if spec.grid is not None:
            checks = [
                (f'grid."{key}"', {key: value})
                for key, values in spec.grid.items()
                for value in values
            ]
            if len(spec.grid) > 1:
                checks += [("grid", point) for point in self.points]
        elif spec.points is not None:
            checks = [(f"points.{i}", point) for i, point in enumerate(self.points)]
        elif spec.samples is not None:
            integer = getattr(self, "_integer_factors", set())
            checks = [
                (f'samples.factors."{key}"', {key: int(b) if key in integer else b})
                for key, bounds in spec.samples.factors.items()
                for b in bounds
            ]
            checks += [("samples", point) for point in self.points]
        else:
            checks = []
        #: The estimated peak memory of the largest run (bytes), for the batch
        #: engine's check of how many runs fit in memory at once.
        self.largest_run_bytes = max(
            (model_memory_bytes(s) for s in self.scenarios.values()), default=0
        )
        for where, overrides in checks:
            for scenario_id, scenario in self.scenarios.items():
                try:
                    varied = scenario.with_overrides(overrides)
                except ScenarioError as exc:
                    at = ""
                    if where in ("grid", "samples"):
                        i = self.points.index(overrides)
                        values = ", ".join(f"{k} = {v!r}" for k, v in overrides.items())
                        at = f"point {i} ({values}): "
                    problems = [
                        (where, f"{at}{key}: {msg} (in scenario {scenario_id!r})")
                        for key, msg in exc.problems
                    ]
                    raise ScenarioError(self.source, problems) from None
                if any(k == "years" or k.startswith("landscape.") for k in overrides):
                    size = model_memory_bytes(varied)
                    self.largest_run_bytes = max(self.largest_run_bytes, size)
        for i, scalar in enumerate(spec.outputs.scalars):
            parse_scalar(scalar, self.source, f"outputs.scalars.{i}")

    # ------------------------------------------------------------------ the runs

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def seed(self) -> int:
        return self.spec.seed

    @property
    def replicates(self) -> int:
        return self.spec.replicates

    @property
    def outputs(self) -> Outputs:
        return self.spec.outputs

    @property
    def parameters(self) -> list[str]:
        """The override keys, in order of first appearance."""
        keys: dict[str, None] = {}
        for point in self.points:
            keys.update(dict.fromkeys(point))
        return list(keys)

    def __len__(self) -> int:
        return len(self.scenarios) * len(self.points) * self.replicates

    def runs(self) -> list[Run]:
        """Every run, in order: scenario, then point, then replicate."""
        runs = []
        for scenario_id in self.scenarios:
            for p, point in enumerate(self.points):
                for r in range(self.replicates):
                    runs.append(Run(len(runs), scenario_id, p, r, point))
        return runs

    def scenario_for(self, run: Run) -> Scenario:
        """The scenario a run simulates (its base with its overrides)."""
        base = self.scenarios[run.scenario_id]
        return base.with_overrides(run.overrides) if run.overrides else base

    def to_dict(self) -> dict:
        """The experiment as plain data, with the resolved base scenarios."""
        return {
            "spec": self.spec.model_dump(mode="json"),
            "source": self.source,
            "scenarios": {
                k: s.to_dict() if s is not None else None for k, s in self.scenarios.items()
            },
        }

    def fingerprint(self) -> str:
        """A hash of everything that decides the runs' results (not of file paths):
        a batch directory can be resumed only with the same fingerprint."""
        return fingerprint_of({**self.to_dict(), "points": self.points})

    def __repr__(self) -> str:
        return (
            f"Experiment({self.name!r}: {len(self.scenarios)} scenario(s) x "
            f"{len(self.points)} point(s) x {self.replicates} replicate(s) = {len(self)} runs)"
        )


def fingerprint_of(record: dict) -> str:
    """The fingerprint of an experiment given as :meth:`Experiment.to_dict` plus its
    ``points`` (as a batch's ``experiment.json`` records it); ``source`` is left out."""
    data = {k: v for k, v in record.items() if k != "source"}
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def replicate_seed(seed: int, replicate: int) -> np.random.SeedSequence:
    """The stream of replicate ``replicate``: ``SeedSequence(seed).spawn(n)[replicate]``
    for any ``n > replicate``."""
    return np.random.SeedSequence(seed, spawn_key=(replicate,))


def is_integer_key(scenario: Scenario, key: str) -> bool:
    """Whether a dotted key holds an integer (not a boolean) in ``scenario``."""
    node: Any = scenario.to_dict()
    for part in key.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return isinstance(node, int) and not isinstance(node, bool)


def _bytes(n: float) -> str:
    return f"{n / 2**30:,.1f} GB" if n >= 2**30 else f"{n / 2**20:,.0f} MB"


def check_design_size(
    source: str,
    where: str,
    *,
    n_points: int,
    n_keys: int,
    n_runs: int,
    detail: str,
    extra_bytes: int = 0,
) -> None:
    """Refuse a design of more than :data:`MAX_RUNS` runs or whose points and runs
    would take more than :data:`MAX_DESIGN_BYTES` (counted, not built).

    Raises
    ------
    ScenarioError
        Naming ``source`` and ``where``, with what the design needs and the limit.
    """
    if n_runs > MAX_RUNS:
        raise ScenarioError(
            source,
            [
                (
                    where,
                    f"asks for {n_runs:,} runs ({detail}); a batch takes at most "
                    f"{MAX_RUNS:,} runs (landsim.experiment.MAX_RUNS): ask for fewer, or "
                    "split the study into several experiments",
                )
            ],
        )
    need = n_points * (POINT_BYTES + KEY_BYTES * n_keys) + n_runs * RUN_BYTES + extra_bytes
    if need > MAX_DESIGN_BYTES:
        raise ScenarioError(
            source,
            [
                (
                    where,
                    f"the design alone needs about {_bytes(need)} of memory ({detail}, "
                    f"{n_keys} key(s)); the limit is {_bytes(MAX_DESIGN_BYTES)} "
                    "(landsim.experiment.MAX_DESIGN_BYTES): use fewer points or factors",
                )
            ],
        )


def draw_samples(
    samples: Samples, seed: int, integer: set[str] | tuple = ()
) -> list[dict[str, float]]:
    """Draw the ``[samples]`` points from the experiment seed (a stream of its own).

    A key in ``integer`` takes the integers low..high (both included) with equal
    probability: ``low + floor(u * (high - low + 1))`` of the same unit sample."""
    from scipy.stats import qmc

    keys = list(samples.factors)
    rng = np.random.default_rng(np.random.SeedSequence([seed, SAMPLE_STREAM]))
    d = len(keys)
    if samples.method == "latin":
        unit = qmc.LatinHypercube(d=d, rng=rng).random(samples.n)
    elif samples.method == "sobol":
        unit = qmc.Sobol(d=d, scramble=True, rng=rng).random(samples.n)
    else:
        unit = rng.random((samples.n, d))
    low = np.array([samples.factors[k][0] for k in keys])
    high = np.array([samples.factors[k][1] for k in keys])
    values = qmc.scale(unit, low, high)
    points = [{k: float(v) for k, v in zip(keys, row, strict=True)} for row in values]
    for j, key in enumerate(keys):
        if key in integer:
            lo, hi = int(low[j]), int(high[j])
            column = np.minimum(lo + np.floor(unit[:, j] * (hi - lo + 1)), hi).astype(int)
            for point, value in zip(points, column, strict=True):
                point[key] = int(value)
    return points


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


def load_experiment(path: str | Path) -> Experiment:
    """Load and validate an experiment file.

    Raises
    ------
    ScenarioError
        Naming the file, the key and what is allowed, for any invalid input
        (including invalid base scenarios, reported against their own file).
    """
    path = Path(path)
    data = read_toml(path)
    if "method" in data and "factors" in data and "scenarios" not in data:
        raise ScenarioError(
            str(path),
            [
                (
                    "method",
                    "this is a sensitivity experiment: run it with `landsim sensitivity` "
                    "(landsim.SensitivityAnalysis), not as a batch",
                )
            ],
        )
    return Experiment(_validate_spec(data, str(path)), str(path), path.parent)


def _validate_spec(data: dict, source: str) -> ExperimentSpec:
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, problems_from(exc, ExperimentSpec)) from None


def chunk_size_for(n_runs: int, workers: int, limit: int = 50) -> int:
    """Runs per task: about eight tasks per worker (so the last ones balance), at
    most ``limit`` (so results reach the disk often)."""
    return max(1, min(limit, math.ceil(n_runs / (8 * max(1, workers)))))
