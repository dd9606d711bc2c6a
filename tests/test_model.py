"""The model as a whole: reproducibility, the Mesa API, behaviour, and outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from landsim.agents import Farmer, FarmerState
from landsim.landscape import Cover
from landsim.model import LandUseModel
from landsim.simulation import OUTPUT_FILES, SimulationResult, simulate, write_outputs

#: Columns simulate() adds in front of the model's yearly table.
RUN_COLUMNS = ["scenario", "seed", "landsim_version"]


def _model_values(yearly: pd.DataFrame) -> pd.DataFrame:
    return yearly.drop(columns=RUN_COLUMNS)


def _assert_rasters_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name]), name
        assert a[name].dtype == b[name].dtype, name


# --------------------------------------------------------------------------- reproducibility


class TestReproducibility:
    def test_same_seed_is_bit_identical(self, small_scenario):
        a = simulate(small_scenario, rng=7)
        b = simulate(small_scenario, rng=7)
        assert_frame_equal(a.yearly, b.yearly, check_exact=True)
        _assert_rasters_equal(a.rasters, b.rasters)
        assert a.seed == b.seed == 7

    def test_different_seeds_differ(self, small_scenario):
        a = simulate(small_scenario, rng=7)
        b = simulate(small_scenario, rng=8)
        assert not _model_values(a.yearly).equals(_model_values(b.yearly))
        assert not np.array_equal(a.rasters["cover"], b.rasters["cover"])
        assert not np.array_equal(a.rasters["fertility"], b.rasters["fertility"])

    def test_model_run_for_matches_simulate(self, small_scenario):
        model = LandUseModel(small_scenario, rng=42)
        model.run_for(small_scenario.years)
        result = simulate(small_scenario, rng=42)
        assert_frame_equal(model.yearly_table(), _model_values(result.yearly), check_exact=True)
        _assert_rasters_equal(model.rasters(), result.rasters)

    def test_stepping_matches_run_for(self, small_scenario):
        a = LandUseModel(small_scenario, rng=3)
        a.run_for(5)
        b = LandUseModel(small_scenario, rng=3)
        for _ in range(5):
            b.step()
        assert a.year == b.year == 5
        assert_frame_equal(a.yearly_table(), b.yearly_table(), check_exact=True)

    def test_none_draws_a_fresh_seed_and_records_it(self, small_scenario):
        # Mesa's and SPEC 7's meaning of rng=None: fresh entropy, not the scenario's seed.
        sc = small_scenario.with_overrides({"seed": 13})
        a, b = simulate(sc), simulate(sc)
        assert isinstance(a.seed, int) and isinstance(b.seed, int)
        assert a.seed != b.seed != 13
        assert not _model_values(a.yearly).equals(_model_values(b.yearly))
        assert (a.yearly["seed"] == str(a.seed)).all()
        # The recorded seed repeats the run.
        again = simulate(sc, rng=a.seed)
        assert_frame_equal(a.yearly, again.yearly, check_exact=True)
        _assert_rasters_equal(a.rasters, again.rasters)

    def test_scenario_seed_on_request(self, small_scenario):
        sc = small_scenario.with_overrides({"seed": 13})
        a = simulate(sc, rng=sc.seed)
        assert a.seed == 13
        assert_frame_equal(a.yearly, simulate(sc, rng=13).yearly, check_exact=True)

    def test_seed_sequence(self, small_scenario):
        a = simulate(small_scenario, rng=np.random.SeedSequence(5))
        b = simulate(small_scenario, rng=np.random.SeedSequence(5))
        c = simulate(small_scenario, rng=np.random.SeedSequence(6))
        assert_frame_equal(a.yearly, b.yearly, check_exact=True)
        _assert_rasters_equal(a.rasters, b.rasters)
        assert not _model_values(a.yearly).equals(_model_values(c.yearly))
        assert "SeedSequence" in str(a.seed) and "5" in str(a.seed)

    def test_reused_seed_sequence_reproduces_the_recorded_run(self, small_scenario):
        """The seed recorded for a SeedSequence ("SeedSequence(entropy=5, spawn_key=())")
        must identify the run: a SeedSequence object passed twice must give the run
        a fresh SeedSequence(5) gives."""
        seq = np.random.SeedSequence(5)
        first = simulate(small_scenario, rng=seq)
        second = simulate(small_scenario, rng=seq)
        fresh = simulate(small_scenario, rng=np.random.SeedSequence(5))
        assert first.seed == second.seed == fresh.seed
        assert_frame_equal(first.yearly, fresh.yearly, check_exact=True)
        assert_frame_equal(second.yearly, fresh.yearly, check_exact=True)

    def test_years_override(self, small_scenario):
        result = simulate(small_scenario, rng=1, years=3)
        assert len(result.yearly) == 4
        assert result.scenario.years == 3
        longer = simulate(small_scenario, rng=1, years=6)
        # The first years do not depend on how long the run is.
        assert_frame_equal(
            _model_values(longer.yearly).iloc[:4].reset_index(drop=True),
            _model_values(result.yearly),
            check_exact=True,
            check_dtype=False,
        )


# --------------------------------------------------------------------------- API shape


class TestApi:
    def test_datacollector_one_row_per_year(self, small_scenario):
        model = LandUseModel(small_scenario, rng=1)
        df = model.datacollector.get_model_vars_dataframe()
        assert len(df) == 1 and df["year"].tolist() == [0]
        model.run_for(4)
        df = model.datacollector.get_model_vars_dataframe()
        assert len(df) == 5
        assert df["year"].tolist() == [0, 1, 2, 3, 4]
        assert df.columns.tolist() == list(model.record)
        assert df.iloc[-1].to_dict() == pytest.approx(model.record, nan_ok=True)

    def test_running_flag_and_year(self, small_scenario):
        sc = small_scenario.with_overrides({"years": 3})
        model = LandUseModel(sc, rng=1)
        assert model.year == 0 and model.running
        model.run_for(2)
        assert model.year == 2 and model.running
        model.step()
        assert model.year == 3 and not model.running

    def test_farmers(self, small_scenario):
        model = LandUseModel(small_scenario, rng=1)
        n = small_scenario.landscape.n_farms
        assert isinstance(model.farmers, FarmerState)
        assert model.farmers.n == n
        assert len(model.agents_by_type[Farmer]) == n
        model.run_for(2)
        for i in range(n):
            farmer = model.farmer(i)
            assert isinstance(farmer, Farmer)
            assert farmer.farm_id == i
            assert farmer.savings_usd == model.farmers.savings_usd[i]
            assert farmer.knowledge == model.farmers.knowledge[i]
            assert farmer.area_ha == (model.landscape.owner == i).sum() * 1.0
            assert np.array_equal(farmer.neighbours, model.farmers.neighbours[i])
        with pytest.raises(AttributeError):
            _ = model.farmer(0).no_such_attribute

    def test_agentset_tools(self, small_scenario):
        model = LandUseModel(small_scenario, rng=1)
        farmers = model.agents_by_type[Farmer]
        total = farmers.agg("savings_usd", sum)
        assert total == pytest.approx(model.farmers.savings_usd.sum())
        savings = model.farmers.savings_usd
        median = float(np.median(savings))
        rich = farmers.select(lambda a: a.savings_usd > median)
        assert len(rich) == int((savings > median).sum())
        assert {a.farm_id for a in rich} == set(np.flatnonzero(savings > median).tolist())

    def test_farmer_attributes_in_bounds(self, small_scenario):
        fs = LandUseModel(small_scenario, rng=1).farmers
        n = fs.n
        for name in ("discount_rate", "risk_aversion", "labour_ha_per_year", "savings_usd"):
            values = getattr(fs, name)
            assert values.shape == (n,) and np.all(values >= 0), name
        assert np.all((fs.knowledge >= 0) & (fs.knowledge <= 1))
        p = small_scenario.farmers.discount_rate
        assert np.all((fs.discount_rate >= p.low) & (fs.discount_rate <= p.high))
        k = small_scenario.decision.neighbours
        assert fs.neighbours.shape == (n, k)
        assert not np.any(fs.neighbours == np.arange(n)[:, None])  # never itself
        assert np.all((fs.neighbours >= 0) & (fs.neighbours < n))
        assert all(len(set(row)) == k for row in fs.neighbours.tolist())

    def test_grid_mirrors_layers(self, small_scenario):
        sc = small_scenario.with_overrides({"landscape.width": 60, "landscape.height": 50})
        model = LandUseModel(sc, rng=1)
        assert model._grid is None  # built lazily
        grid = model.grid
        assert grid is model.grid
        assert tuple(grid.dimensions) == (60, 50)
        assert np.array_equal(grid.cover.data, model.landscape.cover.T)
        for _ in range(3):
            model.step()
            assert np.array_equal(grid.cover.data, model.landscape.cover.T)
            assert np.array_equal(grid.owner.data, model.landscape.owner.T)
            assert np.array_equal(grid.fertility.data, model.landscape.fertility.T)
            assert np.array_equal(grid.biomass_tc_per_ha.data, model.landscape.biomass_tc_per_ha.T)

    def test_rasters_are_copies(self, small_scenario):
        model = LandUseModel(small_scenario, rng=1)
        rasters = model.rasters()
        assert {"cover", "owner", "age", "fertility", "biomass_tc_per_ha"} <= rasters.keys()
        rasters["cover"][:] = Cover.SILVOPASTURE
        assert not np.all(model.landscape.cover == Cover.SILVOPASTURE)

    def test_accepts_a_scenario_path(self, tmp_path):
        path = tmp_path / "s.toml"
        path.write_text(
            "years = 2\n[landscape]\nwidth = 40\nheight = 40\nn_farms = 10\n"
            "lot_depth_km = 0.5\nreserve_fraction = 0.2\n",
            encoding="utf-8",
        )
        model = LandUseModel(path, rng=0)
        assert model.params.years == 2 and model.farmers.n == 10


# --------------------------------------------------------------------------- behaviour

SEEDS = (1, 2, 3)


def _final(scenario, column: str) -> float:
    return sum(float(simulate(scenario, rng=s).yearly[column].iloc[-1]) for s in SEEDS)


def test_high_cocoa_price_brings_more_agroforestry(small_scenario):
    base = small_scenario.with_overrides({"farmers.savings_usd": 1e6})
    high = base.with_overrides({"markets.cocoa.process": "path", "markets.cocoa.values": [8.0]})
    low = base.with_overrides({"markets.cocoa.process": "path", "markets.cocoa.values": [0.8]})
    area_high = _final(high, "area_cocoa_agroforestry_ha")
    area_low = _final(low, "area_cocoa_agroforestry_ha")
    assert area_high > area_low
    assert _final(high, "adopters_cocoa_agroforestry") > _final(low, "adopters_cocoa_agroforestry")


def test_low_monocrop_price_brings_no_more_deforestation(small_scenario):
    def monocrop_price(value):
        return small_scenario.with_overrides(
            {"markets.monocrop.process": "path", "markets.monocrop.values": [value]}
        )

    low, high = monocrop_price(5.0), monocrop_price(120.0)
    defo_low = _final(low, "cumulative_deforestation_ha")
    defo_high = _final(high, "cumulative_deforestation_ha")
    assert defo_low <= defo_high
    assert defo_high > 0


def test_no_savings_no_establishment(small_scenario):
    sc = small_scenario.with_overrides(
        {
            "farmers.savings_usd": 0.0,
            "farmers.savings_rate": 0.0,
            "markets.cocoa.process": "path",
            "markets.cocoa.values": [8.0],
        }
    )
    result = simulate(sc, rng=1)
    assert result.yearly["area_cocoa_agroforestry_ha"].max() == 0
    assert result.yearly["area_silvopasture_ha"].max() == 0
    assert result.yearly["investment_usd"].max() == 0


def test_deterministic_choice_never_picks_a_dominated_option(small_scenario):
    # With a clearing cost no crop can repay, a near-deterministic logit never clears.
    sc = small_scenario.with_overrides(
        {"decision.logit_scale": 10.0, "forest.clearing_cost_usd_per_ha": 1e7}
    )
    result = simulate(sc, rng=1)
    assert result.yearly["cumulative_deforestation_ha"].iloc[-1] == 0
    assert result.yearly["chose_clear"].sum() == 0


# --------------------------------------------------------------------------- outputs


def test_simulation_result_columns(small_scenario):
    result = simulate(small_scenario, rng=9)
    assert isinstance(result, SimulationResult)
    assert result.yearly.columns[:3].tolist() == RUN_COLUMNS
    assert (result.yearly["scenario"] == small_scenario.name).all()
    assert (result.yearly["seed"] == "9").all()
    summary = result.summary()
    columns = list(summary.columns)
    assert columns[0] == "year 0"
    assert columns[-1] == f"year {small_scenario.years}"


def test_write_outputs(small_scenario, tmp_path):
    result = simulate(small_scenario, rng=9)
    paths = write_outputs(result, tmp_path / "out", scenario_file="x.toml")
    assert [p.name for p in paths] == list(OUTPUT_FILES)
    assert all(p.exists() for p in paths)
    csv = pd.read_csv(paths[0])
    assert len(csv) == len(result.yearly)
    assert np.allclose(csv["carbon_stock_tc"], result.yearly["carbon_stock_tc"])
    parquet = pd.read_parquet(paths[1])
    assert np.array_equal(parquet["area_monocrop_ha"], result.yearly["area_monocrop_ha"])
    with np.load(paths[2]) as npz:
        assert np.array_equal(npz["cover"], result.rasters["cover"])
        meta = json.loads(str(npz["manifest"]))
    assert meta["seed"] == 9 and meta["scenario_file"] == "x.toml"
    manifest = json.loads(paths[3].read_text(encoding="utf-8"))
    assert manifest["scenario"] == small_scenario.to_dict()
    assert manifest["years"] == small_scenario.years


def test_farm_table_accounts_add_up(small_scenario):
    result = simulate(small_scenario, rng=5)
    farms, yearly = result.farms, result.yearly
    assert len(farms) == small_scenario.landscape.n_farms
    assert farms["deforested_ha"].sum() == pytest.approx(
        yearly["cumulative_deforestation_ha"].iloc[-1]
    )
    assert farms["claimed_ha"].sum() == pytest.approx(yearly["claimed_ha"].sum())
    owned = result.rasters["owner"] >= 0
    assert farms["area_ha"].sum() == pytest.approx(
        owned.sum() * small_scenario.landscape.cell_size_ha
    )
    assert (farms["savings_usd"] >= 0).all()
