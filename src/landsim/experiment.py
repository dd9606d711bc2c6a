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

Everything is checked when the experiment is loaded, before any run starts: every
override is applied to every base scenario, so an unknown key or an invalid value
is reported against the experiment file with its key and what is allowed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    raster_years: list[int] = Field(default_factory=list)
    raster_layers: list[str] = Field(default_factory=lambda: ["cover"])


class Samples(_Section):
    """``n`` points drawn by ``method`` over the box given by ``factors``."""

    n: int = Field(ge=1)
    method: Literal["latin", "sobol", "uniform"] = "latin"
    factors: dict[str, tuple[float, float]]

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
    seed: int = Field(ge=0)
    replicates: int = Field(default=1, ge=1)
    years: int | None = Field(default=None, ge=1, le=1000)
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
        self.points = self._design_points()
        self._check_points()

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
        experiment.points = experiment._design_points()
        experiment._check_points()
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
            return draw_samples(spec.samples, spec.seed)
        return [{}]

    def _check_points(self) -> None:
        """Apply the overrides to every base scenario, so that a bad key or value is
        reported now, against the experiment file, and not in the middle of a batch."""
        spec = self.spec
        if spec.grid is not None:
            checks = [
                (f'grid."{key}"', {key: value})
                for key, values in spec.grid.items()
                for value in values
            ]
        elif spec.points is not None:
            checks = [(f"points.{i}", point) for i, point in enumerate(self.points)]
        elif spec.samples is not None:
            checks = [
                (f'samples.factors."{key}"', {key: bound})
                for key, bounds in spec.samples.factors.items()
                for bound in bounds
            ]
        else:
            checks = []
        for where, overrides in checks:
            for scenario_id, scenario in self.scenarios.items():
                try:
                    scenario.with_overrides(overrides)
                except ScenarioError as exc:
                    problems = [
                        (where, f"{key}: {msg} (in scenario {scenario_id!r})")
                        for key, msg in exc.problems
                    ]
                    raise ScenarioError(self.source, problems) from None
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
        data = self.to_dict()
        data.pop("source")
        data["points"] = self.points
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return (
            f"Experiment({self.name!r}: {len(self.scenarios)} scenario(s) x "
            f"{len(self.points)} point(s) x {self.replicates} replicate(s) = {len(self)} runs)"
        )


def replicate_seed(seed: int, replicate: int) -> np.random.SeedSequence:
    """The stream of replicate ``replicate``: ``SeedSequence(seed).spawn(n)[replicate]``
    for any ``n > replicate``."""
    return np.random.SeedSequence(seed, spawn_key=(replicate,))


def draw_samples(samples: Samples, seed: int) -> list[dict[str, float]]:
    """Draw the ``[samples]`` points from the experiment seed (a stream of its own)."""
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
    return [{k: float(v) for k, v in zip(keys, row, strict=True)} for row in values]


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
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key; allowed keys: " + ", ".join(_fields_at(err["loc"][:-1]))
            elif err["type"] == "missing":
                msg = "required key is missing"
            elif "input" in err and not isinstance(err["input"], dict | list):
                msg += f" (got {err['input']!r})"
            problems.append((loc, msg))
        raise ScenarioError(source, problems) from None


def _fields_at(loc) -> list[str]:
    model: Any = ExperimentSpec
    for key in loc:
        field = getattr(model, "model_fields", {}).get(key)
        if field is None:
            break
        model = field.annotation
        for arg in getattr(model, "__args__", ()):
            if hasattr(arg, "model_fields"):
                model = arg
    return list(getattr(model, "model_fields", {}))


def chunk_size_for(n_runs: int, workers: int, limit: int = 50) -> int:
    """Runs per task: about eight tasks per worker (so the last ones balance), at
    most ``limit`` (so results reach the disk often)."""
    return max(1, min(limit, math.ceil(n_runs / (8 * max(1, workers)))))
