"""The batch directory: Parquet parts written as chunks finish (the runs part
last, as the commit record), the manifest, and the repairs that ``resume`` makes.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from landsim.batch.backends import Backend
from landsim.batch.common import BATCH_ENTRIES, KEY_COLUMNS, BatchError
from landsim.batch.manifest import (
    _now,
    batch_meta,
    experiment_record,
    new_manifest,
    read_manifest,
)
from landsim.batch.runs import RunResult
from landsim.experiment import (
    Experiment,
    fingerprint_of,
)

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
