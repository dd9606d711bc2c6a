"""The batch engine: many runs, on local cores or a Dask cluster, streamed to disk.

:func:`run_batch` executes the runs of an :class:`~landsim.experiment.Experiment`
(see :mod:`landsim.experiment` for experiment files). Every multi-run feature of
landsim (``landsim compare``, sensitivity analysis) goes through it.

How it works
------------
- The runs (scenario x design point x replicate, in a fixed order) are cut into
  chunks of :func:`~landsim.experiment.chunk_size_for` runs; one chunk is one task,
  so per-task overhead (pickling, scheduling, a Parquet write) stays small.
- A task runs on one of three backends: in this process (``workers=1``), a pool of
  local processes (``workers=N``), or a Dask distributed cluster (``scheduler=
  "tcp://host:port"`` or ``dask_local=N`` for a LocalCluster). A run's result
  depends only on its scenario, its overrides and its seed
  (``SeedSequence(seed).spawn(replicates)[replicate]``), never on the backend, the
  number of workers or the order in which tasks finish.
- A run that raises is recorded (status ``"error"``, the error and its traceback)
  and the batch goes on.
- With ``out=DIR`` the results of each task are written as soon as it finishes, as
  Parquet parts of a dataset (``DIR/runs``, ``DIR/yearly``, ``DIR/farms``) and
  ``.npz`` rasters (``DIR/rasters``). A part is written to a temporary name and
  renamed, and the ``runs`` part is written last: it is the commit record of its
  chunk. An interrupted batch loses nothing already committed, and ``resume=True``
  removes uncommitted leftovers and failed records, then runs only what is missing.

The output directory
--------------------
``manifest.json``
    landsim and dependency versions, the experiment fingerprint, seed, number of
    runs, and one entry per attempt (backend, workers, start, end, counts).
``experiment.json``
    The experiment as resolved: its spec, the base scenarios in full, the points.
``runs/part-*.parquet``
    One row per run: ``run_id``, ``scenario`` (the id in the experiment),
    ``scenario_name``, ``point``, ``replicate``, ``seed`` (the root seed),
    ``rng`` (the replicate's SeedSequence), one column per override key (the dotted
    key), ``status``, ``error``, ``traceback``, ``elapsed_s``, ``landsim_version``
    and the end-of-run scalars.
``yearly/part-*.parquet``
    The yearly table of every run, with the run's keys and parameters as columns.
``farms/part-*.parquet``, ``rasters/part-*.npz``
    Per-farm tables and rasters (arrays named ``run{run_id}_{layer}_y{year}``), when
    the experiment keeps them.

Read a directory back with :func:`load_batch`.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import json
import math
import os
import platform
import sys
import threading
import time
import traceback
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from landsim.experiment import (
    Experiment,
    Run,
    chunk_size_for,
    fingerprint_of,
    load_experiment,
    parse_scalar,
    replicate_seed,
)
from landsim.limits import available_memory_bytes, format_bytes
from landsim.provenance import dependency_versions

#: The key columns of every table, in order.
KEY_COLUMNS = ("run_id", "scenario", "point", "replicate", "seed")

#: Files and folders a batch directory holds.
BATCH_ENTRIES = (
    "manifest.json",
    "experiment.json",
    "runs",
    "yearly",
    "farms",
    "rasters",
    "summary",
    "damaged",
)


#: The most memory the results of a batch held in memory (no ``out``) may take; a
#: larger batch streams to a directory (``out=``, ``landsim batch --out``).
MAX_MEMORY_RESULTS_BYTES = 2 * 2**30

#: What to do about a batch held in memory that is too large (the default advice).
MEMORY_ADVICE = (
    "stream them to a directory (out=DIR, landsim batch --out DIR), keep less "
    "(outputs.yearly, outputs.farms, outputs.raster_years) or ask for fewer runs"
)


#: Estimated bytes of one row of the run table (keys, status, scalars, strings).
RUN_ROW_BYTES = 2048

#: Workers assumed when sizing chunks for a remote Dask cluster, whose size is not
#: known before it is used (chunks then hold at most ceil(runs / 800) runs).
REMOTE_WORKERS_GUESS = 100


class BatchError(Exception):
    """A batch cannot start or continue (a user mistake: exit code 2 on the CLI)."""


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


# --------------------------------------------------------------------------- backends


@dataclass(frozen=True)
class Backend:
    """Where tasks run: ``kind`` is "serial", "processes" or "dask"."""

    kind: str
    workers: int = 1
    scheduler: str | None = None

    @classmethod
    def choose(
        cls,
        workers: int | None = None,
        scheduler: str | None = None,
        dask_local: int | None = None,
    ) -> Backend:
        given = [
            n
            for n, v in (
                ("workers", workers),
                ("scheduler", scheduler),
                ("dask_local", dask_local),
            )
            if v is not None
        ]
        if len(given) > 1:
            raise BatchError(f"give at most one of {', '.join(given)}")
        if scheduler is not None:
            return cls("dask", 0, scheduler)
        if dask_local is not None:
            if dask_local < 1:
                raise BatchError(f"dask_local must be at least 1 (got {dask_local})")
            return cls("dask", dask_local, None)
        if workers is None:
            workers = available_cores()
        if workers < 1:
            raise BatchError(f"workers must be at least 1 (got {workers})")
        return cls("serial", 1) if workers == 1 else cls("processes", workers)

    def describe(self) -> str:
        if self.kind == "dask":
            return (
                f"dask scheduler {self.scheduler}"
                if self.scheduler
                else (f"dask LocalCluster, {self.workers} workers")
            )
        return "serial" if self.kind == "serial" else f"{self.workers} local processes"


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def execute(runner, chunks: list[list[Run]], backend: Backend) -> Iterator[list[RunResult]]:
    """Yield the results of each chunk as it finishes (in any order)."""
    if not chunks:
        return
    if backend.kind == "serial":
        for chunk in chunks:
            yield run_chunk(runner, chunk)
    elif backend.kind == "processes":
        yield from _execute_processes(runner, chunks, backend.workers)
    else:
        yield from _execute_dask(runner, chunks, backend)


def _execute_processes(runner, chunks, workers) -> Iterator[list[RunResult]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # forkserver: no fork of a threaded parent (tqdm, Dask); workers import landsim once.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(["landsim.batch", "landsim.model"])
    pool = ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context)
    try:
        futures = {pool.submit(run_chunk, runner, chunk): chunk for chunk in chunks}
        for future in as_completed(futures):
            try:
                results = future.result()
            except BrokenProcessPool as exc:
                results = _failed(futures[future], runner, f"worker process died: {exc}")
            yield results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _execute_dask(runner, chunks, backend: Backend) -> Iterator[list[RunResult]]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise BatchError(
            "Dask backends need the 'dask' extra: pip install 'landsim[dask]'"
        ) from None
    with contextlib.ExitStack() as stack:
        if backend.scheduler:
            try:
                if Path(backend.scheduler).is_file():  # a scheduler file (dask scheduler
                    client = stack.enter_context(  # --scheduler-file), as on SLURM
                        Client(scheduler_file=backend.scheduler, timeout="20s")
                    )
                else:
                    client = stack.enter_context(Client(backend.scheduler, timeout="20s"))
            except OSError as exc:
                raise BatchError(
                    f"cannot reach the Dask scheduler at {backend.scheduler}: {exc}"
                ) from None
        else:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=backend.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=40,
                )
            )
            client = stack.enter_context(Client(cluster))
        [shared] = client.scatter([runner], broadcast=True)
        futures = [client.submit(run_chunk, shared, chunk, pure=False) for chunk in chunks]
        chunk_of = {f.key: c for f, c in zip(futures, chunks, strict=True)}
        try:
            for future in as_completed(futures):
                try:
                    yield future.result()
                except Exception as exc:  # a worker lost or a task that could not run
                    yield _failed(chunk_of[future.key], runner, f"dask task failed: {exc!r}")
        finally:
            client.cancel(futures)


def _failed(chunk: list[Run], runner, message: str) -> list[RunResult]:
    seed = getattr(runner, "seed", 0)
    results = []
    for run in chunk:
        row = key_row(run, seed)
        row.update(status="error", error=message, traceback=None, elapsed_s=math.nan)
        results.append(RunResult(row))
    return results


# --------------------------------------------------------------------------- storage


#: Text columns of the tables, stored as Arrow strings whether or not they hold values.
TEXT_COLUMNS = (
    "scenario",
    "scenario_name",
    "rng",
    "status",
    "error",
    "traceback",
    "landsim_version",
)


def to_arrow(frame: pd.DataFrame):
    """A table as Arrow, with fixed types for the text columns (so that parts with and
    without failures read back alike)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name in TEXT_COLUMNS:
        i = table.schema.get_field_index(name)
        if i >= 0 and table.schema.field(i).type != pa.string():
            table = table.set_column(i, name, table.column(i).cast(pa.string()))
    return table


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """What a table looks like after a round trip through Parquet: in-memory results
    and results read from a batch directory have the same dtypes."""
    return to_arrow(frame).to_pandas()


def _write_parquet(frame: pd.DataFrame, path: Path, meta: dict) -> None:
    import pyarrow.parquet as pq

    table = to_arrow(frame)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"landsim": json.dumps(meta).encode()}
    )
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


class BatchStore:
    """A batch directory: what is already committed, and committing new chunks."""

    def __init__(self, out: str | Path, experiment: Experiment):
        self.root = Path(out)
        self.experiment = experiment
        self.attempt = 0
        self.meta = batch_meta(experiment)
        #: What resuming found damaged and did about it (also warned, and recorded in
        #: the attempt's manifest entry).
        self.repairs: list[str] = []

    # -- opening

    def open(self, *, resume: bool, force: bool, backend: Backend) -> set[int]:
        """Prepare the directory; return the ids of runs already done (resume)."""
        from landsim.outdir import OutputDirError, check_out_dir

        root = self.root
        try:  # a directory, that can be created, and holds no other results
            check_out_dir(root, "batch", option="", same_kind="caller")
        except OutputDirError as exc:
            raise BatchError(str(exc)) from None
        manifest_path = root / "manifest.json"
        holds = [name for name in BATCH_ENTRIES if (root / name).exists()]
        if resume and not manifest_path.exists():
            if holds:
                raise BatchError(
                    f"{root}: holds {', '.join(holds)} but no manifest.json: not a batch "
                    "this version can resume; choose another directory or pass --force"
                )
            resume = False  # nothing there yet: --resume starts the batch
        if resume:
            for folder in ("runs", "yearly", "farms", "rasters"):
                if (root / folder).exists() and not (root / folder).is_dir():
                    self._set_aside(root / folder, "is a file, not a folder")
            manifest, problem = read_manifest(root)
            if manifest is None:
                manifest = self._rebuild_manifest(problem)
            if manifest.get("fingerprint") != self.meta["fingerprint"]:
                raise BatchError(
                    f"{root}: holds a different experiment ({manifest.get('experiment')!r}, "
                    f"fingerprint {manifest.get('fingerprint')}; this one is "
                    f"{self.meta['fingerprint']}): resume only the experiment that made it"
                )
            done = self._clean_for_resume()
            self.attempt = max(len(manifest["attempts"]), self._next_attempt())
        else:
            if holds and not force:
                raise BatchError(
                    f"{root}: already holds a batch ({', '.join(holds)}); resume it with "
                    "--resume, choose another directory, or pass --force to replace it"
                )
            if holds:
                self._remove_batch()
            manifest = self._new_manifest()
            done = set()
        for folder in ("runs", "yearly", "farms", "rasters"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        attempt = {
            "started": _now(),
            "backend": backend.describe(),
            "command": sys.argv,
            "already_done": len(done),
        }
        if self.repairs:
            attempt["repaired"] = list(self.repairs)
        manifest["attempts"].append(attempt)
        self.manifest = manifest
        self._write_manifest()
        (root / "experiment.json").write_text(
            json.dumps(experiment_record(self.experiment), indent=1, default=str) + "\n",
            encoding="utf-8",
        )
        return done

    def _new_manifest(self) -> dict:
        return new_manifest(self.experiment)

    def _remove_batch(self) -> None:
        import shutil

        for name in BATCH_ENTRIES:
            path = self.root / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    def _repair(self, message: str) -> None:
        self.repairs.append(message)
        warnings.warn(message, BatchWarning, stacklevel=2)

    def _set_aside(self, path: Path, problem: str) -> None:
        """Move a damaged file or folder into ``DIR/damaged/`` (never deleted)."""
        aside = self.root / "damaged"
        aside.mkdir(exist_ok=True)
        name = "-".join(path.relative_to(self.root).parts)
        target, n = aside / name, 1
        while target.exists():
            target, n = aside / f"{name}.{n}", n + 1
        os.replace(path, target)
        self._repair(f"{path} {problem}: moved to {target}")

    def _rebuild_manifest(self, problem: str) -> dict:
        """A new manifest for a batch whose manifest is damaged, if what the directory
        holds shows that this experiment made it (its parts and experiment.json record
        the fingerprint); the damaged one is set aside, and the runs it listed are kept."""
        root = self.root
        fingerprints = set()
        for part in sorted((root / "runs").glob("part-*.parquet")):
            meta = _part_meta(part)
            if meta is not None:
                fingerprints.add(meta.get("fingerprint"))
        try:
            record = json.loads((root / "experiment.json").read_text("utf-8"))
            fingerprints.add(fingerprint_of(record))
        except (OSError, ValueError, TypeError, AttributeError):
            pass
        ours = self.meta["fingerprint"]
        if fingerprints - {ours}:
            other = sorted(str(f) for f in fingerprints - {ours})
            raise BatchError(
                f"{root}/manifest.json {problem}, and the batch's parts record another "
                f"experiment (fingerprint {', '.join(other)}; this one is {ours}): resume "
                "it with the experiment that made it, or pass --force to replace the batch"
            )
        path = root / "manifest.json"
        if path.exists():
            self._set_aside(path, problem)
        manifest = self._new_manifest()
        manifest["rebuilt"] = _now()
        self._repair(
            f"{path}: rebuilt from the runs in {root}/runs (the earlier attempts it listed "
            "are lost; no finished run is)"
        )
        return manifest

    def _next_attempt(self) -> int:
        """One more than the highest attempt number in the parts' names (so that a
        rebuilt manifest never reuses a part name)."""
        numbers = [
            int(p.name.split("-")[1])
            for folder in ("runs", "yearly", "farms", "rasters")
            for p in (self.root / folder).glob("part-*")
            if p.name.split("-")[1].isdigit()
        ]
        return max(numbers, default=-1) + 1

    def _clean_for_resume(self) -> set[int]:
        """Drop temporary files, parts of uncommitted chunks and failed records; set
        aside damaged parts (their chunk's runs run again); return the ids of the runs
        that finished."""
        root = self.root
        for tmp in root.glob("*/*.tmp"):
            tmp.unlink()
        done: set[int] = set()
        tables: dict[str, pd.DataFrame] = {}
        for part in sorted((root / "runs").glob("part-*.parquet")):
            try:
                runs = pd.read_parquet(part)
                if not {"run_id", "status"} <= set(runs.columns):
                    raise ValueError("no run_id or status column")
            except Exception as exc:
                self._set_aside(part, f"is damaged ({_describe(exc)}); its runs run again")
                continue
            tables[part.stem] = runs
        for name in list(tables):  # a chunk whose other parts are damaged runs again
            problem = _damaged_chunk(root, name)
            if problem is not None:
                del tables[name]
                for path in _chunk_parts(root, name):
                    self._set_aside(path, f"belongs to a damaged chunk ({problem})")
        for folder, suffix in (("yearly", ".parquet"), ("farms", ".parquet"), ("rasters", ".npz")):
            for part in (root / folder).glob(f"part-*{suffix}"):
                if part.name.removesuffix(suffix) not in tables:
                    part.unlink()
        for name, runs in tables.items():
            part = root / "runs" / f"{name}.parquet"
            ok = runs["status"] == "ok"
            if not ok.all():  # failed runs are run again: keep only what succeeded
                if ok.any():
                    _write_parquet(runs[ok], part, self.meta)
                else:
                    part.unlink()
            done.update(int(i) for i in runs.loc[ok, "run_id"])
        return done

    # -- committing

    def commit(self, sequence: int, results: list[RunResult]) -> None:
        """Write one chunk's results; the ``runs`` part last (the commit record)."""
        name = f"part-{self.attempt:03d}-{sequence:05d}"
        for table in ("yearly", "farms"):
            kept = [r for r in results if getattr(r, table) is not None]
            if kept:
                frame = stack_with_keys(
                    [getattr(r, table) for r in kept],
                    [r.row for r in kept],
                    self.experiment.parameters,
                )
                _write_parquet(frame, self.root / table / f"{name}.parquet", self.meta)
        arrays = {f"run{r.row['run_id']}_{k}": v for r in results for k, v in r.rasters.items()}
        if arrays:
            tmp = self.root / "rasters" / f"{name}.tmp"
            with tmp.open("wb") as fh:
                np.savez_compressed(fh, **arrays)
            os.replace(tmp, self.root / "rasters" / f"{name}.npz")
        runs = runs_frame([r.row for r in results], self.experiment.parameters)
        _write_parquet(runs, self.root / "runs" / f"{name}.parquet", self.meta)

    def close(self, n_ok: int, n_failed: int, interrupted: bool) -> None:
        self.manifest["attempts"][-1].update(
            finished=_now(), ok=n_ok, failed=n_failed, interrupted=interrupted
        )
        self._write_manifest()

    def _write_manifest(self) -> None:
        path = self.root / "manifest.json"
        tmp = path.with_name("manifest.json.tmp")
        tmp.write_text(json.dumps(self.manifest, indent=2, default=str) + "\n", "utf-8")
        os.replace(tmp, path)


class BatchWarning(UserWarning):
    """Something in a batch directory was damaged and has been dealt with."""


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def read_manifest(root: Path) -> tuple[dict | None, str | None]:
    """A batch directory's manifest, or (None, what is wrong with it)."""
    path = root / "manifest.json"
    if path.is_dir():
        return None, "is a directory, not a file"
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        return None, "is not UTF-8 text"
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    if not text.strip():
        return None, "is empty"
    try:
        data = json.loads(text)
    except ValueError as exc:
        return None, f"is not valid JSON ({exc})"
    if not isinstance(data, dict):
        return None, f"holds a JSON {type(data).__name__}, not an object"
    if not isinstance(data.get("attempts"), list):
        return None, "has no list of attempts"
    return data, None


def _part_meta(part: Path) -> dict | None:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(part).metadata or {}
        return json.loads(meta[b"landsim"])
    except Exception:
        return None


def _chunk_parts(root: Path, name: str) -> list[Path]:
    paths = [root / folder / f"{name}.parquet" for folder in ("yearly", "farms")]
    paths += [root / "rasters" / f"{name}.npz", root / "runs" / f"{name}.parquet"]
    return [p for p in paths if p.exists()]


def _damaged_chunk(root: Path, name: str) -> str | None:
    """What is wrong with a committed chunk's yearly, farm or raster part (their
    footers and indexes are read, not their data), or None."""
    import zipfile

    import pyarrow.parquet as pq

    for path in _chunk_parts(root, name)[:-1]:
        try:
            if path.suffix == ".npz":
                with zipfile.ZipFile(path) as archive:
                    archive.namelist()
            else:
                pq.read_metadata(path)
        except Exception as exc:
            return f"{path.name} in {path.parent.name}/: {_describe(exc)}"
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def batch_meta(experiment: Experiment) -> dict:
    """What every part of a batch records about its experiment (Parquet metadata)."""
    return {
        "experiment": experiment.name,
        "fingerprint": experiment.fingerprint(),
        "seed": experiment.seed,
    }


def new_manifest(experiment: Experiment) -> dict:
    """The manifest of a new batch (``attempts`` empty)."""
    from landsim.provenance import landsim_version

    return {
        "kind": "batch",
        "landsim_version": landsim_version(),
        **batch_meta(experiment),
        "experiment_file": experiment.source,
        "runs": len(experiment),
        "replicates": experiment.replicates,
        "seed_rule": "run stream = numpy.random.SeedSequence(seed).spawn(replicates)[replicate]",
        "created": _now(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dependencies": dependency_versions(("distributed",)),
        "attempts": [],
    }


def stack_with_keys(
    frames: list[pd.DataFrame], rows: list[dict], parameters: list[str]
) -> pd.DataFrame:
    """Stack the tables of several runs, each prefixed with its run's keys and
    parameter values (one vectorised pass, not one per run)."""
    lengths = [len(f) for f in frames]
    body = pd.concat(frames, ignore_index=True)
    columns = [*KEY_COLUMNS, *parameters]
    keys = pd.DataFrame(
        {c: np.repeat(np.array([r.get(c) for r in rows], dtype=object), lengths) for c in columns}
    ).infer_objects()
    body = body.drop(columns=[c for c in columns if c in body.columns])
    return pd.concat([keys, body], axis=1)


#: Run-table columns after the keys and parameters, before the scalars.
STATUS_COLUMNS = (
    "scenario_name",
    "rng",
    "status",
    "error",
    "traceback",
    "elapsed_s",
    "landsim_version",
)


def runs_frame(rows: list[dict], parameters: list[str]) -> pd.DataFrame:
    """The run table of some results, with a fixed column order."""
    frame = pd.DataFrame(rows)
    first = [*KEY_COLUMNS, *parameters, *STATUS_COLUMNS]
    for column in first:
        if column not in frame.columns:
            frame[column] = None
    for column in ("error", "traceback", "scenario_name", "rng", "landsim_version"):
        frame[column] = frame[column].astype(object)
    rest = [c for c in frame.columns if c not in first]
    return frame[first + rest]


# --------------------------------------------------------------------------- the engine


@dataclass
class BatchReport:
    """Counts of a finished (or interrupted) :func:`run_batch` call."""

    total: int
    already_done: int
    ok: int
    failed: int
    interrupted: bool = False
    elapsed_s: float = 0.0
    backend: str = ""
    started: str = ""
    finished: str = ""


def run_batch(
    experiment,
    *,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    chunk_size: int | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = False,
    table: str | None = None,
    function: Callable | None = None,
    report: list | None = None,
) -> BatchResults:
    """Run an experiment and return its results.

    Parameters
    ----------
    experiment : Experiment, path or dict
        An experiment file, a validated :class:`~landsim.experiment.Experiment`, or
        its contents as a dict.
    out : path, optional
        Stream the results to this directory as runs finish (see the module
        docstring). Without it, results stay in memory.
    workers : int, optional
        Local processes (default: every core of this machine; 1 runs in this process).
    scheduler : str, optional
        Address of a Dask scheduler (``"tcp://host:8786"``).
    dask_local : int, optional
        Start a Dask LocalCluster with this many single-threaded worker processes.
    chunk_size : int, optional
        Runs per task (default: :func:`~landsim.experiment.chunk_size_for`).
    resume : bool
        Continue the batch in ``out``: run only what is missing or failed (a
        directory with no batch yet starts one, so a cluster job can always resume).
    force : bool
        Replace a batch already in ``out``.
    progress : bool
        Show a progress bar (tqdm, on stderr).
    table : {"runs", "yearly", "farms"}, optional
        Deprecated: return only this table (a DataFrame), as ``run_batch`` did before
        it returned :class:`BatchResults`; use ``.runs``, ``.yearly`` or ``.farms``.
    function : callable, optional
        Evaluate ``function(params)`` (or ``function(params, rng=...)``) in place of
        the land-use model; it returns a number (column ``y``) or a dict of numbers.
    report : list, optional
        If given, a :class:`BatchReport` is appended to it.

    Returns
    -------
    BatchResults
        The run table (``.runs``), the yearly and farm tables (``.yearly``,
        ``.farms``), the rasters kept (``.rasters(run_id)``), the manifest and the
        counts of this call (``.report``), sorted by ``run_id``, including runs done
        by earlier attempts when resuming; with ``out`` it is ``load_batch(out)``.
        Failed runs appear in the run table with ``status == "error"``; they do not
        raise.

    Raises
    ------
    ScenarioError
        For an invalid experiment (before anything runs).
    BatchError
        For an output directory or backend that cannot be used.
    """
    if table is not None:
        if table not in TABLES:
            raise ValueError(f"table must be 'runs', 'yearly' or 'farms' (got {table!r})")
        warnings.warn(
            f"run_batch(table={table!r}) is deprecated: run_batch returns BatchResults; "
            f"use run_batch(...).{table}",
            DeprecationWarning,
            stacklevel=2,
        )
    experiment = as_experiment(experiment)
    if resume and out is None:
        raise BatchError("resume needs an output directory (out=)")
    counts: list[BatchReport] = []
    try:
        results = execute_experiment(
            experiment,
            out=out,
            workers=workers,
            scheduler=scheduler,
            dask_local=dask_local,
            chunk_size=chunk_size,
            resume=resume,
            force=force,
            progress=progress,
            function=function,
            report=counts,
        )
    finally:
        if report is not None:
            report.extend(counts)
    if out is not None:
        batch = load_batch(out)
        batch.report = counts[0]
    else:
        manifest = new_manifest(experiment)
        done = counts[0]
        manifest["attempts"].append(
            {
                "started": done.started,
                "backend": done.backend,
                "command": sys.argv,
                "already_done": 0,
                "finished": done.finished,
                "ok": done.ok,
                "failed": done.failed,
                "interrupted": done.interrupted,
            }
        )
        batch = in_memory_results(experiment, results, manifest, done)
    return batch.table(table) if table is not None else batch


def execute_experiment(
    experiment: Experiment,
    *,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    chunk_size: int | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = False,
    function: Callable | None = None,
    report: list | None = None,
    memory_advice: str = MEMORY_ADVICE,
) -> list[RunResult]:
    """Run an experiment; return the :class:`RunResult` of every run made now, in
    ``run_id`` order (none with ``out``: those are on disk). The engine behind
    :func:`run_batch`, for callers that need whole results (``compare``)."""
    backend = Backend.choose(workers, scheduler, dask_local)
    check_main_guard(backend)
    if function is None:  # a function in place of the model is not a model run
        check_concurrent_memory(experiment, backend)
    if chunk_size is not None and chunk_size < 1:
        raise BatchError(f"chunk_size must be at least 1 (got {chunk_size})")
    if function is None:
        kept = ModelRunner.check_outputs(experiment)
        if out is None:
            check_memory_results(experiment, kept, memory_advice)
        runner = ModelRunner(experiment)
    else:
        runner = FunctionRunner(function, experiment.seed)
    if backend.kind == "processes":
        _check_picklable(runner)

    store = BatchStore(out, experiment) if out is not None else None
    done = store.open(resume=resume, force=force, backend=backend) if store else set()
    todo = [run for run in experiment.runs() if run.run_id not in done]
    size = chunk_size or chunk_size_for(len(todo), backend.workers or REMOTE_WORKERS_GUESS)
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]

    kept: list[RunResult] = []
    counts = BatchReport(len(experiment), len(done), 0, 0, backend=backend.describe())
    counts.started = _now()
    started = time.perf_counter()
    bar = _progress_bar(len(experiment), len(done), enabled=progress)
    try:
        for sequence, results in enumerate(execute(runner, chunks, backend)):
            if store is not None:
                store.commit(sequence, results)
            else:
                kept.extend(results)
            failed = sum(not r.ok for r in results)
            counts.ok += len(results) - failed
            counts.failed += failed
            if bar is not None:
                bar.update(len(results))
                bar.set_postfix(failed=counts.failed, refresh=False)
    except KeyboardInterrupt:
        counts.interrupted = True
        raise
    finally:
        counts.elapsed_s = time.perf_counter() - started
        counts.finished = _now()
        if bar is not None:
            bar.close()
        if store is not None:
            store.close(counts.ok, counts.failed, counts.interrupted)
        if report is not None:
            report.append(counts)
    return sorted(kept, key=lambda r: r.row["run_id"])


def _is_main_guard(test: ast.expr) -> bool:
    """Whether an ``if`` test is ``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    mains = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(mains) == 1


def unguarded_main_call() -> tuple[str, int] | None:
    """Where the main script calls into landsim from its top level outside
    ``if __name__ == "__main__":`` (file, line), or None (guarded, interactive, or
    not a script whose source can be read)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path:
        return None
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "<module>" and frame.f_globals.get("__name__") == "__main__":
            break
        frame = frame.f_back
    if frame is None:
        return None
    line = frame.f_lineno
    try:
        tree = ast.parse(Path(frame.f_code.co_filename).read_text("utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.If)
            and _is_main_guard(node.test)
            and node.body[0].lineno <= line <= (node.body[-1].end_lineno or line)
        ):
            return None
    return frame.f_code.co_filename, line


def check_main_guard(backend: Backend) -> None:
    """Refuse, before any run, a batch on local worker processes started from the top
    level of a script without ``if __name__ == "__main__":``: each worker process
    imports the script again (forkserver and spawn do), which would start the batch
    again inside it and kill the worker.

    Raises
    ------
    BatchError
        Naming the script and line, and what to add.
    """
    if not (backend.kind == "processes" or (backend.kind == "dask" and not backend.scheduler)):
        return
    where = unguarded_main_call()
    if where is None:
        return
    path, line = where
    raise BatchError(
        f"{path}, line {line}: runs a batch on {backend.describe()} from the top level of "
        "the script. Each worker process starts by importing the script again, which would "
        "run the batch again inside it: put the code that starts it under `if __name__ == "
        '"__main__":` (see docs/batch.md), or run in this process with workers=1'
    )


def check_concurrent_memory(experiment: Experiment, backend: Backend) -> None:
    """Refuse, before any run, a local batch whose runs at once (one per worker
    process) would not fit in this machine's memory: the largest run's estimate
    (:func:`landsim.limits.model_memory_bytes`) times the local workers. A remote
    cluster's workers are their own machines' concern.

    Raises
    ------
    BatchError
        With what one run needs, what the workers need together, what is
        available, and how many workers would fit.
    """
    if backend.kind == "dask" and backend.scheduler:
        return
    workers = 1 if backend.kind == "serial" else backend.workers
    per_run = experiment.largest_run_bytes
    available = available_memory_bytes()
    if per_run * workers <= available:
        return
    fit = available // per_run if per_run else 0
    advice = f"use --workers {fit} (workers={fit})" if fit >= 1 else "make the landscape smaller"
    raise BatchError(
        f"{experiment.source}: the largest run needs about {format_bytes(per_run)} of memory, "
        f"{workers} at once (on {backend.describe()}) about {format_bytes(per_run * workers)}, "
        f"but only {format_bytes(available)} is available: {advice}"
    )


def check_memory_results(
    experiment: Experiment, kept: dict[str, int], advice: str = MEMORY_ADVICE
) -> None:
    """Refuse a batch held in memory whose results would pass
    :data:`MAX_MEMORY_RESULTS_BYTES` (counted before any run)."""
    per_point = len(experiment.points) * experiment.replicates
    need = sum(kept.values()) * per_point
    if need > MAX_MEMORY_RESULTS_BYTES:
        gb = 2**30
        raise BatchError(
            f"{experiment.source}: the results of {len(experiment):,} runs would take about "
            f"{need / gb:,.1f} GB of memory (the limit for a batch held in memory is "
            f"{MAX_MEMORY_RESULTS_BYTES / gb:,.0f} GB, landsim.batch.MAX_MEMORY_RESULTS_BYTES): "
            f"{advice}"
        )


def _check_picklable(runner) -> None:
    import pickle

    try:
        pickle.dumps(runner)
    except Exception as exc:
        raise BatchError(
            f"cannot send the runs to worker processes ({type(exc).__name__}: {exc}); "
            "define the function at module level, or use workers=1 or a Dask backend"
        ) from None


def _progress_bar(total: int, initial: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="run",
        desc="runs",
        file=sys.stderr,
        dynamic_ncols=True,
        smoothing=0.1,
    )


def as_experiment(experiment) -> Experiment:
    if isinstance(experiment, Experiment):
        return experiment
    if isinstance(experiment, dict):
        return Experiment.from_dict(experiment)
    return load_experiment(experiment)


def results_table(results: list[RunResult], parameters: list[str], table: str) -> pd.DataFrame:
    """Assemble in-memory results into the requested table, ordered by run."""
    results = sorted(results, key=lambda r: r.row["run_id"])
    if table == "runs":
        return normalise(runs_frame([r.row for r in results], parameters))
    kept = [r for r in results if getattr(r, table) is not None]
    if not kept:
        return pd.DataFrame()
    return normalise(
        stack_with_keys([getattr(r, table) for r in kept], [r.row for r in kept], parameters)
    )


# --------------------------------------------------------------------------- reading


#: The tables of a batch and the columns they are sorted by.
TABLES = {
    "runs": ["run_id"],
    "yearly": ["run_id", "year"],
    "farms": ["run_id", "farm_id"],
}


class BatchResults:
    """The results of a batch: what :func:`run_batch` returns and :func:`load_batch`
    reads back from a directory (the same class, the same tables).

    Attributes
    ----------
    runs : pandas.DataFrame
        One row per run (keys, parameters, status, error, scalars), by ``run_id``.
        (This is the table ``run_batch`` returned before it returned this object.)
    yearly : pandas.DataFrame
        The yearly tables of the runs that kept them, by run and year (empty if none).
    farms : pandas.DataFrame
        The final farm tables, by run and farm (empty unless ``outputs.farms``).
    manifest : dict
        Versions, seed, fingerprint and one entry per attempt (as ``manifest.json``).
    experiment : dict
        The experiment as resolved: its spec, base scenarios and points (as
        ``experiment.json``).
    root : Path or None
        The batch directory (None for a batch held in memory).
    report : BatchReport or None
        The counts of the :func:`run_batch` call that returned it (None when read by
        :func:`load_batch`).

    A directory's tables are read when first used, so opening a large batch for its
    run table does not read its yearly table.
    """

    def __init__(
        self,
        manifest: dict,
        experiment: dict,
        *,
        root: str | Path | None = None,
        runs: pd.DataFrame | None = None,
        yearly: pd.DataFrame | None = None,
        farms: pd.DataFrame | None = None,
        rasters: dict[int, dict[str, np.ndarray]] | None = None,
        report: BatchReport | None = None,
    ):
        self.manifest = manifest
        self.experiment = experiment
        self.root = Path(root) if root is not None else None
        self._tables = {"runs": runs, "yearly": yearly, "farms": farms}
        self._rasters = rasters
        self.report = report

    def _table(self, name: str) -> pd.DataFrame:
        if self._tables[name] is None:
            if self.root is None:
                self._tables[name] = pd.DataFrame()
            else:
                self._tables[name] = _read_parts(self.root / name, TABLES[name])
        return self._tables[name]

    @property
    def runs(self) -> pd.DataFrame:
        return self._table("runs")

    @property
    def yearly(self) -> pd.DataFrame:
        return self._table("yearly")

    @property
    def farms(self) -> pd.DataFrame:
        return self._table("farms")

    def table(self, name: str) -> pd.DataFrame:
        """One of the tables by name: "runs", "yearly" or "farms"."""
        if name not in TABLES:
            raise ValueError(f"table must be 'runs', 'yearly' or 'farms' (got {name!r})")
        return self._table(name)

    @property
    def parameters(self) -> list[str]:
        """The override keys of the design, in order of first appearance."""
        keys: dict[str, None] = {}
        for point in self.experiment.get("points", []):
            keys.update(dict.fromkeys(point))
        return list(keys)

    @property
    def failures(self) -> pd.DataFrame:
        runs = self.runs
        return runs[runs["status"] != "ok"] if len(runs) else runs

    def __len__(self) -> int:
        return len(self.runs)

    def __repr__(self) -> str:
        runs = self.runs
        failed = len(self.failures)
        where = f"in {self.root}" if self.root is not None else "in memory"
        name = self.manifest.get("experiment", "?")
        return f"BatchResults({name!r}: {len(runs)} runs, {failed} failed; {where})"

    def __getitem__(self, key):
        raise TypeError(
            "BatchResults is not a table: run_batch returns the run table as .runs "
            f"(results.runs[{key!r}]), the yearly table as .yearly, the farm tables as .farms"
        )

    def reproduce(self, run_id: int):
        """Run one run of the batch again, alone, from what the batch records (the
        resolved scenario, the run's overrides and its stream); returns a
        :class:`~landsim.simulation.SimulationResult` whose yearly table equals the
        batch's rows for that run."""
        from landsim.scenario import Scenario
        from landsim.simulation import simulate

        experiment = self.experiment
        where = self.root if self.root is not None else "this batch"
        replicates = experiment["spec"]["replicates"]
        n_points = len(experiment["points"])
        ids = list(experiment["scenarios"])
        if not 0 <= run_id < len(ids) * n_points * replicates:
            raise BatchError(f"{where}: no run {run_id}")
        scenario_id = ids[run_id // (n_points * replicates)]
        data = experiment["scenarios"][scenario_id]
        if data is None:
            raise BatchError(f"{where}: run {run_id} evaluated a Python function, not a scenario")
        point = experiment["points"][(run_id // replicates) % n_points]
        source = f"{self.root}/experiment.json" if self.root is not None else "<batch>"
        scenario = Scenario.from_dict(data, source=source)
        if point:
            scenario = scenario.with_overrides(point)
        seed = replicate_seed(experiment["spec"]["seed"], run_id % replicates)
        return simulate(scenario, rng=seed)

    def rasters(self, run_id: int) -> dict[str, np.ndarray]:
        """The rasters kept for one run, by ``{layer}_y{year}``."""
        if self._rasters is not None:
            return dict(self._rasters.get(run_id, {}))
        if self.root is None:
            return {}
        prefix = f"run{run_id}_"
        out = {}
        for part in sorted((self.root / "rasters").glob("part-*.npz")):
            with np.load(part) as data:
                for name in data.files:
                    if name.startswith(prefix):
                        out[name.removeprefix(prefix)] = data[name]
        return out


def _read_parts(folder: Path, sort: list[str]) -> pd.DataFrame:
    parts = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
    frames = []
    for part in parts:
        try:
            frames.append(pd.read_parquet(part))
        except Exception as exc:
            raise BatchError(
                f"{part}: damaged ({_describe(exc)}); resume the batch (landsim batch "
                f"EXPERIMENT --out {folder.parent} --resume) to set it aside and run its "
                "runs again"
            ) from None
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    keys = [c for c in sort if c in frame.columns]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def experiment_record(experiment: Experiment) -> dict:
    """The experiment as ``experiment.json`` records it: spec, base scenarios, points."""
    return {**experiment.to_dict(), "points": experiment.points}


def load_batch(out: str | Path) -> BatchResults:
    """Read a batch directory: manifest, experiment, and the run, yearly and farm
    tables (each read when first used)."""
    root = Path(out)
    manifest_path = root / "manifest.json"
    if not manifest_path.exists():
        raise BatchError(f"{root}: not a batch directory (no manifest.json)")
    resume = f"resume the batch (landsim batch EXPERIMENT --out {root} --resume) to "
    manifest, problem = read_manifest(root)
    if manifest is None:
        raise BatchError(
            f"{manifest_path} {problem}: {resume}rebuild it (its finished runs are kept)"
        )
    try:
        experiment = json.loads((root / "experiment.json").read_text("utf-8"))
        if not isinstance(experiment, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise BatchError(
            f"{root / 'experiment.json'} is damaged or missing ({_describe(exc)}): {resume}"
            "write it again"
        ) from None
    return BatchResults(manifest, experiment, root=root)


def in_memory_results(
    experiment: Experiment, results: list[RunResult], manifest: dict, report: BatchReport
) -> BatchResults:
    """The results of a batch held in memory, with the dtypes of a directory's."""
    results = sorted(results, key=lambda r: r.row["run_id"])
    rasters = {r.row["run_id"]: r.rasters for r in results if r.rasters}
    return BatchResults(
        manifest,
        json.loads(json.dumps(experiment_record(experiment), default=str)),
        runs=results_table(results, experiment.parameters, "runs"),
        yearly=results_table(results, experiment.parameters, "yearly"),
        farms=results_table(results, experiment.parameters, "farms"),
        rasters=rasters,
        report=report,
    )


def format_report(report: BatchReport, runs: pd.DataFrame, out) -> str:
    """The closing lines of ``landsim batch``: counts, time, and the failures."""
    failed = runs[runs["status"] != "ok"] if len(runs) else runs
    lines = [
        f"{report.total} runs: {report.already_done} done before, {report.ok} ran now, "
        f"{report.failed} failed now, in {report.elapsed_s:.1f} s; results in {out}"
    ]
    if len(failed):
        lines.append(f"{len(failed)} run(s) failed (status 'error' in {out}/runs):")
        params = [c for c in failed.columns if "." in c]
        for _, row in failed.head(10).iterrows():
            values = ", ".join(f"{p}={row[p]}" for p in params if pd.notna(row[p]))
            where = f"run {row['run_id']} (scenario {row['scenario']}, point {row['point']}, "
            where += f"replicate {row['replicate']}{', ' + values if values else ''})"
            lines.append(f"  {where}: {row['error']}")
        if len(failed) > 10:
            lines.append(f"  ... and {len(failed) - 10} more")
        lines.append("fix the cause, then run again with --resume to rerun only these")
    return "\n".join(lines)
