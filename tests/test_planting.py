"""Planting (reforestation, ARR) on the map (ODD 7.17): the collective share of
carbon money plants idle farmland of enrolled farms, within the budget, on its own
growth curve; planted cells stay while the programme runs; the reference plants
the same cells."""

from __future__ import annotations

import numpy as np
import pytest

from landsim import carbon
from landsim.model import LandUseModel
from landsim.model.state import PLANTING, Cover
from test_invariants import check_yearly_table, run_checked
from test_reference import assert_same_run, run_both

CARBON = {
    "usd_per_tco2e": 15.0,
    "pay_removals": True,
    "pay_avoided_emissions": False,
    "pay_soil_carbon": False,
    "baseline_clearing_ha_per_farm_per_year": 0.0,
    "farmer_share": 0.1,
    "collective_use": "reforestation",
    "reforestation_cost_usd_per_ha": 500.0,
}
PLANTING_PROGRAMME = {
    "name": "planting test",
    "start_year": 1,
    "end_year": 6,
    "budget_usd": 30_000.0,
    "budget_usd_per_year": 8_000.0,
    "enrolment_cap": 20,
    "targeting": "random",
    "finance": "carbon_credits",
    "detection_probability": 0.6,
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
    "carbon_payment": CARBON,
}
#: Fallow may be cleared again soon (planted cells become clearable within the
#: programme, so that keeping them is tested), and much land wears out.
FAST_LAND = {
    "forest.reclear_fertility": 0.55,
    "forest.fertility_recovery_rate": 0.2,
    "monocrop.fertility_depletion_rate": 0.35,
    "years": 14,
}


@pytest.fixture(scope="module")
def planting_scenario(small_scenario):
    return small_scenario.with_overrides({"programmes": [PLANTING_PROGRAMME], **FAST_LAND})


def test_the_planting_curve_grows_faster_than_regrowth_at_first(default_scenario):
    ages = np.arange(0, 31)
    secondary = np.full(ages.shape, Cover.SECONDARY_FOREST, dtype=np.int8)
    planted = carbon.biomass_density(secondary, ages, default_scenario, planted=ages >= 0)
    regrowth = carbon.biomass_density(secondary, ages, default_scenario)
    assert planted[0] == regrowth[0] == 0.0
    assert np.all(planted[1:] > regrowth[1:])
    # About 19 tCO2/ha/yr over the first 20 years, within Bernal et al. 2018's range
    # for planted forests (4.5-40.7) and above regrowth's 13.
    rate = planted[20] / 20 * carbon.CO2_PER_C
    assert 15.0 < rate < 25.0
    # The table row of planted forest holds the same numbers.
    table = carbon.biomass_table(default_scenario, 30)
    np.testing.assert_array_equal(table[carbon.PLANTED_ROW], planted)


def test_planting_keeps_the_invariants_and_its_money_within_the_budget(planting_scenario):
    model = run_checked(planting_scenario, 0)
    check_yearly_table(model)
    y = model.yearly_table()
    spec = planting_scenario.programmes[0]
    cost = spec.carbon_payment.reforestation_cost_usd_per_ha
    assert y["planted_ha"].sum() > 0, "nothing was planted: the test is vacuous"
    # Money: never above the budgets; planting spends only what was paid in.
    assert (y["programme_spent_usd"] <= spec.budget_usd + 1e-6).all()
    assert (y["programme_cost_usd"] <= spec.budget_usd_per_year + 1e-6).all()
    paid_in = y["collective_spending_usd"].cumsum()
    spent = y["planting_spending_usd"].cumsum()
    assert (spent <= paid_in + 1e-6).all()
    np.testing.assert_allclose(y["planting_fund_usd"], paid_in - spent, atol=1e-6)
    # Area: planted <= money / cost; what was paid for but not planted waits.
    assert (y["cumulative_planted_ha"] <= y["reforestation_funded_ha"] + 1e-9).all()
    np.testing.assert_allclose(y["planting_spending_usd"], y["planted_ha"] * cost)
    np.testing.assert_allclose(y["cumulative_planted_ha"], y["planted_ha"].cumsum())
    # The planters are paid for their labour, out of the planting cost.
    sc = planting_scenario
    wage = sc.forest.planting_labour_days_per_ha * sc.labour.hired_wage_usd_per_day
    np.testing.assert_allclose(y["planting_labour_usd"], y["planted_ha"] * min(wage, cost))
    # Planted land is under restoration while it stands, in its own carbon pool.
    assert (y["restoration_planting_ha"] <= y["cumulative_planted_ha"] + 1e-9).all()
    assert y["biomass_planting_tc"].iloc[-1] > 0
    assert y["planting_removals_tco2e"].sum() > 0
    pools = [f"biomass_{c.name.lower()}_tc" for c in Cover] + ["biomass_planting_tc"]
    np.testing.assert_allclose(y[pools].sum(axis=1), y["biomass_carbon_tc"], rtol=1e-12)


def test_planted_cells_stand_while_the_programme_runs_and_may_be_cleared_after(
    planting_scenario,
):
    model = LandUseModel(planting_scenario, rng=0)
    model.run_for(planting_scenario.years)
    y = model.yearly_table().set_index("year")
    end = planting_scenario.programmes[0].end_year
    during = y.loc[:end, "restoration_planting_ha"]
    assert (during.diff().dropna() >= 0).all()
    assert during.iloc[-1] == y.loc[end, "cumulative_planted_ha"] > 0
    assert y["restoration_planting_ha"].iloc[-1] < during.iloc[-1], "none cleared after"


def test_planting_goes_only_to_idle_farmland_of_enrolled_farms(planting_scenario):
    model = LandUseModel(planting_scenario, rng=1)
    for _ in range(4):
        ls = model.landscape
        cover, fert, restoration = ls.cover.copy(), ls.fertility.copy(), ls.restoration.copy()
        model.step()
        new = (ls.restoration == PLANTING) & (restoration != PLANTING)
        # Stage 1 and 2 change land before planting: compare with the idle land
        # the planted cells were at the start of the year.
        assert np.isin(cover[new], [Cover.MONOCROP, Cover.PASTURE]).all()
        limits = np.where(
            cover[new] == Cover.MONOCROP,
            planting_scenario.monocrop.exhaustion_fertility,
            planting_scenario.pasture.degraded_fertility,
        )
        assert (fert[new] < limits).all()
        assert not ls.protected[new].any()
        # (enrolled when planted; some may be expelled at the settlement after)
        enrolled = model.programmes.accounts[0].ever_enrolled
        assert enrolled[ls.owner[new]].all()
        assert (ls.age[new] == 1).all()


def test_no_planting_without_a_programme(small_scenario):
    model = LandUseModel(small_scenario.with_overrides({"years": 6}), rng=0)
    model.run_for(6)
    y = model.yearly_table()
    for key in ("planted_ha", "restoration_planting_ha", "biomass_planting_tc"):
        assert (y[key] == 0).all(), key
    assert (model.landscape.restoration != PLANTING).all()


def test_no_planting_without_a_collective_share(small_scenario):
    p = dict(PLANTING_PROGRAMME, carbon_payment=dict(CARBON, farmer_share=1.0))
    model = LandUseModel(small_scenario.with_overrides({"programmes": [p], **FAST_LAND}), rng=0)
    model.run_for(8)
    y = model.yearly_table()
    assert y["payments_to_farmers_usd"].sum() > 0
    assert (y["planted_ha"] == 0).all() and (y["planting_fund_usd"] == 0).all()


@pytest.mark.slow
def test_planting_matches_the_reference(planting_scenario):
    fast, reference = run_both(planting_scenario, seed=0)
    y = fast.yearly_table()
    assert y["planted_ha"].sum() > 0 and y["planting_labour_usd"].sum() > 0
    # Planted cells were kept while the programme ran and cleared after it.
    assert y["restoration_planting_ha"].iloc[-1] < y["cumulative_planted_ha"].iloc[-1]
    assert_same_run(fast, reference)


def test_planting_matches_the_reference_quickly(planting_scenario):
    sc = planting_scenario.with_overrides({"years": 5})
    fast, reference = run_both(sc, seed=1)
    assert fast.yearly_table()["planted_ha"].sum() > 0
    assert_same_run(fast, reference)
