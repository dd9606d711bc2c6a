"""One translator of validation errors (landsim.errors) for every file a user writes."""

from __future__ import annotations

import pytest

from landsim.errors import ScenarioError, keys_at
from landsim.experiment import Experiment, ExperimentSpec
from landsim.scenario import Scenario
from landsim.scenario import ScenarioError as ScenarioErrorFromScenario
from landsim.sensitivity import SensitivityAnalysis, SensitivitySpec


def test_scenario_error_has_one_home():
    assert ScenarioErrorFromScenario is ScenarioError


@pytest.mark.parametrize(
    ("root", "loc", "expected"),
    [
        (Scenario, ["markets", "cocoa"], {"process", "initial", "mean", "sigma", "values"}),
        (Scenario, ["farmers", "discount_rate", "uniform"], {"dist", "low", "high"}),
        (Scenario, ["programmes", 0, "obligations"], {"no_clearing", "grace_years"}),
        (Scenario, ["programmes", "0"], {"name", "start_year", "forest_payment"}),
        (ExperimentSpec, ["outputs"], {"yearly", "scalars"}),
        (SensitivitySpec, ["factors", "markets.cocoa.mean"], {"dist", "low", "high", "sd"}),
        (Scenario, ["years"], set()),  # a value, not a table
    ],
)
def test_keys_at_reads_the_schema(root, loc, expected):
    keys = set(keys_at(root, loc))
    assert expected <= keys if expected else keys == set()


def test_each_file_kind_lists_the_allowed_keys_of_an_unknown_key():
    with pytest.raises(ScenarioError, match=r"markets\.cocoa\.meen: unknown key; allowed keys: "):
        Scenario.from_dict({"markets": {"cocoa": {"meen": 1.0}}})
    with pytest.raises(ScenarioError, match=r"outputs\.scalar: unknown key; allowed keys: .*"):
        Experiment.from_dict(
            {"name": "x", "seed": 1, "scenarios": {"d": "default"}, "outputs": {"scalar": []}}
        )
    with pytest.raises(
        ScenarioError, match=r'factors\."markets\.cocoa\.mean"\.hi: unknown key; allowed keys: '
    ):
        SensitivityAnalysis(
            {"markets.cocoa.mean": {"low": 1, "hi": 2}, "years": [1, 2]}, "morris", 4, ["y"]
        )
