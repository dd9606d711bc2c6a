"""Fast paths of the yearly step agree with the plain numpy operations they replace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from landsim.landscape import lexsort_groups
from landsim.model import LandUseModel, _fast, argsort_stable


@pytest.mark.parametrize("ties", [False, True])
def test_argsort_stable_equals_numpy_stable_sort(ties):
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(0, 60))
        values = rng.integers(0, 5, n).astype(float) if ties else rng.random(n)
        if ties and n:
            values[rng.integers(0, n)] = np.nan
        np.testing.assert_array_equal(argsort_stable(values), np.argsort(values, kind="stable"))


def test_lexsort_groups_equals_lexsort():
    rng = np.random.default_rng(4)
    for _ in range(200):
        n = int(rng.integers(1, 80))
        groups = rng.integers(0, 6, n)
        key = rng.integers(0, 4, n).astype(float)
        uniforms = rng.random(n)
        if rng.random() < 0.3:  # force equal folded keys now and then
            uniforms[: n // 2] = uniforms[0]
        np.testing.assert_array_equal(
            lexsort_groups(groups, key, uniforms), np.lexsort((uniforms, key, groups))
        )


@pytest.mark.parametrize("margin", [12, 0])
def test_windowed_distance_equals_the_whole_raster_transform(small_scenario, margin):
    """margin 0 makes the window too small for some cells: the fallback must agree."""
    model = LandUseModel(small_scenario, rng=5)
    rng = np.random.default_rng(0)
    for _ in range(3):
        model.step()
        full = _fast.distance_to_fields(model.landscape)
        forest = np.flatnonzero(full > 0)
        for size in (1, 10, forest.size):
            cells = np.sort(rng.choice(forest, size=min(size, forest.size), replace=False))
            windowed = _fast.field_distance(model.landscape, cells, margin)
            np.testing.assert_array_equal(windowed, full[cells])


def select_clearing(order_key_farm, k_clear):
    """The cells of the first k_clear[f] candidates of each farm, given sorted farms."""
    from landsim.landscape import rank_within_groups

    return rank_within_groups(order_key_farm) < k_clear[order_key_farm]


@pytest.mark.parametrize("search_levels", [(3, 8), (1,)])
def test_clearing_distances_choose_the_cells_exact_distances_choose(small_scenario, search_levels):
    """The capped search decides the same cleared cells as the whole-raster
    transform with an exact lexsort; a search to 1 cell only forces the fallback."""
    model = LandUseModel(small_scenario, rng=2)
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(4):
        model.step()
        model._refresh_ownership()
        cand, cand_farm = model._survey().clear_candidates
        owner = model.landscape.owner.ravel()
        is_claim = (owner[cand] == -1).astype(np.int64)
        group = cand_farm * 2 + is_claim
        exact = _fast.distance_to_fields(model.landscape)[cand]
        for _ in range(20):
            k_clear = rng.integers(0, 6, model.farmers.n)
            uniforms = rng.random(cand.size)
            dist, bound = _fast.clearing_distances(
                model.landscape, cand, group, k_clear, search_levels
            )
            assert bound > dist.max()
            order = argsort_stable(group * bound + dist + uniforms)
            mine = np.sort(cand[order][select_clearing(cand_farm[order], k_clear)])
            reference = np.lexsort((uniforms, exact, is_claim, cand_farm))
            theirs = np.sort(cand[reference][select_clearing(cand_farm[reference], k_clear)])
            np.testing.assert_array_equal(mine, theirs)
            checked += 1
    assert checked == 80


def test_dilate_padded_equals_binary_dilation():
    from scipy import ndimage

    from landsim.model import dilate_padded

    rng = np.random.default_rng(6)
    for height, width in [(1, 1), (1, 7), (9, 1), (13, 17)]:
        mask = rng.random((height, width)) < 0.15
        padded = np.zeros((height, width + 1), dtype=bool)
        padded[:, :width] = mask
        out = dilate_padded(padded.ravel(), width + 1).reshape(height, width + 1)
        assert not out[:, width].any()
        np.testing.assert_array_equal(
            out[:, :width], ndimage.binary_dilation(mask, structure=np.ones((3, 3)))
        )


def test_income_distribution_equals_numpy_to_the_bit():
    from landsim.economics import gini, income_distribution

    rng = np.random.default_rng(8)
    cases = [np.array([5.0]), np.array([-0.0, -0.0]), np.array([0.0, -0.0, 3.0])]
    for _ in range(300):
        n = int(rng.integers(1, 400))
        x = rng.normal(800.0, 900.0, n)
        if rng.random() < 0.3:
            x = np.round(x, -2)  # ties
        cases.append(x)
    for x in cases:
        got = income_distribution(x)
        expected = {
            "median": float(np.median(x)),
            "p10": float(np.percentile(x, 10)),
            "gini": gini(x),
            "poorest_mean": float(np.sort(x)[: max(1, int(np.ceil(0.2 * x.size)))].mean()),
        }
        for name, value in expected.items():
            assert np.float64(got[name]).tobytes() == np.float64(value).tobytes(), (name, x)


def test_count_covers_equals_bincount():
    from landsim.model import N_COVERS, count_covers

    rng = np.random.default_rng(9)
    for shape in [(1, 1), (7, 3), (50, 40)]:
        cover = rng.integers(0, N_COVERS, shape).astype(np.int8)
        np.testing.assert_array_equal(
            count_covers(cover), np.bincount(cover.ravel(), minlength=N_COVERS)
        )


@pytest.mark.parametrize("memory", [1, 2, 3, 5, 7, 8, 9, 12])
def test_price_expectations_equal_each_window_to_the_bit(memory):
    from landsim.market import expectations

    rng = np.random.default_rng(memory)
    for _ in range(50):
        path = np.exp(rng.normal(0.5, 0.4, memory + int(rng.integers(1, 40))))
        mean, cv = expectations(path, memory)
        for year in range(path.size - memory + 1):
            window = path[year : year + memory]
            assert mean[year].tobytes() == np.float64(window.mean()).tobytes()
            assert cv[year].tobytes() == np.float64(window.std() / window.mean()).tobytes()


def test_yearly_table_of_chosen_columns_equals_the_whole_table(small_scenario):
    model = LandUseModel(small_scenario, rng=4)
    model.run_for(3)
    whole = model.yearly_table()
    chosen = model.yearly_table(columns=["income_gini", "forest_area_ha", "year"])
    assert list(chosen.columns) == ["year", "income_gini", "forest_area_ha"]
    import pandas as pd

    pd.testing.assert_frame_equal(chosen, whole[chosen.columns])
    with pytest.raises(KeyError, match="forest_ha"):
        model.yearly_table(columns=["forest_ha"])


def test_owned_cells_after_claims_equal_those_found_again(small_scenario, monkeypatch):
    checked = []
    produce = LandUseModel._produce

    def check_then_produce(self):
        owner = self.landscape.owner.ravel()
        owned, o = self._ownership.owned, self._ownership.owned_farm
        expected = np.flatnonzero(owner >= 0)
        np.testing.assert_array_equal(owned, expected)
        np.testing.assert_array_equal(o, owner[expected])
        checked.append(self.year)
        produce(self)

    monkeypatch.setattr(LandUseModel, "_produce", check_then_produce)
    # Fast exhaustion drives farmers to clear their claims (unowned forest).
    scenario = small_scenario.with_overrides(
        {"years": 15, "monocrop.yield_t_per_ha": 20.0, "monocrop.fertility_depletion_rate": 0.4}
    )
    model = LandUseModel(scenario, rng=1)
    model.run_for(15)
    assert len(checked) == 15
    assert model.yearly_table()["claimed_ha"].sum() > 0  # the incremental path ran


@pytest.mark.parametrize(
    "indicators",
    [
        ["income_gini", "carbon_stock_tc", "cumulative_deforestation_ha"],
        ["reforestation_funded_ha", "degraded_share_under_restoration"],  # areas, programmes
        ["enrolled_farms", "chose_clear", "cocoa_price_usd_per_kg"],
    ],
)
def test_recording_chosen_indicators_gives_the_same_values(indicators):
    from conftest import SMALL_OVERRIDES
    from landsim.scenario import load_scenario

    scenario = load_scenario(
        Path(__file__).resolve().parents[1] / "scenarios" / "piura_reforestation_credits.toml"
    ).with_overrides({**SMALL_OVERRIDES, "years": 6})
    whole = LandUseModel(scenario, rng=7)
    chosen = LandUseModel(scenario, rng=7, indicators=indicators)
    whole.run_for(6)
    chosen.run_for(6)
    table = chosen.yearly_table()
    assert set(table.columns) == {"year", *indicators}
    import pandas as pd

    pd.testing.assert_frame_equal(table, whole.yearly_table()[table.columns])
    assert len(chosen._record_blocks) < len(whole._record_blocks)


def test_an_unknown_indicator_is_named(small_scenario):
    with pytest.raises(ValueError, match=r"unknown indicator 'income_gin'.*income_gini"):
        LandUseModel(small_scenario, rng=0, indicators=["income_gin"])


def test_cover_mask_equals_isin():
    from landsim.model import N_COVERS, cover_mask

    rng = np.random.default_rng(10)
    cover = rng.integers(0, N_COVERS, (30, 20)).astype(np.int8)
    for size in range(N_COVERS + 1):
        for _ in range(5):
            codes = rng.choice(N_COVERS, size=size, replace=False)
            np.testing.assert_array_equal(cover_mask(cover, codes), np.isin(cover, codes))


def test_cocoa_yields_by_table_equal_the_yield_curve(small_scenario):
    from landsim.economics import cocoa_yield

    model = LandUseModel(small_scenario, rng=0)
    for ages in (np.array([], dtype=np.int16), np.arange(0, 40, dtype=np.int16), np.array([300])):
        expected = cocoa_yield(ages, small_scenario.cocoa_agroforestry)
        assert model._cocoa_yields(ages).tobytes() == expected.tobytes()


def test_ownership_caches_follow_the_model_and_edits_of_the_layers(small_scenario):
    """The ownership caches are kept across years and agree with reading the layers
    afresh; an edit of the layers between steps is picked up."""
    kept, fresh = LandUseModel(small_scenario, rng=6), LandUseModel(small_scenario, rng=6)
    kept.step()
    cache = kept._ownership
    for model in (kept, fresh):
        while model.year < 5:
            if model is fresh:
                model._ownership = None  # read the layers afresh every year
            model.step()
    assert kept._ownership is cache  # kept, not rebuilt
    assert kept.yearly_table()["deforestation_ha"].sum() > 0  # the model cleared land
    unowned = np.flatnonzero(
        (kept.landscape.owner.ravel() < 0) & ~kept.landscape.protected.ravel()
    )[:5]
    for model in (kept, fresh):
        model.landscape.owner.ravel()[unowned] = 0  # farm 0 buys five cells
        model.step()
        model.step()
    assert kept._ownership is not cache  # the edit was seen
    import pandas as pd

    pd.testing.assert_frame_equal(kept.yearly_table(), fresh.yearly_table())
    for name, layer in kept.rasters().items():
        np.testing.assert_array_equal(layer, fresh.rasters()[name], err_msg=name)
