"""Road building (ODD 7.0a): the line of cells of a segment (hand-worked), the year
it is built, what it changes and leaves alone, settlers along the new road, the
reference's equal results, and the errors of a bad schedule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import SETTLERS, small_scenario_toml
from landsim.landscape import distance_to_road, generate_landscape, save_landscape
from landsim.model import LandUseModel, _fast
from landsim.model.ownership import Ownership
from landsim.model.processes import roads
from landsim.reference import ReferenceModel
from landsim.reference.roads import line_of_cells
from landsim.scenario import ScenarioError, load_scenario
from test_reference import assert_same_run

ROOT = Path(__file__).resolve().parents[1]

#: On the small landscape (60 x 60 cells of 0.1 km; the reserve is rows 0-11,
#: feeder roads run north along columns 4-5, 14-15, ..., 54-55 from row 12): a
#: road across the open forest between the lots and the reserve in year 3, from
#: cell (row 14, column 0) to (row 25, column 59), and a short one in year 5.
ROADS = {
    "roads.extensions": [
        {"year": 3, "from_km": [0.0, 1.45], "to_km": [5.95, 2.55]},
        {"year": 5, "from_km": [2.0, 1.3], "to_km": [2.0, 2.4]},
    ]
}


def cells(rows, cols) -> list[tuple[int, int]]:
    return list(zip(np.asarray(rows).tolist(), np.asarray(cols).tolist(), strict=True))


# --------------------------------------------------------------------------- the line


def test_a_line_worked_by_hand():
    """From (row 1, column 0) to (row 3, column 5): five columns, two rows, so one
    cell per column, the row the nearest to 1 + 0.4 x: 1, 1.4, 1.8, 2.2, 2.6, 3."""
    line = cells(*roads.segment_cells((1, 0), (3, 5)))
    assert line == [(1, 0), (1, 1), (2, 2), (2, 3), (3, 4), (3, 5)]


def test_a_half_is_rounded_away_from_the_first_end():
    """From (0, 0) to (1, 2) the middle column's row is 0.5 exactly: row 1. Drawn
    from the other end the line is the same (it starts at the first in raster
    order)."""
    assert cells(*roads.segment_cells((0, 0), (1, 2))) == [(0, 0), (1, 1), (1, 2)]
    assert cells(*roads.segment_cells((1, 2), (0, 0))) == [(0, 0), (1, 1), (1, 2)]
    # A line that falls to the west: rows 0, 0.5, 1 at columns 2, 1, 0.
    assert cells(*roads.segment_cells((0, 2), (1, 0))) == [(0, 2), (1, 1), (1, 0)]


def test_lines_are_8_connected_hold_both_ends_and_match_the_reference():
    rng = np.random.default_rng(5)
    for _ in range(300):
        a, b = (tuple(int(v) for v in rng.integers(0, 30, 2)) for _ in range(2))
        line = cells(*roads.segment_cells(a, b))
        assert a in line and b in line
        steps = np.abs(np.diff(np.array(line), axis=0))
        assert steps.max(initial=0) <= 1 and (steps.sum(axis=1) >= 1).all()
        assert len(line) == max(abs(a[0] - b[0]), abs(a[1] - b[1])) + 1
        reference = line_of_cells((a[1], a[0]), (b[1], b[0]))  # (x, y)
        assert line == [(y, x) for x, y in reference]


def test_a_single_cell_and_straight_lines():
    assert cells(*roads.segment_cells((4, 4), (4, 4))) == [(4, 4)]
    assert cells(*roads.segment_cells((2, 5), (2, 1))) == [(2, c) for c in range(1, 6)]
    assert cells(*roads.segment_cells((0, 3), (3, 0))) == [(0, 3), (1, 2), (2, 1), (3, 0)]


def test_the_cell_of_a_point():
    shape = (60, 60)
    assert roads.point_cell((0.0, 0.0), shape, 0.1) == (0, 0)
    # 0.3 / 0.1 is 2.9999999999999996 in floating point: on the boundary, east.
    assert roads.point_cell((0.3, 0.25), shape, 0.1) == (2, 3)
    assert roads.point_cell((6.0, 6.0), shape, 0.1) == (59, 59)  # the far edges
    assert roads.point_cell((5.95, 1.45), shape, 0.1) == (14, 59)


# --------------------------------------------------------------------------- the model


@pytest.fixture(scope="module")
def road_scenario(small_scenario):
    return small_scenario.with_overrides({**ROADS, **SETTLERS, "years": 8})


def test_roads_appear_in_their_year_not_before(road_scenario):
    model = LandUseModel(road_scenario, rng=1)
    start = model.landscape.road.copy()
    first = cells(*roads.segment_cells((14, 0), (25, 59)))
    second = cells(*roads.segment_cells((13, 20), (24, 20)))
    history = {}
    for year in range(1, 7):
        model.step()
        history[year] = model.landscape.road.copy()
    assert np.array_equal(history[2], start)
    added = history[3] & ~start
    assert set(cells(*np.nonzero(added))) == {c for c in first if not start[c]}
    assert len(first) == 60 and added.sum() == 60 - 12  # crosses six feeders, two cells each
    assert np.array_equal(history[4], history[3])
    assert set(cells(*np.nonzero(history[5] & ~history[4]))) == {
        c for c in second if not history[4][c]
    }
    assert np.array_equal(history[6], history[5])


def test_building_changes_the_roads_and_their_distances_only(road_scenario):
    """Cover, owner, claim and protection stay (a road runs along cell edges);
    road_distance_km is that of the new roads; the ownership index still holds and
    the clearing distances see the new road."""
    ls = generate_landscape(road_scenario.landscape, np.random.default_rng(0))
    model = LandUseModel(road_scenario, rng=0, landscape=ls.copy())
    model.state.year = 3
    before = model.landscape.copy()
    ownership = Ownership(before, False)
    assert roads.build_roads(model.state) == 48
    after = model.landscape
    for name in ("cover", "age", "fertility", "owner", "claim", "protected"):
        assert np.array_equal(getattr(after, name), getattr(before, name)), name
    new = after.road & ~before.road
    assert new.sum() == 48
    expected = distance_to_road(after.road, after.cell_side_km)
    np.testing.assert_array_equal(after.road_distance_km, expected)
    assert (after.road_distance_km <= before.road_distance_km).all()
    assert ownership.matches(after, False)
    assert (_fast.distance_to_fields(after)[new.ravel()] == 0).all()
    model.state.year = 4  # nothing is due: nothing changes
    assert roads.build_roads(model.state) == 0


def test_settlers_arrive_along_the_new_road(small_scenario):
    """With settlers on, households that arrive once the road is built (year 3)
    draw their lots along it too: more of their lots hold cells of the new road
    than in the same run without it (where the cells are reached only from the
    feeder roads), and more households arrive (the feeders' frontage runs out)."""
    scenario = small_scenario.with_overrides(
        {**ROADS, "settlers.arrivals_per_farm_per_year": 0.3, "years": 8}
    )
    without = scenario.with_overrides({"roads.extensions": []})
    runs = {"road": LandUseModel(scenario, rng=2), "none": LandUseModel(without, rng=2)}
    start = runs["road"].landscape.road.copy()
    for model in runs.values():
        model.run_for(8)
    new = runs["road"].landscape.road & ~start
    assert new.sum() == 48 + 11  # the second road meets the first in one cell
    touching = {}
    for name, model in runs.items():
        owner = model.landscape.owner
        arrived = model.farm_table()["arrived_year"].to_numpy()
        on_road = np.unique(owner[new & (owner >= 0)])
        touching[name] = int((arrived[on_road] >= 3).sum())
    assert touching["road"] >= 5 and touching["road"] > touching["none"]
    assert runs["road"].farmers.n > runs["none"].farmers.n


def test_no_schedule_no_change(small_scenario):
    model = LandUseModel(small_scenario.with_overrides(SETTLERS), rng=3)
    road, distance = model.landscape.road.copy(), model.landscape.road_distance_km.copy()
    model.run_for(small_scenario.years)
    assert np.array_equal(model.landscape.road, road)
    assert np.array_equal(model.landscape.road_distance_km, distance)


@pytest.mark.parametrize("seed", [1, 6])
def test_roads_and_settlers_match_the_reference(road_scenario, seed):
    fast = LandUseModel(road_scenario, rng=seed)
    fast.run_for(road_scenario.years)
    reference = ReferenceModel(road_scenario, rng=seed)
    reference.run_for(road_scenario.years)
    assert fast.yearly_table()["settlers_arrived"].iloc[3:].sum() > 0
    assert_same_run(fast, reference)  # the road layer among the others
    np.testing.assert_array_equal(
        reference.rasters()["road_distance_km"], fast.rasters()["road_distance_km"]
    )


def test_the_shipped_road_scenario_builds_its_road_in_year_10():
    scenario = load_scenario(ROOT / "scenarios" / "tambopata_branch_road.toml")
    (extension,) = scenario.roads.extensions
    assert extension.year == 10
    model = LandUseModel(scenario.with_overrides({"years": 10}), rng=0)
    start = model.landscape.road.copy()
    model.run_for(9)
    assert np.array_equal(model.landscape.road, start)
    model.step()
    new = model.landscape.road & ~start
    assert new[90].sum() == 180 and new.sum() == 180  # row 90, all but the feeders


# --------------------------------------------------------------------------- bad input


def _refused(tmp_path, text: str, key: str) -> str:
    path = tmp_path / "roads.toml"
    path.write_text(small_scenario_toml() + text, encoding="utf-8")
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(path)
    msg = str(excinfo.value)
    assert f"{path}: {key}: " in msg, msg
    return msg


def segment(year="3", start="[0.0, 1.0]", end="[2.0, 1.0]") -> str:
    return f"[[roads.extensions]]\nyear = {year}\nfrom_km = {start}\nto_km = {end}\n"


def test_a_good_schedule_loads(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(small_scenario_toml() + segment(end="[6.0, 6.0]"), encoding="utf-8")
    (extension,) = load_scenario(path).roads.extensions
    assert extension.from_km == (0.0, 1.0) and extension.to_km == (6.0, 6.0)


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        (segment(end="[6.5, 1.0]"), "roads.extensions.0.to_km", "allowed x 0-6 km"),
        (segment(start="[1.0, 7.0]"), "roads.extensions.0.from_km", "y 0-6 km"),
        (segment(start="[-0.5, 1.0]"), "roads.extensions.0.from_km", "outside the raster"),
        (segment(year="11"), "roads.extensions.0.year", "allowed 1-10"),
        (segment(year="0"), "roads.extensions.0.year", "allowed 1-10"),
        (segment(year="2.5"), "roads.extensions.0.year", "integer"),
        (segment(start="[1.0, 2.0, 3.0]"), "roads.extensions.0.from_km", "[x, y]"),
        (segment(start="1.0"), "roads.extensions.0.from_km", "[x, y]"),
        (segment(end="[1.0]"), "roads.extensions.0.to_km", "[x, y]"),
        (segment(end="[true, 1.0]"), "roads.extensions.0.to_km.0", "not a boolean"),
        (segment(end='["1", 1.0]'), "roads.extensions.0.to_km.0", "not a string"),
        (segment(end="[nan, 1.0]"), "roads.extensions.0.to_km.0", "finite"),
        (segment() + "width_km = 3\n", "roads.extensions.0.width_km", "allowed keys: year"),
        (segment().replace("year = 3\n", ""), "roads.extensions.0.year", "missing"),
        ("[roads]\nextensions = 3\n", "roads.extensions", "list"),
    ],
)
def test_a_bad_schedule_names_the_file_and_the_key(tmp_path, text, key, words):
    assert words in _refused(tmp_path, text, key)


def test_a_run_shorter_than_the_schedule_is_refused(small_scenario):
    scenario = small_scenario.with_overrides(ROADS)
    with pytest.raises(ScenarioError, match=r"roads\.extensions\.1\.year: year 5 .* 1-4"):
        scenario.with_overrides({"years": 4})


def test_a_road_beyond_a_landscape_file_is_refused_when_it_is_read(tmp_path, small_scenario):
    """A file's extent is known only once it is read: the model checks it."""
    small = small_scenario.with_overrides(
        {"landscape.width": 30, "landscape.height": 30, "landscape.n_farms": 5}
    )
    path = tmp_path / "ls.npz"
    save_landscape(generate_landscape(small.landscape, np.random.default_rng(0)), path)
    scenario = small_scenario.with_overrides({"landscape.source": str(path), **ROADS})
    with pytest.raises(ScenarioError, match=r"roads\.extensions\.0\.to_km: .*allowed x 0-3 km"):
        LandUseModel(scenario, rng=0)
    with pytest.raises(ScenarioError, match=r"roads\.extensions\.0\.to_km: "):
        ReferenceModel(scenario, rng=0)
    with pytest.raises(ScenarioError, match=r"x and y >= 0 km"):
        scenario.with_overrides({"roads.extensions.0.from_km": [-1.0, 0.0]})
    given = generate_landscape(small.landscape, np.random.default_rng(0))
    with pytest.raises(ScenarioError, match=r"roads\.extensions\.0\.to_km: "):
        LandUseModel(small_scenario.with_overrides(ROADS), rng=0, landscape=given)
