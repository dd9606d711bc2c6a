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

=============  ==============================================================
module         what it holds
=============  ==============================================================
``common``     key columns, directory entries, limits, :class:`BatchError`
``runs``       one run (model or function), scalars, the landscape cache
``backends``   serial, local processes, Dask
``store``      the batch directory, its manifest and its repairs
``engine``     :func:`run_batch` and its checks before any run
``results``    :class:`BatchResults`, :func:`load_batch`, the report
=============  ==============================================================
"""

from landsim.batch.backends import (  # noqa: F401
    Backend,
    _execute_dask,
    _execute_processes,
    _failed,
    available_cores,
    execute,
)
from landsim.batch.common import (  # noqa: F401
    BATCH_ENTRIES,
    KEY_COLUMNS,
    MAX_MEMORY_RESULTS_BYTES,
    MEMORY_ADVICE,
    REMOTE_WORKERS_GUESS,
    RUN_ROW_BYTES,
    BatchError,
)
from landsim.batch.engine import (  # noqa: F401
    _check_picklable,
    _is_main_guard,
    _progress_bar,
    as_experiment,
    check_concurrent_memory,
    check_main_guard,
    check_memory_results,
    execute_experiment,
    run_batch,
    unguarded_main_call,
)
from landsim.batch.manifest import (  # noqa: F401
    _now,
    batch_meta,
    experiment_record,
    new_manifest,
    read_manifest,
)
from landsim.batch.results import (  # noqa: F401
    TABLES,
    BatchReport,
    BatchResults,
    _read_parts,
    format_report,
    in_memory_results,
    load_batch,
    results_table,
)
from landsim.batch.runs import (  # noqa: F401
    FunctionRunner,
    LandscapeCache,
    ModelRunner,
    RunResult,
    compute_scalars,
    describe_rng,
    key_row,
    run_chunk,
)
from landsim.batch.store import (  # noqa: F401
    STATUS_COLUMNS,
    TEXT_COLUMNS,
    BatchStore,
    BatchWarning,
    _chunk_parts,
    _damaged_chunk,
    _describe,
    _part_meta,
    _write_parquet,
    normalise,
    runs_frame,
    stack_with_keys,
    to_arrow,
)
