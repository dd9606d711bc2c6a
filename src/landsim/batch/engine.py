""":func:`run_batch`: check an experiment before any run (main guard, memory,
outputs), cut it into chunks, execute them and stream the results.
"""

from __future__ import annotations

import ast
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from landsim.batch.backends import Backend, execute
from landsim.batch.common import (
    MAX_MEMORY_RESULTS_BYTES,
    MEMORY_ADVICE,
    REMOTE_WORKERS_GUESS,
    BatchError,
)
from landsim.batch.results import (
    TABLES,
    BatchReport,
    BatchResults,
    in_memory_results,
    load_batch,
)
from landsim.batch.runs import FunctionRunner, ModelRunner, RunResult
from landsim.batch.store import (
    BatchStore,
    _now,
    new_manifest,
)
from landsim.experiment import (
    Experiment,
    chunk_size_for,
    load_experiment,
)
from landsim.limits import available_memory_bytes, format_bytes

# --------------------------------------------------------------------------- the engine


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
                with interrupts_deferred():
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


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block ends, then raise KeyboardInterrupt, so
    that a chunk's results are committed whole or not at all. Without this, a
    Ctrl-C that lands while pyarrow writes a part can surface as pyarrow's own
    cancellation error instead of an interrupt. Outside the main thread (where no
    signal handler can be set) the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
    if received:
        raise KeyboardInterrupt


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
