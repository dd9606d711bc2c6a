"""Fingerprints of model results: SHA-256 hashes of the yearly tables, final
rasters and farm tables of every shipped scenario on several seeds (full size and
the small test landscape), of a batch and of a sensitivity analysis.

``tests/test_fingerprints.py`` checks that the code still produces exactly these
results, so that a change meant to leave results alone (a refactoring, a speed-up,
input checks) is proved to do so. A change that alters results on purpose
regenerates the file and says so in the CHANGELOG::

    .venv/bin/python tests/fingerprints.py --update
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from conftest import SMALL_OVERRIDES

ROOT = Path(__file__).resolve().parents[1]
FILE = Path(__file__).with_name("fingerprints.json")
SEEDS = (0, 7)
#: Columns that describe a run rather than its results (or vary with the machine).
DESCRIPTIVE = ("landsim_version", "elapsed_s")
BATCH_RUN_COLUMNS = (
    "run_id", "scenario", "point", "replicate", "seed", "status",
    "forest_area_ha", "carbon_stock_tc",
)  # fmt: skip
SMALL = SMALL_OVERRIDES  # the small test landscape of tests/conftest.py


def hash_frame(frame: pd.DataFrame) -> str:
    """A hash of a table's column names, dtypes and values, to the bit."""
    h = hashlib.sha256()
    for name in frame.columns:
        if name in DESCRIPTIVE:
            continue
        column = frame[name]
        h.update(f"{name}:{column.dtype}".encode())
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            h.update(np.ascontiguousarray(column.to_numpy()).tobytes())
        else:  # strings (object or pandas' str dtype): their text, not their pointers
            h.update("\x00".join(map(str, column.tolist())).encode())
    return h.hexdigest()


def hash_arrays(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def scenario_cases() -> dict:
    from landsim.scenario import load_scenario

    cases = {"default": load_scenario()}
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        cases[path.stem] = load_scenario(path)
    return cases


def compute() -> dict[str, str]:
    """Every fingerprint, by name."""
    from landsim.batch import load_batch, run_batch
    from landsim.sensitivity import SensitivityAnalysis, SensitivityWarning
    from landsim.simulation import simulate

    prints: dict[str, str] = {}
    for name, scenario in scenario_cases().items():
        variants = {"full": scenario}
        if not scenario.roads.extensions:  # a road schedule is laid out in km on its own
            variants["small"] = scenario.with_overrides(SMALL)  # landscape: no small run
        for size, sc in variants.items():
            for seed in SEEDS if size == "full" else SEEDS[:1]:
                result = simulate(sc, rng=seed)
                key = f"{name}/{size}/seed{seed}"
                prints[f"{key}/yearly"] = hash_frame(result.yearly)
                prints[f"{key}/rasters"] = hash_arrays(result.rasters)
                prints[f"{key}/farms"] = hash_frame(result.farms)

    small = {"years": 5, **{k: v for k, v in SMALL.items() if k != "years"}}
    experiment = {
        "name": "fingerprint_batch",
        "seed": 11,
        "replicates": 2,
        "scenarios": {"default": "default", "tambopata": "scenarios/tambopata_redd_cocoa.toml"},
        "overrides": small,
        "grid": {"markets.cocoa.mean": [1.5, 3.0]},
        "outputs": {"yearly": True, "scalars": ["forest_area_ha", "carbon_stock_tc"]},
    }
    with tempfile.TemporaryDirectory() as tmp:
        run_batch(_with_base(experiment), out=Path(tmp) / "b", workers=1)
        batch = load_batch(Path(tmp) / "b")
        # Only the columns that are results, so that a new descriptive column in the
        # engine's tables does not count as a change of results.
        runs = batch.runs.sort_values("run_id")
        prints["batch/runs"] = hash_frame(runs[list(BATCH_RUN_COLUMNS)])
        yearly = batch.yearly.sort_values(["run_id", "year"])
        model_columns = [c for c in yearly.columns if c in result.yearly.columns]
        prints["batch/yearly"] = hash_frame(yearly[["run_id", *model_columns]])

    from landsim.scenario import load_scenario

    sa = SensitivityAnalysis(
        {"markets.cocoa.mean": [1.5, 3.0], "farmers.savings_rate": [0.05, 0.3]},
        "morris",
        4,
        ["cumulative_deforestation_ha", "carbon_stock_tc"],
        seed=3,
        model=load_scenario().with_overrides(small),
    )
    with warnings.catch_warnings():  # a deliberately tiny analysis: its warnings are expected
        warnings.simplefilter("ignore", SensitivityWarning)
        sa.sample().evaluate(workers=1).analyze()
    prints["sensitivity/results"] = hash_frame(sa.results_.reset_index())
    prints["sensitivity/indices"] = hash_frame(sa.indices_)
    return prints


def _with_base(experiment: dict) -> dict:
    """Put the batch's shared overrides into the grid's scenario keys."""
    from landsim.experiment import Experiment

    data = dict(experiment)
    overrides = data.pop("overrides")
    data["points"] = [
        {**overrides, "markets.cocoa.mean": v} for v in data.pop("grid")["markets.cocoa.mean"]
    ]
    return Experiment.from_dict(data, source="<fingerprints>", base_dir=ROOT)


def versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("numpy", "scipy", "pandas", "SALib")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite fingerprints.json")
    args = parser.parse_args(argv)
    prints = compute()
    if args.update:
        FILE.write_text(
            json.dumps({"versions": versions(), "fingerprints": prints}, indent=1) + "\n",
            encoding="utf-8",
        )
        print(f"wrote {len(prints)} fingerprints to {FILE}")
        return 0
    stored = json.loads(FILE.read_text(encoding="utf-8"))["fingerprints"]
    changed = sorted(k for k in stored.keys() | prints.keys() if stored.get(k) != prints.get(k))
    print("\n".join(changed) if changed else f"all {len(prints)} fingerprints unchanged")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(main())
