"""The rules the reference implementation writes afresh give the vectorised model's
numbers to the last bit: biomass carbon by cover and age (the Chapman-Richards
curves), equilibrium soil carbon by cover, the CO2/C ratio, and the Gini
coefficient of incomes.

The reference must not import :mod:`landsim.carbon` or :mod:`landsim.economics`
(``tests/test_architecture.py``); these tests may, to compare the two."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landsim import carbon, economics
from landsim.landscape import Cover
from landsim.reference.carbon import CO2_PER_C, CarbonCurves
from landsim.reference.records import gini
from landsim.scenario import load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml"))
MAX_AGE = 300


def assert_same_carbon(scenario) -> None:
    """Biomass at every age up to :data:`MAX_AGE` and soil carbon, every cover."""
    curves = CarbonCurves(scenario)
    table = carbon.biomass_table(scenario, MAX_AGE)
    soil = carbon.soc_equilibrium(np.arange(len(Cover)), scenario)
    for cover in Cover:
        ours = [curves.biomass_density(cover, age) for age in range(MAX_AGE + 1)]
        np.testing.assert_array_equal(ours, table[cover], err_msg=cover.name)
        assert curves.soc_equilibrium(cover) == soil[cover], cover.name


def test_the_ratio_of_co2_to_carbon():
    assert CO2_PER_C == carbon.CO2_PER_C == 44.0 / 12.0


@pytest.mark.parametrize("path", [None, *SCENARIOS], ids=lambda p: p.stem if p else "default")
def test_carbon_curves_of_every_shipped_scenario(path):
    assert_same_carbon(load_scenario(path))


@settings(max_examples=40, deadline=None)
@given(
    a_max=st.floats(1.0, 400.0),
    rate=st.floats(0.001, 1.0),
    shape=st.floats(0.3, 4.0),
    root_shoot=st.floats(0.0, 0.5),
    factor=st.floats(0.3, 1.5),
)
def test_carbon_curves_of_other_parameters(
    default_scenario, a_max, rate, shape, root_shoot, factor
):
    scenario = default_scenario.with_overrides(
        {
            "forest.secondary_agb_max_tc_per_ha": a_max,
            "forest.secondary_growth_rate": rate,
            "forest.secondary_shape": shape,
            "forest.root_shoot_ratio": root_shoot,
            "pasture.root_shoot_ratio": 3 * root_shoot,
            "silvopasture.root_shoot_ratio": 2 * root_shoot,
            "monocrop.root_shoot_ratio": root_shoot / 2,
            "cocoa_agroforestry.agb_growth_rate": rate / 2,
            "cocoa_agroforestry.agb_shape": shape,
            "silvopasture.agb_shape": 1.0 + shape,
            "soil.monocrop.land_use": factor,
        }
    )
    assert_same_carbon(scenario)


def test_a_biomass_table_grows_to_any_age(default_scenario):
    curves = CarbonCurves(default_scenario)
    old = carbon.biomass_table(default_scenario, 5000)[Cover.SECONDARY_FOREST]
    assert curves.biomass_density(Cover.SECONDARY_FOREST, 3) == old[3]
    assert curves.biomass_density(Cover.SECONDARY_FOREST, 4321) == old[4321]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(-1e5, 1e6, allow_nan=False),
            st.sampled_from([0.0, -0.0, 1.0, 1e-300]),
        ),
        min_size=0,
        max_size=400,
    )
)
def test_gini_is_the_vectorised_one(incomes):
    assert gini(incomes) == economics.gini(np.array(incomes, dtype=np.float64))
    assert gini(np.array(incomes)) == economics.gini(np.array(incomes, dtype=np.float64))


def test_gini_of_equal_and_of_concentrated_incomes():
    assert gini([5.0] * 10) == pytest.approx(0.0, abs=1e-12)
    assert gini([]) == gini([-3.0, 0.0]) == 0.0
    assert gini([0.0] * 99 + [1.0]) == pytest.approx(0.99)
