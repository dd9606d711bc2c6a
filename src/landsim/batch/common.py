"""What every part of the batch engine shares: the key columns, the entries of a
batch directory, its limits, and :class:`BatchError`.
"""

from __future__ import annotations

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
