"""The validated experiment, its runs, and reading an experiment file.

:class:`Experiment` holds the base scenarios, the design points, the seeds and the
outputs of an experiment; its runs (:class:`Run`) come in a fixed order (scenario,
point, replicate) whatever backend executes them. :func:`load_experiment` reads
and validates a file; :func:`fingerprint_of` hashes what decides the results.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from landsim.experiment.checks import (
    check_points,
    check_sample_factors,
    check_scalars,
    integer_keys,
    point_checks,
)
from landsim.experiment.sampling import draw_samples
from landsim.experiment.sizes import check_experiment_size, design_size
from landsim.experiment.spec import ExperimentSpec, Outputs, validate_spec
from landsim.scenario import DEFAULT_NAME, Scenario, ScenarioError, load_scenario, read_toml


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
    largest_run_bytes : int
        The estimated peak memory of the largest run, for the batch engine's
        check of how many runs fit in memory at once.
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
        spec = validate_spec(data, source)
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
        check_experiment_size(spec, experiment.source)
        experiment.points = design_points(spec)
        return experiment

    def _resolve_scenarios(self, objects: dict[str, Scenario] | None = None) -> dict:
        return resolve_scenarios(self.spec, self.source, self.base_dir, objects)

    def _build(self) -> None:
        """Count the design (refusing one too large to hold or run), build its points
        and check them against every base scenario."""
        spec = self.spec
        check_experiment_size(spec, self.source)
        integer: set[str] = set()
        if spec.samples is not None:
            integer = self._integer_factors = self.integer_keys(spec.samples.factors)
            check_sample_factors(spec.samples, integer, self.source)
        self.points = design_points(spec, integer)
        checks = point_checks(spec, self.points, integer)
        self.largest_run_bytes = check_points(checks, self.scenarios, self.points, self.source)
        check_scalars(spec.outputs, self.source)

    def design_size(self) -> tuple[int, int, str]:
        """(points, override keys, the key that sets the number of points), counted
        from the spec without building the points (a grid is a product)."""
        return design_size(self.spec)

    def integer_keys(self, keys) -> set[str]:
        """The keys among ``keys`` that hold an integer in some base scenario."""
        return integer_keys(self.scenarios.values(), keys)

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


class PairedExperiment(Experiment):
    """An experiment whose scenario ``k`` runs only replicate ``pairs[k]``, on that
    replicate's stream (:func:`replicate_seed`), as in a full experiment: one run
    per scenario, in the batch engine's order whatever the backend (``compare``'s
    runs at fixed prices, one scenario per replicate). Set ``pairs`` after
    :meth:`Experiment.from_dict`."""

    pairs: dict[str, int]

    def runs(self):
        return [
            Run(run_id, scenario_id, 0, self.pairs[scenario_id], {})
            for run_id, scenario_id in enumerate(self.scenarios)
        ]

    def __len__(self) -> int:
        return len(self.scenarios)


def resolve_scenarios(
    spec: ExperimentSpec,
    source: str,
    base_dir: Path | None,
    objects: dict[str, Scenario] | None = None,
) -> dict[str, Scenario]:
    """The base scenarios of ``spec``: objects given, the default, or files
    (relative to ``base_dir``), each with the experiment's ``years``.

    Raises
    ------
    ScenarioError
        For a missing file (against ``source``) or an invalid scenario (against
        its own file).
    """
    resolved = {}
    for key, ref in spec.scenarios.items():
        if objects and key in objects:
            scenario = objects[key]
        elif ref == DEFAULT_NAME:
            scenario = load_scenario(None)
        else:
            path = Path(ref)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            if not path.is_file():
                raise ScenarioError(
                    source,
                    [(f"scenarios.{key}", f"no such scenario file: {path}")],
                )
            scenario = load_scenario(path)
        if spec.years is not None:
            scenario = scenario.with_overrides({"years": spec.years})
        resolved[key] = scenario
    return resolved


def design_points(spec: ExperimentSpec, integer: set[str] | tuple = ()) -> list[dict[str, Any]]:
    """The override tables of the design: the grid's product, the points given, or
    the drawn samples (integer keys ``integer`` over their integers); ``[{}]`` for
    none."""
    if spec.grid is not None:
        keys = list(spec.grid)
        return [
            dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(spec.grid[k] for k in keys))
        ]
    if spec.points is not None:
        return [dict(p) for p in spec.points] or [{}]
    if spec.samples is not None:
        return draw_samples(spec.samples, spec.seed, integer)
    return [{}]


def fingerprint_of(record: dict) -> str:
    """The fingerprint of an experiment given as :meth:`Experiment.to_dict` plus its
    ``points`` (as a batch's ``experiment.json`` records it); ``source`` is left out."""
    data = {k: v for k, v in record.items() if k != "source"}
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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
    return Experiment(validate_spec(data, str(path)), str(path), path.parent)
