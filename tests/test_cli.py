"""The command line: runs, outputs, and clear errors (exit code 2, no traceback)."""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import small_scenario_toml
from landsim.cli import main
from landsim.simulation import OUTPUT_FILES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def short_scenario(tmp_path):
    path = tmp_path / "short.toml"
    path.write_text(
        'extends = "default"\nname = "short"\nyears = 3\n'
        "[landscape]\nwidth = 60\nheight = 60\nn_farms = 20\nlot_depth_km = 0.5\n",
        encoding="utf-8",
    )
    return path


def test_run_writes_outputs_that_record_scenario_seed_and_version(
    short_scenario, tmp_path, capsys
):
    out = tmp_path / "out"
    assert main(["run", str(short_scenario), "--out", str(out), "--seed", "7"]) == 0
    printed = capsys.readouterr().out
    assert "scenario 'short'" in printed and "seed 7" in printed
    for name in OUTPUT_FILES:
        assert (out / name).is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7
    assert manifest["scenario"]["years"] == 3
    assert manifest["scenario_name"] == "short"
    assert manifest["landsim_version"] and manifest["dependencies"]["mesa"].startswith("3.")
    csv = pd.read_csv(out / "yearly.csv")
    parquet = pd.read_parquet(out / "yearly.parquet")
    assert len(csv) == len(parquet) == 4  # years 0..3
    assert set(csv["scenario"]) == {"short"} and set(csv["seed"].astype(str)) == {"7"}
    pd.testing.assert_series_equal(csv["carbon_stock_tc"], parquet["carbon_stock_tc"])
    with np.load(out / "rasters.npz") as npz:
        assert npz["cover"].shape == (60, 60)
        assert json.loads(str(npz["manifest"]))["seed"] == 7


def test_same_seed_same_files_different_seed_different(short_scenario, tmp_path):
    tables = []
    for i, seed in enumerate(["3", "3", "4"]):
        out = tmp_path / f"o{i}"
        assert (
            main(["run", str(short_scenario), "--out", str(out), "--seed", seed, "--quiet"]) == 0
        )
        tables.append(pd.read_parquet(out / "yearly.parquet").drop(columns=["seed"]))
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    assert not tables[0].equals(tables[2])


def test_refuses_to_overwrite_results(short_scenario, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(short_scenario), "--out", str(out), "--quiet"]) == 0
    before = (out / "yearly.csv").read_bytes()
    assert main(["run", str(short_scenario), "--out", str(out), "--seed", "9"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "yearly.csv").read_bytes() == before
    assert main(["run", str(short_scenario), "--out", str(out), "--seed", "9", "--force"]) == 0
    assert (out / "yearly.csv").read_bytes() != before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "[farmers]\ndiscount_rat = 0.1\n",
            ["farmers.discount_rat", "unknown key", "discount_rate"],
        ),
        ('[markets.cocoa]\nprocess = "walk"\n', ["markets.cocoa.process", "'ou'", "'path'"]),
        ("years = -4\n", ["years", "greater than or equal to 1"]),
        ("years = \n", ["not valid TOML"]),
        ("[landscape]\nn_farms = 100000\n", ["landscape.n_farms", "at most"]),
        ('[landscape]\nsource = "nowhere.npz"\n', ["nowhere.npz", "not found"]),
    ],
)
def test_bad_scenario_exits_2_naming_file_and_key(tmp_path, capsys, content, expected):
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for text in expected:
        assert text in err
    assert "bad.toml" in err or "nowhere.npz" in err


def test_missing_scenario_file(capsys, tmp_path):
    assert main(["run", str(tmp_path / "absent.toml")]) == 2
    assert "absent.toml: file not found" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["run", "--seed", "-1"], ["run", "--years", "0"]])
def test_bad_options_exit_2(args, capsys):
    assert main(args) == 2
    assert "landsim: error:" in capsys.readouterr().err


def test_console_script_runs_default_without_traceback(tmp_path):
    """The installed entry point, as a user runs it (short horizon for speed)."""
    exe = Path(sys.executable).with_name("landsim")
    proc = subprocess.run(
        [str(exe), "run", "--years", "2"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "scenario 'default'" in proc.stdout
    bad = subprocess.run(
        [str(exe), "run", "--years", "2", "--seed", "x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@pytest.mark.parametrize("module", ["landsim", "landsim.cli"])
def test_python_dash_m_runs_the_command(module, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", module, "run", "--years", "1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "scenario 'default'" in proc.stdout
    # With worker processes too: each imports the main module again, which must
    # not start the command again.
    (tmp_path / "tiny.toml").write_text(small_scenario_toml("tiny", years=2), encoding="utf-8")
    args = ["compare", "tiny.toml", "--against", "tiny.toml", "--replicates", "2"]
    proc = subprocess.run(
        [sys.executable, "-m", module, *args, "--workers", "2", "--quiet"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_shipped_scenarios_load_and_run():
    from landsim import load_scenario, simulate

    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        scenario = load_scenario(path)
        # Two years, or up to the last scheduled road (a shorter run is refused).
        years = max([2, *(e.year for e in scenario.roads.extensions)])
        result = simulate(scenario.with_overrides({"years": years}), rng=1)
        assert len(result.yearly) == years + 1, path


# --------------------------------------------------------------------------- the run summary


def summary_rows(printed: str) -> dict[str, list[str]]:
    """Label -> cells of the printed summary table (the lines between the header
    and the first blank line)."""
    lines = printed.split("\n\n")[0].splitlines()[2:]
    rows = {}
    for line in lines:
        label, *cells = re.split(r"\s{2,}", line.strip())
        rows[label] = cells
    return rows


def test_run_summary_explains_its_indicators(short_scenario, capsys):
    assert main(["run", str(short_scenario)]) == 0
    printed = capsys.readouterr().out
    assert max(len(line) for line in printed.splitlines()) <= 100
    assert "nan" not in printed.lower()
    rows = summary_rows(printed)
    forest = next(k for k in rows if k.startswith("forest, primary + secondary"))
    cleared = next(k for k in rows if k.startswith("primary forest cleared"))
    emissions = next(k for k in rows if k.startswith("net emissions"))
    income = next(k for k in rows if k.startswith("mean farm income"))
    # Footnotes say what forest and clearing count, and the sign of net emissions.
    notes = " ".join(printed.split("\n\n")[1].split())
    assert forest.endswith("[1]") and cleared.endswith("[1]") and emissions.endswith("[2]")
    assert "clearing counts primary forest only" in notes
    assert "emissions minus removals: positive, the landscape releases carbon" in notes
    # Incomes are not defined in year 0: n/a, and said why.
    assert rows[income][0] == "n/a" and income.endswith("[3]")
    assert "n/a in year 0" in notes
    # One number format per row: no decimals except the Gini coefficient.
    for label, cells in rows.items():
        decimals = {len(c.partition(".")[2]) for c in cells if c not in ("0", "n/a")}
        assert decimals <= ({2} if "Gini" in label else {0}), label
    # A scenario without programmes has no programme rows.
    assert "programmes:" not in printed and "farms enrolled" not in rows


def test_run_summary_reports_the_programmes(capsys):
    scenario = ROOT / "scenarios" / "caqueta_conservation_agreements.toml"
    assert main(["run", str(scenario), "--years", "8"]) == 0
    printed = capsys.readouterr().out
    assert max(len(line) for line in printed.splitlines()) <= 100
    rows = summary_rows(printed)
    header = printed.splitlines()[1].split()
    assert "5" in header[1::2]  # the programme's last year is a column
    assert {"farms enrolled", "payments to farmers (USD/yr)", "budget remaining (USD)"} <= set(
        rows
    )
    assert rows["budget remaining (USD)"][0] == "600,000"
    text = " ".join(printed.split("programmes:")[1].split())
    assert "Nature for Peace conservation agreements: works for taxes, years 1-5" in text
    assert "enrolment peaked at" in text and "expelled" in text
    assert re.search(r"payments to farmers [\d,]+ USD", text)
    assert re.search(r"spent [\d,]+ of 600,000 USD \(\d+%\), [\d,]+ USD left", text)


def test_every_help_text_renders_percent_signs_once(capsys):
    """argparse %-formats help strings but not descriptions: no '%%' may show."""
    from landsim.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    texts = [parser.format_help()]
    for name in commands.choices:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        texts.append(capsys.readouterr().out)
    for text in texts:
        assert "%%" not in text and "%(" not in text
    assert "95 % interval" in " ".join(
        texts[1 + list(commands.choices).index("summarize")].split()
    )


# --------------------------------------------------------------------------- --out


SMALL_EXPERIMENT = """\
name = "tiny_batch"
seed = 1
[scenarios]
short = "short.toml"
[outputs]
yearly = false
scalars = ["forest_area_ha"]
"""

SMALL_SENSITIVITY = """\
name = "tiny_sa"
method = "morris"
n = 2
seed = 1
years = 2
scenario = "short.toml"
outputs = ["forest_area_ha"]
[factors]
"markets.cocoa.mean" = [1.5, 3.0]
"farmers.savings_rate" = [0.1, 0.3]
"""


def commands_for(short_scenario: Path) -> dict[str, list[str]]:
    """One invocation of each command that writes --out (append --out DIR)."""
    folder = short_scenario.parent
    (folder / "batch.toml").write_text(SMALL_EXPERIMENT, encoding="utf-8")
    (folder / "sa.toml").write_text(SMALL_SENSITIVITY, encoding="utf-8")
    return {
        "run": ["run", str(short_scenario), "--quiet"],
        "batch": ["batch", str(folder / "batch.toml"), "--workers", "1", "--quiet"],
        "compare": [
            "compare",
            str(short_scenario),
            "--against",
            str(short_scenario),
            "--replicates",
            "2",
            "--workers",
            "1",
            "--quiet",
        ],
        "sensitivity": ["sensitivity", str(folder / "sa.toml"), "--workers", "1", "--quiet"],
    }


def fail_if_anything_runs(monkeypatch):
    import landsim.batch.engine
    import landsim.simulation

    def refuse(*args, **kwargs):
        raise AssertionError("nothing may run for an unusable --out")

    monkeypatch.setattr(landsim.simulation, "simulate", refuse)
    monkeypatch.setattr(landsim.batch.engine, "execute", refuse)


@pytest.mark.parametrize("command", ["run", "batch", "compare", "sensitivity"])
def test_an_out_that_cannot_be_a_directory_fails_before_anything_runs(
    short_scenario, tmp_path, capsys, monkeypatch, command
):
    args = commands_for(short_scenario)[command]
    fail_if_anything_runs(monkeypatch)
    afile = tmp_path / "a-file"
    afile.write_text("not a directory")
    for out, message in (
        (afile, "exists and is not a directory"),
        (afile / "sub" / "dir", f"cannot be created: {afile} is a file, not a directory"),
    ):
        assert main([*args, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    assert afile.read_text() == "not a directory"


def test_no_command_writes_into_the_results_of_another(short_scenario, tmp_path, capsys):
    commands = commands_for(short_scenario)
    made = {}
    for kind, args in commands.items():
        out = tmp_path / f"made-by-{kind}"
        assert main([*args, "--out", str(out)]) in (0, 1), capsys.readouterr().err
        made[kind] = out
        assert json.loads((out / "manifest.json").read_text())["kind"] == (
            "comparison" if kind == "compare" else kind
        )
    capsys.readouterr()
    snapshot = {
        kind: {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
        for kind, out in made.items()
    }
    for kind, args in commands.items():
        for other, out in made.items():
            if other == kind:
                continue
            for extra in (
                [],
                ["--force"],
                ["--resume"] if kind in ("batch", "sensitivity") else [],
            ):
                assert main([*args, "--out", str(out), *extra]) == 2, (kind, other, extra)
                err = capsys.readouterr().err
                assert "holds a" in err and "another directory" in err, err
                assert "Traceback" not in err
    for kind, out in made.items():
        assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == snapshot[kind]


def test_an_interrupted_write_leaves_no_unmarked_partial_results(
    short_scenario, tmp_path, capsys, monkeypatch
):
    import os

    import landsim.outdir

    out = tmp_path / "out"
    real_savez = np.savez_compressed

    def interrupted_savez(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", interrupted_savez)
    assert main(["run", str(short_scenario), "--out", str(out), "--quiet"]) == 130
    assert not out.exists() and list(tmp_path.iterdir()) == [short_scenario]  # nothing left

    monkeypatch.setattr(np, "savez_compressed", real_savez)
    assert main(["run", str(short_scenario), "--out", str(out), "--quiet"]) == 0
    moved = []

    def interrupted_replace(src, dst):
        if moved:
            raise KeyboardInterrupt
        moved.append(dst)
        os.rename(src, dst)

    monkeypatch.setattr(landsim.outdir.os, "replace", interrupted_replace)
    args = ["run", str(short_scenario), "--out", str(out), "--seed", "5", "--quiet"]
    assert main([*args, "--force"]) == 130
    assert (out / "INCOMPLETE").is_file()
    assert "did not finish" in (out / "INCOMPLETE").read_text()
    capsys.readouterr()
    monkeypatch.undo()
    assert main(args) == 2
    assert "incomplete" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
    assert not (out / "INCOMPLETE").exists()
    assert json.loads((out / "manifest.json").read_text())["seed"] == 5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_write_outputs_refuses_to_overwrite_a_run_unless_forced(short_scenario, tmp_path):
    from landsim import simulate, write_outputs
    from landsim.outdir import OutputExistsError

    result = simulate(short_scenario, rng=1, years=1)
    out = tmp_path / "out"
    write_outputs(result, out)
    with pytest.raises(OutputExistsError, match="force=True"):
        write_outputs(result, out)
    assert [p.name for p in write_outputs(result, out, force=True)] == list(OUTPUT_FILES)
