"""landsim as a Mesa user writes it: model parameters as keywords, mesa.batch_run,
``rng=None`` as fresh entropy, and the CLI's default of the scenario's seed."""

from __future__ import annotations

import warnings

import mesa
import numpy as np
import pandas as pd
import pytest

from conftest import SMALL_OVERRIDES, small_scenario_toml
from landsim.cli import main
from landsim.model import LandUseModel
from landsim.scenario import ScenarioError

SMALL = {**SMALL_OVERRIDES, "years": 3}


def test_keywords_are_dotted_scenario_overrides(small_scenario):
    model = LandUseModel(**SMALL, **{"markets.cocoa.mean": 2.5}, rng=1)
    assert model.params.markets.cocoa.mean == 2.5
    assert model.params.years == 3 and model.params.landscape.width == 60
    expected = LandUseModel(
        small_scenario.with_overrides({"years": 3, "markets.cocoa.mean": 2.5}), rng=1
    )
    expected.run_for(3)
    model.run_for(3)
    pd.testing.assert_frame_equal(model.yearly_table(), expected.yearly_table(), check_exact=True)


def test_bad_keyword_is_a_scenario_error_with_allowed_keys():
    with pytest.raises(ScenarioError, match=r"markets\.cocoa\.meen: unknown key"):
        LandUseModel(**{"markets.cocoa.meen": 2.0})


def test_seed_keyword_is_refused_with_the_mesa_spelling():
    with pytest.raises(TypeError, match=r"rng=5"):
        LandUseModel(seed=5)


def test_batch_run_sweeps_dotted_keys_with_independent_iterations():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Mesa deprecates iterations=
        rows = mesa.batch_run(
            LandUseModel,
            parameters={**SMALL, "markets.cocoa.mean": [1.0, 3.0]},
            iterations=3,
            max_steps=10,
            display_progress=False,
        )
    table = pd.DataFrame(rows)
    assert len(table) == 6
    assert set(table["markets.cocoa.mean"]) == {1.0, 3.0}
    # The model stops at the scenario's horizon (model.running), not at max_steps.
    assert set(table["year"]) == {3}
    # iterations=N gives N different replicates, not N copies of the scenario's seed.
    for _, group in table.groupby("markets.cocoa.mean"):
        assert group["carbon_stock_tc"].nunique() == 3


def test_batch_run_with_seeds_repeats():
    kwargs = dict(parameters=SMALL, rng=[4, 4, 5], max_steps=10, display_progress=False)
    table = pd.DataFrame(mesa.batch_run(LandUseModel, **kwargs))
    stock = table["carbon_stock_tc"].to_numpy()
    assert stock[0] == stock[1] != stock[2]


def test_cli_defaults_to_the_scenario_seed(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text("seed = 21\n" + small_scenario_toml("s", years=2), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    yearly = pd.read_parquet(tmp_path / "out" / "yearly.parquet")
    assert set(yearly["seed"].astype(str)) == {"21"}
    np.testing.assert_array_equal(yearly["seed"].astype(int), 21)
