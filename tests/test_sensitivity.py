"""Sensitivity analysis: analytical indices recovered, seeds, errors, the CLI."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from landsim.cli import main
from landsim.scenario import ScenarioError
from landsim.sensitivity import SensitivityAnalysis, SensitivityError, SensitivityWarning

ROOT = Path(__file__).resolve().parents[1]

PI = math.pi
A, B = 7.0, 0.1  # Ishigami constants (SALib's defaults)


def ishigami(params: dict) -> float:
    """Ishigami & Homma (1990): f = sin x1 + a sin^2 x2 + b x3^4 sin x1 on [-pi, pi]^3."""
    x1, x2, x3 = params["x1"], params["x2"], params["x3"]
    return math.sin(x1) + A * math.sin(x2) ** 2 + B * x3**4 * math.sin(x1)


def ishigami_indices() -> tuple[np.ndarray, np.ndarray]:
    """The analytical first- and total-order indices of the Ishigami function."""
    v1 = 0.5 * (1 + B * PI**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * PI**8 * (1 / 18 - 1 / 50)
    total = v1 + v2 + v13
    s1 = np.array([v1, v2, 0.0]) / total
    st = np.array([v1 + v13, v2, v13]) / total
    return s1, st


FACTORS = {name: [-PI, PI] for name in ("x1", "x2", "x3")}


def indices(sa: SensitivityAnalysis, index: str) -> np.ndarray:
    table = sa.indices_[sa.indices_["index"] == index].set_index("factor")["value"]
    return table.loc[["x1", "x2", "x3"]].to_numpy()


# --------------------------------------------------------------------------- analytical


def test_sobol_recovers_the_ishigami_indices():
    s1, st = ishigami_indices()
    sa = SensitivityAnalysis(FACTORS, "sobol", 1024, seed=7, model=ishigami, name="ishigami")
    sa.sample().evaluate(workers=1).analyze()
    assert len(sa.points_) == 1024 * 5
    # SALib's own test of its Sobol' analysis on Ishigami uses atol 5e-2 (N = 1024).
    np.testing.assert_allclose(indices(sa, "S1"), s1, atol=5e-2)
    np.testing.assert_allclose(indices(sa, "ST"), st, atol=5e-2)
    # The bootstrap intervals cover the analytical values.
    conf = indices(sa, "ST_conf")
    assert (np.abs(indices(sa, "ST") - st) <= conf + 1e-2).all()
    ranked = sa.ranked()
    assert list(ranked.index) == ["x1", "x2", "x3"]  # by ST: 0.558, 0.442, 0.244


def test_fast_recovers_the_ishigami_first_order_indices():
    s1, st = ishigami_indices()
    sa = SensitivityAnalysis(FACTORS, "fast", 1000, seed=3, model=ishigami)
    sa.sample().evaluate(workers=1).analyze()
    np.testing.assert_allclose(indices(sa, "S1"), s1, atol=5e-2)
    np.testing.assert_allclose(indices(sa, "ST"), st, atol=5e-2)


def test_morris_elementary_effects_of_a_linear_function_are_its_coefficients():
    # y = 1 a + 2 b - 3 c on [0, 1]^3: every elementary effect of a factor equals its
    # coefficient, so mu = coefficient, mu* = |coefficient| and sigma = 0 exactly.
    def linear(p):
        return p["a"] + 2 * p["b"] - 3 * p["c"]

    sa = SensitivityAnalysis({k: [0, 1] for k in "abc"}, "morris", 10, seed=2, model=linear)
    sa.sample().evaluate(workers=1).analyze()
    table = sa.indices_.pivot(index="factor", columns="index", values="value")
    np.testing.assert_allclose(table.loc[["a", "b", "c"], "mu"], [1, 2, -3], atol=1e-9)
    np.testing.assert_allclose(table.loc[["a", "b", "c"], "mu_star"], [1, 2, 3], atol=1e-9)
    np.testing.assert_allclose(table["sigma"], 0, atol=1e-9)
    assert list(sa.ranked().index) == ["c", "b", "a"]


def test_morris_and_pawn_on_ishigami():
    # x3 acts only through its interaction with x1: in Morris its effects change sign
    # with sin(x1) (sigma far above |mu|); in PAWN it has the smallest median.
    morris = SensitivityAnalysis(FACTORS, "morris", 60, seed=2, model=ishigami)
    morris.sample().evaluate(workers=1).analyze()
    assert indices(morris, "sigma")[2] > 3 * abs(indices(morris, "mu")[2])
    assert indices(morris, "mu_star").argmax() in (0, 1)
    pawn = SensitivityAnalysis(FACTORS, "pawn", 1000, seed=2, model=ishigami)
    pawn.sample().evaluate(workers=1).analyze()
    assert indices(pawn, "median").argmin() == 2


def test_a_linear_function_gives_its_variance_shares():
    # y = 1 x1 + 2 x2 + 3 x3 on [0, 1]^3: S1_i = c_i^2 / sum c^2, no interactions.
    def linear(p):
        return p["a"] + 2 * p["b"] + 3 * p["c"]

    sa = SensitivityAnalysis({k: [0, 1] for k in "abc"}, "sobol", 512, seed=1, model=linear)
    sa.sample().evaluate(workers=1).analyze()
    expected = np.array([1, 4, 9]) / 14
    got = sa.indices_[sa.indices_["index"] == "S1"].set_index("factor")["value"]
    np.testing.assert_allclose(got.loc[["a", "b", "c"]], expected, atol=3e-2)


def test_the_same_seed_gives_the_same_indices_and_another_seed_others():
    def run(seed):
        sa = SensitivityAnalysis(FACTORS, "sobol", 256, seed=seed, model=ishigami)
        return sa.sample().evaluate(workers=1).analyze().indices_

    pd.testing.assert_frame_equal(run(5), run(5))
    assert not run(5)["value"].equals(run(6)["value"])


def test_replicates_of_a_stochastic_function_are_averaged_and_their_spread_reported():
    def noisy(params, rng):
        return {"y": params["a"] + rng.normal(0, 0.1), "z": params["b"]}

    sa = SensitivityAnalysis(
        {"a": [0, 1], "b": [0, 1]},
        "sobol",
        64,
        outputs=["y", "z"],
        seed=4,
        replicates=3,
        model=noisy,
    )
    sa.sample().evaluate(workers=1).analyze()
    assert len(sa.runs_) == 64 * 4 * 3
    means = sa.runs_.groupby("point")["y"].mean().to_numpy()
    np.testing.assert_allclose(sa.results_["y"], means)
    spread = sa.spread_.set_index("output")
    # Replicate r uses the same stream at every point (common random numbers), so
    # the spread at every point is the spread of the same three draws.
    from landsim.experiment import replicate_seed

    draws = [np.random.default_rng(replicate_seed(4, r)).normal(0, 0.1) for r in range(3)]
    assert spread.loc["y", "replicate_sd_mean"] == pytest.approx(np.std(draws, ddof=1))
    assert spread.loc["z", "replicate_sd_mean"] == 0
    s1 = sa.indices_.query("output == 'y' and index == 'S1'").set_index("factor")["value"]
    assert s1["a"] > 0.8 and abs(s1["b"]) < 0.1


# --------------------------------------------------------------------------- the model


def small_factors():
    return {
        "markets.cocoa.mean": [1.2, 4.0],
        "decision.logit_scale": [0.002, 0.05],
        "decision.neighbours": [3, 12],
    }


def test_the_model_pipeline_writes_indices_figures_and_resumable_runs(small_scenario, tmp_path):
    sa = SensitivityAnalysis(
        small_factors(),
        "morris",
        3,
        outputs=["cumulative_deforestation_ha", "income_gini"],
        seed=9,
        model=small_scenario.with_overrides({"years": 4}),
        name="small_morris",
    )
    sa.sample()
    assert all(isinstance(p["decision.neighbours"], int) for p in sa.points_)
    sa.evaluate(out=tmp_path, workers=1)
    with pytest.warns(SensitivityWarning, match="r = 3 Morris trajectories is few"):
        sa.analyze()
    paths = {p.name for p in sa.write(tmp_path)}
    assert {
        "indices.csv",
        "indices.parquet",
        "indices.png",
        "morris_mu_star_sigma.png",
        "warnings.txt",
        "manifest.json",
    } <= paths
    # Three trajectories give one sample size: no convergence plot, and said so.
    assert "convergence.png" not in paths
    assert "convergence.csv holds one sample size only" in (tmp_path / "warnings.txt").read_text()
    table = pd.read_csv(tmp_path / "indices.csv")
    assert set(table["factor"]) == set(small_factors())
    assert {"mu_star", "sigma", "mu_star_conf"} <= set(table["index"])
    # Each point's result is the run at that point.
    runs = sa.runs_.set_index("point")
    assert sa.results_["income_gini"].tolist() == runs["income_gini"].tolist()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["spec"]["method"] == "morris" and manifest["points"] == 12
    # The runs are a batch directory: resuming runs nothing.
    again = SensitivityAnalysis(
        small_factors(),
        "morris",
        3,
        outputs=["cumulative_deforestation_ha", "income_gini"],
        seed=9,
        model=small_scenario.with_overrides({"years": 4}),
        name="small_morris",
    )
    report: list = []
    from landsim.batch import run_batch

    run_batch(
        again.sample()._experiment(again.points_),
        out=tmp_path / "runs",
        resume=True,
        workers=1,
        report=report,
    )
    assert report[0].already_done == 12 and report[0].ok == 0


def test_paired_outputs_use_the_counterfactual_on_the_same_streams(small_scenario):
    from conftest import SMALL_OVERRIDES
    from landsim.scenario import load_scenario

    shrink = {**SMALL_OVERRIDES, "years": 4}
    base = small_scenario.with_overrides({"years": 4})
    tambopata = load_scenario(ROOT / "scenarios" / "tambopata_redd_cocoa.toml")
    sa = SensitivityAnalysis(
        {"markets.cocoa.mean": [1.5, 3.0], "programmes.0.detection_probability": [0.3, 1.0]},
        "sobol",
        16,
        outputs=["avoided_deforestation_ha", "additional_carbon_tco2e"],
        seed=2,
        model=tambopata.with_overrides(shrink),
        counterfactual=base,
    )
    sa.sample().evaluate(workers=1)
    runs = sa.runs_
    sc = runs[runs["scenario"] == "scenario"].set_index(["point", "replicate"])
    cf = runs[runs["scenario"] == "counterfactual"].set_index(["point", "replicate"])
    expected = cf["cumulative_deforestation_ha"] - sc["cumulative_deforestation_ha"]
    np.testing.assert_allclose(sa.results_["avoided_deforestation_ha"], expected.to_numpy())
    carbon = (sc["carbon_stock_tc"] - cf["carbon_stock_tc"]) * 44 / 12
    np.testing.assert_allclose(sa.results_["additional_carbon_tco2e"], carbon.to_numpy())
    # The counterfactual has no programme: it runs each point without that factor,
    # and with the same replicate stream as the scenario.
    assert cf["programmes.0.detection_probability"].isna().all()
    assert (cf["markets.cocoa.mean"] == sc["markets.cocoa.mean"]).all()
    assert (cf["rng"] == sc["rng"]).all()


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("changes", "key", "fragment"),
    [
        (
            {"factors": {"markets.cocoa.meen": [1, 2], "years": [5, 10]}},
            'factors."markets.cocoa.meen"',
            "unknown key",
        ),
        (
            {"factors": {"markets.cocoa.mean": [3.0, 1.0], "years": [5, 10]}},
            'factors."markets.cocoa.mean"',
            "inverted bounds: high (1.0) must be > low (3.0)",
        ),
        ({"method": "sobol", "n": 100}, "n", "power of two (got 100; try 64 or 128)"),
        ({"method": "sobel"}, "method", "'morris', 'sobol', 'fast', 'delta' or 'pawn'"),
        (
            {"factors": {"markets.cocoa.mean": {"dist": "norm", "mean": 2}, "years": [5, 10]}},
            'factors."markets.cocoa.mean"',
            "needs mean, sd (missing: sd)",
        ),
        (
            {"factors": {"decision.logit_scale": [-1.0, 0.05], "years": [5, 10]}},
            'factors."decision.logit_scale"',
            "decision.logit_scale",
        ),
        ({"outputs": ["cost_per_tco2e"]}, "outputs.0", "needs a counterfactual"),
        ({"outputs": ["forest_aera_ha"]}, "outputs.scalars.0", "unknown column"),
        ({"factors": {"years": [5, 10]}}, "factors", "at least 2 items"),
        ({"options": {"levels": 4}}, "options.levels", "allowed keys: num_levels"),
        ({"n": True}, "n", "must be an integer, not a boolean"),
        ({"replicates": True}, "replicates", "must be an integer, not a boolean"),
        ({"outputs": ["year"]}, "outputs.scalars.0", "unknown column 'year'"),
        (
            {
                "factors": {
                    "markets.cocoa.mean": {"dist": "lognorm", "mean": 1000.0, "sd": 1.0},
                    "years": [5, 10],
                },
                "method": "sobol",
                "n": 8,
            },
            'factors."markets.cocoa.mean"',
            "mean and sd are those of the logarithm",
        ),
        ({"method": "sobol", "n": 2**30}, "n", "a batch takes at most 1,000,000 runs"),
        ({"n": 10**9}, "n", "3,000,000,000 runs"),
        ({"replicates": 10**9}, "replicates", "at most 1,000,000 runs"),
    ],
)
def test_bad_definitions_name_the_factor_or_key(tmp_path, capsys, changes, key, fragment):
    spec = {
        "name": "bad",
        "method": "morris",
        "n": 4,
        "seed": 1,
        "years": 3,
        "outputs": ["forest_area_ha"],
        "factors": {"markets.cocoa.mean": [1.2, 4.0], "years": [5, 10]},
    }
    spec.update(changes)
    path = tmp_path / "bad.toml"
    path.write_text(to_toml(spec), encoding="utf-8")
    code = main(["sensitivity", str(path), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert str(path) in err and key in err and fragment in err, err


def to_toml(spec: dict) -> str:
    lines, tables = [], []
    for key, value in spec.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    for name, table in tables:
        lines.append(f"[{name}]")
        for key, value in table.items():
            if isinstance(value, dict):
                inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items())
                lines.append(f'"{key}" = {{ {inner} }}')
            else:
                lines.append(f'"{key}" = {json.dumps(value)}')
    return "\n".join(lines) + "\n"


def test_an_output_that_is_not_finite_is_reported():
    def sometimes_nan(p):
        return math.nan if p["a"] > 0.5 else p["a"] + p["b"]

    sa = SensitivityAnalysis({"a": [0, 1], "b": [0, 1]}, "sobol", 16, model=sometimes_nan)
    with pytest.raises(SensitivityError, match="not finite"):
        sa.sample().evaluate(workers=1).analyze()


def test_python_definitions_are_validated_in_the_constructor():
    with pytest.raises(ScenarioError, match=r'factors."x": inverted bounds'):
        SensitivityAnalysis({"x": [1, 0], "y": [0, 1]}, "sobol", 8, model=ishigami)
    for bad in (math.nan, math.inf):
        with pytest.raises(ScenarioError, match=r'factors."x".high: Input should be a finite'):
            SensitivityAnalysis({"x": [0, bad], "y": [0, 1]}, "sobol", 8, model=ishigami)
    with pytest.raises(ScenarioError, match=r"options.conf_level: must be a number, not a bool"):
        SensitivityAnalysis(
            {"x": [0, 1], "y": [0, 1]}, "sobol", 8, model=ishigami, options={"conf_level": True}
        )


# --------------------------------------------------------------------------- shipped


def test_shipped_sensitivity_experiments_load_and_meet_the_issue():
    morris = SensitivityAnalysis.from_file(ROOT / "experiments" / "morris_screening.toml")
    assert morris.spec_.method == "morris" and len(morris.names) >= 15
    sobol = SensitivityAnalysis.from_file(ROOT / "experiments" / "sobol_tambopata.toml")
    assert sobol.spec_.method == "sobol" and 8 <= len(sobol.names) <= 10
    assert set(sobol.names) <= set(morris.names)


def test_cli_runs_a_small_analysis(tmp_path, capsys):
    spec = {
        "name": "cli",
        "method": "sobol",
        "n": 4,
        "seed": 3,
        "years": 2,
        "scenario": str(ROOT / "scenarios" / "baseline.toml"),
        "outputs": ["forest_area_ha"],
        "factors": {"markets.cocoa.mean": [1.2, 4.0], "decision.logit_scale": [0.002, 0.05]},
    }
    path = tmp_path / "cli.toml"
    path.write_text(to_toml(spec), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["sensitivity", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert (out / "indices.parquet").is_file() and (out / "runs" / "manifest.json").is_file()
    assert main(["sensitivity", str(path), "--out", str(out), "--quiet"]) == 2
    assert "already holds" in capsys.readouterr().err
    assert main(["sensitivity", str(path), "--out", str(out), "--resume"]) == 0
    assert "forest_area_ha:" in capsys.readouterr().out


# --------------------------------------------------------------------------- warnings


def test_a_tiny_sample_is_warned_about_with_the_size_needed(tmp_path):
    sa = SensitivityAnalysis(FACTORS, "sobol", 8, seed=7, model=ishigami, name="tiny")
    with pytest.warns(SensitivityWarning) as caught:
        sa.sample().evaluate(workers=1).analyze()
    messages = [str(w.message) for w in caught]
    assert messages == sa.warnings_
    (small,) = [m for m in messages if "too small" in m]
    needed = int(re.search(r"N = ([\d,]+) or more", small)[1].replace(",", ""))
    assert needed > 8 and needed & (needed - 1) == 0  # a larger power of two
    (convergence,) = [m for m in messages if m.startswith("convergence")]
    assert "convergence.csv is empty" in convergence and "n = 64" in convergence
    assert "warnings:" in sa.format()
    paths = {p.name for p in sa.write(tmp_path)}
    assert "convergence.png" not in paths and "warnings.txt" in paths
    assert "too small" in (tmp_path / "warnings.txt").read_text()
    assert json.loads((tmp_path / "manifest.json").read_text())["warnings"] == messages
    # The empty convergence table still has its columns.
    assert list(pd.read_csv(tmp_path / "convergence.csv").columns) == [
        "output",
        "factor",
        "n",
        "index",
        "value",
        "conf",
    ]


def test_a_large_enough_sample_is_not_warned_about(tmp_path):
    sa = SensitivityAnalysis(FACTORS, "sobol", 1024, seed=7, model=ishigami)
    sa.sample().evaluate(workers=1).analyze()
    assert sa.warnings_ == []
    sa.write(tmp_path)
    assert not (tmp_path / "warnings.txt").exists()


def test_the_cli_warns_of_a_small_n_and_of_a_single_replicate(tmp_path, capsys):
    spec = {
        "name": "tiny",
        "method": "sobol",
        "n": 8,
        "seed": 3,
        "years": 2,
        "replicates": 1,
        "scenario": str(ROOT / "scenarios" / "baseline.toml"),
        "outputs": ["forest_area_ha"],
        "factors": {"markets.cocoa.mean": [1.2, 4.0], "decision.logit_scale": [0.002, 0.05]},
    }
    path = tmp_path / "tiny.toml"
    path.write_text(to_toml(spec), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["sensitivity", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if line.startswith("landsim: warning: ")]
    assert any("replicates = 1" in w for w in warned)
    assert any("convergence.csv is empty" in w for w in warned)
    assert "Warning:" not in err  # printed once, not also as a raw Python warning
    spread = pd.read_csv(out / "replicate_spread.csv")
    assert spread["replicate_sd_mean"].isna().all()
    assert spread["note"].str.contains("replicates = 2 or more").all()
    # Without --quiet the warnings close the printed table.
    assert main(["sensitivity", str(path), "--out", str(out), "--resume", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "warnings:" in printed and "replicates = 1" in printed
    assert "NaN" not in printed


def test_writing_an_analysis_again_leaves_no_file_of_the_earlier_one(tmp_path):
    def linear(p):
        return p["a"] + 2 * p["b"]

    factors = {"a": [0, 1], "b": [0, 1]}
    out = tmp_path / "sa"
    morris = SensitivityAnalysis(factors, "morris", 4, model=linear, replicates=2)
    morris.sample().evaluate(workers=1).analyze().write(out)
    assert (out / "morris_mu_star_sigma.png").is_file() and (
        out / "replicate_spread.csv"
    ).is_file()
    sobol = SensitivityAnalysis(factors, "sobol", 16, model=linear)
    written = {p.name for p in sobol.sample().evaluate(workers=1).analyze().write(out)}
    assert {p.name for p in out.iterdir()} == written
    assert "morris_mu_star_sigma.png" not in written
    assert json.loads((out / "manifest.json").read_text())["spec"]["method"] == "sobol"
    assert [p.name for p in tmp_path.iterdir()] == ["sa"]  # no partial directory left
