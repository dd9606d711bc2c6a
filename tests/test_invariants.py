"""Model invariants, checked after every simulated year.

Conservation of area, the reserve, the carbon balance, bounds of the state,
age resets on land-use change, savings, and the deforestation and area accounts.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SETTLERS
from landsim import carbon
from landsim.economics import Option
from landsim.landscape import COVER_NAMES, Cover, generate_landscape, save_landscape
from landsim.model import LandUseModel
from landsim.model.state import PLANTING

C_PER_CO2 = 12.0 / 44.0


def step_and_check(model: LandUseModel) -> None:
    """Advance ``model`` one year and assert every per-year invariant."""
    sc, ls, fs = model.params, model.landscape, model.farmers
    before = {name: arr.copy() for name, arr in ls.layers().items()}
    prev = dict(model.record)
    savings_before = fs.savings_usd.copy()
    knowledge_before = fs.knowledge.copy()
    n_before = fs.n

    model.step()
    # Settlers join at the start of the year: compare the farms that were there.
    savings_before = np.concatenate([savings_before, fs.savings_usd[n_before:] * np.nan])
    knowledge_before = np.concatenate([knowledge_before, np.zeros(fs.n - n_before)])
    rec = model.record
    cell = ls.cell_size_ha
    cover0, cover1 = before["cover"], ls.cover
    changed = cover0 != cover1

    # Area is conserved.
    areas = np.array([rec[f"area_{name}_ha"] for name in COVER_NAMES])
    assert areas.sum() == pytest.approx(ls.cover.size * cell, rel=1e-12)
    assert rec["forest_area_ha"] == areas[Cover.PRIMARY_FOREST] + areas[Cover.SECONDARY_FOREST]

    # The reserve never changes unless the scenario allows it.
    assert np.array_equal(ls.protected, before["protected"])
    if not sc.landscape.protected_can_change:
        prot = ls.protected
        assert np.array_equal(cover1[prot], cover0[prot]), "a protected cell changed cover"
        assert np.all(ls.owner[prot] == before["owner"][prot])

    # Carbon: stock change = removals - emissions (in tC), exactly.
    d_stock = rec["carbon_stock_tc"] - prev["carbon_stock_tc"]
    net = (rec["removals_tco2e"] - rec["emissions_tco2e"]) * C_PER_CO2
    assert d_stock == pytest.approx(net, rel=1e-9, abs=1e-6)
    assert rec["removals_tco2e"] >= 0 and rec["emissions_tco2e"] >= 0
    assert rec["carbon_stock_tc"] == pytest.approx(
        rec["biomass_carbon_tc"] + rec["soil_carbon_tc"], rel=1e-12
    )
    assert rec["biomass_carbon_tc"] == pytest.approx(ls.biomass_tc_per_ha.sum() * cell)
    assert rec["soil_carbon_tc"] == pytest.approx(ls.soc_tc_per_ha.sum() * cell)
    assert rec["net_emissions_tco2e"] == pytest.approx(
        rec["emissions_tco2e"] - rec["removals_tco2e"]
    )

    # Rasters stay within bounds.
    assert np.all(ls.biomass_tc_per_ha >= 0)
    assert np.all(ls.soc_tc_per_ha >= 0)
    assert np.all((ls.fertility >= 0) & (ls.fertility <= 1))
    planted = ls.restoration == PLANTING
    # Planted cells are not cleared while a programme with a carbon payment runs.
    if model.programmes.kept_cells(model.year) is not None:
        kept = before["restoration"] == PLANTING
        assert np.all(ls.restoration[kept] == PLANTING), "a planted cell was cleared"
    assert np.array_equal(
        ls.biomass_tc_per_ha, carbon.biomass_density(ls.cover, ls.age, sc, ls.clearings, planted)
    )
    assert np.all(ls.cover[planted] == Cover.SECONDARY_FOREST)
    factors = carbon.soc_factors(sc) * sc.soil.soc_reference_tc_per_ha
    assert ls.soc_tc_per_ha.min() >= factors.min() - 1e-9
    assert ls.soc_tc_per_ha.max() <= factors.max() + 1e-9
    assert set(np.unique(ls.cover).tolist()) <= {c.value for c in Cover}

    # Ages: cells whose cover changed were set to 0 and aged once at the end.
    assert np.all(ls.age[changed] == 1)
    worn_out = max(sc.monocrop.exhaustion_fertility, sc.pasture.degraded_fertility)
    if sc.forest.reclear_fertility >= worn_out:
        # Nothing can be abandoned and re-cleared in the same year: untouched
        # cells simply age by one year, but restored pasture, sown again.
        assert_aged_but_restored(ls, before["age"], changed, rec["restored_pasture_ha"])

    # Land is only ever gained: claimed cells join the farm that cleared them, and
    # settlers' lots were open forest (unowned, unclaimed primary forest, not
    # protected unless protected land may change).
    owned0, owned1 = before["owner"] >= 0, ls.owner >= 0
    assert np.all(owned1[owned0])
    assert np.array_equal(ls.owner[owned0], before["owner"][owned0])
    assert rec["n_farms"] == fs.n == n_before + rec["settlers_arrived"]
    settled = owned1 & ~owned0 & (ls.owner >= n_before)
    assert np.array_equal(np.unique(ls.owner[settled]), np.arange(n_before, fs.n))
    assert np.all(before["cover"][settled] == Cover.PRIMARY_FOREST)
    assert np.all(before["claim"][settled] < 0)
    if not sc.landscape.protected_can_change:
        assert not ls.protected[settled].any()
    owned0 = owned0 | settled
    assert (owned1 & ~owned0).sum() * cell == pytest.approx(rec["claimed_ha"])
    claimed_to = [Cover.MONOCROP, Cover.PASTURE, Cover.COCOA_AGROFORESTRY]
    assert np.all(np.isin(cover1[owned1 & ~owned0], claimed_to))
    assert np.all(ls.claim[owned1] < 0)

    # Transition accounts match the change in areas.
    defo, sec = rec["deforestation_ha"], rec["secondary_cleared_ha"]
    aband, to_pa = rec["abandoned_ha"], rec["cleared_to_pasture_ha"]
    aband_pa, restored = rec["abandoned_pasture_ha"], rec["restored_pasture_ha"]
    to_cc = rec["cleared_to_cocoa_ha"]
    to_af, to_sp = rec["converted_cocoa_agroforestry_ha"], rec["converted_silvopasture_ha"]
    planted, planted_pa = rec["planted_ha"], rec["planted_pasture_ha"]
    planted_mono = planted - planted_pa
    delta = {name: rec[f"area_{name}_ha"] - prev[f"area_{name}_ha"] for name in COVER_NAMES}
    assert delta["primary_forest"] == pytest.approx(-defo)
    assert delta["secondary_forest"] == pytest.approx(aband - sec + planted)
    aband_mono = aband - aband_pa
    assert delta["monocrop"] == pytest.approx(
        defo + sec - to_pa - to_cc - aband_mono - to_af - planted_mono
    )
    assert delta["pasture"] == pytest.approx(to_pa - to_sp - aband_pa - planted_pa)
    assert delta["cocoa_agroforestry"] == pytest.approx(to_af + to_cc)
    assert delta["silvopasture"] == pytest.approx(to_sp)
    assert min(defo, sec, aband, to_af, to_sp, to_pa, to_cc, aband_pa, restored, planted_mono) >= 0
    assert min(planted_pa, rec["planting_fund_usd"]) >= 0
    assert aband_pa <= aband
    assert to_pa + to_cc <= defo + sec
    # Annual crops and pasture come only from forest (or from worn-out land
    # abandoned and cleared again at once, where the rules allow it); cocoa from
    # annual crops or cleared forest, silvopasture only from pasture.
    cleared_from = (Cover.PRIMARY_FOREST, Cover.SECONDARY_FOREST)
    if sc.forest.reclear_fertility <= sc.monocrop.exhaustion_fertility:
        cleared_from += (Cover.MONOCROP,)
    if sc.forest.reclear_fertility <= sc.pasture.degraded_fertility:
        cleared_from += (Cover.PASTURE,)
    for new, old in (
        (Cover.MONOCROP, cleared_from),
        (Cover.PASTURE, cleared_from),
        (Cover.COCOA_AGROFORESTRY, (Cover.MONOCROP, *cleared_from)),
        (Cover.SILVOPASTURE, (Cover.PASTURE,)),
    ):
        assert np.isin(cover0[changed & (cover1 == new)], old).all()

    # Choices: one per farm; savings pay for establishment and never go negative.
    chosen = sum(rec[f"chose_{o.name.lower()}"] for o in Option if o != Option.ABANDON)
    assert chosen == fs.n
    # An option is only chosen when feasible, so every farm that chose a change
    # made it on at least one cell.
    for area, option in (
        (defo + sec - to_pa - to_cc, "chose_clear"),
        (to_pa, "chose_pasture"),
        (to_cc, "chose_cocoa_on_cleared"),
        (to_af, "chose_cocoa_agroforestry"),
        (to_sp, "chose_silvopasture"),
        (restored, "chose_restore_pasture"),
    ):
        assert area >= rec[option] * cell - 1e-9
        assert (area == 0) == (rec[option] == 0)
    assert rec["farms_abandoning"] <= fs.n
    assert np.all(fs.savings_usd >= 0)
    assert np.all(fs.investment_usd >= 0)
    old = np.arange(fs.n) < n_before
    assert np.all(fs.investment_usd[old] <= savings_before[old] * (1 + 1e-12) + 1e-9)
    expected_investment = (
        (to_af + to_cc) * sc.cocoa_agroforestry.establishment_cost_usd_per_ha
        + to_sp * sc.silvopasture.establishment_cost_usd_per_ha
        + to_pa * sc.pasture.establishment_cost_usd_per_ha
        + restored * sc.pasture.restoration_cost_usd_per_ha
    )
    assert rec["investment_usd"] == pytest.approx(expected_investment)
    assert np.all((fs.knowledge >= 0) & (fs.knowledge <= 1))
    assert np.all(fs.knowledge >= knowledge_before)  # knowledge is never lost


def run_checked(scenario, rng, years: int | None = None) -> LandUseModel:
    model = LandUseModel(scenario, rng=rng)
    for _ in range(scenario.years if years is None else years):
        step_and_check(model)
    return model


def check_yearly_table(model: LandUseModel) -> None:
    """Invariants over the whole run, from the yearly table."""
    t = model.yearly_table()
    assert len(t) == model.year + 1
    assert t["year"].tolist() == list(range(model.year + 1))
    cum = t["cumulative_deforestation_ha"].to_numpy()
    assert cum[0] == 0.0
    assert cum == pytest.approx(np.cumsum(t["deforestation_ha"].to_numpy()))
    primary = t["area_primary_forest_ha"].to_numpy()
    assert cum == pytest.approx(primary[0] - primary)
    assert np.all(np.diff(primary) <= 0)  # primary forest never comes back
    assert np.all(t["savings_mean_usd"] >= 0)
    stock = t["carbon_stock_tc"].to_numpy()
    net = ((t["removals_tco2e"] - t["emissions_tco2e"]) * C_PER_CO2).to_numpy()
    assert stock[1:] - stock[:-1] == pytest.approx(net[1:], rel=1e-9, abs=1e-6)
    assert stock[-1] - stock[0] == pytest.approx(net[1:].sum(), rel=1e-9, abs=1e-5)


# --------------------------------------------------------------------------- tests


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    logit_scale=st.sampled_from([0.0, 0.01, 0.1]),
    savings=st.sampled_from([100.0, 1500.0, 1e5]),
    cocoa_price=st.sampled_from([1.0, 2.0, 6.0]),
    claim_km=st.sampled_from([0.0, 0.5]),
    cell_size=st.sampled_from([1.0, 0.25]),
    arrivals=st.sampled_from([0.0, 0.05]),
)
def test_invariants_hold_every_year(
    small_scenario, seed, logit_scale, savings, cocoa_price, claim_km, cell_size, arrivals
):
    sc = small_scenario.with_overrides(
        {
            "settlers.arrivals_per_farm_per_year": arrivals,
            "settlers.lot_size_ha": 40.0 * cell_size,
            "decision.logit_scale": logit_scale,
            "farmers.savings_usd": {"dist": "lognormal", "mean": savings, "cv": 0.8},
            "markets.cocoa.initial": cocoa_price,
            "markets.cocoa.mean": cocoa_price,
            "landscape.claim_distance_km": claim_km,
            "landscape.cell_size_ha": cell_size,
            "landscape.lot_size_ha": {"dist": "lognormal", "mean": 40.0 * cell_size, "cv": 0.25},
        }
    )
    model = run_checked(sc, seed)
    check_yearly_table(model)


@pytest.mark.parametrize("seed", [0, 1])
def test_invariants_with_fast_soil_and_fertility_dynamics(small_scenario, seed):
    # Fast soil approach (cells reach equilibrium inside the run), fast depletion
    # and an abandoned field that can be re-cleared the same year.
    sc = small_scenario.with_overrides(
        {
            "soil.approach_rate_per_year": 2.0,
            "monocrop.fertility_depletion_rate": 0.4,
            "forest.fertility_recovery_rate": 0.3,
            "forest.reclear_fertility": 0.3,
            "monocrop.exhaustion_fertility": 0.6,
            "years": 15,
        }
    )
    check_yearly_table(run_checked(sc, seed))


def test_invariants_on_the_default_scenario(default_scenario):
    model = run_checked(default_scenario.with_overrides({"years": 12}), 3)
    check_yearly_table(model)
    assert model.record["cumulative_deforestation_ha"] > 0
    # Fallow on land cleared again regrows more slowly; the run exercises the rule.
    ls = model.landscape
    assert (ls.clearings[ls.cover == Cover.SECONDARY_FOREST] >= 2).any()


@pytest.mark.parametrize("seed", [0, 4])
def test_invariants_with_settlers(small_scenario, seed):
    """About one settler household a year on the small landscape, with a tenure
    value of clearing: every invariant holds, settlers arrive and clear."""
    sc = small_scenario.with_overrides(
        {**SETTLERS, "settlers.tenure_value_usd_per_ha": 100.0, "years": 12}
    )
    model = run_checked(sc, seed)
    check_yearly_table(model)
    y = model.yearly_table()
    assert y["settlers_arrived"].sum() > 0
    assert model.farmers.n == 20 + y["settlers_arrived"].sum()
    settlers = model.farm_table().iloc[20:]
    assert (settlers["area_ha"] > 0).all()


def assert_aged_but_restored(ls, age_before, changed, restored_ha: float) -> None:
    """Cells whose cover did not change aged by one year, except the pasture
    restored this year (``restored_ha``), which was sown again (age 1 now)."""
    reset = ~changed & (ls.age != age_before + 1)
    assert np.all(ls.age[reset] == 1) and np.all(ls.cover[reset] == Cover.PASTURE)
    # (A restored cell of age 0 before the year cannot be told from one that aged.)
    assert reset.sum() * ls.cell_size_ha <= restored_ha + 1e-9
    young = ~changed & (ls.cover == Cover.PASTURE) & (ls.age == 1)
    assert young.sum() * ls.cell_size_ha >= restored_ha - 1e-9


def test_single_farm(small_scenario):
    sc = small_scenario.with_overrides({"landscape.n_farms": 1, "years": 5})
    model = run_checked(sc, 0)
    check_yearly_table(model)
    assert model.farmers.n == 1


def test_ages_reset_on_transition(small_scenario):
    """Manual stepping: every cell whose cover changed in a year has age 1 after it."""
    sc = small_scenario.with_overrides(
        {
            "farmers.savings_usd": 1e6,
            "markets.cocoa.process": "path",
            "markets.cocoa.values": [6.0],
        }
    )
    model = LandUseModel(sc, rng=11)
    n_changed = 0
    for _ in range(8):
        cover0, age0 = model.landscape.cover.copy(), model.landscape.age.copy()
        model.step()
        changed = model.landscape.cover != cover0
        n_changed += int(changed.sum())
        assert np.all(model.landscape.age[changed] == 1)
        restored = model.record["restored_pasture_ha"]
        assert_aged_but_restored(model.landscape, age0, changed, restored)
    assert n_changed > 0  # the check was exercised


def test_year_zero_record(small_scenario):
    model = LandUseModel(small_scenario, rng=2)
    rec = model.record
    assert rec["year"] == 0
    assert rec["deforestation_ha"] == 0 and rec["cumulative_deforestation_ha"] == 0
    assert rec["removals_tco2e"] == 0 and rec["emissions_tco2e"] == 0
    assert np.isnan(rec["income_mean_usd"])
    ls = model.landscape
    assert np.array_equal(ls.soc_tc_per_ha, carbon.soc_equilibrium(ls.cover, small_scenario))


def test_protected_farmland_from_npz_never_changes(small_scenario, tmp_path):
    """A reserve that contains farmland (possible in an .npz landscape) must not
    change when ``protected_can_change`` is false: Landscape documents reserve
    cells as never changing "unless the scenario allows it"."""
    ls = generate_landscape(small_scenario.landscape, np.random.default_rng(3))
    ls.protected[(ls.owner >= 0) & (ls.owner < 4)] = True  # farms 0-3 lie in the reserve
    assert (ls.protected & (ls.cover == Cover.MONOCROP)).any()
    path = tmp_path / "reserve_with_farms.npz"
    save_landscape(ls, path)
    sc = small_scenario.with_overrides(
        {"landscape.source": str(path), "landscape.protected_can_change": False}
    )
    model = LandUseModel(sc, rng=1)
    cover0 = model.landscape.cover.copy()
    prot = model.landscape.protected
    model.run_for(sc.years)
    changed = (model.landscape.cover != cover0) & prot
    assert not changed.any(), (
        f"{changed.sum()} protected cells changed cover: "
        f"{np.unique(cover0[changed]).tolist()} -> "
        f"{np.unique(model.landscape.cover[changed]).tolist()}"
    )


def test_protected_cells_may_be_cleared_when_allowed(small_scenario):
    """Lots that abut the reserve, fully cleared at the start: with
    protected_can_change the reserve edge within the claim distance is claimed and
    cleared; without it the reserve stays intact (same seed)."""
    base = small_scenario.with_overrides(
        {
            "landscape.reserve_fraction": 0.5,  # 30 settled rows
            "landscape.lot_size_ha": 50.0,  # 10 rows x 5 columns: 3 lots fill a strip
            "landscape.n_farms": 36,  # every lot
            "landscape.claim_distance_km": 0.5,
            "landscape.initial_cleared_fraction": 1.0,
            "landscape.initial_fallow_share": 0.0,
            "markets.monocrop.process": "path",
            "markets.monocrop.values": [150.0],
        }
    )
    lost = {}
    for allowed in (False, True):
        sc = base.with_overrides({"landscape.protected_can_change": allowed})
        model = LandUseModel(sc, rng=4)
        prot = model.landscape.protected.copy()
        assert (prot & (model.landscape.claim >= 0)).any() == allowed
        model.run_for(sc.years)
        lost[allowed] = int((prot & (model.landscape.cover != Cover.PRIMARY_FOREST)).sum())
        # All forest here is the reserve's: deforestation is exactly its loss.
        assert model.record["cumulative_deforestation_ha"] == lost[allowed] * 1.0
    assert lost[False] == 0
    assert lost[True] > 0


def test_the_4_per_1000_indicator_is_the_soil_stock_change_per_mille(small_scenario):
    """``soc_change_per_mille`` is 1000 x the year's change of the soil carbon
    stock over the stock a year before (NaN in year 0)."""
    from landsim.model import LandUseModel

    model = LandUseModel(small_scenario, rng=3)
    model.run_for(small_scenario.years)
    y = model.yearly_table()
    soil = y["soil_carbon_tc"].to_numpy()
    expected = 1000.0 * np.diff(soil) / soil[:-1]
    assert np.isnan(y["soc_change_per_mille"].iloc[0])
    np.testing.assert_allclose(y["soc_change_per_mille"].iloc[1:], expected, rtol=1e-6, atol=1e-9)
    assert np.abs(expected).max() > 0
