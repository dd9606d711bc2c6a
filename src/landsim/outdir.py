"""Output directories: one set of checks for every command that writes results
(``run``, ``batch``, ``compare``, ``sensitivity`` and their Python functions), and
writes that leave a directory either complete or clearly marked incomplete.

:func:`check_out_dir` is called before anything runs, so that a directory that
cannot be used fails at once and not after the simulation. It refuses

- a path that exists and is not a directory, or that cannot be created (an
  ancestor is a regular file, or is not writable);
- a directory that holds the results of another kind (a batch, a sensitivity
  analysis, a comparison or a single run: :func:`holds` tells which), whatever
  ``force`` says: ``force`` replaces results of the same kind only;
- a directory that already holds results of the same kind, unless ``force`` (or
  ``resume`` where the command resumes).

:func:`staged` writes a command's files into a temporary directory beside the
target and then moves them in. A new directory appears complete or not at all
(one rename); files moved into an existing directory are moved one by one, under
an ``INCOMPLETE`` marker file that is removed once the manifest, the last file,
is in place.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

#: The kinds of results, as recorded in the ``kind`` entry of their manifests.
KINDS = ("run", "batch", "sensitivity", "comparison")

#: What the results of each kind hold (to recognise directories whose manifest
#: records no kind, or is missing or damaged).
SIGNATURES = {
    "run": ("yearly.csv", "yearly.parquet", "rasters.npz"),
    "batch": ("experiment.json", "runs", "yearly", "farms", "rasters"),
    "sensitivity": (
        "indices.csv",
        "indices.parquet",
        "convergence.csv",
        "samples.csv",
        "results.csv",
        "runs_counterfactual",
    ),
    "comparison": (
        "summary.csv",
        "summary.parquet",
        "replicates.csv",
        "replicates.parquet",
        "trajectories.parquet",
        "restoration.csv",
    ),
}

#: Named in a directory while files are moved into it; removed when it is complete.
INCOMPLETE = "INCOMPLETE"

#: How a kind is named in messages.
NAMES = {
    "run": "a single run",
    "batch": "a batch",
    "sensitivity": "a sensitivity analysis",
    "comparison": "a comparison",
}


class OutputDirError(Exception):
    """An output directory that cannot be used (a user mistake: exit code 2)."""


class OutputExistsError(OutputDirError, FileExistsError):
    """The directory already holds results that would be replaced or mixed."""


class OutputNotADirectoryError(OutputDirError, NotADirectoryError):
    """The output path exists and is not a directory."""


def _manifest_kind(path: Path) -> str | None:
    try:
        data = json.loads((path / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    kind = data.get("kind") if isinstance(data, dict) else None
    return kind if kind in KINDS else None


def holds(path: str | Path) -> tuple[str | None, list[str]]:
    """What results a directory holds: (kind, the entries that show it), or
    (None, []) for a directory with no landsim results (or no directory)."""
    path = Path(path)
    if not path.is_dir():
        return None, []
    entries = sorted(p.name for p in path.iterdir())
    marker = path / INCOMPLETE
    if marker.is_file():
        text = marker.read_text("utf-8", errors="replace")
        kind = next((k for k in KINDS if f"kind: {k}\n" in text), None)
        return kind, [INCOMPLETE]
    kind = _manifest_kind(path)
    if kind is None:
        if (path / "runs" / "manifest.json").exists():  # its runs are a batch of their own
            kind = "sensitivity"
        else:
            found = [k for k, names in SIGNATURES.items() if set(names) & set(entries)]
            kind = found[0] if found else None
    if kind is None:
        return (None, ["manifest.json"]) if "manifest.json" in entries else (None, [])
    shown = set(SIGNATURES[kind]) | {"manifest.json"}
    if kind == "sensitivity":
        shown.add("runs")
    return kind, [name for name in entries if name in shown]


def check_out_dir(
    out: str | Path,
    kind: str,
    *,
    force: bool = False,
    resume: bool = False,
    option: str = "--out",
    force_flag: str = "--force",
    same_kind: str = "refuse",
    hint: str | None = None,
) -> Path:
    """Check that ``out`` can take results of ``kind``, before anything runs.

    Parameters
    ----------
    kind : {"run", "batch", "sensitivity", "comparison"}
    force : bool
        Replace results of the same kind.
    resume : bool
        Continue results of the same kind (commands that resume).
    option, force_flag : str
        How the caller names the directory and the force option in messages ("":
        the path alone).
    same_kind : {"refuse", "caller"}
        "caller": the caller decides about results of the same kind (the batch
        store, which resumes and replaces batches itself).
    hint : str, optional
        What to do about results of the same kind (default: choose another
        directory or pass ``force_flag``).

    Raises
    ------
    OutputNotADirectoryError, OutputExistsError, OutputDirError
        Naming the directory, what is wrong and what to do.
    """
    path = Path(out)
    name = f"{option} {path}" if option else str(path)
    if path.exists() and not path.is_dir():
        raise OutputNotADirectoryError(f"{name}: exists and is not a directory")
    if not path.exists():
        for parent in path.parents:
            if not parent.exists():
                continue
            if not parent.is_dir():
                raise OutputDirError(
                    f"{name}: cannot be created: {parent} is a file, not a directory"
                )
            if not os.access(parent, os.W_OK | os.X_OK):
                raise OutputDirError(
                    f"{name}: cannot be created: no permission to write in {parent}"
                )
            break
    elif not os.access(path, os.W_OK | os.X_OK):
        raise OutputDirError(f"{name}: no permission to write in it")
    found, entries = holds(path)
    if not entries:
        return path
    if found != kind:
        what = NAMES.get(found, "results landsim cannot identify")
        raise OutputExistsError(
            f"{name}: holds {what} ({', '.join(entries)}); write {NAMES[kind]} to "
            f"another directory ({force_flag} replaces only results of the same kind)"
        )
    if same_kind == "refuse" and not (force or resume):
        incomplete = " (incomplete: it was interrupted)" if entries == [INCOMPLETE] else ""
        hint = hint or f"choose another directory or pass {force_flag} to overwrite them"
        raise OutputExistsError(
            f"{name}: already holds results ({NAMES[kind]}{incomplete}: {', '.join(entries)}); "
            f"{hint}"
        )
    return path


@contextlib.contextmanager
def staged(out: str | Path, kind: str, owned: Iterable[str] = ()) -> Iterator[Path]:
    """Write into the temporary directory this yields; on success its files are
    moved into ``out`` (see the module docstring). On an error or an interrupt the
    temporary directory is removed and ``out`` is left as it was.

    ``owned`` names the files this kind of result may write: those not written this
    time are removed from ``out`` (so that a figure of an earlier analysis does not
    stay beside the new one)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield tmp
        _move_in(tmp, out, kind, set(owned))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _move_in(tmp: Path, out: Path, kind: str, owned: set[str]) -> None:
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()  # an empty directory is replaced whole
    if not out.exists():
        os.rename(tmp, out)  # the directory appears complete, in one step
        return
    marker = out / INCOMPLETE
    marker.write_text(
        f"kind: {kind}\nlandsim was writing {NAMES[kind]} here and did not finish: the "
        "files in this directory may be a mix of old and new ones. Write it again "
        "(with --force).\n",
        encoding="utf-8",
    )
    names = sorted(p.name for p in tmp.iterdir())
    if "manifest.json" in names:  # last: a manifest means the rest is there
        names.remove("manifest.json")
        names.append("manifest.json")
    for name in sorted(owned - set(names)):  # left by an earlier write
        stale = out / name
        if stale.is_file():
            stale.unlink()
    for name in names:
        target = out / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(tmp / name, target)
    marker.unlink()
