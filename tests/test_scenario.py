"""Scenario loading and validation (landsim.scenario)."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pydantic
import pytest

from landsim.scenario import (
    Constant,
    LogNormal,
    Normal,
    Scenario,
    ScenarioError,
    Uniform,
    load_scenario,
)


def _default_toml() -> dict:
    text = resources.files("landsim.data").joinpath("default.toml").read_text("utf-8")
    return tomllib.loads(text)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _error(excinfo) -> str:
    return str(excinfo.value)


# --------------------------------------------------------------------------- loading


class TestLoading:
    def test_default_matches_embedded_file(self):
        sc = load_scenario()
        raw = _default_toml()
        assert isinstance(sc, Scenario)
        assert sc.name == raw["name"]
        assert sc.years == raw["years"]
        assert sc.seed == raw["seed"]
        assert sc.landscape.width == raw["landscape"]["width"]
        assert sc.landscape.n_farms == raw["landscape"]["n_farms"]
        assert sc.markets.cocoa.process == raw["markets"]["cocoa"]["process"]
        assert sc.decision.logit_scale == raw["decision"]["logit_scale"]
        assert isinstance(sc.farmers.discount_rate, Uniform)
        assert sc.farmers.discount_rate.low == raw["farmers"]["discount_rate"]["low"]
        # A plain number becomes a constant distribution.
        knowledge = Scenario.from_dict({"farmers": {"knowledge": 0.3}}).farmers.knowledge
        assert isinstance(knowledge, Constant)
        assert knowledge.value == 0.3

    def test_default_is_stable_and_round_trips(self):
        a, b = load_scenario(), load_scenario()
        assert a == b
        assert Scenario.from_dict(a.to_dict()).to_dict() == a.to_dict()

    def test_file_extends_base_and_overrides(self, tmp_path):
        _write(
            tmp_path / "base.toml",
            'name = "base"\nyears = 12\n[farmers]\nsavings_rate = 0.3\n'
            "[decision]\nneighbours = 4\n",
        )
        child = _write(
            tmp_path / "child.toml",
            'extends = "base.toml"\nname = "child"\nyears = 15\n[decision]\nneighbours = 9\n',
        )
        sc = load_scenario(child)
        default = load_scenario()
        assert sc.name == "child"
        assert sc.years == 15  # child overrides base
        assert sc.farmers.savings_rate == 0.3  # inherited from base
        assert sc.decision.neighbours == 9
        # Keys set nowhere in the chain keep the embedded defaults.
        assert sc.decision.logit_scale == default.decision.logit_scale
        assert sc.landscape == default.landscape

    def test_extends_relative_to_the_file(self, tmp_path):
        (tmp_path / "sub").mkdir()
        _write(tmp_path / "base.toml", "years = 7\n")
        child = _write(tmp_path / "sub" / "child.toml", 'extends = "../base.toml"\nseed = 3\n')
        sc = load_scenario(str(child))
        assert (sc.years, sc.seed) == (7, 3)

    def test_extends_default(self, tmp_path):
        path = _write(tmp_path / "s.toml", 'extends = "default"\nyears = 11\n')
        sc = load_scenario(path)
        assert sc.years == 11
        expected = load_scenario().to_dict()
        expected["years"] = 11
        assert sc.to_dict() == expected
        assert str(path) in sc.source

    def test_distribution_table_replaces_rather_than_merges(self, tmp_path):
        # The default discount rate is uniform(low, high); a normal must not inherit them.
        path = _write(
            tmp_path / "s.toml",
            '[farmers]\ndiscount_rate = { dist = "normal", mean = 0.15, sd = 0.02, low = 0.0 }\n',
        )
        rate = load_scenario(path).farmers.discount_rate
        assert isinstance(rate, Normal)
        assert (rate.mean, rate.sd, rate.low, rate.high) == (0.15, 0.02, 0.0, None)

    def test_with_overrides(self, default_scenario):
        sc = default_scenario.with_overrides(
            {"years": 20, "farmers.discount_rate.low": 0.1, "markets.cocoa.sigma": 0.0}
        )
        assert sc.years == 20
        assert sc.farmers.discount_rate.low == 0.1
        assert sc.markets.cocoa.sigma == 0.0
        assert default_scenario.years == 30  # the original is untouched

    def test_scenario_is_immutable(self, default_scenario):
        with pytest.raises(pydantic.ValidationError):
            default_scenario.years = 5


# --------------------------------------------------------------------------- errors


class TestFileErrors:
    def test_unknown_key_names_file_key_path_and_allowed_keys(self, tmp_path):
        path = _write(tmp_path / "bad.toml", "[farmers]\ndiscount_rat = 0.1\n")
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(path)
        msg = _error(excinfo)
        assert str(path) in msg
        assert "farmers.discount_rat" in msg
        assert "unknown key" in msg
        assert "allowed keys" in msg
        for allowed in ("discount_rate", "risk_aversion", "savings_rate"):
            assert allowed in msg
        assert excinfo.value.source == str(path)
        assert excinfo.value.problems[0][0] == "farmers.discount_rat"
        assert isinstance(excinfo.value, ValueError)

    def test_unknown_top_level_key_lists_sections(self, tmp_path):
        path = _write(tmp_path / "bad.toml", "yeras = 10\n")
        with pytest.raises(ScenarioError, match="yeras: unknown key") as excinfo:
            load_scenario(path)
        assert "landscape" in _error(excinfo)
        assert "years" in _error(excinfo)

    def test_unknown_key_in_price_process_lists_allowed_keys(self, tmp_path):
        path = _write(tmp_path / "bad.toml", "[markets.cocoa]\nsigmaa = 0.2\n")
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(path)
        msg = _error(excinfo)
        assert "markets.cocoa.sigmaa" in msg
        assert "sigma" in msg.split("allowed keys")[1]

    def test_unknown_key_in_distribution_lists_allowed_keys(self, tmp_path):
        # The module promises messages naming "the key path and what is allowed".
        path = _write(
            tmp_path / "bad.toml",
            '[farmers]\ndiscount_rate = { dist = "uniform", low = 0.1, hihg = 0.2 }\n',
        )
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(path)
        msg = _error(excinfo)
        assert str(path) in msg
        assert "farmers.discount_rate.hihg" in msg
        assert "allowed keys" in msg
        assert "high" in msg.split("allowed keys")[1]

    def test_wrong_type(self, tmp_path):
        path = _write(tmp_path / "bad.toml", 'years = "ten"\n')
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(path)
        msg = _error(excinfo)
        assert str(path) in msg and "years" in msg
        assert "integer" in msg and "'ten'" in msg

    def test_wrong_type_nested(self, tmp_path):
        path = _write(tmp_path / "bad.toml", '[landscape]\nwidth = "wide"\n')
        with pytest.raises(ScenarioError, match=r"landscape\.width"):
            load_scenario(path)

    @pytest.mark.parametrize(
        ("text", "key"),
        [
            ("years = 0\n", "years"),
            ("years = 1001\n", "years"),
            ("[markets.cocoa]\nsigma = -1\n", "markets.cocoa.sigma"),
            ("[farmers]\nsavings_rate = 1.5\n", "farmers.savings_rate"),
            ("[landscape]\nreserve_fraction = 1.0\n", "landscape.reserve_fraction"),
            ("[landscape]\nwidth = 5\n", "landscape.width"),
            ("[decision]\nplanning_horizon_years = 0\n", "decision.planning_horizon_years"),
            ("[markets.beef]\ninitial = 0.0\n", "markets.beef.initial"),
        ],
    )
    def test_out_of_range(self, tmp_path, text, key):
        path = _write(tmp_path / "bad.toml", text)
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(path)
        msg = _error(excinfo)
        assert str(path) in msg
        assert f"{key}:" in msg
        assert any(word in msg for word in ("greater", "less"))

    def test_bad_literal_lists_allowed_values(self, tmp_path):
        path = _write(tmp_path / "bad.toml", '[markets.cocoa]\nprocess = "walk"\n')
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(path)
        msg = _error(excinfo)
        assert "markets.cocoa.process" in msg
        assert "'ou'" in msg and "'path'" in msg
        assert "walk" in msg

    def test_path_process_needs_values(self, tmp_path):
        path = _write(tmp_path / "bad.toml", '[markets.cocoa]\nprocess = "path"\n')
        with pytest.raises(ScenarioError, match=r"markets\.cocoa") as excinfo:
            load_scenario(path)
        assert "values" in _error(excinfo)

    def test_negative_path_value(self, tmp_path):
        path = _write(
            tmp_path / "bad.toml", '[markets.cocoa]\nprocess = "path"\nvalues = [2.0, -1.0]\n'
        )
        with pytest.raises(ScenarioError, match=r"markets\.cocoa\.values"):
            load_scenario(path)

    def test_unknown_distribution(self, tmp_path):
        path = _write(tmp_path / "bad.toml", '[farmers]\nknowledge = { dist = "gamma" }\n')
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(path)
        msg = _error(excinfo)
        assert "farmers.knowledge" in msg
        for tag in ("constant", "uniform", "normal", "lognormal"):
            assert tag in msg

    def test_invalid_toml(self, tmp_path):
        path = _write(tmp_path / "bad.toml", "years = = 3\n[farmers\n")
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(path)
        assert str(path) in _error(excinfo)
        assert "not valid TOML" in _error(excinfo)

    def test_missing_file(self, tmp_path):
        path = tmp_path / "nope.toml"
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(path)
        assert str(path) in _error(excinfo)
        assert "not found" in _error(excinfo)

    def test_missing_parent_file(self, tmp_path):
        child = _write(tmp_path / "child.toml", 'extends = "missing.toml"\n')
        with pytest.raises(ScenarioError, match=r"missing\.toml.*not found"):
            load_scenario(child)

    def test_directory_is_not_a_scenario(self, tmp_path):
        with pytest.raises(ScenarioError, match="directory"):
            load_scenario(tmp_path)

    def test_circular_extends(self, tmp_path):
        a = _write(tmp_path / "a.toml", 'extends = "b.toml"\nyears = 3\n')
        _write(tmp_path / "b.toml", 'extends = "a.toml"\nyears = 4\n')
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(a)
        msg = _error(excinfo)
        assert "circular" in msg
        assert "a.toml" in msg and "b.toml" in msg

    def test_self_extends(self, tmp_path):
        a = _write(tmp_path / "a.toml", 'extends = "a.toml"\n')
        with pytest.raises(ScenarioError, match="circular"):
            load_scenario(a)

    def test_extends_must_be_a_string(self, tmp_path):
        a = _write(tmp_path / "a.toml", "extends = 3\n")
        with pytest.raises(ScenarioError, match="extends"):
            load_scenario(a)

    def test_uniform_high_below_low(self, tmp_path):
        path = _write(
            tmp_path / "bad.toml",
            '[farmers]\ndiscount_rate = { dist = "uniform", low = 0.3, high = 0.1 }\n',
        )
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(path)
        msg = _error(excinfo)
        assert str(path) in msg
        assert "farmers.discount_rate" in msg
        assert "high" in msg and "low" in msg

    def test_cocoa_full_yield_before_first_harvest(self, tmp_path):
        path = _write(
            tmp_path / "bad.toml",
            "[cocoa_agroforestry]\nfirst_harvest_year = 4\nfull_yield_year = 3\n",
        )
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(path)
        msg = _error(excinfo)
        assert "cocoa_agroforestry" in msg
        assert "full_yield_year" in msg and "first_harvest_year" in msg

    def test_several_problems_are_all_reported(self, tmp_path):
        path = _write(tmp_path / "bad.toml", "years = 0\n[farmers]\nsavings_rate = 2.0\n")
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(path)
        keys = {key for key, _ in excinfo.value.problems}
        assert {"years", "farmers.savings_rate"} <= keys


class TestOverrideErrors:
    @pytest.mark.parametrize(
        "key", ["farmers.discount_rat", "nope", "nope.deeper", "markets.cocoa.sigma.x"]
    )
    def test_unknown_dotted_key(self, default_scenario, key):
        with pytest.raises(ScenarioError) as excinfo:
            default_scenario.with_overrides({key: 1})
        msg = _error(excinfo)
        assert "overrides" in msg
        assert f"{key.split('.')[0]}" in msg
        assert "unknown key" in msg

    def test_unknown_dotted_key_is_named_in_full(self, default_scenario):
        with pytest.raises(ScenarioError, match=r"farmers\.discount_rat: unknown key"):
            default_scenario.with_overrides({"farmers.discount_rat": 0.1})

    @pytest.mark.parametrize(
        ("key", "allowed"),
        [
            ("farmers.discount_rat", "discount_rate, risk_aversion, labour_ha_per_year"),
            ("markets.cocoa.meen", "process, initial, mean, sigma, reversion, values"),
            ("nope", "name, description, seed, years, landscape"),
        ],
    )
    def test_unknown_dotted_key_lists_the_allowed_keys(self, default_scenario, key, allowed):
        # As the file-level "unknown key" error does.
        with pytest.raises(ScenarioError) as excinfo:
            default_scenario.with_overrides({key: 1})
        assert f"{key}: unknown key; allowed keys: {allowed}" in _error(excinfo)

    def test_forest_payment_key(self):
        scenarios = Path(__file__).parents[1] / "scenarios"
        sc = load_scenario(scenarios / "caqueta_conservation_agreements.toml")
        with pytest.raises(ScenarioError) as excinfo:
            sc.with_overrides({"programmes.0.forest_payment.usd_per_ha_year": 5.0})
        assert "usd_per_ha_year: unknown key; allowed keys: usd_per_ha_per_year" in _error(excinfo)
        key = "programmes.0.forest_payment.usd_per_ha_per_year"
        assert sc.with_overrides({key: 5.0}).programmes[0].forest_payment.usd_per_ha_per_year == 5
        # A scenario whose programme has no forest payment says so.
        other = load_scenario(scenarios / "tambopata_redd_cocoa.toml")
        with pytest.raises(ScenarioError) as excinfo:
            other.with_overrides({key: 5.0})
        assert "programmes.0.forest_payment is not set in this scenario" in _error(excinfo)

    def test_is_scenario_key(self):
        from landsim.scenario import is_scenario_key

        for key in (
            "years",
            "farmers.discount_rate.low",
            "farmers.discount_rate.cv",
            "markets.carbon.values.0",
            "programmes.0.forest_payment.usd_per_ha_per_year",
            "programmes.obligations.min_forest_share",
        ):
            assert is_scenario_key(key), key
        for key in (
            "programmes.0.forest_payment.usd_per_ha_year",
            "farmers.discount_rat",
            "years.x",
            "markets.cocoa.meen",
            "landscape.cover",
        ):
            assert not is_scenario_key(key), key

    def test_invalid_value(self, default_scenario):
        with pytest.raises(ScenarioError, match="years"):
            default_scenario.with_overrides({"years": -3})

    def test_from_dict_errors_name_the_source(self):
        with pytest.raises(ScenarioError, match="my-source: years"):
            Scenario.from_dict({"years": 0}, source="my-source")


# --------------------------------------------------------------------------- distributions


class TestDistributions:
    N = 200_000

    def test_constant(self):
        d = Constant(value=0.2)
        assert np.all(d.sample(np.random.default_rng(0), 5) == 0.2)
        assert d.mean == 0.2

    def test_uniform(self):
        d = Uniform(dist="uniform", low=0.08, high=0.25)
        x = d.sample(np.random.default_rng(1), self.N)
        assert x.min() >= 0.08 and x.max() <= 0.25
        assert x.mean() == pytest.approx(d.mean, rel=0.01)
        assert d.mean == pytest.approx(0.165)

    def test_uniform_with_equal_bounds_is_allowed(self):
        d = Uniform(dist="uniform", low=1.0, high=1.0)
        assert np.all(d.sample(np.random.default_rng(1), 3) == 1.0)

    def test_normal_clipped(self):
        d = Normal(dist="normal", mean=600.0, sd=150.0, low=200.0)
        x = d.sample(np.random.default_rng(2), self.N)
        assert x.min() >= 200.0
        assert np.median(x) == pytest.approx(600.0, rel=0.01)
        d2 = Normal(dist="normal", mean=0.0, sd=1.0, low=-0.5, high=0.5)
        y = d2.sample(np.random.default_rng(2), 1000)
        assert y.min() >= -0.5 and y.max() <= 0.5

    def test_lognormal_arithmetic_mean_and_cv(self):
        d = LogNormal(dist="lognormal", mean=1500.0, cv=0.8)
        x = d.sample(np.random.default_rng(3), self.N)
        assert np.all(x > 0)
        assert x.mean() == pytest.approx(1500.0, rel=0.02)
        assert x.std() / x.mean() == pytest.approx(0.8, rel=0.05)

    def test_lognormal_rejects_non_positive_mean(self):
        with pytest.raises(ScenarioError, match=r"farmers\.savings_usd"):
            Scenario.from_dict(
                {"farmers": {"savings_usd": {"dist": "lognormal", "mean": 0.0, "cv": 0.5}}}
            )


@pytest.mark.parametrize(
    "dist",
    [
        {"dist": "uniform", "low": 0.1, "high": 0.3},
        {"dist": "normal", "mean": 0.2, "sd": 0.05, "low": 0.05, "high": 0.4},
        {"dist": "lognormal", "mean": 0.2, "cv": 0.4},
        {"dist": "constant", "value": 0.2},
    ],
)
def test_rescale_keeps_the_relative_spread(dist):
    from pydantic import TypeAdapter

    from landsim.scenario import Distribution, rescale

    parsed = TypeAdapter(Distribution).validate_python(dist)
    out = rescale(parsed, 0.5)
    assert out.mean == pytest.approx(0.5)
    assert type(out) is type(parsed)
    draws_old = parsed.sample(np.random.default_rng(1), 2000)
    draws_new = out.sample(np.random.default_rng(1), 2000)
    np.testing.assert_allclose(draws_new, draws_old * 2.5, rtol=1e-12)


def test_get_path_and_set_table_path_on_plain_data():
    from landsim.scenario import get_path, set_table_path

    data = {"programmes": [{"name": "a"}], "farmers": {"n": 3}}
    assert get_path(data, "programmes.0.name") == "a"
    assert get_path(data, "programmes.1.name", "absent") == "absent"
    assert get_path(data, "farmers.n.x") is None
    set_table_path(data, "programmes.0.forest_payment.usd_per_ha_per_year", 5.0)
    assert data["programmes"][0]["forest_payment"] == {"usd_per_ha_per_year": 5.0}
