"""Where chunks of runs execute: in this process, on local worker processes
(forkserver), or on a Dask cluster; results do not depend on which.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from landsim.batch.common import BatchError
from landsim.batch.runs import RunResult, key_row, run_chunk
from landsim.experiment import (
    Run,
)

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
