"""Programme evaluation: common random numbers, metric definitions, summaries,
outputs and the ``landsim compare`` command."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from conftest import SMALL_OVERRIDES, small_scenario_toml
from landsim.cli import main
from landsim.evaluation import (
    CO2_PER_C,
    COMPARISON_FILES,
    METRICS,
    RESTORATION_COLUMNS,
    additional_carbon,
    avoided_deforestation,
    compare,
    compliance_rate,
    cost_per_tco2e,
    format_comparison,
    leakage,
    programme_windows,
    replicate_metrics,
    reversal_share,
    summarize_replicates,
    t_interval,
)
from landsim.scenario import ScenarioError, load_scenario
from landsim.simulation import simulate

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

#: A tiny landscape: 60 x 60 cells, 20 farms, 8 years (a few tens of ms per run).
TINY = {**SMALL_OVERRIDES, "years": 8}
TINY_TOML = small_scenario_toml("{name}", years=8)
R, SEED = 3, 11


@pytest.fixture(scope="module")
def tiny():
    return load_scenario().with_overrides(TINY, source="tiny")


@pytest.fixture(scope="module")
def costly(tiny):
    """Clearing costs more: less deforestation, no programme."""
    return tiny.with_overrides(
        {"name": "costly", "forest.clearing_cost_usd_per_ha": 400.0}, source="costly"
    )


@pytest.fixture(scope="module")
def self_comparison(tiny):
    return compare(tiny, tiny, replicates=R, seed=SEED)


@pytest.fixture(scope="module")
def costly_comparison(costly, tiny):
    return compare(costly, tiny, replicates=R, seed=SEED)


# --------------------------------------------------------------------------- synthetic frames


def make_yearly(**columns) -> pd.DataFrame:
    """A yearly table with years 0..T from equal-length column lists."""
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"year": np.arange(n), **columns})


def make_farms(ids, deforested, claimed=None, **flags) -> pd.DataFrame:
    frame = pd.DataFrame({"farm_id": ids, "deforested_ha": np.asarray(deforested, float)})
    if claimed is not None:
        frame["claimed_ha"] = np.asarray(claimed, float)
    for name, values in flags.items():
        frame[name] = np.asarray(values, bool)
    return frame


# --------------------------------------------------------------------------- end to end


class TestCommonRandomNumbers:
    def test_scenario_against_itself_has_exactly_zero_effects(self, self_comparison):
        reps = self_comparison.replicates
        assert len(reps) == R and list(reps["replicate"]) == list(range(R))
        assert list(reps.columns) == ["replicate", *METRICS]
        zero = [
            "avoided_deforestation_ha",
            "additional_carbon_tco2e",
            "avoided_deforestation_enrolled_ha",
            "leakage_ha",
            "leakage_own_lots_ha",
            "leakage_claimed_ha",
            "programme_cost_usd",
            "payments_to_farmers_usd",
            "collective_spending_usd",
            "establishment_support_usd",
            "net_cost_usd",
            "incremental_cost_usd",
            "income_effect_mean_usd",
            "income_effect_poorest20_usd",
            "income_effect_gini",
            "enrolled_farms_max",
            "expelled_farms",
        ]
        for metric in zero:
            assert (reps[metric] == 0).all(), metric
        # No programme: nothing at programme end, no permanence, no cost per tonne.
        nan = [
            "avoided_deforestation_programme_end_ha",
            "additional_carbon_programme_end_tco2e",
            "leakage_share",
            "reversal_share",
            "carbon_reversal_share",
            "cost_per_tco2e",
            "cost_per_ha_avoided_usd",
            "compliance_rate",
        ]
        for metric in nan:
            assert reps[metric].isna().all(), metric
        summary = self_comparison.summary()
        assert (summary.loc[zero, ["mean", "ci_low", "ci_high", "p2_5", "p97_5"]] == 0).all().all()
        assert (summary.loc[zero, "n"] == R).all()
        assert (summary.loc[nan, "n"] == 0).all() and summary.loc[nan, "mean"].isna().all()

    def test_both_runs_identical_in_every_replicate(self, self_comparison):
        traj = self_comparison.trajectories
        assert list(traj.columns[:3]) == ["run", "replicate", "year"]
        scen = traj[traj["run"] == "scenario"].drop(columns="run").reset_index(drop=True)
        cf = traj[traj["run"] == "counterfactual"].drop(columns="run").reset_index(drop=True)
        assert_frame_equal(scen, cf, check_exact=True)
        # ... while the replicates differ from each other.
        final = scen[scen["year"] == 8]["cumulative_deforestation_ha"]
        assert final.nunique() > 1

    def test_replicate_i_is_simulate_with_the_ith_spawned_seed(
        self, costly_comparison, costly, tiny
    ):
        children = np.random.SeedSequence(SEED).spawn(R)
        traj = costly_comparison.trajectories
        for i, child in enumerate(children):
            for run, scenario in (("scenario", costly), ("counterfactual", tiny)):
                direct = simulate(scenario, rng=child).yearly
                got = traj[(traj["run"] == run) & (traj["replicate"] == i)]
                got = got.drop(columns=["run", "replicate"]).reset_index(drop=True)
                assert_frame_equal(got[list(direct.columns)], direct, check_exact=True)

    def test_effects_match_the_direct_runs(self, costly_comparison, costly, tiny):
        reps = costly_comparison.replicates
        assert reps["avoided_deforestation_ha"].mean() > 0
        for i, child in enumerate(np.random.SeedSequence(SEED).spawn(R)):
            s, c = simulate(costly, rng=child), simulate(tiny, rng=child)
            row = reps.iloc[i]
            ys, yc = s.yearly.iloc[-1], c.yearly.iloc[-1]
            assert row["avoided_deforestation_ha"] == (
                yc["cumulative_deforestation_ha"] - ys["cumulative_deforestation_ha"]
            )
            assert row["additional_carbon_tco2e"] == pytest.approx(
                (ys["carbon_stock_tc"] - yc["carbon_stock_tc"]) * 44 / 12, rel=1e-12
            )
            # Nobody enrolled: all farms' extra clearing is "leakage", and farms do
            # all the clearing, so it is minus the avoided deforestation.
            assert row["leakage_ha"] == -row["avoided_deforestation_ha"]
            income = (s.yearly["income_mean_usd"] - c.yearly["income_mean_usd"]).iloc[1:].mean()
            assert row["income_effect_mean_usd"] == pytest.approx(income, rel=1e-12)
        assert costly_comparison.landscapes_match

    def test_comparison_records_names_seed_version_and_programmes(self, costly_comparison):
        c = costly_comparison
        assert (c.scenario_name, c.counterfactual_name) == ("costly", "default")
        assert c.seed == SEED and c.n_replicates == R and c.years == 8
        assert c.version and c.finance == [] and c.programme_end_year is None
        assert list(c.restoration.columns) == ["year", *RESTORATION_COLUMNS]
        assert list(c.restoration["year"]) == list(range(9))

    def test_years_override_and_horizon_mismatch(self, tiny):
        longer = tiny.with_overrides({"years": 9})
        with pytest.raises(ScenarioError, match="years"):
            compare(tiny, longer, replicates=1)
        c = compare(tiny, longer, replicates=1, years=3)
        assert c.years == 3 and c.counterfactual.years == 3
        assert c.trajectories["year"].max() == 3

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"replicates": 0}, "replicates must be at least 1"),
            ({"replicates": 2.5}, "replicates must be an integer"),
            ({"seed": -1}, "seed must be a non-negative integer"),
            ({"years": 0}, "years must be at least 1"),
            ({"replicates": 10**9}, "compare: replicates: asks for 2,000,000,000 runs"),
        ],
    )
    def test_bad_arguments(self, tiny, kwargs, message):
        with pytest.raises(ValueError, match=message):
            compare(tiny, tiny, **kwargs)

    def test_a_comparison_too_large_for_memory_is_refused_before_any_run(self, tiny):
        from landsim.batch import BatchError

        with pytest.raises(BatchError, match=r"GB of memory.*fewer replicates"):
            compare(tiny, tiny, replicates=400_000)

    def test_results_do_not_depend_on_the_backend(self, tiny, capsys):
        serial = compare(tiny, tiny, replicates=3, years=2, seed=4)
        pooled = compare(tiny, tiny, replicates=3, years=2, seed=4, workers=2, progress=True)
        pd.testing.assert_frame_equal(serial.replicates, pooled.replicates)
        pd.testing.assert_frame_equal(serial.trajectories, pooled.trajectories)
        assert "6/6" in capsys.readouterr().err  # the progress bar counts runs

    def test_every_leakage_channel_is_reported_with_its_interval(self, tiny, capsys, tmp_path):
        """Settlers, a contract that leaves claimable land out and prices that
        respond to supply: every channel has a value in each replicate and an
        interval in the summary, the printed table and the files; the runs at the
        counterfactual's prices are the same on any backend."""
        flexible = {
            "markets.monocrop.supply_flexibility": 0.8,
            "markets.beef.supply_flexibility": 0.8,
            "settlers.arrivals_per_farm_per_year": 0.05,
        }
        sc = load_scenario(ROOT / "scenarios" / "tambopata_redd_cocoa.toml").with_overrides(
            TINY
            | flexible
            | {
                "programmes.0.enrolment_cap": 8,
                "programmes.0.targeting": "random",
                "programmes.0.obligations.covers_claimed_land": False,
            }
        )
        cf = tiny.with_overrides(flexible)
        c = compare(sc, cf, replicates=3, seed=1)
        channels = [m for m in METRICS if m.startswith("leakage") and m != "leakage_share"]
        assert {"leakage_market_ha", "leakage_activity_shifting_ha"} <= set(channels)
        assert np.isfinite(c.replicates[channels].to_numpy()).all()
        summary = c.summary()
        assert np.isfinite(summary.loc[channels, ["ci_low", "ci_high"]].to_numpy()).all()
        assert (c.replicates["leakage_market_ha"] != 0).any()
        text = format_comparison(c)
        for m in channels:
            assert METRICS[m][0] in text
        c.write(tmp_path / "out")
        written = pd.read_csv(tmp_path / "out" / "summary.csv").set_index("metric")
        assert set(channels) <= set(written.index)
        pooled = compare(sc, cf, replicates=3, seed=1, workers=2)
        pd.testing.assert_frame_equal(c.replicates, pooled.replicates)

    def test_market_leakage_is_zero_where_prices_do_not_respond(self, costly_comparison):
        assert (costly_comparison.replicates["leakage_market_ha"] == 0).all()
        assert (costly_comparison.replicates["leakage_activity_shifting_ha"] == 0).all()

    def test_a_scenario_that_cannot_run_is_reported_against_its_file(self, tiny):
        crowded = tiny.with_overrides({"landscape.n_farms": 5000}, source="crowded.toml")
        with pytest.raises(ScenarioError, match=r"crowded.toml.*n_farms: 5000 lots do not fit"):
            compare(crowded, tiny, replicates=2, years=1)


# --------------------------------------------------------------------------- metric functions


class TestMetrics:
    def test_additionality_at_end_and_programme_end(self):
        cf = make_yearly(cumulative_deforestation_ha=[0, 10, 20, 30, 40], carbon_stock_tc=[0] * 5)
        sc = make_yearly(
            cumulative_deforestation_ha=[0, 0, 0, 10, 25],
            carbon_stock_tc=[0, 6, 12, 8, 6],
        )
        assert avoided_deforestation(sc, cf, 4) == 15
        assert avoided_deforestation(sc, cf, 2) == 20
        assert additional_carbon(sc, cf, 2) == pytest.approx(12 * 44 / 12)
        assert math.isnan(avoided_deforestation(sc, cf, None))
        assert math.isnan(additional_carbon(sc.drop(columns="carbon_stock_tc"), cf, 4))

    def test_reversal_share(self):
        assert reversal_share(15, 20, True) == pytest.approx(0.25)
        assert reversal_share(30, 20, True) == pytest.approx(-0.5)  # the gain kept growing
        assert reversal_share(-5, 20, True) == pytest.approx(1.25)  # ends worse than BAU
        assert math.isnan(reversal_share(15, 20, False))  # run ends at programme end
        assert math.isnan(reversal_share(5, 0, True))  # no gain to reverse
        assert math.isnan(reversal_share(5, -3, True))
        assert math.isnan(reversal_share(5, math.nan, True))

    def test_cost_per_tco2e(self):
        assert cost_per_tco2e(1000.0, 40.0) == 25.0
        assert math.isnan(cost_per_tco2e(1000.0, 0.0))
        assert math.isnan(cost_per_tco2e(1000.0, -3.0))
        assert math.isnan(cost_per_tco2e(0.0, math.nan))
        assert math.isnan(cost_per_tco2e(math.nan, 10.0))

    def test_leakage_matches_farms_by_id(self):
        scen = make_farms(
            [0, 1, 2, 3], [0, 1, 5, 3], claimed=[0, 0, 2, 0], ever_enrolled=[1, 1, 0, 0]
        )
        # The counterfactual's rows in another order.
        cf = make_farms([3, 2, 1, 0], [3, 2, 3, 4], claimed=[0, 0, 0, 0])
        out = leakage(scen, cf)
        assert out["avoided_deforestation_enrolled_ha"] == 6  # (4 - 0) + (3 - 1)
        assert out["leakage_ha"] == 3  # (5 - 2) + (3 - 3)
        assert out["leakage_claimed_ha"] == 2
        assert out["leakage_own_lots_ha"] == 1
        assert out["leakage_share"] == 0.5

    def test_leakage_through_settlers_is_their_total_clearing_difference(self):
        """Settlers (arrived_year > 0) are other households in each run: their
        clearing is compared in total; the first farms are matched by id."""
        scen = make_farms(
            [0, 1, 2, 3], [0, 1, 6, 9], claimed=[0, 0, 0, 0], ever_enrolled=[1, 0, 0, 0]
        ).assign(arrived_year=[0, 0, 4, 7])
        cf = make_farms([0, 1, 2], [4, 1, 2], claimed=[0, 0, 0]).assign(arrived_year=[0, 0, 2])
        out = leakage(scen, cf)
        assert out["avoided_deforestation_enrolled_ha"] == 4
        assert out["leakage_settlers_ha"] == (6 + 9) - 2
        assert out["leakage_ha"] == 0 + 13  # farm 1: 1 - 1
        assert out["leakage_own_lots_ha"] == 0 and out["leakage_claimed_ha"] == 0
        assert out["leakage_share"] == 13 / 4

    def test_activity_shifting_is_the_enrolled_farms_extra_claimed_clearing(self):
        """Enrolled farms 0 and 1 clear 4 and 2 ha less in all, but 3 and 0 ha more
        of claimable land: with a contract that leaves claims out, that is activity
        shifting (3 ha), already netted in the enrolled farms' avoided clearing and
        not counted in leakage; with a contract that covers all land, it is 0."""
        scen = make_farms([0, 1, 2], [5, 1, 6], claimed=[3, 0, 2], ever_enrolled=[1, 1, 0]).assign(
            arrived_year=0
        )
        cf = make_farms([0, 1, 2], [9, 3, 4], claimed=[0, 0, 1]).assign(arrived_year=0)
        out = leakage(scen, cf, claims_outside_contract=True)
        assert out["leakage_activity_shifting_ha"] == 3
        assert out["avoided_deforestation_enrolled_ha"] == 6  # (9 - 5) + (3 - 1)
        # Avoided on the land the contracts cover: what enrolled farms avoided
        # plus what they shifted onto their claims.
        assert out["avoided_deforestation_enrolled_ha"] + 3 == 9  # (9 - 2) + (3 - 1)
        assert out["leakage_ha"] == 2 and out["leakage_claimed_ha"] == 1
        assert out["leakage_own_lots_ha"] == 1 and out["leakage_settlers_ha"] == 0
        assert leakage(scen, cf)["leakage_activity_shifting_ha"] == 0
        assert math.isnan(
            leakage(scen.drop(columns="claimed_ha"), cf)["leakage_activity_shifting_ha"]
        )

    def test_market_leakage_is_the_leakage_that_fixed_prices_remove(self):
        from landsim.evaluation.compare import market_leakage

        cf = make_farms([0, 1, 2], [9, 3, 4])
        at_cf_prices = make_farms([0, 1, 2], [2, 3, 5], ever_enrolled=[1, 0, 0])
        # Leakage at the counterfactual's prices: (3 - 3) + (5 - 4) = 1.
        assert market_leakage(7.0, at_cf_prices, cf, True) == 6.0

    def test_leakage_without_claims_or_gain(self):
        scen = make_farms([0, 1], [4, 3], ever_enrolled=[1, 0])
        cf = make_farms([0, 1], [2, 1])
        out = leakage(scen, cf)
        assert out["avoided_deforestation_enrolled_ha"] == -2
        assert out["leakage_ha"] == 2
        assert math.isnan(out["leakage_share"])  # no gross gain on enrolled farms
        assert math.isnan(out["leakage_claimed_ha"]) and math.isnan(out["leakage_own_lots_ha"])

    def test_leakage_needs_enrolment_and_matching_farms(self):
        cf = make_farms([0, 1], [2, 1])
        no_flag = make_farms([0, 1], [1, 1])
        assert all(math.isnan(v) for v in leakage(no_flag, cf).values())
        # Without programmes, nobody is enrolled.
        out = leakage(no_flag, cf, has_programmes=False)
        assert out["leakage_ha"] == -1 and out["avoided_deforestation_enrolled_ha"] == 0
        other = make_farms([0, 5], [1, 1], ever_enrolled=[0, 0])
        assert all(math.isnan(v) for v in leakage(other, cf).values())

    def test_compliance_rate(self):
        yearly = make_yearly(enrolled_farms=[3, 5, 5, 4], violations_detected=[9, 1, 0, 1])
        assert compliance_rate(yearly) == pytest.approx(1 - 2 / 14)  # year 0 excluded
        assert math.isnan(
            compliance_rate(make_yearly(enrolled_farms=[0, 0], violations_detected=[0, 0]))
        )
        assert math.isnan(compliance_rate(make_yearly(enrolled_farms=[0, 1])))

    def test_programme_windows_clip_to_the_run(self):
        sc = SimpleNamespace(
            programmes=[
                SimpleNamespace(name="a", start_year=3, end_year=50, finance="public"),
                SimpleNamespace(name="b", start_year=40, end_year=45, finance="carbon_credits"),
            ]
        )
        windows = programme_windows(sc, 30)
        assert [(w["start_in_run"], w["end_in_run"]) for w in windows] == [(3, 30), (40, 30)]
        assert [w["finance"] for w in windows] == ["public", "carbon_credits"]
        assert programme_windows(SimpleNamespace(), 30) == []

    def test_replicate_metrics_with_programme_columns(self):
        cf = make_yearly(
            cumulative_deforestation_ha=[0, 10, 20, 30, 40, 50],
            carbon_stock_tc=[100, 100, 100, 100, 100, 100],
            income_mean_usd=[np.nan, 100, 100, 100, 100, 100],
            income_poorest20_usd=[np.nan, 10, 10, 10, 10, 10],
            income_gini=[np.nan, 0.5, 0.5, 0.5, 0.5, 0.5],
            programme_cost_usd=[0, 0, 0, 0, 0, 0],
        )
        sc = make_yearly(
            cumulative_deforestation_ha=[0, 0, 0, 0, 20, 30],
            carbon_stock_tc=[100, 110, 120, 130, 115, 112],
            income_mean_usd=[np.nan, 150, 150, 150, 100, 100],
            income_poorest20_usd=[np.nan, 30, 30, 30, 10, 10],
            income_gini=[np.nan, 0.4, 0.4, 0.4, 0.5, 0.5],
            programme_cost_usd=[0, 300, 300, 300, 0, 0],
            payments_to_farmers_usd=[0, 200, 200, 200, 0, 0],
            collective_spending_usd=[0, 50, 50, 50, 0, 0],
            establishment_support_usd=[0, 50, 50, 50, 0, 0],
            loan_repayments_usd=[0, 0, 10, 10, 10, 10],
            enrolled_farms=[0, 4, 4, 2, 0, 0],
            violations_detected=[0, 0, 2, 0, 0, 0],
        )
        farms = make_farms(
            [0, 1, 2], [0, 5, 20], claimed=[0, 0, 4], ever_enrolled=[1, 1, 0], expelled=[0, 1, 0]
        )
        cf_farms = make_farms([0, 1, 2], [20, 15, 15], claimed=[0, 0, 0])
        m = replicate_metrics(sc, cf, farms, cf_farms, programme_end=3)
        assert list(m) == list(METRICS)
        assert m["avoided_deforestation_ha"] == 20
        assert m["avoided_deforestation_programme_end_ha"] == 30
        assert m["reversal_share"] == pytest.approx(1 - 20 / 30)
        assert m["additional_carbon_tco2e"] == pytest.approx(12 * CO2_PER_C)
        assert m["additional_carbon_programme_end_tco2e"] == pytest.approx(30 * CO2_PER_C)
        assert m["carbon_reversal_share"] == pytest.approx(0.6)
        assert m["avoided_deforestation_enrolled_ha"] == 30
        assert m["leakage_ha"] == 5 and m["leakage_claimed_ha"] == 4
        assert m["leakage_own_lots_ha"] == 1
        assert m["leakage_share"] == pytest.approx(5 / 30)
        assert m["programme_cost_usd"] == 900 and m["incremental_cost_usd"] == 900
        assert m["payments_to_farmers_usd"] == 600 and m["establishment_support_usd"] == 150
        assert m["net_cost_usd"] == 860
        assert m["cost_per_tco2e"] == pytest.approx(900 / (12 * CO2_PER_C))
        assert m["cost_per_ha_avoided_usd"] == pytest.approx(45)
        assert m["income_effect_mean_usd"] == pytest.approx(30)  # 3 x 50 over 5 years
        assert m["income_effect_poorest20_usd"] == pytest.approx(12)
        assert m["income_effect_gini"] == pytest.approx(-0.06)
        assert m["enrolled_farms_max"] == 4
        assert m["compliance_rate"] == pytest.approx(1 - 2 / 10)
        assert m["expelled_farms"] == 1
        # The run ends at the programme end: no permanence measure.
        m = replicate_metrics(sc, cf, farms, cf_farms, programme_end=5)
        assert math.isnan(m["reversal_share"]) and math.isnan(m["carbon_reversal_share"])

    def test_incremental_cost_against_a_counterfactual_with_a_programme(self):
        base = {"cumulative_deforestation_ha": [0, 0, 0], "carbon_stock_tc": [0, 3, 6]}
        sc = make_yearly(**base, programme_cost_usd=[0, 100, 100])
        cf = make_yearly(cumulative_deforestation_ha=[0, 0, 0], carbon_stock_tc=[0, 0, 0])
        cf["programme_cost_usd"] = [0.0, 50.0, 20.0]
        farms = make_farms([0], [0], ever_enrolled=[1])
        m = replicate_metrics(sc, cf, farms, make_farms([0], [0]), programme_end=2)
        assert m["programme_cost_usd"] == 200 and m["incremental_cost_usd"] == 130
        assert m["cost_per_tco2e"] == pytest.approx(130 / (6 * CO2_PER_C))

    def test_missing_columns_give_nan_or_zero_without_programmes(self):
        sc = make_yearly(cumulative_deforestation_ha=[0, 1], carbon_stock_tc=[5, 5])
        cf = make_yearly(cumulative_deforestation_ha=[0, 1], carbon_stock_tc=[5, 5])
        farms = make_farms([0], [1])
        with_prog = replicate_metrics(sc, cf, farms, farms, has_programmes=True)
        without = replicate_metrics(sc, cf, farms, farms, has_programmes=False)
        for key in ("programme_cost_usd", "enrolled_farms_max", "expelled_farms", "leakage_ha"):
            assert math.isnan(with_prog[key]), key
            assert without[key] == 0, key
        for m in (with_prog, without):
            assert math.isnan(m["income_effect_mean_usd"])
            assert math.isnan(m["compliance_rate"]) and math.isnan(m["cost_per_tco2e"])
            assert m["avoided_deforestation_ha"] == 0


# --------------------------------------------------------------------------- statistics


class TestSummary:
    def test_t_interval_by_hand(self):
        values = [1.0, 2.0, 3.0, 4.0, 6.0]
        mean = sum(values) / 5
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 4)
        t975_4 = 2.776445105197793  # Student t, 4 degrees of freedom, 97.5th percentile
        half = t975_4 * sd / math.sqrt(5)
        got = t_interval(values)
        assert got == pytest.approx((3.2, 3.2 - half, 3.2 + half), rel=1e-12)
        assert half == pytest.approx(2.38838838810, rel=1e-9)  # sd = 1.92353840617

    def test_t_interval_edge_cases(self):
        assert all(math.isnan(v) for v in t_interval([]))
        mean, low, high = t_interval([4.0, math.nan])
        assert mean == 4.0 and math.isnan(low) and math.isnan(high)
        assert t_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
        # A 90 % interval is narrower.
        assert t_interval([1, 2, 3], 0.9)[2] < t_interval([1, 2, 3])[2]

    def test_summary_table(self):
        reps = pd.DataFrame(
            {
                "replicate": [0, 1, 2, 3],
                "avoided_deforestation_ha": [1.0, 2.0, 3.0, 4.0],
                "cost_per_tco2e": [np.nan, 10.0, np.nan, np.nan],
            }
        )
        table = summarize_replicates(reps)
        assert list(table.columns) == [
            "mean",
            "sd",
            "ci_low",
            "ci_high",
            "p2_5",
            "p97_5",
            "n",
            "unit",
        ]
        row = table.loc["avoided_deforestation_ha"]
        assert row["mean"] == 2.5 and row["n"] == 4 and row["unit"] == "ha"
        assert row["p2_5"] == pytest.approx(1.075) and row["p97_5"] == pytest.approx(3.925)
        assert row["ci_low"] == pytest.approx(t_interval([1, 2, 3, 4])[1])
        one = table.loc["cost_per_tco2e"]
        assert one["n"] == 1 and one["mean"] == 10 and math.isnan(one["ci_low"])


# --------------------------------------------------------------------------- outputs


class TestWrite:
    def test_writes_every_file_and_refuses_to_overwrite(self, costly_comparison, tmp_path):
        out = tmp_path / "cmp"
        paths = costly_comparison.write(out)
        assert [p.name for p in paths] == list(COMPARISON_FILES)
        for name in COMPARISON_FILES:
            assert (out / name).is_file() and (out / name).stat().st_size > 0, name
        for name in ("trajectories.png", "effects.png"):
            assert (out / name).read_bytes()[:8] == PNG_MAGIC

        summary = pd.read_csv(out / "summary.csv")
        assert list(summary["metric"]) == list(METRICS)
        parquet = pd.read_parquet(out / "summary.parquet")
        assert_frame_equal(
            summary.drop(columns="unit"), parquet.drop(columns="unit"), check_dtype=False
        )
        reps = pd.read_parquet(out / "replicates.parquet")
        assert_frame_equal(reps, costly_comparison.replicates)
        assert len(pd.read_csv(out / "replicates.csv")) == R
        traj = pd.read_parquet(out / "trajectories.parquet")
        assert len(traj) == 2 * R * 9 and set(traj["run"]) == {"scenario", "counterfactual"}
        restoration = pd.read_csv(out / "restoration.csv")
        assert list(restoration.columns) == ["year", *RESTORATION_COLUMNS]

        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["seed"] == SEED and manifest["replicates"] == R
        assert manifest["years"] == 8 and manifest["kind"] == "comparison"
        assert manifest["scenario"]["name"] == "costly"
        assert manifest["scenario"]["resolved"]["forest"]["clearing_cost_usd_per_ha"] == 400
        assert manifest["counterfactual"]["resolved"]["landscape"]["width"] == 60
        assert manifest["dependencies"]["mesa"].startswith("3.")
        assert manifest["dependencies"]["matplotlib"]
        assert manifest["landsim_version"] == costly_comparison.version

        before = (out / "summary.csv").read_bytes()
        (out / "summary.csv").write_text("sentinel")
        with pytest.raises(FileExistsError, match="force=True"):
            costly_comparison.write(out)
        assert (out / "summary.csv").read_text() == "sentinel"
        costly_comparison.write(out, force=True)
        assert (out / "summary.csv").read_bytes() == before

    def test_out_must_be_a_directory(self, self_comparison, tmp_path):
        path = tmp_path / "file"
        path.write_text("x")
        with pytest.raises(NotADirectoryError):
            self_comparison.write(path)

    def test_format_lists_every_metric(self, self_comparison):
        text = self_comparison.format()
        assert "programmes: none" in text and f"{R} replicates" in text
        for label, _unit in METRICS.values():
            assert label in text

    def test_format_fits_a_terminal_and_prints_each_row_alike(self, costly_comparison):
        text = costly_comparison.format()
        assert max(len(line) for line in text.splitlines()) <= 100
        assert "nan" not in text.lower()
        for line in text.splitlines():
            cells = re.findall(r"(-?[\d,]+(?:\.\d+)?)(?=\s|,|\]|$)", line.split(")")[-1])
            if len(cells) == 3:  # mean [low, high]: one number of decimals per row
                decimals = {len(c.partition(".")[2]) for c in cells if c != "0"}
                assert len(decimals) <= 1, line


def test_every_metric_is_documented():
    doc = (ROOT / "docs" / "evaluation.md").read_text(encoding="utf-8")
    for metric in METRICS:
        assert f"`{metric}`" in doc, metric


# --------------------------------------------------------------------------- programmes


TAMBOPATA = ROOT / "scenarios" / "tambopata_redd_cocoa.toml"


def test_programme_scenario_end_to_end():
    small = {k: v for k, v in TINY.items() if k != "years"}
    scenario = load_scenario(TAMBOPATA).with_overrides(small)
    baseline = load_scenario(ROOT / "scenarios" / "baseline.toml").with_overrides(small)
    windows = programme_windows(scenario, 14)
    assert windows, "the programme scenario has no programmes"
    c = compare(scenario, baseline, replicates=2, seed=0, years=14)
    assert c.finance == sorted({w["finance"] for w in windows})
    assert c.programme_end_year == max(w["end_in_run"] for w in windows)
    reps = c.replicates
    assert (reps["programme_cost_usd"] > 0).all()
    assert (reps["enrolled_farms_max"] > 0).all()
    assert reps["compliance_rate"].between(0, 1).all()
    if c.programme_end_year < 14:
        gain = reps["avoided_deforestation_programme_end_ha"] > 0
        assert reps.loc[gain, "reversal_share"].notna().all()
    positive = reps["additional_carbon_tco2e"] > 0
    assert reps.loc[positive, "cost_per_tco2e"].notna().all()
    assert c.restoration[list(RESTORATION_COLUMNS)].notna().any().any()


# --------------------------------------------------------------------------- command line


@pytest.fixture
def tiny_files(tmp_path):
    paths = {}
    for name in ("tiny", "other"):
        path = tmp_path / f"{name}.toml"
        path.write_text(TINY_TOML.format(name=name), encoding="utf-8")
        paths[name] = path
    return paths


class TestCommand:
    def test_prints_the_table_and_writes_outputs(self, tiny_files, tmp_path, capsys):
        out = tmp_path / "out"
        args = ["compare", str(tiny_files["tiny"]), "--against", str(tiny_files["other"])]
        assert main([*args, "--replicates", "2", "--seed", "3", "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        assert "scenario 'tiny' vs counterfactual 'other'" in printed
        assert "2 replicates | seed 3" in printed and "95 % CI" in printed
        assert "avoided deforestation, end of run (ha)" in printed
        for name in COMPARISON_FILES:
            assert (out / name).is_file(), name
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["scenario"]["file"] == str(tiny_files["tiny"])
        assert manifest["seed"] == 3

        before = (out / "summary.csv").read_bytes()
        assert main([*args, "--replicates", "2", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "already holds results" in err and "--force" in err
        assert (out / "summary.csv").read_bytes() == before
        assert main([*args, "--replicates", "2", "--out", str(out), "--force", "--quiet"]) == 0
        assert capsys.readouterr().out == ""

    def test_default_keyword_and_years(self, capsys):
        args = ["compare", "default", "--against", "default", "--replicates", "1", "--years", "1"]
        assert main(args) == 0
        assert "scenario 'default' vs counterfactual 'default'" in capsys.readouterr().out

    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            (["--replicates", "0"], "--replicates must be at least 1 (got 0)"),
            (["--seed", "-2"], "--seed must be a non-negative integer"),
            (["--years", "0"], "--years must be at least 1"),
        ],
    )
    def test_bad_options_exit_2(self, tiny_files, capsys, extra, message):
        args = ["compare", str(tiny_files["tiny"]), "--against", str(tiny_files["other"])]
        assert main([*args, *extra]) == 2
        err = capsys.readouterr().err
        assert f"landsim: error: {message}" in err and "Traceback" not in err

    def test_missing_files_exit_2(self, tiny_files, tmp_path, capsys):
        absent = tmp_path / "absent.toml"
        assert main(["compare", str(absent), "--against", str(tiny_files["tiny"])]) == 2
        assert "absent.toml: file not found" in capsys.readouterr().err
        assert main(["compare", str(tiny_files["tiny"]), "--against", str(absent)]) == 2
        assert "absent.toml: file not found" in capsys.readouterr().err

    def test_different_horizons_exit_2(self, tiny_files, tmp_path, capsys):
        longer = tmp_path / "longer.toml"
        longer.write_text('extends = "tiny.toml"\nyears = 9\n', encoding="utf-8")
        assert main(["compare", str(tiny_files["tiny"]), "--against", str(longer)]) == 2
        err = capsys.readouterr().err
        assert "longer.toml: years:" in err and "--years" in err

    def test_against_is_required(self, tiny_files, capsys):
        with pytest.raises(SystemExit) as exc:
            main(["compare", str(tiny_files["tiny"])])
        assert exc.value.code == 2
        assert "--against" in capsys.readouterr().err

    def test_out_is_a_file_exits_2(self, tiny_files, tmp_path, capsys):
        path = tmp_path / "file"
        path.write_text("x")
        args = ["compare", str(tiny_files["tiny"]), "--against", str(tiny_files["tiny"])]
        assert main([*args, "--out", str(path)]) == 2
        assert "is not a directory" in capsys.readouterr().err

    def test_cli_start_up_does_not_import_the_model_or_matplotlib(self):
        code = (
            "import sys, landsim.cli; landsim.cli.build_parser(); "
            "print(any(m.split('.')[0] in ('mesa', 'matplotlib') for m in sys.modules))"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert proc.stdout.strip() == "False"


# --------------------------------------------------------------------------- permanence


def pool_frame(primary, secondary, soil, perennial=None) -> pd.DataFrame:
    """Yearly pools (tC) for years 0..T; annual crops and pasture hold nothing."""
    from landsim.evaluation.permanence import POOLS

    n = len(primary)
    perennial = [0.0] * n if perennial is None else perennial
    cols = {"biomass_primary_forest_tc": primary, "biomass_secondary_forest_tc": secondary}
    cols["soil_carbon_tc"] = soil
    for i, c in enumerate(POOLS["perennial_systems"]):
        cols[c] = perennial if i == 0 else [0.0] * n
    for c in POOLS["farmland"]:
        cols[c] = [0.0] * n
    cols["carbon_stock_tc"] = list(np.sum([np.asarray(v, float) for v in cols.values()], axis=0))
    return make_yearly(**cols)


def test_permanence_by_pool_tonne_years_and_buffer_worked_by_hand():
    """Programme ends in year 2. Primary forest: +10 tC at year 2, +4 at year 4
    (60 % reversed); fallow: +5 then 0; soil: +1 throughout. The total gain by year
    (tC) is 0, 8, 16, 10, 5: tonne-years (8 + 16 + 10 + 5) x 44/12; the lowest
    later total is 5 of 16, so a buffer of 11/16 covers the reversal."""
    from landsim.evaluation.permanence import EQUIVALENCE_YEARS, permanence_metrics

    base = pool_frame([100.0] * 5, [20.0] * 5, [50.0] * 5)
    prog = pool_frame(
        [100.0, 106.0, 110.0, 107.0, 104.0],
        [20.0, 21.0, 25.0, 22.0, 20.0],
        [50.0, 51.0, 51.0, 51.0, 51.0],
    )
    m = permanence_metrics(prog, base, programme_end=2)
    assert m["additional_primary_forest_programme_end_tco2e"] == pytest.approx(10 * CO2_PER_C)
    assert m["additional_primary_forest_tco2e"] == pytest.approx(4 * CO2_PER_C)
    assert m["additional_secondary_forest_tco2e"] == pytest.approx(0.0)
    assert m["additional_soil_tco2e"] == pytest.approx(1 * CO2_PER_C)
    assert m["additional_perennial_systems_tco2e"] == 0.0
    assert m["primary_forest_carbon_reversal_share"] == pytest.approx(0.6)
    tonne_years = (8 + 16 + 10 + 5) * CO2_PER_C
    assert m["additional_tco2e_years"] == pytest.approx(tonne_years)
    assert m["equivalent_permanent_tco2e"] == pytest.approx(tonne_years / EQUIVALENCE_YEARS)
    assert m["buffer_share"] == pytest.approx(11 / 16)
    # The pools add up to the total additional carbon.
    pools = [m[f"additional_{p}_tco2e"] for p in ("primary_forest", "secondary_forest", "soil")]
    assert sum(pools) == pytest.approx(additional_carbon(prog, base, 4))


def test_permanence_is_nan_without_the_columns_or_a_programme_end():
    from landsim.evaluation.permanence import permanence_metrics

    bare = make_yearly(carbon_stock_tc=[1.0, 2.0, 3.0])
    m = permanence_metrics(bare, bare, programme_end=None)
    assert math.isnan(m["additional_primary_forest_tco2e"])
    assert math.isnan(m["buffer_share"]) and math.isnan(m["primary_forest_carbon_reversal_share"])
    assert m["additional_tco2e_years"] == 0.0
    # A gain that never falls needs no buffer.
    rising = pool_frame([1.0, 2.0, 3.0], [0.0] * 3, [0.0] * 3)
    flat = pool_frame([1.0, 1.0, 1.0], [0.0] * 3, [0.0] * 3)
    assert permanence_metrics(rising, flat, programme_end=1)["buffer_share"] == 0.0


def test_the_pools_of_a_run_add_up_to_its_carbon_stock(tiny):
    from landsim.evaluation.permanence import POOLS, pool_stock_tc

    y = simulate(tiny, rng=3).yearly
    pools = sum(pool_stock_tc(y, p) for p in POOLS)
    np.testing.assert_allclose(pools.to_numpy(), y["carbon_stock_tc"].to_numpy(), rtol=1e-12)
