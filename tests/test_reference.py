"""Equivalence of the vectorised model and the per-agent reference (landsim.reference).

Both implementations consume the same random draws in the same order, so the
comparison is exact, not statistical: for the same scenario and seed,

- every raster layer at the end of the run is identical (``assert_array_equal``);
- every column of the yearly table is identical, except the landscape totals of
  carbon (``CARBON_TOTALS``: stocks, pools, removals and emissions), which both
  implementations sum over all cells in different orders (numpy's pairwise sums
  against a plain loop) and which are compared with a relative tolerance of 1e-12
  (observed differences are about 1e-14);
- the farm table (area, deforestation, claims, cumulative income, savings,
  enrolment) and every farmer's knowledge are identical.

The quick tests cover the baseline and one programme; the rest (every shipped
scenario with a programme, programmes exercising loans, clawbacks, budget
proration, every targeting rule and two programmes at once, reserve farmland
and protected land that may change) are marked slow.
"""

from __future__ import annotations

import copy

import mesa
import numpy as np
import pytest
from mesa.discrete_space import OrthogonalMooreGrid

from conftest import SMALL_OVERRIDES
from landsim.landscape import Cover, generate_landscape, save_landscape
from landsim.model import LandUseModel
from landsim.model.state import COVER_NAMES
from landsim.reference import LAYERS, ReferenceFarmer, ReferenceModel
from landsim.scenario import load_scenario

#: Landscape totals summed over cells, compared with a relative tolerance.
CARBON_TOTALS = (
    "carbon_stock_tc",
    "soc_change_per_mille",
    "biomass_carbon_tc",
    "soil_carbon_tc",
    "removals_tco2e",
    "emissions_tco2e",
    "net_emissions_tco2e",
    "biomass_emissions_tco2e",
    "soil_emissions_tco2e",
    *(f"biomass_{name}_tc" for name in COVER_NAMES),
    "biomass_planting_tc",
    "planting_removals_tco2e",
)
RTOL = 1e-12

BASE_PROGRAMME = {
    "name": "reference test",
    "start_year": 1,
    "end_year": 8,
    "budget_usd": 1e6,
    "budget_usd_per_year": 1e6,
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
    "farmer_share": 0.3,
    "collective_use": "reforestation",
    "reforestation_cost_usd_per_ha": 1000.0,
}


def programme(**changes) -> dict:
    p = copy.deepcopy(BASE_PROGRAMME)
    for key, value in changes.items():
        if value is None:
            p.pop(key, None)
        else:
            p[key] = value
    return p


def run_both(scenario, seed: int) -> tuple[LandUseModel, ReferenceModel]:
    fast = LandUseModel(scenario, rng=seed)
    fast.run_for(scenario.years)
    reference = ReferenceModel(scenario, rng=seed)
    reference.run_for(scenario.years)
    return fast, reference


def assert_same_run(fast: LandUseModel, reference: ReferenceModel) -> None:
    """The two runs agree exactly, but for the carbon totals (to ``RTOL``)."""
    a, b = fast.yearly_table(), reference.yearly_table()
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) == fast.params.years + 1
    for column in a.columns:
        x = a[column].to_numpy(dtype=np.float64)
        y = b[column].to_numpy(dtype=np.float64)
        if column in CARBON_TOTALS:
            scale = np.abs(a["carbon_stock_tc"].to_numpy()).max()
            np.testing.assert_allclose(y, x, rtol=RTOL, atol=RTOL * scale, err_msg=column)
        else:
            np.testing.assert_array_equal(y, x, err_msg=column)
    ra, rb = fast.rasters(), reference.rasters()
    for name in LAYERS:
        np.testing.assert_array_equal(rb[name], ra[name], err_msg=name)
    fa, fb = fast.farm_table(), reference.farm_table()
    for column in fa.columns:
        np.testing.assert_array_equal(fb[column].to_numpy(), fa[column].to_numpy(), column)
    knowledge = [f.knowledge for f in reference.farmers]
    np.testing.assert_array_equal(knowledge, fast.farmers.knowledge)


def assert_eventful(fast: LandUseModel) -> None:
    """The run exercised the rules being compared (the comparison is not vacuous)."""
    y = fast.yearly_table()
    assert y["deforestation_ha"].sum() > 0
    assert y["abandoned_ha"].sum() > 0
    assert y["chose_keep"].iloc[1:].sum() > 0


@pytest.fixture(scope="module")
def scenarios_dir(request):
    return request.config.rootpath / "scenarios"


# --------------------------------------------------------------------------- quick


def test_baseline_matches_the_reference(small_scenario):
    fast, reference = run_both(small_scenario, seed=0)
    assert_eventful(fast)
    assert_same_run(fast, reference)


def test_forty_by_forty_with_random_choices(small_scenario):
    """A 40 x 40 landscape of 10 farms; logit scale 0 makes every feasible option
    equally likely, so clearing, conversion and abandonment all happen."""
    sc = small_scenario.with_overrides(
        {
            "landscape.width": 40,
            "landscape.height": 40,
            "landscape.n_farms": 10,
            "decision.logit_scale": 0.0,
            "farmers.savings_usd": 20_000.0,
        }
    )
    fast, reference = run_both(sc, seed=4)
    y = fast.yearly_table()
    assert y["converted_cocoa_agroforestry_ha"].sum() > 0
    assert y["converted_silvopasture_ha"].sum() > 0
    assert_same_run(fast, reference)


def test_degraded_pasture_abandoned_and_restored_as_in_the_reference(small_scenario):
    """Pasture that degrades within the run (fast depletion, a high degraded
    fertility), ample savings and random choices (logit scale 0): pasture is
    both abandoned and restored, and both models agree cell by cell."""
    sc = small_scenario.with_overrides(
        {
            "pasture.fertility_depletion_rate": 0.1,
            "pasture.degraded_fertility": 0.45,
            "markets.beef.initial": 2.0,
            "markets.beef.mean": 2.0,
            "farmers.savings_usd": 5_000.0,
            "decision.logit_scale": 0.0,
            "years": 12,
        }
    )
    fast, reference = run_both(sc, seed=1)
    y = fast.yearly_table()
    assert y["abandoned_pasture_ha"].sum() > 0
    assert y["restored_pasture_ha"].sum() > 0
    assert y["chose_restore_pasture"].sum() > 0
    assert_same_run(fast, reference)


def test_a_programme_matches_the_reference(small_scenario, scenarios_dir):
    """Tambopata REDD+: obligations on primary forest, avoided-emission credits that
    repay the finance, establishment support, training, a premium paid by buyers,
    a growing enrolment cap, first-come targeting."""
    sc = load_scenario(scenarios_dir / "tambopata_redd_cocoa.toml")
    sc = sc.with_overrides(SMALL_OVERRIDES)
    fast, reference = run_both(sc, seed=1)
    y = fast.yearly_table()
    assert y["enrolled_farms"].max() > 0 and y["programme_cost_usd"].sum() > 0
    assert y["finance_repaid_usd"].sum() > 0 and y["premium_from_buyers_usd"].sum() > 0
    # Productive restoration is on the map; the contract protects primary forest
    # only, so no regrowth is natural regeneration under agreement.
    marks = set(np.unique(fast.rasters()["restoration"]).tolist())
    assert 2 in marks and 1 not in marks, marks
    assert_same_run(fast, reference)


def test_reference_is_a_mesa_model_of_cells_and_farmers(small_scenario):
    model = ReferenceModel(small_scenario.with_overrides({"years": 2}), rng=3)
    assert isinstance(model, mesa.Model)
    assert isinstance(model.grid, OrthogonalMooreGrid)
    height, width = small_scenario.landscape.height, small_scenario.landscape.width
    assert tuple(model.grid.dimensions) == (width, height)
    for name in LAYERS:
        assert getattr(model.grid, name).data.shape == (width, height)
    farmers = model.agents_by_type[ReferenceFarmer]
    assert len(farmers) == small_scenario.landscape.n_farms
    model.run_for(2)
    owner = model.grid.owner.data
    for farmer in model.farmers:
        assert all(cell.owner == farmer.farm_id for cell in farmer.cells)
        assert len(farmer.cells) == int((owner == farmer.farm_id).sum())
        indices = [model.raster_index(c) for c in farmer.cells]
        assert indices == sorted(indices)  # kept in raster order
    assert model.grid[(0, 0)].cover == model.rasters()["cover"][0, 0]


# --------------------------------------------------------------------------- slow


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_baseline_other_seeds(small_scenario, seed):
    assert_same_run(*run_both(small_scenario, seed))


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "caqueta_conservation_agreements",  # nearest-edge targeting, forest payments
        "piura_reforestation_credits",  # random targeting, removal credits
        "carbon_price_high",
        "cocoa_boom_bust",  # an explicit price path
    ],
)
def test_shipped_scenarios_match_the_reference(small_scenario, scenarios_dir, name):
    sc = load_scenario(scenarios_dir / f"{name}.toml").with_overrides(SMALL_OVERRIDES)
    fast, reference = run_both(sc, seed=0)
    if sc.programmes:
        assert fast.yearly_table()["enrolled_farms"].max() > 0
    assert_same_run(fast, reference)


@pytest.mark.slow
def test_loans_clawbacks_and_exhausted_budgets(small_scenario):
    """A loan, repayment on violation, a forest-share and a sustainable-practice
    obligation, carbon credits, a premium, highest-risk targeting, and a total
    budget that runs out (payments prorated to the last dollar)."""
    p = programme(
        targeting="highest_risk",
        repay_on_violation=True,
        detection_probability=0.9,
        obligations={
            "protected_forest": "all",
            "no_clearing": True,
            "min_forest_share": 0.3,
            "min_sustainable_ha_per_40ha": 2.0,
            "grace_years": 1,
            "covers_claimed_land": True,
        },
        establishment_support={"share": 0.6, "mode": "loan", "loan_years": 3},
        carbon_payment=CARBON,
        premium={"cocoa_usd_per_kg": 0.5, "paid_by": "programme"},
        budget_usd=9_000.0,
        budget_usd_per_year=4_000.0,
    )
    sc = small_scenario.with_overrides(
        {"programmes": [p], "decision.logit_scale": 0.0, "farmers.savings_usd": 8_000.0}
    )
    fast, reference = run_both(sc, seed=5)
    y = fast.yearly_table()
    assert y["budget_remaining_usd"].iloc[-1] == 0.0
    assert y["loan_repayments_usd"].sum() > 0
    assert y["violations_detected"].sum() > 0 and y["repayments_usd"].sum() > 0
    # A clawback takes back money: never more than the farm has, never negative.
    assert (y["repayments_usd"] >= 0).all()
    assert_same_run(fast, reference)


def test_transaction_costs_and_credits_on_at_most_the_baseline(small_scenario):
    """A transaction cost of joining (farmers who cannot pay it stay out) and
    avoided-emission credits lost only on the baseline's ha, only while the farm
    meets its sustainable-practice obligation."""
    p = programme(
        participation={"transaction_cost_usd": 1_500.0, "eligible": "all"},
        obligations={
            "protected_forest": "all",
            "no_clearing": False,
            "min_forest_share": 0.2,
            "min_sustainable_ha_per_40ha": 2.0,
            "grace_years": 2,
            "covers_claimed_land": True,
        },
        carbon_payment=dict(CARBON, baseline_clearing_ha_per_farm_per_year=0.5),
    )
    sc = small_scenario.with_overrides({"programmes": [p], "decision.logit_scale": 0.002})
    fast, reference = run_both(sc, seed=2)
    y = fast.yearly_table()
    assert y["newly_enrolled"].sum() > 0
    assert_same_run(fast, reference)


def test_soil_carbon_payments(small_scenario):
    """A results-based payment for the farms' soil-carbon gains (and nothing else):
    the credits, the incentives of the systems that raise soil carbon."""
    carbon = dict(
        CARBON,
        pay_removals=False,
        pay_avoided_emissions=False,
        pay_soil_carbon=True,
        farmer_share=1.0,
        usd_per_tco2e=40.0,
    )
    p = programme(carbon_payment=carbon, forest_payment=None, obligations=None)
    sc = small_scenario.with_overrides({"programmes": [p], "decision.logit_scale": 0.002})
    fast, reference = run_both(sc, seed=4)
    y = fast.yearly_table()
    assert y["credits_tco2e"].sum() > 0 and y["payments_to_farmers_usd"].sum() > 0
    assert_same_run(fast, reference)


def test_warnings_before_expulsion(small_scenario):
    """Two warnings before a detected violation expels: warned farms are unpaid
    that year and stay enrolled, and weigh only this year's payments while they
    have warnings left."""
    p = programme(warnings_before_expulsion=2, detection_probability=0.9)
    sc = small_scenario.with_overrides({"programmes": [p], "decision.logit_scale": 0.0})
    fast, reference = run_both(sc, seed=0)
    y = fast.yearly_table()
    acc = fast.programmes.accounts[0]
    assert y["violations_detected"].sum() > y["expelled_farms"].max()
    assert acc.warnings.max() >= 1
    np.testing.assert_array_equal(acc.warnings[acc.expelled], 2)
    assert_same_run(fast, reference)
    warned = [c.warnings for c in reference.programmes.programmes[0].contracts]
    np.testing.assert_array_equal(warned, acc.warnings)


def test_cocoa_growers_only_and_funding_in_tranches(small_scenario):
    """A programme open to cocoa growers only, whose money arrives in tranches
    (spending waits for it)."""
    p = programme(
        participation={"transaction_cost_usd": 50.0, "eligible": "cocoa_growers"},
        funding={"usd_by_year": [300.0, 0.0, 0.0, 700.0]},
        budget_usd=1_000.0,
        establishment_support={"share": 0.7, "mode": "grant", "loan_years": 5},
        training={"knowledge_gain": 0.5},
    )
    sc = small_scenario.with_overrides(
        {
            "programmes": [p],
            "decision.logit_scale": 0.002,
            "landscape.initial_cocoa_farm_share": 0.5,
        }
    )
    fast, reference = run_both(sc, seed=3)
    y = fast.yearly_table().set_index("year")
    assert y["enrolled_farms"].max() > 0
    assert y.loc[3, "programme_spent_usd"] == pytest.approx(300.0)  # the first tranche
    assert y.loc[4, "programme_spent_usd"] > 300.0
    assert_same_run(fast, reference)


def test_obligations_that_protect_primary_forest_only(small_scenario):
    """A no-clearing rule and a forest share on primary forest only: re-clearing
    fallow is allowed, and the expected sanction uses the primary share of each
    farm's forest; with cocoa growers at the start, a premium paid by buyers and
    an enrolment cap that grows by programme year."""
    obligations = {
        "protected_forest": "primary",
        "no_clearing": True,
        "min_forest_share": 0.3,
        "min_sustainable_ha_per_40ha": 0.0,
        "grace_years": 0,
        "covers_claimed_land": True,
    }
    a = programme(
        name="no clearing of primary forest",
        obligations=obligations,
        enrolment_cap=[3, 6, 12],
        premium={"cocoa_usd_per_kg": 0.4, "paid_by": "buyers"},
    )
    b = programme(
        name="a primary-forest share",
        obligations=dict(obligations, no_clearing=False),
        detection_probability=1.0,
    )
    for p in (a, b):
        sc = small_scenario.with_overrides(
            {
                "programmes": [p],
                "decision.logit_scale": 0.002,
                "landscape.initial_cocoa_farm_share": 0.6,
                "landscape.initial_cocoa_share": 0.5,
            }
        )
        fast, reference = run_both(sc, seed=6)
        y = fast.yearly_table().set_index("year")
        assert y["enrolled_farms"].max() > 0
        if p is a:  # the cap grows, buyers pay the premium, fallow is re-cleared
            assert y.loc[1, "enrolled_farms"] <= 3 < y["enrolled_farms"].max()
            assert y["premium_from_buyers_usd"].sum() > 0
            assert y["payments_to_farmers_usd"].sum() > 0
        assert_same_run(fast, reference)


@pytest.mark.slow
def test_two_programmes_with_random_and_nearest_edge_targeting(small_scenario):
    a = programme(name="a", targeting="random", enrolment_cap=8)
    b = programme(
        name="b",
        targeting="nearest_edge",
        start_year=3,
        end_year=9,
        training={"knowledge_gain": 0.6},
        carbon_payment=dict(CARBON, usd_per_tco2e=30.0),
        establishment_support={"share": 1.0, "mode": "grant", "loan_years": 5},
        budget_usd=2_500.0,
    )
    sc = small_scenario.with_overrides({"programmes": [a, b], "decision.logit_scale": 0.0})
    fast, reference = run_both(sc, seed=0)
    y = fast.yearly_table()
    assert y["violations_detected"].sum() > 0 and y["expelled_farms"].max() > 0
    assert_same_run(fast, reference)


@pytest.mark.slow
def test_farmland_in_the_reserve_from_an_npz(small_scenario, tmp_path):
    ls = generate_landscape(small_scenario.landscape, np.random.default_rng(3))
    ls.protected[(ls.owner >= 0) & (ls.owner < 4)] = True  # farms 0-3 lie in the reserve
    path = tmp_path / "reserve_with_farms.npz"
    save_landscape(ls, path)
    sc = small_scenario.with_overrides({"landscape.source": str(path)})
    assert_same_run(*run_both(sc, seed=1))


@pytest.mark.slow
def test_protected_land_that_may_be_claimed_and_cleared(small_scenario):
    sc = small_scenario.with_overrides(
        {
            "landscape.reserve_fraction": 0.5,
            "landscape.lot_size_ha": 50.0,
            "landscape.n_farms": 36,
            "landscape.claim_distance_km": 0.5,
            "landscape.initial_cleared_fraction": 1.0,
            "landscape.initial_fallow_share": 0.0,
            "landscape.protected_can_change": True,
            "markets.monocrop.process": "path",
            "markets.monocrop.values": [150.0],
        }
    )
    fast, reference = run_both(sc, seed=4)
    assert fast.yearly_table()["claimed_ha"].sum() > 0
    assert (fast.landscape.protected & (fast.landscape.cover == Cover.MONOCROP)).any()
    assert_same_run(fast, reference)


def test_a_contract_that_covers_only_the_land_held(small_scenario):
    """``obligations.covers_claimed_land = false``: enrolled farms clear their
    claimable forest before their own, and monitoring counts only the clearing of
    the land they hold; both models agree cell by cell."""
    obligations = dict(BASE_PROGRAMME["obligations"], covers_claimed_land=False)
    p = programme(obligations=obligations, detection_probability=1.0)
    sc = small_scenario.with_overrides({"programmes": [p], "decision.logit_scale": 0.0})
    fast, reference = run_both(sc, seed=2)
    y = fast.yearly_table()
    assert y["enrolled_farms"].max() > 0
    # The rule was exercised: enrolled farms cleared claimable land.
    farms = fast.farm_table()
    assert farms.loc[farms["ever_enrolled"], "claimed_ha"].sum() > 0
    assert_same_run(fast, reference)


def test_prices_that_respond_to_supply(small_scenario, scenarios_dir):
    """``supply_flexibility`` > 0: each year's annual-crop and beef prices follow
    the landscape's supply and expectations follow the realised prices, in both
    models alike (a programme changes the supply)."""
    sc = load_scenario(scenarios_dir / "tambopata_redd_cocoa.toml")
    sc = sc.with_overrides(
        SMALL_OVERRIDES
        | {
            "markets.monocrop.supply_flexibility": 0.8,
            "markets.beef.supply_flexibility": 0.5,
            "years": 12,
        }
    )
    fast, reference = run_both(sc, seed=3)
    y = fast.yearly_table()
    market = fast.market
    path = market.paths["monocrop"][market.memory : market.memory + 13]
    realised = y["monocrop_price_usd_per_t"].to_numpy()
    assert (realised[:2] == path[:2]).all()  # years 0 and 1: the process's prices
    assert not np.allclose(realised[2:], path[2:])  # then they respond
    assert_same_run(fast, reference)
