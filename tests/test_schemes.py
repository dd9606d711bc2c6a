"""Incentive programmes: budgets, common random numbers, sanctions, incentives,
and clear errors for bad programme definitions."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landsim.model import LandUseModel
from landsim.scenario import ScenarioError
from landsim.simulation import simulate

PROGRAMME = {
    "name": "test programme",
    "start_year": 1,
    "end_year": 6,
    "budget_usd": 20_000.0,
    "budget_usd_per_year": 5_000.0,
    "enrolment_cap": 20,
    "targeting": "first_come",
    "finance": "public",
    "detection_probability": 0.8,
    "expel_on_violation": True,
    "warnings_before_expulsion": 0,
    "repay_on_violation": False,
    "obligations": {
        "protected_forest": "all",
        "no_clearing": True,
        "min_forest_share": 0.0,
        "min_sustainable_ha_per_40ha": 0.0,
        "grace_years": 0,
        "covers_claimed_land": True,
    },
    "forest_payment": {"usd_per_ha_per_year": 10.0},
}

CARBON = {
    "pay_removals": True,
    "pay_avoided_emissions": True,
    "pay_soil_carbon": False,
    "baseline_clearing_ha_per_farm_per_year": 1.0,
    "farmer_share": 0.1,
    "collective_use": "reforestation",
    "reforestation_cost_usd_per_ha": 1000.0,
}


def with_programmes(scenario, *programmes):
    return scenario.with_overrides({"programmes": [copy.deepcopy(p) for p in programmes]})


def programme(**changes):
    p = copy.deepcopy(PROGRAMME)
    for key, value in changes.items():
        if value is None:
            p.pop(key, None)
        else:
            p[key] = value
    return p


BUDGET_CASES = st.fixed_dictionaries(
    {
        "budget_usd": st.sampled_from([0.0, 3_000.0, 12_000.0, 1e7]),
        "budget_usd_per_year": st.sampled_from([0.0, 1_000.0, 4_000.0, 1e7]),
        "usd_per_ha_per_year": st.sampled_from([0.0, 5.0, 50.0]),
        "seed": st.integers(0, 10_000),
        "support": st.booleans(),
        "carbon": st.booleans(),
    }
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=BUDGET_CASES)
def test_money_paid_never_exceeds_the_budget(small_scenario, case):
    p = programme(
        budget_usd=case["budget_usd"],
        budget_usd_per_year=case["budget_usd_per_year"],
        forest_payment={"usd_per_ha_per_year": case["usd_per_ha_per_year"]},
    )
    if case["support"]:
        p["establishment_support"] = {"share": 0.8, "mode": "grant", "loan_years": 3}
    if case["carbon"]:
        p["carbon_payment"] = dict(CARBON, usd_per_tco2e=50.0)
    y = simulate(with_programmes(small_scenario, p), rng=case["seed"]).yearly
    spent = y["programme_cost_usd"]
    assert (spent <= case["budget_usd_per_year"] + 1e-6).all()
    assert spent.sum() <= case["budget_usd"] + 1e-6
    assert y["programme_spent_usd"].iloc[-1] == pytest.approx(spent.sum())
    parts = y[["payments_to_farmers_usd", "collective_spending_usd", "establishment_support_usd"]]
    assert np.allclose(parts.sum(axis=1), spent)
    assert (y["budget_remaining_usd"] >= -1e-6).all()
    # Nothing is paid outside the contract years.
    outside = (y["year"] < p["start_year"]) | (y["year"] > p["end_year"])
    assert (spent[outside] == 0).all()


def test_two_programmes_each_keep_to_their_budget(small_scenario):
    a = programme(name="a", budget_usd=2_000.0, budget_usd_per_year=1_000.0)
    b = programme(name="b", budget_usd=5_000.0, budget_usd_per_year=2_000.0, start_year=3)
    model = LandUseModel(with_programmes(small_scenario, a, b), rng=3)
    model.run_for(10)
    for spec, acc in zip(model.programmes.specs, model.programmes.accounts, strict=True):
        assert acc.spent_usd <= spec.budget_usd + 1e-6
    assert model.yearly_table()["programme_cost_usd"].sum() <= 7_000.0 + 1e-6


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_programme_that_pays_nothing_reproduces_the_baseline(small_scenario, seed):
    """Common random numbers: programmes draw from their own stream, so one that
    changes no incentive changes nothing else."""
    idle = programme(forest_payment={"usd_per_ha_per_year": 0.0}, obligations=None)
    idle["carbon_payment"] = dict(CARBON, usd_per_tco2e=1.0, farmer_share=0.0)
    idle["carbon_payment"]["pay_removals"] = False
    idle["carbon_payment"]["pay_avoided_emissions"] = False
    base = simulate(small_scenario, rng=seed)
    run = simulate(with_programmes(small_scenario, idle), rng=seed)
    # Everything but the programme's own book-keeping (its unspent budget and
    # whether it is running) is identical.
    own = ["scenario", "budget_remaining_usd", "programme_active"]
    pd.testing.assert_frame_equal(
        base.yearly.drop(columns=own), run.yearly.drop(columns=own), check_exact=True
    )
    assert run.yearly["programme_cost_usd"].sum() == 0
    assert run.yearly["budget_remaining_usd"].iloc[-1] == idle["budget_usd"]
    for name, layer in base.rasters.items():
        assert np.array_equal(layer, run.rasters[name]), name


def test_farmers_caught_clearing_stop_being_paid(small_scenario):
    # Random choices (logit scale 0) make enrolled farmers clear now and then;
    # detection is certain, so every clearing farmer is caught.
    sc = with_programmes(
        small_scenario.with_overrides({"decision.logit_scale": 0.0, "years": 8}),
        programme(detection_probability=1.0, budget_usd=1e7, budget_usd_per_year=1e7),
    )
    model = LandUseModel(sc, rng=11)
    acc = model.programmes.accounts[0]
    caught_any = False
    for _ in range(8):
        enrolled_before = acc.enrolled.copy()
        deforested_before = model.farmers.deforested_ha.copy()
        claimed_before = model.farmers.claimed_ha.copy()
        model.step()
        payments = model.farmers.payments_usd
        expelled = acc.expelled
        # Expelled farms are never paid again, and are not enrolled.
        assert np.all(payments[expelled] == 0)
        assert not np.any(acc.enrolled & expelled)
        cleared = (model.farmers.deforested_ha > deforested_before) | (
            model.farmers.claimed_ha > claimed_before
        )
        caught = enrolled_before & cleared
        caught_any |= caught.any()
        assert np.all(expelled[caught]), (
            "an enrolled farm cleared primary forest and was not caught"
        )
    assert caught_any, "the test never exercised a violation"
    assert acc.expelled.any()


@pytest.mark.slow
def test_higher_payment_per_ha_does_not_increase_clearing_by_enrolled_farms(small_scenario):
    rates = []
    for usd in (2.0, 30.0):
        total_cleared, farm_years = 0.0, 0.0
        for seed in range(8):
            p = programme(
                forest_payment={"usd_per_ha_per_year": usd},
                budget_usd=1e8,
                budget_usd_per_year=1e8,
                detection_probability=0.3,
            )
            y = simulate(with_programmes(small_scenario, p), rng=seed).yearly
            total_cleared += y["deforestation_enrolled_ha"].sum()
            farm_years += y["enrolled_farms"].iloc[1:].sum()
        rates.append(total_cleared / max(farm_years, 1))
    assert rates[1] <= rates[0]


def test_enrolment_respects_the_cap_and_training_raises_knowledge(small_scenario):
    p = programme(enrolment_cap=5, training={"knowledge_gain": 0.5}, budget_usd=1e7)
    model = LandUseModel(with_programmes(small_scenario, p), rng=4)
    knowledge0 = model.farmers.knowledge.copy()
    model.step()
    acc = model.programmes.accounts[0]
    assert 0 < acc.enrolled.sum() <= 5
    assert model.yearly_table()["enrolled_farms"].max() <= 5
    gained = model.farmers.knowledge[acc.enrolled] - knowledge0[acc.enrolled]
    assert np.all(gained >= 0.5 * (1 - knowledge0[acc.enrolled]) - 1e-12)


def test_contracts_end_after_end_year(small_scenario):
    y = simulate(with_programmes(small_scenario, programme(end_year=4)), rng=2).yearly
    assert y.loc[y.year <= 4, "enrolled_farms"].max() > 0
    assert (y.loc[y.year > 4, "enrolled_farms"] == 0).all()
    assert not y.loc[y.year > 4, "programme_active"].any()


def test_deforestation_split_adds_up(small_scenario):
    y = simulate(with_programmes(small_scenario, programme()), rng=6).yearly
    parts = y[
        ["deforestation_enrolled_ha", "deforestation_not_enrolled_ha", "deforestation_unowned_ha"]
    ]
    assert np.allclose(parts.sum(axis=1), y["deforestation_ha"])


@pytest.mark.parametrize("targeting", ["first_come", "random", "highest_risk", "nearest_edge"])
def test_every_targeting_rule_enrols_up_to_the_cap(small_scenario, targeting):
    p = programme(targeting=targeting, enrolment_cap=3)
    y = simulate(with_programmes(small_scenario, p), rng=9).yearly
    assert 0 < y["enrolled_farms"].max() <= 3


def test_establishment_support_lifts_the_liquidity_barrier(small_scenario):
    poor = small_scenario.with_overrides(
        {
            "farmers.savings_usd": 500.0,
            "years": 2,  # too soon for income to save up 2,000 USD
            "markets.cocoa.process": "path",
            "markets.cocoa.values": [6.0],
        }
    )
    support = programme(budget_usd=1e7, budget_usd_per_year=1e7)
    support["establishment_support"] = {"share": 0.9, "mode": "grant", "loan_years": 3}
    totals = []
    for sc in (
        with_programmes(poor, programme(budget_usd=1e7, budget_usd_per_year=1e7)),
        with_programmes(poor, support),
    ):
        totals.append(
            sum(
                simulate(sc, rng=s).yearly["area_cocoa_agroforestry_ha"].iloc[-1] for s in range(3)
            )
        )
    assert totals[0] == 0  # 500 USD of savings cannot pay for 1 ha at 2,000 USD
    assert totals[1] > 0


def test_restoration_indicators(small_scenario):
    """Restoration in the FERM / Target 2 sense: the area under an intervention on
    the map, with its type; none without a programme; the funded reforestation
    reported apart."""
    from landsim.model.state import (
        NATURAL_REGENERATION,
        PLANTING,
        PRODUCTIVE_RESTORATION,
        Cover,
    )

    p = programme(budget_usd=1e6, budget_usd_per_year=1e6)
    p["carbon_payment"] = dict(CARBON, usd_per_tco2e=20.0)
    p["establishment_support"] = {"share": 0.9, "mode": "grant", "loan_years": 5}
    model = LandUseModel(with_programmes(small_scenario, p), rng=1)
    model.run_for(small_scenario.years)
    y, layers = model.yearly_table(), model.rasters()
    non_primary = y[[c for c in y.columns if c.startswith("area_") and "primary" not in c]].sum(
        axis=1
    )
    assert np.allclose(y["degraded_land_ha"], non_primary)
    share = y["degraded_share_under_restoration"]
    assert ((share >= 0) & (share <= 1)).all() and share.iloc[-1] > 0
    assert y["reforestation_funded_ha"].iloc[-1] == pytest.approx(
        y["collective_spending_usd"].sum() / 1000.0
    )
    # Every mark sits on its cover, on the land of a farm that was enrolled.
    mark, cover, owner = layers["restoration"], layers["cover"], layers["owner"]
    assert (mark == NATURAL_REGENERATION).sum() > 0
    assert np.all(cover[mark == NATURAL_REGENERATION] == Cover.SECONDARY_FOREST)
    for system_cover, code in PRODUCTIVE_RESTORATION.items():
        assert np.all(cover[mark == code] == system_cover)
    assert np.all(cover[mark == PLANTING] == Cover.SECONDARY_FOREST)
    ever = model.farm_table()["ever_enrolled"].to_numpy()
    assert ever[owner[mark > 0]].all()
    cell = model.landscape.cell_size_ha
    assert y["restoration_natural_regeneration_ha"].iloc[-1] == pytest.approx(
        (mark == NATURAL_REGENERATION).sum() * cell
    )
    # Without a programme nothing is under restoration.
    none = simulate(small_scenario, rng=1).yearly
    columns = [c for c in none.columns if c.startswith("restoration_")]
    assert len(columns) == 4 and (none[columns].to_numpy() == 0).all()
    assert (none["degraded_share_under_restoration"] == 0).all()


@pytest.mark.parametrize(
    ("change", "key", "text"),
    [
        (
            {"start_year": 5, "end_year": 2},
            "programmes.0",
            "end_year (2) must be >= start_year (5)",
        ),
        ({"budget_usd": -1.0}, "programmes.0.budget_usd", "greater than or equal to 0"),
        ({"targeting": "closest"}, "programmes.0.targeting", "'nearest_edge'"),
        ({"finance": "loans"}, "programmes.0.finance", "'works_for_taxes'"),
        (
            {"detection_probability": 1.5},
            "programmes.0.detection_probability",
            "less than or equal to 1",
        ),
        (
            {"forest_payment": {"usd_per_ha": 3}},
            "programmes.0.forest_payment.usd_per_ha",
            "allowed keys: usd_per_ha_per_year",
        ),
    ],
)
def test_bad_programme_definitions_name_the_key(small_scenario, change, key, text):
    with pytest.raises(ScenarioError) as err:
        with_programmes(small_scenario, programme(**change))
    message = str(err.value)
    assert f"{key}:" in message and text in message


def test_bad_programme_in_a_file_exits_2(tmp_path, capsys):
    from landsim.cli import main

    path = tmp_path / "bad.toml"
    path.write_text(
        '[[programmes]]\nname = "x"\nstart_year = 4\nend_year = 2\nbudget_usd = 1\n'
        'budget_usd_per_year = 1\nenrolment_cap = 1\ntargeting = "first_come"\n'
        'finance = "public"\ndetection_probability = 0.5\nexpel_on_violation = true\n'
        "warnings_before_expulsion = 0\nrepay_on_violation = false\n",
        encoding="utf-8",
    )
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml: programmes.0: end_year (2) must be >= start_year (4)" in err


def test_loan_book_keeping_never_creates_money(small_scenario):
    """Grants leave no loan; loans are repaid, never paid out, whatever savings are."""
    poor = small_scenario.with_overrides({"farmers.savings_usd": 300.0})
    for mode in ("grant", "loan"):
        p = programme(budget_usd=1e7, budget_usd_per_year=1e7)
        p["establishment_support"] = {"share": 0.9, "mode": mode, "loan_years": 3}
        model = LandUseModel(with_programmes(poor, p), rng=2)
        model.run_for(10)
        y = model.yearly_table()
        acc = model.programmes.accounts[0]
        assert (y["loan_repayments_usd"] >= 0).all()
        assert (acc.loan_balance_usd >= -1e-9).all()
        if mode == "grant":
            assert (acc.loan_balance_usd == 0).all()
            assert y["loan_repayments_usd"].sum() == 0
        else:
            lent = y["establishment_support_usd"].sum()
            assert y["loan_repayments_usd"].sum() <= lent + 1e-6
            assert acc.loan_balance_usd.sum() == pytest.approx(
                lent - y["loan_repayments_usd"].sum()
            )


def test_the_expected_sanction_uses_the_clearing_size_of_stage_two(small_scenario, monkeypatch):
    """An enrolled farmer weighs the sanction on the clearing it can actually do when
    it chooses (stage 2, after abandonment), not on the size before it: the
    incentives of stage 2 are computed with the stage-2 clearing size, and the run
    has enrolled farms whose two sizes differ (so the check is not vacuous)."""
    from landsim.economics import Option
    from landsim.model.processes import choice

    # Abandoned land may be cleared at once (re-clearing fertility below the
    # exhaustion fertility) and farms have little forest left and savings to hire
    # labour, so abandonment can change how much a farm can clear.
    sc = with_programmes(
        small_scenario.with_overrides(
            {
                "forest.reclear_fertility": 0.3,
                "monocrop.exhaustion_fertility": 0.6,
                "landscape.initial_cleared_fraction": {
                    "dist": "uniform",
                    "low": 0.97,
                    "high": 1.0,
                },
                "landscape.claim_distance_km": 0.0,
                "landscape.initial_fallow_share": 0.0,
                "farmers.savings_usd": 1e5,
            }
        ),
        programme(enrolment_cap=20, end_year=10),
    )
    model = LandUseModel(sc, rng=1)
    calls, stage2 = [], []
    original = model.programmes.value_adjustments

    def recording(year, clear_size):
        calls.append(np.array(clear_size, copy=True))
        return original(year, clear_size)

    def choosing(values, sizes, scale, uniforms):
        stage2.append(sizes[:, Option.CLEAR].copy())
        return real_choice(values, sizes, scale, uniforms)

    real_choice = choice.choose_land_use_change
    monkeypatch.setattr(model.programmes, "value_adjustments", recording)
    monkeypatch.setattr(choice, "choose_land_use_change", choosing)
    differed = False
    for _ in range(sc.years):
        calls.clear()
        stage2.clear()
        model.step()
        enrolled = model.programmes.enrolled_any()
        assert calls and stage2
        np.testing.assert_array_equal(calls[-1][enrolled], stage2[-1][enrolled])
        differed |= bool((calls[0][enrolled] != stage2[-1][enrolled]).any())
    assert differed


def test_farmers_trust_a_programme_as_far_as_it_paid_what_was_due(small_scenario):
    """A programme whose yearly budget pays only part of what is due records that
    share, and its enrolled farmers scale all its incentives by it the next year."""
    from landsim.economics import Option

    scarce = programme(budget_usd=1e6, budget_usd_per_year=50.0)
    model = LandUseModel(with_programmes(small_scenario, scarce), rng=2)
    acc = model.programmes.accounts[0]
    assert acc.paid_share == 1.0  # nothing was due yet
    model.step()
    due = acc.year["payments_to_farmers_usd"] / acc.paid_share
    assert 0 < acc.paid_share < 1 and acc.year["payments_to_farmers_usd"] == pytest.approx(50.0)
    assert due > 50.0  # more was due than the yearly budget
    size = model._sizes(model._survey())[:, Option.CLEAR]
    trusted = model.programmes.value_adjustments(model.year + 1, size)
    share, acc.paid_share = acc.paid_share, 1.0
    nominal = model.programmes.value_adjustments(model.year + 1, size)
    enrolled = acc.enrolled
    assert enrolled.any() and np.abs(nominal[enrolled]).max() > 0
    np.testing.assert_allclose(trusted[enrolled], share * nominal[enrolled], rtol=1e-12)
    np.testing.assert_array_equal(trusted[~enrolled], 0.0)


def test_credits_are_lost_on_at_most_the_baseline_and_only_if_they_would_be_paid(
    small_scenario,
):
    """Clearing ``s`` ha loses this year's avoided-emission credits on at most the
    baseline's ``b`` ha (credits never fall below zero), so the loss per ha is
    ``min(1, b / s)`` of a whole ha's credit; a farm that fails its
    sustainable-practice obligation is not paid, and loses no credit by clearing."""
    from landsim.economics import Option
    from landsim.model.programmes.terms import clearing_emission_tco2e_per_ha

    carbon = dict(CARBON, pay_removals=False, usd_per_tco2e=10.0)
    budget = {"budget_usd": 1e9, "budget_usd_per_year": 1e9}  # all paid: trusted in full
    p = programme(carbon_payment=carbon, forest_payment=None, obligations=None, **budget)
    model = LandUseModel(with_programmes(small_scenario, p), rng=3)
    model.step()
    acc = model.programmes.accounts[0]
    e = acc.enrolled
    assert e.sum() >= 2
    per_ha = 10.0 * 0.1 * clearing_emission_tco2e_per_ha(model.state)
    size = np.zeros(model.farmers.n)
    size[np.flatnonzero(e)[0]] = 4.0  # 4 ha: credits on the baseline's 1 ha only
    size[np.flatnonzero(e)[1]] = 0.5  # less than the baseline: every ha credited
    adj = model.programmes.value_adjustments(model.year + 1, size)[:, Option.CLEAR]
    first, second = np.flatnonzero(e)[:2]
    assert acc.paid_share == 1.0
    assert adj[first] == pytest.approx(-per_ha / 4.0, rel=1e-12)
    assert adj[second] == pytest.approx(-per_ha, rel=1e-12)
    # Failing a sustainable-practice obligation (no grace) stops payment: nothing lost.
    failing = programme(
        **budget,
        carbon_payment=carbon,
        forest_payment=None,
        obligations={
            "protected_forest": "all",
            "no_clearing": False,
            "min_forest_share": 0.0,
            "min_sustainable_ha_per_40ha": 40.0,
            "grace_years": 0,
            "covers_claimed_land": True,
        },
    )
    model = LandUseModel(with_programmes(small_scenario, failing), rng=3)
    model.step()
    e = model.programmes.accounts[0].enrolled
    assert e.any()
    adj = model.programmes.value_adjustments(model.year + 1, np.full(model.farmers.n, 2.0))
    np.testing.assert_array_equal(adj[e, Option.CLEAR], 0.0)


def test_a_transaction_cost_keeps_out_those_who_cannot_pay_it(small_scenario):
    """Joining costs a one-off transaction cost from savings: only farmers whose
    savings cover it enrol, and they pay it; a higher cost enrols fewer."""
    cost = 1_000.0
    sc = small_scenario.with_overrides(
        {"farmers.savings_usd": {"dist": "uniform", "low": 0.0, "high": 2 * cost}}
    )
    enrolled = {}
    for c in (0.0, cost):
        p = programme(
            participation={"transaction_cost_usd": c, "eligible": "all"}, enrolment_cap=1000
        )
        model = LandUseModel(with_programmes(sc, p), rng=4)
        before = model.farmers.savings_usd.copy()
        model.programmes.begin_year(1, np.zeros(model.farmers.n), np.zeros(model.farmers.n))
        e = model.programmes.accounts[0].enrolled
        enrolled[c] = int(e.sum())
        if c > 0:
            assert (before[e] >= c).all() and (before < c).any()
            np.testing.assert_array_equal(model.farmers.savings_usd[e], before[e] - c)
            np.testing.assert_array_equal(model.farmers.savings_usd[~e], before[~e])
    assert 0 < enrolled[cost] < enrolled[0.0]


def test_re_clearing_fallow_breaks_only_a_contract_that_protects_all_forest(small_scenario):
    """Under ``protected_forest = "primary"`` clearing fallow is no violation and the
    forest share counts primary forest; under ``"all"`` both count."""
    from landsim.model.processes.land_change import FarmClearing
    from landsim.model.programmes import settlement
    from landsim.model.programmes.terms import FarmAreas, ProgrammeAccounts

    def violations(protected, no_clearing, cleared, cleared_primary):
        ob = {
            "protected_forest": protected,
            "no_clearing": no_clearing,
            "min_forest_share": 0.5,
            "min_sustainable_ha_per_40ha": 0.0,
            "grace_years": 0,
            "covers_claimed_land": True,
        }
        spec = with_programmes(small_scenario, programme(obligations=ob)).programmes[0]
        acc = ProgrammeAccounts.empty(3)
        acc.enrolled[:] = True
        # Farm 0 cleared fallow only; farm 1 primary forest and keeps enough of it
        # (if fallow counts); farm 2 cleared nothing.
        areas = FarmAreas(
            forest_ha=np.array([30.0, 25.0, 30.0]),
            sustainable_ha=np.zeros(3),
            lot_ha=np.full(3, 40.0),
            primary_ha=np.array([25.0, 15.0, 25.0]),
            cocoa_ha=np.zeros(3),
        )
        rng = np.random.default_rng(0)
        spec = spec.model_copy(update={"detection_probability": 1.0})
        none = np.zeros(3)  # nothing on claimed land
        clearing = FarmClearing(np.array(cleared), np.array(cleared_primary), none, none)
        detected, _ = settlement.monitor(spec, acc, 1, areas, clearing, rng)
        return detected.tolist()

    cleared, primary = [2.0, 3.0, 0.0], [0.0, 3.0, 0.0]
    assert violations("primary", True, cleared, primary) == [False, True, False]
    assert violations("all", True, cleared, primary) == [True, True, False]
    # The share alone: farm 1 keeps 25 ha of forest but only 15 of primary forest.
    assert violations("primary", False, cleared, primary) == [False, True, False]
    assert violations("all", False, cleared, primary) == [False, False, False]


def test_a_programme_for_cocoa_growers_enrols_none_but_them(small_scenario):
    from landsim.model.programmes.terms import measure_farm_areas

    sc = small_scenario.with_overrides({"landscape.initial_cocoa_farm_share": 0.4})
    p = programme(
        participation={"transaction_cost_usd": 0.0, "eligible": "cocoa_growers"},
        enrolment_cap=1000,
        training={"knowledge_gain": 0.5},
    )
    model = LandUseModel(with_programmes(sc, p), rng=5)
    growers = measure_farm_areas(model.state).cocoa_ha > 0
    assert growers.any() and not growers.all()
    model.programmes.begin_year(1, np.zeros(model.farmers.n), np.zeros(model.farmers.n))
    e = model.programmes.accounts[0].enrolled
    assert e.any() and not (e & ~growers).any()


def test_funding_tranches_must_add_up_to_the_budget(small_scenario):
    p = programme(funding={"usd_by_year": [100.0, 200.0]}, budget_usd=1_000.0)
    with pytest.raises(ScenarioError, match=r"funding.usd_by_year sums to 300.00 USD"):
        with_programmes(small_scenario, p)


def test_expulsion_puts_the_support_the_contract_still_owes_at_stake(small_scenario):
    """A programme that pays nothing but establishment support: an enrolled farm
    short of its sustainable-practice area that would clear against its contract
    weighs detection x the support it would forgo if expelled (the shortfall at the
    cheaper system's support per ha), per ha it can clear."""
    from landsim.economics import Option
    from landsim.model.programmes.terms import measure_farm_areas

    p = programme(
        forest_payment=None,
        budget_usd=1e9,
        budget_usd_per_year=1e9,
        establishment_support={"share": 0.5, "mode": "grant", "loan_years": 5},
        obligations={
            "protected_forest": "all",
            "no_clearing": True,
            "min_forest_share": 0.0,
            "min_sustainable_ha_per_40ha": 3.0,
            "grace_years": 5,
            "covers_claimed_land": True,
        },
        enrolment_cap=1000,
    )
    model = LandUseModel(with_programmes(small_scenario, p), rng=2)
    model.step()
    e = model.programmes.accounts[0].enrolled
    areas = measure_farm_areas(model.state)
    sc = model.params
    per_ha = 0.5 * min(
        sc.cocoa_agroforestry.establishment_cost_usd_per_ha,
        sc.silvopasture.establishment_cost_usd_per_ha,
    )
    shortfall = np.maximum(3.0 * areas.lot_ha / 40.0 - areas.sustainable_ha, 0.0)
    size = np.full(model.farmers.n, 2.0)
    adj = model.programmes.value_adjustments(model.year + 1, size)[:, Option.CLEAR]
    short = e & (shortfall > 0)
    assert short.any()
    np.testing.assert_allclose(adj[short], -0.8 * shortfall[short] * per_ha / 2.0, rtol=1e-12)
    np.testing.assert_array_equal(adj[e & (shortfall == 0)], 0.0)
