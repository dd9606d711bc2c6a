"""Where a run's randomness comes from, and what outputs record of it.

One rule for every entry point of the Python API (``LandUseModel``, ``simulate``,
the reference implementation): ``rng=None`` means fresh entropy from the operating
system, as in Mesa and in the Scientific Python SPEC 7 ("Seeding pseudo-random
number generation"); the fresh seed is drawn once, as a whole number, and recorded,
so that a run with ``rng=None`` can still be repeated from its outputs. The
command line keeps defaulting to the scenario's ``seed`` key (it passes that seed
explicitly).
"""

from __future__ import annotations

import functools
from importlib import metadata

import numpy as np


def fresh_seed() -> int:
    """A new 128-bit seed from the operating system's entropy."""
    return int(np.random.SeedSequence().entropy)


def resolve_seed(rng):
    """The seed object a model is built from.

    Parameters
    ----------
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        None draws :func:`fresh_seed`. A ``SeedSequence`` is copied, because
        spawning mutates it: the caller's object (and what a manifest records of
        it) then still reproduces the run. Anything else is returned unchanged.
    """
    if rng is None:
        return fresh_seed()
    if isinstance(rng, np.random.SeedSequence):
        return np.random.SeedSequence(
            rng.entropy, spawn_key=rng.spawn_key, pool_size=rng.pool_size
        )
    return rng


def describe_seed(rng) -> int | str | None:
    """What a manifest records of the ``rng`` argument (after :func:`resolve_seed`)."""
    if rng is None or isinstance(rng, int | np.integer):
        return None if rng is None else int(rng)
    if isinstance(rng, np.random.SeedSequence):
        return f"SeedSequence(entropy={rng.entropy}, spawn_key={rng.spawn_key})"
    return f"{type(rng).__name__} (state not recorded)"


#: Packages whose versions every manifest records.
DEPENDENCIES = ("mesa", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "SALib")


@functools.cache
def landsim_version() -> str:
    """The installed landsim's version ("unknown" in a source tree not installed)."""
    try:
        return metadata.version("landsim")
    except metadata.PackageNotFoundError:
        return "unknown"


def dependency_versions(extra: tuple[str, ...] = ()) -> dict[str, str | None]:
    """The versions of :data:`DEPENDENCIES` and of ``extra`` packages (None where a
    package is not installed), as manifests record them."""
    versions: dict[str, str | None] = {}
    for name in (*DEPENDENCIES, *extra):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
