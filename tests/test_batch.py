"""The batch engine: experiments, seeds, backends, streaming, resume, failures."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import small_scenario_toml
from landsim.batch import (
    BatchError,
    BatchResults,
    LandscapeCache,
    ModelRunner,
    load_batch,
    run_batch,
)
from landsim.cli import main
from landsim.experiment import Experiment, load_experiment, replicate_seed
from landsim.report import summarize_batch
from landsim.scenario import ScenarioError
from landsim.simulation import simulate

ROOT = Path(__file__).resolve().parents[1]

SMALL_SCENARIO = small_scenario_toml("small", years=6)

EXPERIMENT = """\
name = "test_grid"
seed = 11
replicates = 3
[scenarios]
small = "small.toml"
[grid]
"markets.cocoa.mean" = [1.5, 3.0]
"farmers.savings_rate" = [0.1, 0.3]
[outputs]
scalars = ["forest_area_ha", "income_mean_usd@mean", "carbon_stock_tc@3"]
raster_years = [0, 6]
raster_layers = ["cover", "owner"]
farms = true
"""


@pytest.fixture
def experiment_file(tmp_path) -> Path:
    (tmp_path / "small.toml").write_text(SMALL_SCENARIO, encoding="utf-8")
    path = tmp_path / "grid.toml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    return path


def write_experiment(tmp_path, text: str, name: str = "exp.toml") -> Path:
    (tmp_path / "small.toml").write_text(SMALL_SCENARIO, encoding="utf-8")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def without_timing(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["elapsed_s"], errors="ignore").reset_index(drop=True)


# --------------------------------------------------------------------------- design


def test_grid_is_full_factorial_in_a_fixed_order(experiment_file):
    experiment = load_experiment(experiment_file)
    assert len(experiment.points) == 4 and len(experiment) == 12
    runs = experiment.runs()
    assert [r.run_id for r in runs] == list(range(12))
    assert [(r.point, r.replicate) for r in runs[:4]] == [(0, 0), (0, 1), (0, 2), (1, 0)]
    assert {tuple(sorted(p.items())) for p in experiment.points} == {
        (("farmers.savings_rate", s), ("markets.cocoa.mean", c))
        for c in (1.5, 3.0)
        for s in (0.1, 0.3)
    }


def test_points_and_samples_designs(tmp_path):
    points = write_experiment(
        tmp_path,
        'name = "p"\nseed = 1\n[scenarios]\nsmall = "small.toml"\n'
        '[[points]]\n"markets.cocoa.mean" = 1.5\n[[points]]\n"years" = 4\n',
    )
    experiment = load_experiment(points)
    assert experiment.points == [{"markets.cocoa.mean": 1.5}, {"years": 4}]
    assert experiment.parameters == ["markets.cocoa.mean", "years"]

    samples = write_experiment(
        tmp_path,
        'name = "s"\nseed = 3\n[scenarios]\nsmall = "small.toml"\n'
        '[samples]\nn = 16\nmethod = "latin"\n'
        '[samples.factors]\n"markets.cocoa.mean" = [1.2, 4.0]\n'
        '"decision.logit_scale" = [0.002, 0.05]\n',
        "samples.toml",
    )
    a, b = load_experiment(samples), load_experiment(samples)
    assert a.points == b.points  # drawn from the experiment seed
    values = np.array([p["markets.cocoa.mean"] for p in a.points])
    assert values.min() >= 1.2 and values.max() <= 4.0
    # Latin hypercube: one point in each of the 16 equal strata of each factor.
    strata = np.floor((values - 1.2) / (4.0 - 1.2) * 16).astype(int)
    assert sorted(strata) == list(range(16))


def test_replicate_streams_are_spawned_from_the_seed():
    children = np.random.SeedSequence(42).spawn(5)
    for r, child in enumerate(children):
        mine = replicate_seed(42, r)
        assert np.array_equal(mine.generate_state(4), child.generate_state(4))


# --------------------------------------------------------------------------- results


def test_each_run_equals_simulate_with_its_overrides_and_stream(experiment_file):
    experiment = load_experiment(experiment_file)
    runs = run_batch(experiment, workers=1).runs
    yearly = run_batch(experiment, workers=1).yearly
    assert (runs["status"] == "ok").all()
    for run in (experiment.runs()[4], experiment.runs()[11]):
        row = runs.loc[run.run_id]
        assert row["seed"] == 11 and row["replicate"] == run.replicate
        assert row["markets.cocoa.mean"] == run.overrides["markets.cocoa.mean"]
        assert row["rng"] == f"SeedSequence(11, spawn_key=({run.replicate},))"
        expected = simulate(
            experiment.scenario_for(run), rng=replicate_seed(11, run.replicate)
        ).yearly
        mine = yearly[yearly["run_id"] == run.run_id].reset_index(drop=True)
        for column in ("forest_area_ha", "carbon_stock_tc", "income_mean_usd"):
            np.testing.assert_array_equal(mine[column], expected[column])
        assert row["forest_area_ha"] == expected["forest_area_ha"].iloc[-1]
        assert row["income_mean_usd@mean"] == pytest.approx(
            expected["income_mean_usd"].iloc[1:].mean(), rel=1e-12
        )
        assert row["carbon_stock_tc@3"] == expected["carbon_stock_tc"].iloc[3]


def test_run_batch_returns_every_table_as_load_batch_reads_them(experiment_file, tmp_path):
    memory = run_batch(experiment_file, workers=1)
    out = tmp_path / "out"
    streamed = run_batch(experiment_file, out=out, workers=1)
    loaded = load_batch(out)
    assert type(memory) is type(streamed) is type(loaded) is BatchResults
    assert memory.root is None and streamed.root == loaded.root == out
    for name in ("runs", "yearly", "farms"):
        pd.testing.assert_frame_equal(
            without_timing(getattr(memory, name)), without_timing(getattr(loaded, name))
        )
    assert len(memory.runs) == 12 and len(memory.yearly) == 12 * 7 and len(memory.farms) == 240
    for run_id in (0, 11):
        mine, theirs = memory.rasters(run_id), loaded.rasters(run_id)
        assert set(mine) == set(theirs) == {"cover_y0", "cover_y6", "owner_y0", "owner_y6"}
        for name in mine:
            np.testing.assert_array_equal(mine[name], theirs[name])
    assert memory.parameters == loaded.parameters == ["markets.cocoa.mean", "farmers.savings_rate"]
    assert memory.manifest["fingerprint"] == loaded.manifest["fingerprint"]
    assert memory.manifest["attempts"][0]["ok"] == 12
    assert memory.report.ok == streamed.report.ok == 12 and loaded.report is None
    again = memory.reproduce(5).yearly
    rows = memory.yearly[memory.yearly["run_id"] == 5].reset_index(drop=True)
    np.testing.assert_array_equal(rows["forest_area_ha"], again["forest_area_ha"])
    assert "12 runs, 0 failed; in memory" in repr(memory)
    # Code written for the old return value (the run table) is told where it went.
    with pytest.raises(TypeError, match=r"\.runs"):
        memory["status"]
    with pytest.warns(DeprecationWarning, match=r"use run_batch\(\.\.\.\)\.yearly"):
        yearly = run_batch(experiment_file, workers=1, table="yearly")
    pd.testing.assert_frame_equal(yearly, memory.yearly)


def test_runs_that_share_a_landscape_equal_runs_that_generate_it(tmp_path):
    # Points vary a landscape parameter and an economic one: the runner generates
    # one landscape per replicate and landscape, and copies it for the others.
    path = write_experiment(
        tmp_path,
        'name = "cache"\nseed = 5\nreplicates = 2\n[scenarios]\nsmall = "small.toml"\n'
        '[grid]\n"landscape.claim_distance_km" = [0.1, 0.3]\n'
        '"markets.cocoa.mean" = [1.5, 2.5, 3.5]\n[outputs]\nyearly = true\nfarms = true\n',
    )
    experiment = load_experiment(path)
    runner = ModelRunner(experiment)
    results = [runner(run) for run in experiment.runs()]
    assert len(runner.landscapes) == 2 * 2
    for run, result in zip(experiment.runs(), results, strict=True):
        expected = simulate(experiment.scenario_for(run), rng=replicate_seed(5, run.replicate))
        pd.testing.assert_frame_equal(result.yearly, expected.yearly[result.yearly.columns])
        pd.testing.assert_frame_equal(result.farms, expected.farms[result.farms.columns])
    # A runner travels without its landscapes.
    assert len(pickle.loads(pickle.dumps(runner)).landscapes) == 0


def test_the_landscape_cache_keeps_copies_within_its_size():
    from landsim.model import LandUseModel
    from landsim.scenario import load_scenario

    scenario = load_scenario(None).with_overrides(
        {"landscape.width": 40, "landscape.height": 40, "landscape.n_farms": 6}
    )
    model = LandUseModel(scenario, rng=0)
    size = sum(layer.nbytes for layer in model.landscape.copy(carbon=False).layers().values())
    cache = LandscapeCache(max_bytes=2 * size)
    for replicate in range(3):
        cache.put(("k", replicate), model.landscape)
    assert len(cache) == 2 and cache.get(("k", 0)) is None  # the oldest went
    copy = cache.get(("k", 2))
    assert copy.biomass_tc_per_ha is None  # the model sets the carbon layers
    np.testing.assert_array_equal(copy.cover, model.landscape.cover)
    copy.cover[:] = 4
    assert not np.array_equal(cache.get(("k", 2)).cover, copy.cover)  # a copy
    too_small = LandscapeCache(max_bytes=size - 1)
    too_small.put(("k", 0), model.landscape)
    assert len(too_small) == 0


def test_replicates_differ_and_points_share_common_random_numbers(experiment_file):
    runs = run_batch(experiment_file, workers=1).runs
    by = runs.set_index(["point", "replicate"])["forest_area_ha"]
    assert by.loc[(0, 0)] != by.loc[(0, 1)] or by.loc[(0, 1)] != by.loc[(0, 2)]
    # Points 0 and 1 differ only in savings rate: the landscape (year 0) is shared.
    yearly = run_batch(experiment_file, workers=1).yearly
    start = yearly[yearly["year"] == 0].set_index(["point", "replicate"])["forest_area_ha"]
    assert start.loc[(0, 1)] == start.loc[(1, 1)] == start.loc[(3, 1)]


def test_every_output_row_records_run_keys_and_parameters(experiment_file, tmp_path):
    out = tmp_path / "out"
    run_batch(experiment_file, out=out, workers=1)
    batch = load_batch(out)
    for table in (batch.runs, batch.yearly, batch.farms):
        for column in (
            "run_id",
            "scenario",
            "point",
            "replicate",
            "seed",
            "markets.cocoa.mean",
            "farmers.savings_rate",
        ):
            assert column in table.columns
            assert table[column].notna().all()
    assert len(batch.yearly) == 12 * 7
    assert batch.farms.groupby("run_id").size().eq(20).all()
    rasters = batch.rasters(5)
    assert set(rasters) == {"cover_y0", "cover_y6", "owner_y0", "owner_y6"}
    np.testing.assert_array_equal(rasters["owner_y0"], rasters["owner_y6"])
    manifest = batch.manifest
    assert manifest["seed"] == 11 and manifest["runs"] == 12
    assert manifest["landsim_version"] and manifest["dependencies"]["numpy"]
    experiment = json.loads((out / "experiment.json").read_text())
    assert experiment["scenarios"]["small"]["landscape"]["width"] == 60
    import pyarrow.parquet as pq

    part = next((out / "runs").glob("part-*.parquet"))
    meta = json.loads(pq.read_schema(part).metadata[b"landsim"])
    assert meta["experiment"] == "test_grid" and meta["seed"] == 11


def test_a_run_is_reproduced_from_the_batch_directory_alone(experiment_file, tmp_path):
    out = tmp_path / "out"
    run_batch(experiment_file, out=out, workers=1)
    experiment_file.unlink()  # the directory records everything needed
    (tmp_path / "small.toml").unlink()
    batch = load_batch(out)
    again = batch.reproduce(10).yearly
    rows = batch.yearly[batch.yearly["run_id"] == 10].reset_index(drop=True)
    for column in ("forest_area_ha", "carbon_stock_tc", "income_gini"):
        np.testing.assert_array_equal(rows[column], again[column])
    with pytest.raises(BatchError, match="no run 12"):
        batch.reproduce(12)


def test_final_rasters_match_the_model(experiment_file):
    experiment = load_experiment(experiment_file)
    run = experiment.runs()[7]
    result = simulate(experiment.scenario_for(run), rng=replicate_seed(11, run.replicate))
    kept = {}
    run_batch(experiment, workers=1)  # warm
    from landsim.batch import ModelRunner

    kept = ModelRunner(experiment)(run).rasters
    np.testing.assert_array_equal(kept["cover_y6"], result.rasters["cover"])


def test_yearly_column_subset_and_no_yearly(tmp_path):
    path = write_experiment(
        tmp_path,
        'name = "sub"\nseed = 2\n[scenarios]\nsmall = "small.toml"\n'
        '[outputs]\nyearly = ["forest_area_ha"]\n',
    )
    yearly = run_batch(path, workers=1).yearly
    assert list(yearly.columns[-2:]) == ["year", "forest_area_ha"]
    path.write_text(path.read_text().replace('["forest_area_ha"]', "false"))
    assert run_batch(path, workers=1).yearly.empty


# --------------------------------------------------------------------------- backends


@pytest.mark.slow
def test_serial_processes_and_dask_give_identical_results(experiment_file, tmp_path):
    serial = run_batch(experiment_file, workers=1).runs
    serial_yearly = run_batch(experiment_file, workers=1).yearly
    pool = run_batch(experiment_file, workers=2, chunk_size=2).runs
    out = tmp_path / "dask"
    dask = run_batch(experiment_file, dask_local=2, chunk_size=5, out=out).runs
    dask_yearly = load_batch(out).yearly
    pd.testing.assert_frame_equal(without_timing(serial), without_timing(pool))
    pd.testing.assert_frame_equal(without_timing(serial), without_timing(dask))
    pd.testing.assert_frame_equal(serial_yearly, dask_yearly)


SCRIPT_START = """\
import landsim

scenario = landsim.load_scenario(None).with_overrides(
    {"landscape.width": 40, "landscape.height": 40, "landscape.n_farms": 6, "years": 2}
)
"""

SCRIPT_CALLS = {
    "compare": "result = landsim.compare(scenario, scenario, replicates=2, workers=2)",
    "run_batch": (
        "result = landsim.run_batch({'name': 's', 'seed': 1, 'replicates': 2, "
        "'scenarios': {'a': scenario}}, workers=2)"
    ),
}


def run_script(tmp_path, name: str, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )


@pytest.mark.parametrize("call", list(SCRIPT_CALLS))
def test_a_script_without_a_main_guard_fails_at_once_saying_what_to_add(tmp_path, call):
    started = time.monotonic()
    proc = run_script(tmp_path, "script", SCRIPT_START + SCRIPT_CALLS[call] + "\nprint('done')\n")
    assert proc.returncode != 0 and "done" not in proc.stdout
    assert 'if __name__ == "__main__":' in proc.stderr and "workers=1" in proc.stderr
    assert "script.py, line 6" in proc.stderr
    assert "worker process died" not in proc.stderr and "RuntimeError" not in proc.stderr
    assert time.monotonic() - started < 60


def test_a_script_with_a_main_guard_runs_on_worker_processes(tmp_path):
    call = SCRIPT_CALLS["run_batch"]
    guarded = f'if __name__ == "__main__":\n    {call}\n    print("done", len(result.runs))\n'
    proc = run_script(tmp_path, "guarded", SCRIPT_START + guarded)
    assert proc.returncode == 0, proc.stderr
    assert "done 2" in proc.stdout


def test_a_function_that_cannot_be_pickled_is_refused_for_processes(tmp_path):
    path = write_experiment(tmp_path, 'name = "f"\nseed = 1\n[scenarios]\nsmall = "small.toml"\n')
    with pytest.raises(BatchError, match="worker processes"):
        run_batch(path, workers=2, function=lambda params: 1.0)
    assert run_batch(path, workers=1, function=lambda params: 2.0).runs["y"].tolist() == [2.0]


def test_backend_options_are_exclusive(experiment_file):
    with pytest.raises(BatchError, match="at most one"):
        run_batch(experiment_file, workers=2, dask_local=2)
    with pytest.raises(BatchError, match="at least 1"):
        run_batch(experiment_file, workers=0)


# --------------------------------------------------------------------------- failures


FAILING = """\
name = "failing"
seed = 5
replicates = 2
[scenarios]
small = "small.toml"
[grid]
"landscape.n_farms" = [10, 5000]
"""


def test_a_failing_run_is_recorded_and_the_others_finish(tmp_path, capsys):
    path = write_experiment(tmp_path, FAILING)
    out = tmp_path / "out"
    code = main(["batch", str(path), "--out", str(out), "--workers", "1", "--quiet"])
    assert code == 1
    printed = capsys.readouterr().out
    assert "2 run(s) failed" in printed and "landscape.n_farms=5000" in printed
    runs = load_batch(out).runs
    assert runs["status"].tolist() == ["ok", "ok", "error", "error"]
    failed = runs[runs["status"] == "error"]
    assert failed["error"].str.contains("do not fit").all()
    assert failed["traceback"].str.contains("Traceback").all()
    assert (failed["landscape.n_farms"] == 5000).all()
    assert load_batch(out).yearly["run_id"].unique().tolist() == [0, 1]

    # --resume runs the failed runs again (they fail again) and nothing else.
    assert main(["batch", str(path), "--out", str(out), "--resume", "--quiet"]) == 1
    runs = load_batch(out).runs
    assert runs["run_id"].tolist() == [0, 1, 2, 3]
    manifest = load_batch(out).manifest
    assert manifest["attempts"][-1]["already_done"] == 2
    assert manifest["attempts"][-1]["failed"] == 2


# --------------------------------------------------------------------------- resume


def test_resume_after_a_kill_completes_without_duplicates(tmp_path):
    path = write_experiment(
        tmp_path,
        EXPERIMENT.replace("replicates = 3", "replicates = 10").replace("farms = true", ""),
    )
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "landsim.cli",
        "batch",
        str(path),
        "--out",
        str(out),
        "--workers",
        "1",
        "--chunk-size",
        "1",
        "--quiet",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(list((out / "runs").glob("part-*.parquet"))) >= 5:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(list((out / "runs").glob("part-*.parquet")))
    assert 5 <= done_before < 40, "the batch should have been killed part way"
    # What a kill in the middle of a chunk can leave: a temporary file and a yearly
    # part whose runs part (the commit record) was never written.
    (out / "runs" / "part-000-99999.parquet.tmp").write_bytes(b"partial")
    orphan = out / "yearly" / "part-000-99998.parquet"
    load_batch(out).yearly.head(7).to_parquet(orphan)

    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    batch = load_batch(out)
    assert batch.runs["run_id"].tolist() == list(range(40))
    assert not batch.yearly.duplicated(["run_id", "year"]).any()
    assert len(batch.yearly) == 40 * 7
    assert not orphan.exists() and not list(out.glob("*/*.tmp"))
    assert batch.manifest["attempts"][-1]["already_done"] == done_before

    complete = run_batch(path, workers=1).runs
    pd.testing.assert_frame_equal(without_timing(batch.runs), without_timing(complete))


def test_interrupt_reports_what_is_saved(tmp_path):
    # 8,000 runs: far more than can finish between the first saved part and the
    # signal even on a loaded machine, so the batch is always interrupted.
    path = write_experiment(tmp_path, EXPERIMENT.replace("replicates = 3", "replicates = 2000"))
    out = tmp_path / "out"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "landsim.cli",
            "batch",
            str(path),
            "--out",
            str(out),
            "--workers",
            "1",
            "--chunk-size",
            "1",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((out / "runs").glob("part-*.parquet")):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "continue with --resume" in err and "Traceback" not in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["attempts"][-1]["interrupted"] is True


def test_resume_on_an_empty_directory_starts_the_batch(experiment_file, tmp_path):
    out = tmp_path / "fresh"
    runs = run_batch(experiment_file, out=out, workers=1, resume=True).runs
    assert runs["run_id"].tolist() == list(range(12))
    stray = tmp_path / "stray"
    (stray / "runs").mkdir(parents=True)
    with pytest.raises(BatchError, match=r"no manifest\.json"):
        run_batch(experiment_file, out=stray, workers=1, resume=True)


def test_an_existing_batch_is_never_overwritten_silently(experiment_file, tmp_path, capsys):
    out = tmp_path / "out"
    run_batch(experiment_file, out=out, workers=1)
    assert main(["batch", str(experiment_file), "--out", str(out), "--quiet"]) == 2
    assert "--resume" in capsys.readouterr().err
    # Resuming a complete batch runs nothing.
    report: list = []
    run_batch(experiment_file, out=out, workers=1, resume=True, report=report)
    assert report[0].already_done == 12 and report[0].ok == 0
    # Resuming with a different experiment is refused.
    changed = experiment_file.read_text().replace("seed = 11", "seed = 12")
    experiment_file.write_text(changed)
    with pytest.raises(BatchError, match="different experiment"):
        run_batch(experiment_file, out=out, workers=1, resume=True)
    # --force replaces it.
    run_batch(experiment_file, out=out, workers=1, force=True)
    assert load_batch(out).manifest["seed"] == 12


# --------------------------------------------------------------------------- damage


@pytest.fixture(scope="module")
def finished_batch(tmp_path_factory):
    """A finished batch of 12 runs in 6 chunks, and its experiment file."""
    folder = tmp_path_factory.mktemp("finished")
    (folder / "small.toml").write_text(SMALL_SCENARIO, encoding="utf-8")
    path = folder / "grid.toml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    run_batch(path, out=folder / "out", workers=1, chunk_size=2)
    return path, folder / "out"


def _cut(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _replace_with_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "x").write_text("x")


DAMAGE = {
    "manifest empty": ("manifest.json", lambda p: p.write_text(""), "is empty", 12),
    "manifest not JSON": ("manifest.json", lambda p: p.write_text("{"), "not valid JSON", 12),
    "manifest a list": ("manifest.json", lambda p: p.write_text("[1]"), "JSON list", 12),
    "manifest a folder": ("manifest.json", _replace_with_folder, "is a directory", 12),
    "manifest not UTF-8": ("manifest.json", lambda p: p.write_bytes(b"\xff\xfe{"), "UTF-8", 12),
    "runs part cut": ("runs/part-000-00002.parquet", _cut, "is damaged", 10),
    "runs part not Parquet": (
        "runs/part-000-00002.parquet",
        lambda p: p.write_text("not parquet"),
        "is damaged",
        10,
    ),
    "yearly part cut": ("yearly/part-000-00004.parquet", _cut, "damaged chunk", 10),
    "rasters part cut": ("rasters/part-000-00001.npz", _cut, "damaged chunk", 10),
    "runs a file": ("runs", None, "is a file, not a folder", 0),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_resume_repairs_a_damaged_directory_and_keeps_every_finished_run(
    finished_batch, tmp_path, capsys, case
):
    import shutil

    path, finished = finished_batch
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    name, damage, problem, kept = DAMAGE[case]
    target = out / name
    if damage is None:  # a folder replaced by a file
        shutil.rmtree(target)
        target.write_text("not a folder")
    else:
        damage(target)
    if name == "manifest.json" or name.startswith("runs/"):
        with pytest.raises(BatchError, match=r"--resume"):
            _ = load_batch(out).runs
        assert main(["summarize", str(out)]) == 2
        assert name.split("/")[0] in capsys.readouterr().err
    code = main(["batch", str(path), "--out", str(out), "--resume", "--workers", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err and f"landsim: warning: {target}" in err and problem in err
    assert list((out / "damaged").iterdir()), "the damaged file is kept, set aside"
    batch = load_batch(out)
    assert batch.manifest["attempts"][-1]["already_done"] == kept
    assert batch.manifest["attempts"][-1]["repaired"]
    complete = load_batch(finished)
    for table in ("runs", "yearly", "farms"):
        pd.testing.assert_frame_equal(
            without_timing(getattr(batch, table)), without_timing(getattr(complete, table))
        )
    np.testing.assert_array_equal(batch.rasters(3)["cover_y6"], complete.rasters(3)["cover_y6"])
    # Resuming again finds nothing to repair and nothing to run.
    assert main(["batch", str(path), "--out", str(out), "--resume", "--quiet"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert load_batch(out).manifest["attempts"][-1]["already_done"] == 12


def test_a_damaged_manifest_of_another_experiment_is_not_rebuilt(finished_batch, tmp_path):
    import shutil

    path, finished = finished_batch
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    (out / "manifest.json").write_text("{")
    other = path.with_name("other.toml")
    other.write_text(path.read_text().replace("seed = 11", "seed = 12"))
    with pytest.raises(BatchError, match="record another experiment"):
        run_batch(other, out=out, workers=1, resume=True)
    assert (out / "manifest.json").read_text() == "{"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ('nmae = "x"\n', "nmae", "allowed keys: name, description, scenarios"),
        ('[grid]\n"markets.cocoa.meen" = [1.0]\n', 'grid."markets.cocoa.meen"', "unknown key"),
        ('[grid]\n"years" = [0]\n', 'grid."years"', "greater than or equal to 1"),
        ('[grid]\n"years" = []\n', 'grid."years"', "needs at least one value"),
        (
            '[samples]\nn = 10\nmethod = "sobol"\n[samples.factors]\n"years" = [5, 10]\n',
            "samples",
            "power of two",
        ),
        (
            '[samples]\nn = 8\n[samples.factors]\n"markets.cocoa.mean" = [3.0, 1.0]\n',
            "samples",
            'factors."markets.cocoa.mean": high (1.0) must be > low (3.0)',
        ),
        (
            '[samples]\nn = 8\nmethod = "grid"\n[samples.factors]\n"years" = [5, 10]\n',
            "samples.method",
            "'latin', 'sobol' or 'uniform'",
        ),
        ("replicates = 0\n", "replicates", "greater than or equal to 1"),
        ('[grid]\n"years" = [5]\n[[points]]\n"years" = 6\n', "", "at most one of grid"),
        (
            '[outputs]\nscalars = ["forest_aera_ha"]\n',
            "outputs.scalars.0",
            "unknown column 'forest_aera_ha'; allowed: area_primary_forest_ha,",
        ),
        (
            '[outputs]\nscalars = ["forest_area_ha@median"]\n',
            "outputs.scalars.0",
            "allowed: final, sum, mean, min, max",
        ),
        (
            '[outputs]\nraster_layers = ["landcover"]\n',
            "outputs.raster_layers.0",
            "allowed: cover",
        ),
        ("replicates = true\n", "replicates", "must be an integer, not a boolean (got True)"),
        ("replicates = 1e9\n", "replicates", "1,000,000,000 runs"),
        (
            '[samples]\nn = 1e9\n[samples.factors]\n"markets.cocoa.mean" = [1.0, 2.0]\n',
            "samples.n",
            "asks for 1,000,000,000 runs",
        ),
        (
            "[grid]\n"
            + "".join(
                f'"markets.cocoa.{k}" = {list(range(1, 254))}\n' for k in ("mean", "initial")
            )
            + "".join(
                f'"markets.beef.{k}" = {list(range(1, 254))}\n' for k in ("mean", "initial")
            ),
            "grid",
            "asks for 4,097,152,081 runs",
        ),
        (
            "[samples]\nn = 900000\n[samples.factors]\n"
            + "".join(
                f'"markets.{m}.{k}" = [1.0, 2.0]\n'
                for m in ("cocoa", "beef")
                for k in ("mean", "initial", "sigma", "reversion", "sigma")[:4]
            ),
            "samples.n",
            "the design alone needs about",
        ),
        (
            '[samples]\nn = 8\n[samples.factors]\n"markets.cocoa.mean" = [1.0, nan]\n',
            'samples.factors."markets.cocoa.mean".1',
            "finite number",
        ),
        (
            '[samples]\nn = 8\n[samples.factors]\n"decision.neighbours" = [2.5, 8]\n',
            'samples.factors."decision.neighbours"',
            "an integer key: its bounds must be integers",
        ),
        (
            '[grid]\n"farmers.discount_rate.low" = [0.05, 0.2]\n'
            '"farmers.discount_rate.high" = [0.15, 0.3]\n',
            "grid",
            "point 2 (farmers.discount_rate.low = 0.2, farmers.discount_rate.high = 0.15)",
        ),
        ('[outputs]\nscalars = ["year"]\n', "outputs.scalars.0", "unknown column 'year'"),
        ("[outputs]\nraster_years = [true]\n", "outputs.raster_years.0", "not a boolean"),
    ],
)
def test_bad_experiments_name_the_file_and_key(tmp_path, capsys, text, key, fragment):
    body = 'name = "bad"\nseed = 1\n' + text + '[scenarios]\nsmall = "small.toml"\n'
    if text.startswith("["):  # keep top-level keys before the tables
        body = 'name = "bad"\nseed = 1\n[scenarios]\nsmall = "small.toml"\n' + text
    path = write_experiment(tmp_path, body)
    code = main(["batch", str(path), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert str(path) in err and f"{key}:" in err and fragment in err
    assert not (tmp_path / "o").exists(), "nothing runs for a bad experiment"


# The scenario schema refuses non-finite and out-of-range values
# (``Scenario.with_overrides``): the experiment applies every value through it.
@pytest.mark.parametrize(
    ("grid", "key"),
    [
        ('"farmers.knowledge" = [0.5, 5]', "farmers.knowledge"),
        ('"farmers.discount_rate" = [0.1, nan]', "farmers.discount_rate"),
        ('"landscape.lot_depth_km" = [0.5, inf]', "landscape.lot_depth_km"),
    ],
)
def test_grid_values_are_validated_as_in_a_scenario_file(tmp_path, capsys, grid, key):
    path = write_experiment(
        tmp_path, f'name = "v"\nseed = 1\n[scenarios]\nsmall = "small.toml"\n[grid]\n{grid}\n'
    )
    code = main(["batch", str(path), "--out", str(tmp_path / "o"), "--workers", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and f'grid."{key}"' in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_every_design_point_goes_through_the_scenario_validation(tmp_path, monkeypatch):
    """Whatever Scenario.with_overrides refuses, the experiment refuses before any run,
    for each grid value, each grid point, each point and each sample bound and point."""
    from landsim.scenario import Scenario

    seen: list[dict] = []
    original = Scenario.with_overrides

    def recording(self, overrides, source=None):
        seen.append(dict(overrides))
        return original(self, overrides, source)

    monkeypatch.setattr(Scenario, "with_overrides", recording)
    grid = write_experiment(
        tmp_path,
        'name = "g"\nseed = 1\n[scenarios]\nsmall = "small.toml"\n'
        '[grid]\n"markets.cocoa.mean" = [1.5, 3.0]\n"farmers.savings_rate" = [0.1, 0.3]\n',
    )
    experiment = load_experiment(grid)
    for point in experiment.points:
        assert point in seen
    seen.clear()
    samples = write_experiment(
        tmp_path,
        'name = "s"\nseed = 1\n[scenarios]\nsmall = "small.toml"\n[samples]\nn = 8\n'
        '[samples.factors]\n"markets.cocoa.mean" = [1.2, 4.0]\n"decision.neighbours" = [2, 8]\n',
        "samples.toml",
    )
    experiment = load_experiment(samples)
    assert {"markets.cocoa.mean": 1.2} in seen and {"decision.neighbours": 8} in seen
    for point in experiment.points:
        assert point in seen


def test_integer_keys_are_sampled_over_their_integers(tmp_path):
    path = write_experiment(
        tmp_path,
        'name = "s"\nseed = 4\n[scenarios]\nsmall = "small.toml"\n[samples]\nn = 14\n'
        '[samples.factors]\n"decision.neighbours" = [2, 8]\n"markets.cocoa.mean" = [1.2, 4.0]\n',
    )
    points = load_experiment(path).points
    values = [p["decision.neighbours"] for p in points]
    assert all(type(v) is int for v in values)
    assert sorted(values) == sorted([2, 3, 4, 5, 6, 7, 8] * 2)  # Latin: each integer twice
    assert all(type(p["markets.cocoa.mean"]) is float for p in points)


def test_a_batch_in_memory_whose_results_would_not_fit_is_refused_before_any_run(
    tmp_path, monkeypatch
):
    import landsim.batch.engine

    def refuse(*args, **kwargs):
        raise AssertionError("nothing may run")

    monkeypatch.setattr(landsim.batch.engine, "execute", refuse)
    path = write_experiment(
        tmp_path,
        'name = "big"\nseed = 1\nreplicates = 500000\n[scenarios]\nsmall = "small.toml"\n',
    )
    with pytest.raises(BatchError, match=r"500,000 runs would take about .* GB.*out=DIR"):
        run_batch(path, workers=1)


def test_missing_scenario_file_is_named(tmp_path, capsys):
    path = write_experiment(tmp_path, 'name = "m"\nseed = 1\n[scenarios]\nx = "nope.toml"\n')
    assert main(["batch", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "scenarios.x: no such scenario file" in err and "nope.toml" in err


def test_an_invalid_base_scenario_is_reported_against_its_own_file(tmp_path, capsys):
    path = write_experiment(tmp_path, 'name = "m"\nseed = 1\n[scenarios]\nsmall = "small.toml"\n')
    (tmp_path / "small.toml").write_text(SMALL_SCENARIO + "[farmers]\nsavings_rate = 7\n")
    assert main(["batch", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "small.toml: farmers.savings_rate" in err


def test_python_experiments_accept_scenario_objects(small_scenario):
    experiment = Experiment.from_dict(
        {
            "name": "py",
            "seed": 3,
            "replicates": 2,
            "scenarios": {"s": small_scenario},
            "points": [{"markets.cocoa.mean": 2.5}],
        }
    )
    runs = run_batch(experiment, workers=1).runs
    assert runs["scenario_name"].tolist() == [small_scenario.name] * 2
    with pytest.raises(ScenarioError, match=r"points\.1: markets\.cocoa\.nope: unknown key"):
        Experiment.from_dict(
            {
                "name": "py",
                "seed": 3,
                "scenarios": {"s": small_scenario},
                "points": [{"markets.cocoa.mean": 2.5}, {"markets.cocoa.nope": 1}],
            }
        )


# --------------------------------------------------------------------------- summarize


def test_summarize_reports_means_and_intervals(experiment_file, tmp_path, capsys):
    out = tmp_path / "out"
    run_batch(experiment_file, out=out, workers=1)
    summary = summarize_batch(out)
    runs = load_batch(out).runs
    expected = runs.groupby("point")["forest_area_ha"].mean()
    final = summary.final[summary.final["variable"] == "forest_area_ha"].set_index("point")
    np.testing.assert_allclose(final["mean"], expected)
    assert (final["ci_low"] <= final["mean"]).all() and (final["mean"] <= final["ci_high"]).all()
    assert (final["n"] == 3).all()
    yearly = summary.yearly
    assert set(yearly["year"]) == set(range(7))
    one = yearly[(yearly["variable"] == "carbon_stock_tc") & (yearly["year"] == 4)]
    check = load_batch(out).yearly.query("year == 4").groupby("point")["carbon_stock_tc"].mean()
    np.testing.assert_allclose(one.set_index("point")["mean"], check)

    assert main(["summarize", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "markets.cocoa.mean=1.5 | farmers.savings_rate=0.1" in printed
    for name in ("final_summary.csv", "yearly_summary.parquet", "groups.csv", "trajectories.png"):
        assert (out / "summary" / name).is_file()


def test_summarize_refuses_a_directory_that_is_not_a_batch(tmp_path, capsys):
    assert main(["summarize", str(tmp_path)]) == 2
    assert "not a batch directory" in capsys.readouterr().err


# --------------------------------------------------------------------------- shipped


def test_shipped_experiments_load():
    import tomllib

    from landsim.sensitivity import SensitivityAnalysis

    files = sorted((ROOT / "experiments").glob("*.toml"))
    batches = [p for p in files if "scenarios" in tomllib.loads(p.read_text())]
    assert batches
    for path in files:
        if path in batches:
            assert len(load_experiment(path)) >= 1
        else:
            with pytest.raises(ScenarioError, match="run it with `landsim sensitivity`"):
                load_experiment(path)
            assert SensitivityAnalysis.from_file(path).names


def test_mesa_batch_run_compatibility_path(small_scenario):
    """mesa.batch_run varies the `scenario` argument (documented in docs/batch.md)."""
    import mesa

    from landsim.model import LandUseModel

    variants = [small_scenario.with_overrides({"markets.cocoa.mean": p}) for p in (1.5, 3.0)]
    rows = mesa.batch_run(
        LandUseModel,
        parameters={"scenario": variants},
        rng=[1, 2],
        max_steps=small_scenario.years,
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )
    assert len(rows) == 4
    first = rows[0]
    expected = simulate(variants[0], rng=1).yearly
    assert first["Step"] == small_scenario.years
    assert first["forest_area_ha"] == expected["forest_area_ha"].iloc[-1]
    assert os.environ.get("PYTEST_CURRENT_TEST")  # batch_run ran in this process


def test_a_local_batch_whose_workers_would_not_fit_in_memory_is_refused(tmp_path, monkeypatch):
    """Each worker holds one run at a time: the largest run times the local workers
    must fit in the memory available, before any run starts."""
    import landsim.batch.engine as batch_module
    from landsim.limits import model_memory_bytes

    path = write_experiment(tmp_path, EXPERIMENT)
    experiment = load_experiment(path)
    per_run = max(model_memory_bytes(s) for s in experiment.scenarios.values())
    assert experiment.largest_run_bytes >= per_run > 0
    # Room for a little more than one run: two workers do not fit, one does.
    monkeypatch.setattr(batch_module, "available_memory_bytes", lambda: int(1.5 * per_run))
    with pytest.raises(BatchError, match=r"2 at once .* use --workers 1"):
        run_batch(experiment, workers=2, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before anything was written
    assert len(run_batch(experiment, workers=1).runs) == len(experiment)


def test_the_largest_run_counts_grid_points_that_enlarge_the_landscape(tmp_path):
    from landsim.limits import model_memory_bytes

    wider = EXPERIMENT.replace("[grid]\n", '[grid]\n"landscape.width" = [60, 120]\n')
    path = write_experiment(tmp_path, wider)
    experiment = load_experiment(path)
    wide = max(
        model_memory_bytes(s.with_overrides({"landscape.width": 120}))
        for s in experiment.scenarios.values()
    )
    assert experiment.largest_run_bytes == wide


def test_an_interrupt_during_a_commit_waits_for_the_commit_to_end():
    from landsim.batch.engine import interrupts_deferred

    done = []
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        signal.raise_signal(signal.SIGINT)
        done.append("the rest of the block ran")
    assert done == ["the rest of the block ran"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
