"""Reading a batch back: :class:`BatchResults` (the class :func:`run_batch`
returns, and :func:`load_batch`), and the report printed after a batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from landsim.batch.common import BatchError
from landsim.batch.manifest import experiment_record, read_manifest
from landsim.batch.runs import RunResult
from landsim.batch.store import (
    _describe,
    normalise,
    runs_frame,
    stack_with_keys,
)
from landsim.experiment import (
    Experiment,
    replicate_seed,
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
