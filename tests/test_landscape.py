"""The landscape: the fishbone generator and .npz input/output."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landsim.landscape import (
    COVER_NAMES,
    NO_OWNER,
    OPTIONAL_LAYERS,
    REQUIRED_LAYERS,
    Cover,
    generate_landscape,
    load_landscape,
    save_landscape,
)
from landsim.model import LandUseModel
from landsim.scenario import ScenarioError, load_scenario


def _generate(scenario, seed: int):
    return generate_landscape(scenario.landscape, np.random.default_rng(seed))


def _params(scenario, **changes):
    return scenario.with_overrides({f"landscape.{k}": v for k, v in changes.items()}).landscape


# --------------------------------------------------------------------------- generator


class TestGenerator:
    def test_deterministic_for_a_seed(self, small_scenario):
        a, b = _generate(small_scenario, 5), _generate(small_scenario, 5)
        la, lb = a.layers(), b.layers()
        assert la.keys() == lb.keys()
        for name in la:
            assert np.array_equal(la[name], lb[name]), name

    def test_different_seeds_differ(self, small_scenario):
        a, b = _generate(small_scenario, 5), _generate(small_scenario, 6)
        assert not np.array_equal(a.cover, b.cover) or not np.array_equal(a.owner, b.owner)
        assert not np.array_equal(a.fertility, b.fertility)

    def test_shapes_and_dtypes(self, small_scenario):
        ls = _generate(small_scenario, 1)
        p = small_scenario.landscape
        assert ls.shape == (p.height, p.width)
        for name, arr in ls.layers().items():
            assert arr.shape == ls.shape, name
        assert ls.cover.dtype == np.int8
        assert ls.owner.dtype == np.int32
        assert ls.protected.dtype == bool and ls.road.dtype == bool
        assert ls.cell_size_ha == p.cell_size_ha

    @settings(max_examples=15, deadline=None)
    @given(
        seed=st.integers(0, 2**32 - 1),
        n_farms=st.integers(1, 30),
        reserve=st.sampled_from([0.0, 0.2, 0.4]),
        claim=st.sampled_from([0.0, 0.3, 1.0]),
        can_change=st.booleans(),
    )
    def test_layout_properties(self, small_scenario, seed, n_farms, reserve, claim, can_change):
        params = _params(
            small_scenario,
            n_farms=n_farms,
            reserve_fraction=reserve,
            claim_distance_km=claim,
            protected_can_change=can_change,
        )
        ls = generate_landscape(params, np.random.default_rng(seed))
        owned = ls.owner >= 0
        # n_farms lots, ids 0..n-1 all present.
        assert ls.n_farms == n_farms
        assert set(np.unique(ls.owner[owned]).tolist()) == set(range(n_farms))
        assert np.all(ls.owner[~owned] == NO_OWNER)
        # The reserve: the northern rows, all primary forest, owned by nobody.
        reserve_rows = round(reserve * params.height)
        assert ls.protected[:reserve_rows].all() and not ls.protected[reserve_rows:].any()
        assert not (owned & ls.protected).any()
        assert np.all(ls.cover[ls.protected] == Cover.PRIMARY_FOREST)
        # Each lot is a rectangle that fronts a road.
        for farm in range(n_farms):
            rows, cols = np.nonzero(ls.owner == farm)
            box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
            assert box == rows.size, f"lot {farm} is not a rectangle"
            assert ls.road[rows, cols].any(), f"lot {farm} has no road frontage"
        # Claims: only unowned cells, on farms that exist, and only outside the
        # reserve unless protected cells may change.
        claimed = ls.claim >= 0
        assert not (claimed & owned).any()
        assert ls.claim.max() < n_farms
        if claim == 0.0:
            assert not claimed.any()
        if not can_change:
            assert not (claimed & ls.protected).any()
        # Ages and fertility of the initial cover.
        assert np.all((ls.fertility >= 0) & (ls.fertility <= 1))
        assert np.all(ls.age >= 0)
        assert np.all(ls.cover[~owned] == Cover.PRIMARY_FOREST)
        assert np.all(ls.fertility[ls.cover == Cover.PRIMARY_FOREST] == 1.0)

    @pytest.mark.parametrize("claim_km", [0.2, 0.5])
    def test_claims_are_nearest_lot_within_claim_distance(self, small_scenario, claim_km):
        params = _params(small_scenario, claim_distance_km=claim_km)
        ls = generate_landscape(params, np.random.default_rng(0))
        max_cells = claim_km / ls.cell_side_km
        owned_yx = np.argwhere(ls.owner >= 0)
        free_yx = np.argwhere((ls.owner < 0) & ~ls.protected)
        d = np.sqrt(((free_yx[:, None, :] - owned_yx[None, :, :]) ** 2).sum(axis=2))
        nearest = d.min(axis=1)
        claims = ls.claim[free_yx[:, 0], free_yx[:, 1]]
        assert np.array_equal(claims >= 0, nearest <= max_cells + 1e-9)
        assert (claims >= 0).any() and (claims < 0).any()
        # The claiming farm owns a cell at the nearest distance.
        for i in np.flatnonzero(claims >= 0):
            farm_cells = owned_yx[ls.owner[owned_yx[:, 0], owned_yx[:, 1]] == claims[i]]
            dist = np.sqrt(((farm_cells - free_yx[i]) ** 2).sum(axis=1)).min()
            assert dist == pytest.approx(nearest[i])

    def test_initial_clearing_share_and_nearest_road_first(self, small_scenario):
        params = _params(small_scenario, initial_cleared_fraction=0.5, initial_fallow_share=0.3)
        ls = generate_landscape(params, np.random.default_rng(3))
        for farm in range(params.n_farms):
            on_farm = ls.owner == farm
            cleared = on_farm & (ls.cover != Cover.PRIMARY_FOREST)
            forest = on_farm & (ls.cover == Cover.PRIMARY_FOREST)
            assert cleared.sum() == np.rint(0.5 * on_farm.sum())
            if cleared.any() and forest.any():
                # Cells nearest the road are cleared first.
                assert ls.road_distance_km[cleared].max() <= ls.road_distance_km[forest].min()

    @pytest.mark.parametrize(
        ("fallow_share", "expected"), [(0.0, Cover.MONOCROP), (1.0, Cover.SECONDARY_FOREST)]
    )
    def test_fallow_share_extremes(self, small_scenario, fallow_share, expected):
        params = _params(
            small_scenario, initial_fallow_share=fallow_share, initial_pasture_share=0.0
        )
        ls = generate_landscape(params, np.random.default_rng(3))
        cleared = ls.cover != Cover.PRIMARY_FOREST
        assert cleared.any()
        assert np.all(ls.cover[cleared] == expected)

    @pytest.mark.parametrize("pasture_share", [0.0, 0.5, 1.0])
    def test_pasture_share_of_the_farmed_land(self, small_scenario, pasture_share):
        params = _params(
            small_scenario, initial_fallow_share=0.0, initial_pasture_share=pasture_share
        )
        ls = generate_landscape(params, np.random.default_rng(3))
        farmed = np.isin(ls.cover, [Cover.MONOCROP, Cover.PASTURE])
        assert farmed.sum() == (ls.cover != Cover.PRIMARY_FOREST).sum() > 100
        share = (ls.cover == Cover.PASTURE).sum() / farmed.sum()
        assert abs(share - pasture_share) < 0.05

    def test_no_initial_clearing(self, small_scenario):
        params = _params(small_scenario, initial_cleared_fraction=0.0)
        ls = generate_landscape(params, np.random.default_rng(3))
        assert np.all(ls.cover == Cover.PRIMARY_FOREST)

    def test_too_many_farms(self, small_scenario):
        params = _params(small_scenario, n_farms=5000)
        with pytest.raises(ScenarioError) as excinfo:
            generate_landscape(params, np.random.default_rng(0))
        msg = str(excinfo.value)
        assert "landscape.n_farms" in msg
        assert "5000" in msg

    def test_too_many_farms_from_a_model_names_the_scenario_file(self, tmp_path):
        path = tmp_path / "crowded.toml"
        path.write_text("[landscape]\nwidth = 30\nheight = 30\nn_farms = 500\n", encoding="utf-8")
        with pytest.raises(ScenarioError) as excinfo:
            LandUseModel(load_scenario(path), rng=0)
        assert "landscape.n_farms" in str(excinfo.value)
        assert str(path) in str(excinfo.value)

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ("lot_depth_km = 30.0\n", "lot_depth_km = 30 is 300 cells"),
            ("height = 10\nreserve_fraction = 0.99\n", "reserve_fraction = 0.99"),
        ],
    )
    def test_no_room_for_lots_names_the_scenario_file(self, tmp_path, text, words):
        # Refused when the scenario is loaded, naming the user's file.
        path = tmp_path / "cramped.toml"
        path.write_text("[landscape]\n" + text, encoding="utf-8")
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(path)
        assert str(excinfo.value).startswith(f"{path}: landscape: no room for lots: {words}")

    def test_road_distance_is_positive_and_smallest_on_roads(self, small_scenario):
        ls = _generate(small_scenario, 2)
        assert np.all(ls.road_distance_km > 0)
        side = ls.cell_side_km
        assert np.allclose(ls.road_distance_km[ls.road], 0.5 * side)
        assert np.all(ls.road_distance_km[~ls.road] > 0.5 * side)


# --------------------------------------------------------------------------- npz


def _layers_of(ls) -> dict[str, np.ndarray]:
    return {name: getattr(ls, name) for name in REQUIRED_LAYERS + OPTIONAL_LAYERS}


class TestNpz:
    def test_round_trip(self, small_scenario, tmp_path):
        ls = _generate(small_scenario, 4)
        path = tmp_path / "land.npz"
        save_landscape(ls, path)
        back = load_landscape(path, small_scenario.landscape)
        for name in ("cover", "owner", "protected", "road", "age", "fertility"):
            assert np.array_equal(getattr(back, name), getattr(ls, name)), name
            assert getattr(back, name).dtype == getattr(ls, name).dtype, name
        # Derived layers are rebuilt identically.
        assert np.array_equal(back.claim, ls.claim)
        assert np.array_equal(back.road_distance_km, ls.road_distance_km)
        assert back.cell_size_ha == ls.cell_size_ha

    def test_optional_layers_default(self, small_scenario, tmp_path):
        ls = _generate(small_scenario, 4)
        path = tmp_path / "land.npz"
        np.savez(path, **{name: getattr(ls, name) for name in REQUIRED_LAYERS})
        back = load_landscape(path, small_scenario.landscape)
        assert np.all(back.age == 0)
        assert np.all(back.fertility == 1.0)

    def test_owner_ids_are_renumbered(self, small_scenario, tmp_path):
        shape = (12, 10)
        owner = np.full(shape, -1, dtype=np.int64)
        owner[:4, :5] = 17
        owner[6:, 5:] = 3
        path = tmp_path / "land.npz"
        np.savez(
            path,
            cover=np.zeros(shape, dtype=np.int64),
            owner=owner,
            protected=np.zeros(shape, dtype=bool),
            road=np.zeros(shape, dtype=bool),
        )
        back = load_landscape(path, small_scenario.landscape)
        assert np.array_equal(back.owner == 0, owner == 3)  # original order kept
        assert np.array_equal(back.owner == 1, owner == 17)
        assert np.array_equal(back.owner == NO_OWNER, owner == -1)
        assert back.n_farms == 2

    def _bad(self, tmp_path, small_scenario, **edit):
        ls = _generate(small_scenario, 4)
        layers = _layers_of(ls)
        for name, value in edit.items():
            if value is None:
                del layers[name]
            else:
                layers[name] = value
        path = tmp_path / "bad.npz"
        np.savez(path, **layers)
        with pytest.raises(ScenarioError) as excinfo:
            load_landscape(path, small_scenario.landscape)
        msg = str(excinfo.value)
        assert str(path) in msg
        return msg, excinfo.value

    def test_missing_layer(self, tmp_path, small_scenario):
        msg, err = self._bad(tmp_path, small_scenario, road=None)
        assert "road" in msg and "missing" in msg
        assert [key for key, _ in err.problems] == ["road"]

    def test_unknown_layer(self, tmp_path, small_scenario):
        msg, err = self._bad(tmp_path, small_scenario, elevation=np.zeros((60, 60)))
        assert "elevation" in msg and "unknown layer" in msg
        assert "cover" in msg  # the allowed layers are listed
        assert [key for key, _ in err.problems] == ["elevation"]

    def test_shape_mismatch(self, tmp_path, small_scenario):
        msg, err = self._bad(tmp_path, small_scenario, owner=np.zeros((60, 59), dtype=np.int32))
        assert "owner" in msg and "shape" in msg
        assert [key for key, _ in err.problems] == ["owner"]

    def test_cover_must_be_2d(self, tmp_path, small_scenario):
        msg, _ = self._bad(tmp_path, small_scenario, cover=np.zeros(3600, dtype=np.int8))
        assert "cover" in msg

    @pytest.mark.parametrize("code", [6, -1, 99])
    def test_cover_code_out_of_range(self, tmp_path, small_scenario, code):
        cover = _generate(small_scenario, 4).cover.copy()
        cover[10, 10] = code
        msg, err = self._bad(tmp_path, small_scenario, cover=cover)
        assert "cover" in msg and "0-5" in msg
        assert [key for key, _ in err.problems] == ["cover"]

    def test_cover_must_be_integer(self, tmp_path, small_scenario):
        cover = _generate(small_scenario, 4).cover.astype(np.float64)
        msg, _ = self._bad(tmp_path, small_scenario, cover=cover)
        assert "cover" in msg

    def test_owner_below_minus_one(self, tmp_path, small_scenario):
        owner = _generate(small_scenario, 4).owner.copy()
        owner[0, 0] = -2
        msg, _ = self._bad(tmp_path, small_scenario, owner=owner)
        assert "owner" in msg

    def test_fertility_out_of_range(self, tmp_path, small_scenario):
        fert = np.full((60, 60), 0.5)
        fert[3, 3] = 1.5
        msg, _ = self._bad(tmp_path, small_scenario, fertility=fert)
        assert "fertility" in msg

    def test_negative_age(self, tmp_path, small_scenario):
        age = np.zeros((60, 60), dtype=np.int16)
        age[3, 3] = -1
        msg, _ = self._bad(tmp_path, small_scenario, age=age)
        assert "age" in msg

    def test_missing_file(self, tmp_path, small_scenario):
        path = tmp_path / "none.npz"
        with pytest.raises(ScenarioError) as excinfo:
            load_landscape(path, small_scenario.landscape)
        assert str(path) in str(excinfo.value)
        assert "not found" in str(excinfo.value)

    def test_not_an_npz(self, tmp_path, small_scenario):
        path = tmp_path / "junk.npz"
        path.write_text("not a zip file", encoding="utf-8")
        with pytest.raises(ScenarioError, match=r"junk\.npz"):
            load_landscape(path, small_scenario.landscape)


class TestModelFromNpz:
    def test_model_runs_from_npz(self, small_scenario, tmp_path):
        ls = _generate(small_scenario, 9)
        path = tmp_path / "land.npz"
        save_landscape(ls, path)
        sc = small_scenario.with_overrides({"landscape.source": str(path), "years": 4})
        model = LandUseModel(sc, rng=1)
        assert np.array_equal(model.landscape.cover, ls.cover)
        assert np.array_equal(model.landscape.owner, ls.owner)
        assert model.farmers.n == ls.n_farms
        model.run_for(sc.years)
        table = model.yearly_table()
        assert len(table) == sc.years + 1
        area = table[[f"area_{name}_ha" for name in COVER_NAMES]].sum(axis=1)
        assert np.allclose(area, ls.cover.size * ls.cell_size_ha)
        assert np.array_equal(model.landscape.protected, ls.protected)

    def test_npz_shape_overrides_scenario_size(self, small_scenario, tmp_path):
        # The map comes from the file; the scenario's width and height are not used.
        params = _params(small_scenario, width=40, height=50, n_farms=8)
        ls = generate_landscape(params, np.random.default_rng(0))
        path = tmp_path / "land.npz"
        save_landscape(ls, path)
        model = LandUseModel(small_scenario.with_overrides({"landscape.source": str(path)}), rng=0)
        assert model.landscape.shape == (50, 40)
        assert model.farmers.n == 8

    def test_relative_source_is_relative_to_scenario_file(self, small_scenario, tmp_path):
        ls = _generate(small_scenario, 9)
        (tmp_path / "maps").mkdir()
        save_landscape(ls, tmp_path / "maps" / "land.npz")
        path = tmp_path / "s.toml"
        path.write_text('years = 2\n[landscape]\nsource = "maps/land.npz"\n', encoding="utf-8")
        model = LandUseModel(load_scenario(path), rng=0)
        assert np.array_equal(model.landscape.owner, ls.owner)

    def test_source_must_be_npz(self, small_scenario):
        # Refused by the scenario's validation, before any model is built.
        with pytest.raises(ScenarioError, match=r"landscape\.source: must be"):
            small_scenario.with_overrides({"landscape.source": "map.tif"})

    def test_missing_npz_names_the_file(self, small_scenario, tmp_path):
        path = tmp_path / "gone.npz"
        sc = small_scenario.with_overrides({"landscape.source": str(path)})
        with pytest.raises(ScenarioError) as excinfo:
            LandUseModel(sc, rng=0)
        assert str(path) in str(excinfo.value)
