"""Memory limits: estimate what a model needs and refuse what this machine cannot hold.

A model keeps about a dozen raster layers of ``height x width`` cells and a few
arrays (and one Mesa agent) per farm, so its memory grows linearly with cells and
farms. :func:`model_memory_bytes` estimates its peak, :func:`available_memory_bytes`
says what the machine (or the process's control group) can still give, and
:func:`check_model_memory` refuses a scenario whose model would not fit, with a
:class:`~landsim.scenario.ScenarioError` that names the keys and both amounts,
instead of letting the run swap or be killed. Batches multiply the per-run estimate
by the number of workers.

Calibration
-----------
Peak memory was measured with :mod:`tracemalloc` (numpy reports its array
allocations to it) while building a :class:`~landsim.model.LandUseModel` from the
default scenario and running it for 2-30 years, at 100 x 100 cells with 80 farms,
200 x 200 with 350, 400 x 400 with 350 and 1400, 800 x 800 with 1400,
1000 x 1000 with 350, and 1000 x 1000 with 8750 farms for 30 years. Peaks were
1.07, 4.06, 14.0, 15.9, 55.3, 82.9 and 105 MB: 82-89 bytes per cell and about
1.8 kB per farm (its arrays, its neighbour list and its Mesa agent), with under
1 kB per simulated year. The growth of the resident set size over a process that
has only imported landsim (``resource.getrusage``, 164 MB) was a little larger:
34 MB at 500 x 500 with 3500 farms, 112 MB at 1000 x 1000 with 8750 farms and
131 MB at 1000 x 1000 with 15,000 farms (30 years), about 100 bytes per cell,
2.1 kB per farm and some 10 MB of modules and caches loaded by the first model.
The estimate, :data:`BYTES_PER_CELL` per cell, :data:`BYTES_PER_FARM` per farm and
:data:`BASE_BYTES` once, is above all of these; it does not count the
interpreter and the imports themselves. The reference implementation
(:mod:`landsim.reference`, one Python object per cell) needs far more; for it the
same check is only a first bound.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Peak model memory per landscape cell (bytes), measured as above and rounded up.
BYTES_PER_CELL = 100
#: Peak model memory per farm (bytes).
BYTES_PER_FARM = 3072
#: Memory the first model of a process needs whatever its size (bytes): modules
#: and caches it loads.
BASE_BYTES = 16 * 1024**2
#: Peak model memory per simulated year (bytes): the yearly records and price paths.
BYTES_PER_YEAR = 1024
#: Assumed available memory when neither /proc/meminfo nor os.sysconf can tell.
FALLBACK_AVAILABLE_BYTES = 4 * 1024**3


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units, e.g. ``"37.3 GiB"``."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def available_memory_bytes() -> int:
    """Memory this process can still allocate (bytes).

    ``MemAvailable`` from ``/proc/meminfo`` (Linux), else free physical pages from
    ``os.sysconf`` (``SC_AVPHYS_PAGES x SC_PAGE_SIZE``), else
    :data:`FALLBACK_AVAILABLE_BYTES` (4 GiB). On Linux, a control-group (v2) memory
    limit lower than that (``memory.max - memory.current``, as in a container or a
    batch scheduler's job) is what counts.
    """
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        available = None
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            available = None
    if available is None or available <= 0:
        available = FALLBACK_AVAILABLE_BYTES
    cgroup = _cgroup_available_bytes()
    return min(available, cgroup) if cgroup is not None else available


def _cgroup_available_bytes() -> int | None:
    root = Path("/sys/fs/cgroup")
    try:
        limit = (root / "memory.max").read_text(encoding="ascii").strip()
        if limit == "max":
            return None
        current = int((root / "memory.current").read_text(encoding="ascii").strip())
        return max(0, int(limit) - current)
    except (OSError, ValueError):
        return None


def memory_bytes(n_cells: int, n_farms: int, years: int = 0) -> int:
    """Estimated peak memory (bytes) of a model of ``n_cells`` cells and
    ``n_farms`` farms run for ``years`` years."""
    return (
        BASE_BYTES + n_cells * BYTES_PER_CELL + n_farms * BYTES_PER_FARM + years * BYTES_PER_YEAR
    )


def model_memory_bytes(scenario) -> int:
    """Estimated peak memory (bytes) of one :class:`~landsim.model.LandUseModel`
    of ``scenario`` (see the module's calibration).

    The cells are ``landscape.width x landscape.height`` and the farms
    ``landscape.n_farms``; for a landscape file, the cells are those of the shape
    its layers' headers give (read without loading the layers; the scenario's size
    if the file cannot be read, which the model then reports) and the farms at
    most one per cell.
    """
    params = scenario.landscape
    height, width = params.height, params.width
    farms = params.n_farms
    if params.source != "synthetic":
        from landsim.landscape import npz_shape

        shape = npz_shape(params.source)
        if shape is not None:
            height, width = shape
        farms = min(farms, height * width)
    return memory_bytes(height * width, farms, scenario.years)


def check_memory(needed: int, source: str, key: str, what: str) -> None:
    """Raise ScenarioError (``source: key: ...``) if ``needed`` bytes are more than
    :func:`available_memory_bytes`; ``what`` says what needs them."""
    available = available_memory_bytes()
    if needed > available:
        from landsim.scenario import ScenarioError

        raise ScenarioError(
            source,
            [
                (
                    key,
                    f"{what} needs about {format_bytes(needed)} of memory, but only "
                    f"{format_bytes(available)} is available; make the landscape smaller",
                )
            ],
        )


def check_model_memory(scenario) -> None:
    """Refuse (ScenarioError naming the scenario's source, landscape.width and
    landscape.height) a synthetic-landscape scenario whose model would not fit in
    memory. Landscape files are checked by :func:`landsim.landscape.load_landscape`
    from their headers, before any layer is read."""
    params = scenario.landscape
    if params.source != "synthetic":
        return
    check_memory(
        model_memory_bytes(scenario),
        scenario.source,
        "landscape.width, landscape.height",
        f"a {params.width} x {params.height} landscape with {params.n_farms} farms",
    )
