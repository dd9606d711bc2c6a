"""One run of a batch: the model (or a function in its place) on a design point
and a replicate's stream, its end-of-run scalars, and the landscape cache that
lets runs with the same landscape parameters share one generation.
"""

from __future__ import annotations

import inspect
import json
import math
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from landsim.batch.common import KEY_COLUMNS, RUN_ROW_BYTES
from landsim.experiment import (
    Experiment,
    Run,
    parse_scalar,
    replicate_seed,
)

# --------------------------------------------------------------------------- one run


@dataclass
class RunResult:
    """What one run returns to the engine."""

    row: dict[str, Any]
    yearly: pd.DataFrame | None = None
    farms: pd.DataFrame | None = None
    rasters: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.row["status"] == "ok"


def describe_rng(seed: int, replicate: int) -> str:
    """How a run's stream is written in result tables."""
    return f"SeedSequence({seed}, spawn_key=({replicate},))"


def key_row(run: Run, seed: int) -> dict[str, Any]:
    """The identifying columns of a run: keys, parameters."""
    row = {
        "run_id": run.run_id,
        "scenario": run.scenario_id,
        "point": run.point,
        "replicate": run.replicate,
        "seed": seed,
    }
    for key, value in run.overrides.items():
        row[key] = json.dumps(value) if isinstance(value, dict | list) else value
    return row


def compute_scalars(yearly: pd.DataFrame, scalars: Iterable[str]) -> dict[str, float]:
    """End-of-run values of the yearly table, as named by ``column[@stat]``."""
    out = {}
    years = yearly["year"].to_numpy()
    for text in scalars:
        column, stat = parse_scalar(text)
        if column not in yearly.columns or column == "year":
            available = [c for c in yearly.columns if c != "year"]
            raise KeyError(
                f"output {text!r}: no column {column!r} in the yearly table; "
                f"available: {', '.join(available)}"
            )
        series = yearly[column]
        if isinstance(stat, int):
            at = np.flatnonzero(years == stat)
            out[text] = float(series.iloc[at[0]]) if at.size else math.nan
        elif stat == "final":
            out[text] = float(series.iloc[-1])
        else:  # over the simulated years (1 on)
            out[text] = float(getattr(series[years >= 1], stat)())
    return out


class LandscapeCache:
    """The initial landscapes of the runs done so far, by replicate and landscape
    parameters, so that the runs of a design that leaves the landscape alone (most
    sensitivity analyses) generate each replicate's landscape once.

    A run given a copy of the cached landscape is the run that generates it again:
    the model draws the landscape's random stream whether or not it is given one,
    so the other streams are unchanged. The least recently used landscapes are
    dropped beyond ``max_bytes``. A cache travels empty (pickling keeps only its
    size), and is safe to share between the threads of a Dask worker.
    """

    def __init__(self, max_bytes: int = 256 * 2**20):
        self.max_bytes = max_bytes
        self._store: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"max_bytes": self.max_bytes}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["max_bytes"])

    def __len__(self) -> int:
        return len(self._store)

    @staticmethod
    def key(scenario, replicate: int) -> tuple:
        """What a run's initial landscape depends on (besides the experiment seed)."""
        return replicate, scenario.landscape.model_dump_json()

    def get(self, key: tuple):
        """A copy of the landscape stored under ``key``, or None."""
        with self._lock:
            entry = self._store.get(key)
            if entry is None:
                return None
            self._store.move_to_end(key)
        return entry[0].copy()

    def put(self, key: tuple, landscape) -> None:
        """Store a copy of ``landscape`` (call it before the run changes it)."""
        kept = landscape.copy(carbon=False)
        size = sum(layer.nbytes for layer in kept.layers().values())
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._store:
                return
            self._store[key] = (kept, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._store.popitem(last=False)
                self._bytes -= dropped


class ModelRunner:
    """Runs the land-use model for the runs of an experiment (picklable, so it
    travels to worker processes and Dask workers)."""

    def __init__(self, experiment: Experiment):
        self.scenarios = experiment.scenarios
        self.seed = experiment.seed
        self.outputs = experiment.outputs
        self.landscapes = LandscapeCache()

    @staticmethod
    def check_outputs(experiment: Experiment) -> dict[str, int]:
        """Check the experiment's outputs against what each base scenario's model
        reports (a model is built, not run), so that a misspelt output fails before
        the batch starts; return the bytes one run of each base scenario keeps
        (yearly table, farm table, rasters: an estimate, for batches held in memory).

        Raises
        ------
        ScenarioError
            Naming the experiment file, the output key and the allowed values.
        """
        from landsim.model import LandUseModel
        from landsim.scenario import ScenarioError

        outputs = experiment.outputs
        kept: dict[str, int] = {}
        for scenario_id, scenario in experiment.scenarios.items():
            model = LandUseModel(scenario, rng=0)
            columns = list(model.yearly_table().columns)
            rasters = model.rasters()
            layers = list(rasters)
            yearly = (
                len(columns)
                if outputs.yearly is True
                else len(outputs.yearly or []) + (1 if outputs.yearly else 0)
            )
            farms = (
                model.farm_table().shape[1] * scenario.landscape.n_farms if outputs.farms else 0
            )
            kept[scenario_id] = (
                RUN_ROW_BYTES
                + (8 * (yearly + len(KEY_COLUMNS)) * (scenario.years + 1) if yearly else 0)
                + 8 * farms
                + len(outputs.raster_years)
                * sum(rasters[k].nbytes for k in outputs.raster_layers if k in rasters)
            )
            problems = []
            values = [c for c in columns if c != "year"]  # a scalar is a value, not a year
            for i, text in enumerate(outputs.scalars):
                column, stat = parse_scalar(text, experiment.source, f"outputs.scalars.{i}")
                if column not in values:
                    problems.append(
                        (
                            f"outputs.scalars.{i}",
                            f"{text!r}: unknown column {column!r}; allowed: {', '.join(values)}",
                        )
                    )
                elif isinstance(stat, int) and stat > scenario.years:
                    problems.append(
                        (
                            f"outputs.scalars.{i}",
                            f"{text!r}: year {stat} is after the last year ({scenario.years})",
                        )
                    )
            if isinstance(outputs.yearly, list):
                for i, column in enumerate(outputs.yearly):
                    if column not in columns:
                        problems.append(
                            (
                                f"outputs.yearly.{i}",
                                f"unknown column {column!r}; allowed: {', '.join(columns)}",
                            )
                        )
            for i, layer in enumerate(outputs.raster_layers):
                if layer not in layers:
                    problems.append(
                        (
                            f"outputs.raster_layers.{i}",
                            f"unknown layer {layer!r}; allowed: {', '.join(layers)}",
                        )
                    )
            for i, year in enumerate(outputs.raster_years):
                if not 0 <= year <= scenario.years:
                    problems.append(
                        (f"outputs.raster_years.{i}", f"year {year} is outside 0-{scenario.years}")
                    )
            if problems:
                problems = [(k, f"{m} (scenario {scenario_id!r})") for k, m in problems]
                raise ScenarioError(experiment.source, problems)
        return kept

    def __call__(self, run: Run) -> RunResult:
        from landsim.model import LandUseModel
        from landsim.provenance import landsim_version

        row = key_row(run, self.seed)
        started = time.perf_counter()
        try:
            base = self.scenarios[run.scenario_id]
            scenario = base.with_overrides(run.overrides) if run.overrides else base
            key = self.landscapes.key(scenario, run.replicate)
            landscape = self.landscapes.get(key)
            columns = self._yearly_columns()
            model = LandUseModel(
                scenario,
                rng=replicate_seed(self.seed, run.replicate),
                landscape=landscape,
                indicators=columns,
            )
            if landscape is None:
                self.landscapes.put(key, model.landscape)
            rasters = self._simulate(model, scenario.years)
            yearly = model.yearly_table(columns=columns)
            scalars = compute_scalars(yearly, self.outputs.scalars)
            farms = model.farm_table() if self.outputs.farms else None
        except Exception as exc:  # recorded, and the batch goes on
            row.update(
                scenario_name=None,
                rng=describe_rng(self.seed, run.replicate),
                status="error",
                error=f"{type(exc).__name__}: {exc}",
                traceback=traceback.format_exc(limit=-8),
                elapsed_s=time.perf_counter() - started,
                landsim_version=landsim_version(),
            )
            return RunResult(row)
        row.update(
            scenario_name=scenario.name,
            rng=describe_rng(self.seed, run.replicate),
            status="ok",
            error=None,
            traceback=None,
            elapsed_s=time.perf_counter() - started,
            landsim_version=landsim_version(),
            **scalars,
        )
        return RunResult(row, self._keep_yearly(yearly), farms, rasters)

    def _simulate(self, model, years: int) -> dict[str, np.ndarray]:
        """Step the model through its years, copying the rasters kept at chosen years."""
        wanted = set(self.outputs.raster_years)
        rasters = {}

        def snapshot(year: int) -> None:
            layers = model.rasters()
            for layer in self.outputs.raster_layers:
                rasters[f"{layer}_y{year}"] = np.array(layers[layer])

        if 0 in wanted:
            snapshot(0)
        for year in range(1, years + 1):
            model.step()
            if year in wanted:
                snapshot(year)
        return rasters

    def _yearly_columns(self) -> list[str] | None:
        """The yearly columns the outputs need (None: all of them)."""
        keep = self.outputs.yearly
        if keep is True:
            return None
        needed = [parse_scalar(text)[0] for text in self.outputs.scalars]
        return list(dict.fromkeys([*needed, *(keep or [])]))

    def _keep_yearly(self, yearly: pd.DataFrame) -> pd.DataFrame | None:
        keep = self.outputs.yearly
        if keep is False:
            return None
        if keep is True:
            return yearly
        return yearly[["year", *[c for c in keep if c != "year"]]]


class FunctionRunner:
    """Runs a Python callable in place of the model: ``func(params)`` or
    ``func(params, rng)`` returns a number or a dict of named numbers.

    ``params`` is the run's override table (dotted keys); ``rng`` a Generator on the
    run's replicate stream. Used by sensitivity analysis to check the pipeline on
    functions whose indices are known.
    """

    def __init__(self, func: Callable, seed: int):
        self.func = func
        self.seed = seed
        self.wants_rng = "rng" in inspect.signature(func).parameters

    def __call__(self, run: Run) -> RunResult:
        row = key_row(run, self.seed)
        started = time.perf_counter()
        try:
            if self.wants_rng:
                rng = np.random.default_rng(replicate_seed(self.seed, run.replicate))
                value = self.func(dict(run.overrides), rng=rng)
            else:
                value = self.func(dict(run.overrides))
            scalars = value if isinstance(value, dict) else {"y": value}
            scalars = {k: float(v) for k, v in scalars.items()}
        except Exception as exc:
            row.update(
                status="error",
                error=f"{type(exc).__name__}: {exc}",
                traceback=traceback.format_exc(limit=-8),
                elapsed_s=time.perf_counter() - started,
            )
            return RunResult(row)
        row.update(
            status="ok",
            error=None,
            traceback=None,
            elapsed_s=time.perf_counter() - started,
            **scalars,
        )
        return RunResult(row)


def run_chunk(runner: Callable[[Run], RunResult], runs: list[Run]) -> list[RunResult]:
    """Execute one task: a chunk of runs, one after the other."""
    return [runner(run) for run in runs]
