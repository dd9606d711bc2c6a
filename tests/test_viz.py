"""The browser view (``landsim viz``, ``landsim.app``).

Fast tests of the parts that need no browser (seeds, scenario listing, sliders
and their scenario overrides, the Mesa Reset path, steps past the last year,
drawing the map, the plots' ECharts options, the run and farm cards, the CSV,
launching); a slow test that the claims of the guided lab (docs/teaching.md)
still hold; and slow tests that start the real ``landsim viz`` command and drive
Debian's Chromium with Playwright: one walk through the page, and one test for
each defect of the view's issue (render interval, threads, dark preference,
sliders of a picked scenario, the run card of an added programme, dragging on
the map, what an instructor needs). Screenshots and the servers' logs are saved
in ``test-artifacts/viz/`` (gitignored; ``LANDSIM_TEST_ARTIFACTS`` moves it).
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest
from mesa.experimental.scenarios import Scenario as MesaScenario
from mesa.visualization.solara_viz import _build_model_init_kwargs

from landsim import app
from landsim.cli import UsageError
from landsim.landscape import Cover
from landsim.scenario import Programme, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
ARTIFACTS = Path(os.environ.get("LANDSIM_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "viz"
CHROMIUM = Path("/usr/bin/chromium")
#: From ../shared/NOTES-mesa.md: what Chromium needs to run headless here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def default_params(launch_file=None):
    return app.make_model_params(launch_file)


def default_arguments(launch_file=None, **changes):
    return app.initial_arguments(default_params(launch_file)) | changes


# --------------------------------------------------------------------------- seeds


@pytest.mark.parametrize(
    ("text", "seed"), [("7", 7), (" 42 ", 42), ("", None), (None, None), (3, 3)]
)
def test_seed_field_text_becomes_a_seed(text, seed):
    assert app.parse_seed(text) == seed


@pytest.mark.parametrize("text", ["abc", "1.5", "-3", "7x", True])
def test_bad_seed_is_refused_with_a_message_for_students(text):
    with pytest.raises(app.SeedError, match=r"whole number|0 or more"):
        app.parse_seed(text)


def test_bad_seed_runs_the_scenario_seed_and_says_so():
    model = app.TeachingModel(**default_arguments(seed="abc"))
    assert model.seed == load_scenario(None).seed
    assert len(model.notices) == 1
    assert "'abc'" in model.notices[0] and "whole number" in model.notices[0]


def test_seed_field_sets_the_seed():
    a = app.TeachingModel(**default_arguments(seed="5"))
    b = app.TeachingModel(**default_arguments(seed="5"))
    c = app.TeachingModel(**default_arguments(seed="6"))
    assert a.seed == 5 and not a.notices
    assert np.array_equal(a.landscape.cover, b.landscape.cover)
    assert not np.array_equal(a.landscape.cover, c.landscape.cover)


# --------------------------------------------------------------------------- scenarios


def test_shipped_scenarios_are_found_in_the_checkout():
    assert app.SCENARIO_DIR == SCENARIOS


def test_picker_lists_the_embedded_default_and_the_shipped_scenarios():
    choices, start = app.list_scenario_choices(None, SCENARIOS)
    shipped = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
    assert list(choices) == [app.EMBEDDED, *shipped]
    assert start == app.EMBEDDED and choices[app.EMBEDDED] is None
    assert {"baseline", "tambopata_redd_cocoa", "cocoa_boom_bust"} <= set(choices)
    for name in shipped:
        load_scenario(choices[name])  # every entry is a valid scenario


def test_picker_starts_at_a_shipped_launch_file():
    choices, start = app.list_scenario_choices(str(SCENARIOS / "baseline.toml"), SCENARIOS)
    assert start == "baseline" and len(choices) == 1 + len(list(SCENARIOS.glob("*.toml")))


def test_picker_offers_a_launch_file_from_elsewhere(tmp_path):
    own = tmp_path / "my_frontier.toml"
    own.write_text('extends = "default"\nname = "mine"\nyears = 5\n', encoding="utf-8")
    choices, start = app.list_scenario_choices(str(own), SCENARIOS)
    assert start == "my_frontier" and choices["my_frontier"] == str(own.resolve())
    assert list(choices)[:2] == [app.EMBEDDED, "my_frontier"]


def test_without_the_scenarios_directory_the_picker_offers_the_default_only(tmp_path):
    assert app.list_scenario_choices(None, tmp_path / "absent") == (
        {app.EMBEDDED: None},
        app.EMBEDDED,
    )
    assert app.list_scenario_choices(None, None) == ({app.EMBEDDED: None}, app.EMBEDDED)


def picked_arguments(name, **changes):
    """What the page passes after picking scenario ``name``: the sliders moved to it."""
    values = app.slider_values(load_scenario(SCENARIOS / f"{name}.toml"))
    return default_arguments(scenario_file=name, **values) | changes


def test_picking_a_scenario_runs_it_as_written():
    model = app.TeachingModel(**picked_arguments("carbon_price_high"))
    expected = load_scenario(SCENARIOS / "carbon_price_high.toml")
    assert model.scenario_name == "carbon_price_high" and not model.overridden
    assert model.params.to_dict() == expected.to_dict()


def test_unknown_scenario_name_falls_back_to_the_default_with_a_message():
    model = app.TeachingModel(**default_arguments(scenario_file="nope"))
    assert model.scenario_name == app.EMBEDDED and "nope" in model.notices[0]


# --------------------------------------------------------------------------- sliders


def resolve_key(data: dict, key: str):
    node = data
    for part in key.split("."):
        assert isinstance(node, dict) and part in node, f"{key}: {part} unknown"
        node = node[part]
    return node


def test_sliders_are_named_by_scenario_key_paths():
    default = load_scenario(None).to_dict()
    programme_keys = {"programmes." + name for name in Programme.model_fields}
    for control in app.CONTROLS:
        if control.is_programme:
            head = ".".join(control.key.split(".")[:2])
            assert head in programme_keys, control.key
        else:
            resolve_key(default, control.key)
    params = default_params()
    assert [c.key for c in app.CONTROLS] == [k for k in params if k in app.CONTROLS_BY_KEY]
    for control in app.CONTROLS:
        slider = params[control.key]
        assert control.label in slider.label and control.unit in slider.label
        assert slider.min <= slider.value <= slider.max


def test_sliders_start_at_the_launch_scenario_values():
    params = default_params(str(SCENARIOS / "caqueta_conservation_agreements.toml"))
    assert params["programmes.enrolment_cap"].value == 36
    assert params["programmes.detection_probability"].value == pytest.approx(0.7)
    assert params["programmes.forest_payment.usd_per_ha_per_year"].value == pytest.approx(20)
    assert params["markets.cocoa.mean"].value == pytest.approx(2.0)
    assert params["scenario_file"]["value"] == "caqueta_conservation_agreements"


def test_unmoved_sliders_change_nothing():
    model = app.TeachingModel(**default_arguments())
    assert model.overridden == {} and model.notices == []
    assert model.params.to_dict() == load_scenario(None).to_dict()


def test_cocoa_slider_sets_the_level_the_price_starts_at_and_returns_to():
    path = str(SCENARIOS / "cocoa_boom_bust.toml")
    model = app.TeachingModel(
        **default_arguments(path, scenario_file="cocoa_boom_bust", **{"markets.cocoa.mean": 4.0})
    )
    cocoa = model.params.markets.cocoa
    assert (cocoa.process, cocoa.initial, cocoa.mean) == ("ou", 4.0, 4.0)
    assert model.overridden == {"markets.cocoa.mean": 4.0}


def test_carbon_slider_sets_a_constant_price():
    scenario = app.apply_controls(load_scenario(None), {"markets.carbon.values": 30.0})
    assert scenario.markets.carbon.process == "path"
    assert scenario.markets.carbon.values == [30.0]


def test_discount_slider_moves_the_mean_and_keeps_the_relative_spread():
    base = load_scenario(None).farmers.discount_rate
    scenario = app.apply_controls(load_scenario(None), {"farmers.discount_rate": 0.33})
    rate = scenario.farmers.discount_rate
    assert rate.dist == "uniform" and rate.mean == pytest.approx(0.33)
    assert rate.high / rate.low == pytest.approx(base.high / base.low)


@pytest.mark.parametrize(
    ("dist", "mean", "expected"),
    [
        ({"dist": "constant", "value": 0.1}, 0.2, {"dist": "constant", "value": 0.2}),
        (
            {"dist": "normal", "mean": 0.1, "sd": 0.02, "low": 0.05, "high": None},
            0.3,
            {"dist": "normal", "mean": 0.3, "sd": 0.06, "low": 0.15, "high": None},
        ),
        (
            {"dist": "lognormal", "mean": 0.1, "cv": 0.5},
            0.2,
            {"dist": "lognormal", "mean": 0.2, "cv": 0.5},
        ),
        ({"dist": "constant", "value": 0.0}, 0.2, {"dist": "constant", "value": 0.2}),
    ],
)
def test_scale_distribution(dist, mean, expected):
    out = app.scale_distribution(dist, mean)
    assert out.keys() == expected.keys()
    for key, value in expected.items():
        assert out[key] == (pytest.approx(value) if isinstance(value, float) else value)


def test_programme_sliders_apply_to_every_programme_of_the_scenario():
    scenario = load_scenario(SCENARIOS / "tambopata_redd_cocoa.toml")
    out = app.apply_controls(
        scenario,
        {
            "programmes.enrolment_cap": 100,
            "programmes.detection_probability": 0.3,
            "programmes.forest_payment.usd_per_ha_per_year": 15.0,
        },
    )
    (programme,) = out.programmes
    assert programme.enrolment_cap == 100 and programme.detection_probability == 0.3
    assert programme.forest_payment.usd_per_ha_per_year == 15.0
    # Everything else of the programme is as written.
    assert programme.carbon_payment == scenario.programmes[0].carbon_payment
    assert programme.name == scenario.programmes[0].name


def test_programme_slider_adds_the_teaching_programme_to_a_scenario_without_one():
    model = app.TeachingModel(
        **default_arguments(**{"programmes.forest_payment.usd_per_ha_per_year": 60.0})
    )
    (programme,) = model.params.programmes
    assert programme.forest_payment.usd_per_ha_per_year == 60.0
    assert programme.obligations.no_clearing
    assert (programme.start_year, programme.end_year) == (1, model.params.years)
    model.run_for(3)
    table = model.yearly_table()
    assert table["enrolled_farms"].iloc[-1] > 0
    assert table["payments_mean_usd"].iloc[-1] > 0
    assert (table["budget_remaining_usd"] > 0).all()  # the teaching budget does not bind


def test_teaching_budget_does_not_bind_at_the_largest_payment():
    top = app.CONTROLS_BY_KEY["programmes.forest_payment.usd_per_ha_per_year"].maximum
    scenario = app.apply_controls(
        load_scenario(None), {"programmes.forest_payment.usd_per_ha_per_year": top}
    )
    model = app.TeachingModel(scenario)
    model.run_for(scenario.years)
    spec = scenario.programmes[0]
    spent = model.yearly_table()["programme_cost_usd"]
    assert spent.max() < spec.budget_usd_per_year and spent.sum() < spec.budget_usd


def test_find_moved_controls():
    starts = {"a": 1.0, "b": 0.165}
    assert app.find_moved_controls({"a": 1.0, "b": 0.165}, starts) == {}
    assert app.find_moved_controls({"a": 1.0 + 1e-15, "b": 0.2}, starts) == {"b": 0.2}
    assert app.find_moved_controls({"a": 1.0}, None) == {"a": 1.0}


def test_unknown_slider_is_an_error():
    with pytest.raises(TypeError, match="unknown slider"):
        app.TeachingModel(**default_arguments(**{"markets.cocoa.sigma": 0.1}))


def test_mesa_reset_builds_the_model_from_the_sliders():
    """Mesa's Reset (its ModelController): Mesa adds its own scenario object, ignored."""
    params = default_params()
    model = app.TeachingModel(**app.initial_arguments(params))
    values = app.initial_arguments(params) | {"markets.carbon.values": 20.0, "seed": "3"}
    kwargs = _build_model_init_kwargs(
        model, values, add_scenario_when_empty=True, require_model_accepts_scenario=True
    )
    assert isinstance(kwargs["scenario"], MesaScenario)
    again = type(model)(**kwargs)
    assert again.params.markets.carbon.values == [20.0] and again.seed == 3
    assert again.overridden == {"markets.carbon.values": 20.0}


# --------------------------------------------------------------------------- drawing


@pytest.fixture(scope="module")
def stepped_model():
    model = app.TeachingModel(**picked_arguments("tambopata_redd_cocoa"))
    model.run_for(3)
    return model


@pytest.mark.parametrize("view", app.VIEWS)
def test_every_map_view_draws_every_cell(stepped_model, view):
    image, legend = app.draw_map(stepped_model, view)
    height, width = stepped_model.landscape.shape
    factor = app.MAP_PIXELS // max(height, width)
    assert image.shape == (height * factor, width * factor, 3) and image.dtype == np.uint8
    assert legend.entries or legend.scale
    assert app.encode_png(image).startswith(b"\x89PNG")
    assert "reserve boundary" in app.format_legend(legend)


def test_land_cover_view_colours_each_cover(stepped_model):
    image, legend = app.draw_map(stepped_model, "Land cover")
    factor = image.shape[0] // stepped_model.landscape.shape[0]
    cover = stepped_model.landscape.cover
    for code in np.unique(cover):
        row, col = np.argwhere((cover == code) & ~stepped_model.landscape.road)[0]
        pixel = image[row * factor + 1, col * factor + 1]  # (roads run through road cells)
        assert tuple(pixel) == tuple(app.to_rgb(app.COVER_STYLE[Cover(code)][0]))
    assert [label for _, label in legend.entries][: len(app.COVER_STYLE)] == [
        s[1] for s in app.COVER_STYLE.values()
    ]


def test_farm_view_shows_enrolment_and_boundaries(stepped_model):
    image, legend = app.draw_map(stepped_model, "Farms")
    labels = [label for _, label in legend.entries]
    assert "farm enrolled in a programme" in labels and "farm boundary" in labels
    colours = {tuple(c) for c in np.unique(image.reshape(-1, 3), axis=0)}
    assert tuple(app.to_rgb(app.BOUNDARY_STYLE[0])) in colours
    assert tuple(app.to_rgb(app.FARM_STYLE["enrolled"][0])) in colours


@pytest.mark.parametrize("spec", app.TRAJECTORIES, ids=lambda s: s.title)
def test_plots_hold_every_series_year_by_year_as_json(stepped_model, spec):
    table = stepped_model.yearly_table()
    option = json.loads(json.dumps(app.chart_option(table, spec, 30), allow_nan=False))
    assert option["title"]["text"] == spec.title and option["tooltip"]["trigger"] == "axis"
    assert option["xAxis"]["max"] == 30 and option["yAxis"]["name"] == spec.unit
    names = [s["name"] for s in option["series"]]
    assert names == [label for _, label, _ in spec.lines] == option["legend"]["data"]
    for series, (column, _, _) in zip(option["series"], spec.lines, strict=True):
        assert [year for year, _ in series["data"]] == list(range(4))
        last = table[column].iloc[-1] * spec.scale
        assert series["data"][-1][1] == pytest.approx(last, rel=1e-3)


def test_plot_of_the_initial_year_has_gaps_not_nans(stepped_model):
    table = stepped_model.yearly_table().iloc[:1]
    option = app.chart_option(table, app.TRAJECTORIES[-1], 30)
    json.dumps(option, allow_nan=False)  # missing incomes are null, not NaN
    assert option["series"][0]["data"] == [[0, None]]


def test_plots_draw_the_previous_run_faint_under_this_one(stepped_model):
    table = stepped_model.yearly_table()
    previous = run_lab()["table"]
    spec = app.TRAJECTORIES[0]
    option = app.chart_option(table.iloc[:2], spec, 30, previous)
    faint = [s for s in option["series"] if app.PREVIOUS in s["name"]]
    assert len(faint) == len(spec.lines) and len(option["series"]) == 2 * len(spec.lines)
    assert all(s["lineStyle"]["type"] == "dashed" and s["lineStyle"]["opacity"] < 1 for s in faint)
    assert len(faint[0]["data"]) == 31  # the whole previous run, this one to year 1
    assert option["legend"]["data"] == [label for _, label, _ in spec.lines]


def test_map_draws_the_roads(stepped_model):
    image, legend = app.draw_map(stepped_model, "Land cover")
    ls = stepped_model.landscape
    factor = image.shape[0] // ls.shape[0]
    road = tuple(app.to_rgb(app.ROAD_STYLE[0]))
    middle = factor // 2
    for row, col in np.argwhere(ls.road)[:: max(1, int(ls.road.sum()) // 50)]:
        assert tuple(image[row * factor + middle, col * factor + middle]) == road
    off_road = ~ls.road & ~ls.protected
    row, col = np.argwhere(off_road)[0]
    assert tuple(image[row * factor + middle, col * factor + middle]) != road
    assert app.ROAD_STYLE in legend.entries


def test_map_outlines_the_selected_farm(stepped_model):
    ls = stepped_model.landscape
    farm = int(ls.owner[ls.owner >= 0][0])
    plain, _ = app.draw_map(stepped_model, "Land cover")
    image, legend = app.draw_map(stepped_model, "Land cover", selected=farm)
    changed = np.any(image != plain, axis=2)
    factor = image.shape[0] // ls.shape[0]
    mine = app.enlarge(ls.owner == farm, factor)
    assert changed.any() and not (changed & ~mine).any()  # inside the farm only
    assert app.SELECTED_STYLE in legend.entries
    assert app.draw_map(stepped_model, "Land cover", selected=10**6)[0].shape == plain.shape


def test_a_click_on_the_map_finds_its_cell(stepped_model):
    height, width = stepped_model.landscape.shape
    assert app.find_clicked_cell(stepped_model, {"x": 0.0, "y": 0.0}) == (0, 0)
    assert app.find_clicked_cell(stepped_model, {"x": 1.0, "y": 1.0}) == (height - 1, width - 1)
    assert app.find_clicked_cell(stepped_model, {"x": 0.5, "y": 0.25}) == (height // 4, width // 2)
    assert app.find_clicked_cell(stepped_model, {"x": 1.5, "y": 0.2}) is None
    assert app.find_clicked_cell(stepped_model, {}) is None


def test_farm_card_shows_cover_savings_income_and_enrolment(stepped_model):
    fs, ls = stepped_model.farmers, stepped_model.landscape
    farm = int(np.flatnonzero(stepped_model.programmes.enrolled_any())[0])
    card = app.describe_farm(stepped_model, farm)
    ET.fromstring(card)
    assert f"Farm {farm}" in card and "enrolled in a programme" in card
    assert f"{fs.savings_usd[farm]:,.0f} USD" in card
    assert f"{fs.net_income_usd[farm]:,.0f} USD in year 3" in card
    area = (ls.owner == farm).sum() * ls.cell_size_ha
    assert f"{area:,.1f} ha" in card
    for _, label in app.COVER_STYLE.values():
        assert label in card


@pytest.mark.parametrize(("width_km", "length"), [(20, 2), (60, 10), (2.4, 0.2), (100, 20)])
def test_scale_bar_is_a_round_length_of_about_a_fifth_of_the_map(width_km, length):
    got, fraction = app.choose_scale_bar(width_km)
    assert got == pytest.approx(length) and fraction == pytest.approx(length / width_km)
    assert app.format_km(0.2) == "200 m" and app.format_km(2) == "2 km"


def test_yearly_table_downloads_as_csv(stepped_model):
    text = app.table_csv(stepped_model).decode("utf-8")
    table = pd.read_csv(io.StringIO(text))
    assert list(table["year"]) == [0, 1, 2, 3]
    assert list(table.columns) == list(stepped_model.yearly_table().columns)
    assert app.table_filename(stepped_model) == (
        f"landsim-tambopata_redd_cocoa-seed{stepped_model.seed}-year3.csv"
    )


def test_about_panel_documents_exist():
    for relative in app.DOCUMENTS.values():
        assert app.find_document(relative) == ROOT / relative


def test_run_card_names_scenario_year_seed_and_overrides():
    model = app.TeachingModel(**default_arguments(seed="9", **{"markets.cocoa.mean": 3.0}))
    model.run_for(2)
    card = app.describe_run(model)
    assert "Year 2 of 30" in card and "seed 9" in card and "default (embedded)" in card
    assert "markets.cocoa.mean" in card and "(slider)" in card
    assert "No incentive programme" in card
    ET.fromstring(card)  # well-formed


def test_a_step_past_the_last_year_does_nothing():
    short = load_scenario(None).with_overrides({"years": 3})
    model = app.TeachingModel(short)
    for _ in range(3):
        assert model.running
        model.step()
    assert model.year == 3 and not model.running and model.finished
    table = model.yearly_table()
    record = dict(model.record)
    for _ in range(5):  # Mesa's Play with a render interval above 1 does this
        model.step()
    assert model.year == 3 and not model.running
    assert model.record == record and model.yearly_table().equals(table)
    assert "the run is finished" in app.describe_run(model)
    assert "finished" not in app.describe_run(app.TeachingModel(short))


def test_the_model_steps_under_its_lock():
    """The page reads the model under the same lock: it never sees half a year."""
    model = app.TeachingModel(**default_arguments())
    seen = []
    original = app.LandUseModel.step

    def step(self):
        got = []
        other = threading.Thread(target=lambda: got.append(self.lock.acquire(blocking=False)))
        other.start()
        other.join()
        seen.append(got[0])
        original(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app.LandUseModel, "step", step)
        model.step()
    assert seen == [False] and model.year == 1  # another thread could not read


@pytest.mark.parametrize("name", ["tambopata_redd_cocoa", "caqueta_conservation_agreements"])
def test_slider_values_of_a_picked_scenario_are_what_it_runs(name):
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    values = app.slider_values(scenario)
    detect = values["programmes.detection_probability"]
    assert detect == pytest.approx(scenario.programmes[0].detection_probability)
    cap = scenario.programmes[0].enrolment_cap  # a growing cap: its last value
    assert values["programmes.enrolment_cap"] == (cap[-1] if isinstance(cap, list) else cap)
    # Left where the scenario puts them, the sliders change nothing ...
    model = app.TeachingModel(**default_arguments(scenario_file=name, **values))
    assert model.overridden == {} and model.params.to_dict() == scenario.to_dict()


def test_any_slider_value_can_be_chosen_whatever_the_launch_scenario():
    """Launched on the default (monitoring 0.5), Tambopata picked (0.8): 0.5 is chosen."""
    key = "programmes.detection_probability"
    launch = default_arguments()
    assert launch[key] == 0.5
    chosen = app.TeachingModel(**picked_arguments("tambopata_redd_cocoa", **{key: 0.5}))
    assert chosen.overridden == {key: 0.5}
    assert chosen.params.programmes[0].detection_probability == 0.5
    picked = launch | {"scenario_file": "tambopata_redd_cocoa"}
    as_written = app.TeachingModel(**picked | {key: 0.8})
    assert key not in as_written.overridden
    assert as_written.params.programmes[0].detection_probability == 0.8


def test_settings_waiting_for_reset_are_listed():
    params = default_params()
    model = app.TeachingModel(**app.initial_arguments(params))
    settings = app.initial_arguments(params)
    assert app.describe_pending(settings, model.inputs) == ""
    settings |= {"seed": "4", "programmes.enrolment_cap": 50, "scenario_file": "baseline"}
    assert app.describe_pending(settings, model.inputs) == (
        "Press Reset to apply: scenario baseline, seed 4, enrolment cap 50."
    )
    assert app.describe_pending(settings, app.TeachingModel(**settings).inputs) == ""


def test_run_card_says_when_the_sliders_add_the_teaching_programme():
    pay = "programmes.forest_payment.usd_per_ha_per_year"
    model = app.TeachingModel(**default_arguments(**{pay: 20.0}))
    model.run_for(2)
    assert model.adds_teaching_programme
    card = app.describe_run(model)
    ET.fromstring(card)
    headline = card.split("</p>")[0]
    assert "changed by the sliders" in headline and "teaching programme is added" in headline
    assert "forest payment 20 USD/ha/yr" in headline
    assert "farms enrolled now" in card and "No incentive programme" not in card
    assert "Farm income in year 2: mean" in card
    plain = app.describe_run(app.TeachingModel(**default_arguments()))
    assert "as written" in plain and "teaching programme is added" not in plain


# --------------------------------------------------------------------------- the lab


def run_lab(scenario_file=None, **controls) -> dict:
    """A 30-year run as a student does it in docs/teaching.md (seed 0)."""
    scenario = app.apply_controls(load_scenario(scenario_file), controls)
    model = app.LandUseModel(scenario, rng=0)
    model.run_for(scenario.years)
    table = model.yearly_table()
    farms = model.farm_table()
    settler = farms["arrived_year"] > 0
    return {
        "cleared": model.record["cumulative_deforestation_ha"],
        "cleared_1_10": table["deforestation_ha"].iloc[1:11].sum(),
        "cleared_11_30": table["deforestation_ha"].iloc[11:].sum(),
        "cleared_by_settlers": farms["deforested_ha"][settler].sum(),
        "cleared_by_first_farms": farms["deforested_ha"][~settler].sum(),
        "spent": sum(acc.spent_usd for acc in model.programmes.accounts),
        "cocoa_farms": model.record["adopters_cocoa_agroforestry"],
        "cocoa_ha": model.record["area_cocoa_agroforestry_ha"],
        "income": table["income_mean_usd"].iloc[1:].mean(),
        "expelled_by_25": table["violations_detected"].iloc[1:26].sum(),
        "expelled_26_30": table["violations_detected"].iloc[26:].sum(),
        "table": table,
    }


@pytest.mark.slow
def test_the_lab_in_docs_teaching_still_holds():
    """The qualitative claims of docs/teaching.md (its numbers are for seed 0)."""
    pay = "programmes.forest_payment.usd_per_ha_per_year"
    detect = "programmes.detection_probability"
    default = run_lab()
    table = default["table"]
    first = table.iloc[[0, -1]]
    # 1: total forest falls far less than primary forest; settlers arrive until no
    # open forest is left along a road; clearing slows down, re-clearing does not.
    forest = first["forest_area_ha"].iloc[0] - first["forest_area_ha"].iloc[1]
    primary = first["area_primary_forest_ha"].iloc[0] - first["area_primary_forest_ha"].iloc[1]
    assert 0 < forest < primary / 4
    assert 3800 < default["cleared"] < 5200
    assert 80 < table["settlers_arrived"].sum() < 160
    assert table["settlers_arrived"].iloc[21:].sum() == 0
    assert table["deforestation_ha"].iloc[21:].sum() < 0.7 * default["cleared_1_10"]
    regrowth = table["secondary_cleared_ha"]
    assert regrowth.iloc[21:].sum() > 0.6 * regrowth.iloc[1:11].sum()
    assert regrowth.sum() > default["cleared"]
    assert first["carbon_stock_tc"].iloc[1] < first["carbon_stock_tc"].iloc[0]
    # 2: cocoa price: almost nobody plants cocoa at 1 USD/kg, every farm at 4.
    cheap, dear = run_lab(**{"markets.cocoa.mean": 1.0}), run_lab(**{"markets.cocoa.mean": 4.0})
    assert cheap["cocoa_farms"] <= 3 and cheap["cocoa_ha"] <= 10
    assert dear["cocoa_farms"] >= 0.95 * dear["table"]["n_farms"].iloc[-1]
    assert dear["cleared"] < 0.85 * default["cleared"] < 0.85 * cheap["cleared"]
    assert dear["income"] > 3 * default["income"] > 3 * cheap["income"]
    boom = run_lab(SCENARIOS / "cocoa_boom_bust.toml")
    assert boom["table"]["cocoa_price_usd_per_kg"].iloc[4:].eq(2.5).all()
    assert boom["cocoa_ha"] > 1.1 * default["cocoa_ha"]
    cocoa_10 = [run["table"]["area_cocoa_agroforestry_ha"].iloc[10] for run in (boom, default)]
    assert cocoa_10[0] > 1.6 * cocoa_10[1]
    # 3: discount rate: both clear less, for different reasons.
    patient = run_lab(**{"farmers.discount_rate": 0.05})
    impatient = run_lab(**{"farmers.discount_rate": 0.4})
    assert patient["cocoa_farms"] >= 0.95 * patient["table"]["n_farms"].iloc[-1]
    assert impatient["cocoa_farms"] < 25
    assert patient["income"] > 1.3 * default["income"] > 1.3 * impatient["income"]
    assert max(patient["cleared"], impatient["cleared"]) < 0.9 * default["cleared"]
    assert patient["cocoa_ha"] > 1.4 * default["cocoa_ha"]
    assert patient["cleared_by_first_farms"] < 0.85 * default["cleared_by_first_farms"]
    assert impatient["cleared_by_first_farms"] > 1.1 * default["cleared_by_first_farms"]
    settlers = [run["table"]["settlers_arrived"].sum() for run in (impatient, default)]
    assert settlers[0] < 0.5 * settlers[1]
    # 4: payments: far less clearing; twice the payment buys no less clearing, as
    # the programme's places stay taken and settlers, left outside, clear.
    p20, p40 = run_lab(**{pay: 20.0}), run_lab(**{pay: 40.0})
    assert max(p20["cleared"], p40["cleared"]) < default["cleared"] / 2
    assert p40["cleared"] > 1.05 * p20["cleared"]
    assert p40["spent"] > 1.8 * p20["spent"]
    per_ha = [p["spent"] / (default["cleared"] - p["cleared"]) for p in (p20, p40)]
    assert per_ha[0] < per_ha[1]
    for p in (p20, p40):
        assert p["cleared_by_settlers"] > 0.5 * p["cleared"]
    assert p40["cleared_by_settlers"] > 1.2 * p20["cleared_by_settlers"]
    assert p40["table"]["enrolled_farms"].iloc[7:26].min() >= 0.97 * 350
    assert p20["expelled_by_25"] > 2 * p40["expelled_by_25"]
    # 5: monitoring: none is worst; 0.2 clears least; perfect monitoring frees few
    # places before the last years, so settlers clear more.
    d0, d02, d1 = (run_lab(**{pay: 40.0, detect: d}) for d in (0.0, 0.2, 1.0))
    assert d02["cleared"] < d1["cleared"] < d0["cleared"]
    assert d0["table"]["deforestation_enrolled_ha"].sum() > 0.3 * d0["cleared"]
    assert d0["spent"] > 0.85 * d1["spent"]
    assert d1["expelled_by_25"] < 0.5 * d02["expelled_by_25"]
    assert d1["cleared_by_settlers"] > 1.1 * d02["cleared_by_settlers"]
    for d in (d02, p40, d1):
        assert d["expelled_26_30"] > d["expelled_by_25"]
    # 6: enrolment cap: more farms, less clearing, more money.
    cap = "programmes.enrolment_cap"
    c50, c150 = run_lab(**{pay: 40.0, cap: 50}), run_lab(**{pay: 40.0, cap: 150})
    assert p40["cleared"] < c150["cleared"] < c50["cleared"] < default["cleared"]
    assert c50["spent"] < c150["spent"] < p40["spent"]
    # 7: Tambopata against its counterfactual: less clearing under contract,
    # members join gradually and far short of the cap, clearing returns after but
    # less than without the programme; cocoa stays; only support is paid.
    tambopata = run_lab(SCENARIOS / "tambopata_redd_cocoa.toml")
    bau = run_lab(SCENARIOS / "tambopata_baseline.toml")
    tam = tambopata["table"]
    assert 0.6 * bau["cleared_1_10"] < tambopata["cleared_1_10"] < 0.8 * bau["cleared_1_10"]
    assert tam["enrolled_farms"].iloc[1] <= 21 < tam["enrolled_farms"].iloc[5] < 175
    assert 70 < tam["expelled_farms"].iloc[10] < 150
    assert 0.6 * bau["cleared_11_30"] < tambopata["cleared_11_30"] < 0.9 * bau["cleared_11_30"]
    assert (
        tam["area_cocoa_agroforestry_ha"].iloc[10]
        > 2 * bau["table"]["area_cocoa_agroforestry_ha"].iloc[10]
    )
    assert tambopata["spent"] < 0.5 * 5_500_000
    assert tam["establishment_support_usd"].sum() == pytest.approx(tambopata["spent"])
    assert tam["programme_cost_usd"].iloc[11:].sum() == 0
    # The carbon price changes only what the credits repay; better monitoring
    # clears less, though it expels more.
    carbon = "markets.carbon.values"
    low = run_lab(SCENARIOS / "tambopata_redd_cocoa.toml", **{carbon: 3.0})
    high = run_lab(SCENARIOS / "tambopata_redd_cocoa.toml", **{carbon: 25.0})
    for run in (low, high):
        assert run["cleared"] == tambopata["cleared"] and run["spent"] == tambopata["spent"]
    repaid = [run["table"]["finance_repaid_usd"].sum() for run in (low, tambopata, high)]
    assert repaid[0] < 0.5 * repaid[1] < 0.5 * 5_500_000 < 5_500_000 < repaid[2]
    detect = "programmes.detection_probability"
    lax = run_lab(SCENARIOS / "tambopata_redd_cocoa.toml", **{detect: 0.2})
    strict = run_lab(SCENARIOS / "tambopata_redd_cocoa.toml", **{detect: 1.0})
    assert lax["cleared_1_10"] > tambopata["cleared_1_10"] > strict["cleared_1_10"]
    assert lax["table"]["expelled_farms"].iloc[10] < strict["table"]["expelled_farms"].iloc[10]


# --------------------------------------------------------------------------- launching


def test_server_command_and_environment_keep_everything_local(tmp_path):
    command = app.server_command("127.0.0.1", 8765)
    assert command[:4] == [sys.executable, "-m", "solara", "run"]
    assert "landsim.app:Page" in command and "--no-check-version" in command
    assert "--no-open" in command and "--production" in command
    env = app.server_environment(str(SCENARIOS / "baseline.toml"))
    assert env[app.SCENARIO_ENV] == str((SCENARIOS / "baseline.toml").resolve())
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["SOLARA_ASSETS_PROXY"] == "True"
    assert app.server_environment(None)[app.SCENARIO_ENV] == ""


def test_busy_port_is_a_usage_error():
    with closing(socket.create_server(("127.0.0.1", 0))) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(UsageError, match=f"127.0.0.1:{port}.*--port"):
            app.check_port("127.0.0.1", port)


def test_exit_codes():
    assert app.exit_code(0) == 0 and app.exit_code(1) == 1
    assert app.exit_code(-signal.SIGINT) == 0 and app.exit_code(-signal.SIGTERM) == 0
    assert app.exit_code(-signal.SIGKILL) == 128 + signal.SIGKILL


# --------------------------------------------------------------------------- the browser


def free_port() -> int:
    with closing(socket.create_server(("127.0.0.1", 0))) as sock:
        return sock.getsockname()[1]


def landsim_command() -> list[str]:
    """The installed ``landsim`` command (the module if the script is missing)."""
    script = Path(sys.executable).with_name("landsim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "landsim.cli"]


def wait_until_serving(server: subprocess.Popen, url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"landsim viz exited with code {server.returncode}; see {ARTIFACTS}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    pytest.fail(f"landsim viz did not serve {url} within {timeout:.0f} s")


def stop(server: subprocess.Popen) -> int:
    """SIGTERM to landsim (which stops its Solara server), then kill our group."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    return server.returncode


#: The scenario the browser test launches with, as a student would type it (relative
#: to the repository): it has a programme, so the farm view shows enrolment.
BROWSER_SCENARIO = "scenarios/tambopata_redd_cocoa.toml"


@pytest.fixture
def viz_server():
    """``landsim viz BROWSER_SCENARIO`` on a free port; yields (process, url, log path);
    always stopped."""
    if not CHROMIUM.exists():  # fail, never skip: CI installs it (.ci/run)
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = ARTIFACTS / "server.log"
    env = dict(os.environ)
    # Any asset missing from the local proxy would now fail at once instead of being
    # fetched from the internet (where there is internet): the page would break.
    env["SOLARA_ASSETS_CDN"] = "http://127.0.0.1:9/npm/"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*landsim_command(), "viz", BROWSER_SCENARIO, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,  # our own process group, to clean up after a failure
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_until_serving(server, url)
            yield server, url, log_path
        finally:
            stop(server)


def is_local(url: str, port: int) -> bool:
    if url.startswith(("data:", "blob:")):
        return True
    parsed = urlparse(url)
    return parsed.hostname in ("127.0.0.1", "localhost") and parsed.port == port


@pytest.mark.slow
def test_browser_view_steps_redraws_and_resets_offline(viz_server):
    from playwright.sync_api import expect, sync_playwright

    server, url, log_path = viz_server
    port = urlparse(url).port
    problems: list[str] = []
    sockets: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1500})
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "request",
                lambda r: None if is_local(r.url, port) else problems.append(f"left: {r.url}"),
            )
            page.on(
                "response",
                lambda r: (
                    problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None
                ),
            )
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
            page.on("websocket", lambda ws: sockets.append(ws.url))
            year = page.locator(".landsim-year")
            map_image = page.locator("img.landsim-map")
            plots = page.locator(".landsim-plot")
            step = page.get_by_role("button", name="Step")
            reset = page.get_by_role("button", name="Reset")

            # The page loads with the map, the four plots and the run card.
            page.goto(url)
            expect(step).to_be_enabled(timeout=60_000)
            expect(map_image).to_be_visible(timeout=30_000)
            expect(plots.locator("canvas")).to_have_count(len(app.TRAJECTORIES))
            expect(year).to_have_text("Year 0 of 30")
            run_card = page.locator(".landsim-run")
            expect(run_card).to_contain_text("tambopata_redd_cocoa")  # the launch scenario
            expect(run_card).to_contain_text("Tambopata REDD+ and cocoa agroforestry")
            page.screenshot(path=ARTIFACTS / "01-loaded.png", full_page=True)

            # Step: the year advances, the map and every plot are redrawn, quickly.
            map_before = map_image.get_attribute("src")
            plot_pixels = [p.screenshot() for p in plots.all()]
            durations = []
            for k in range(1, 4):
                start = time.perf_counter()
                step.click()
                expect(year).to_have_text(f"Year {k} of 30", timeout=10_000)
                durations.append(time.perf_counter() - start)
            assert map_image.get_attribute("src") != map_before
            after_pixels = [p.screenshot() for p in plots.all()]
            assert all(a != b for a, b in zip(plot_pixels, after_pixels, strict=True))
            print(f"step + redraw in the browser: {[round(d, 3) for d in durations]} s")
            assert statistics.median(durations) < 1.0, durations
            page.screenshot(path=ARTIFACTS / "02-stepped.png", full_page=True)

            # Another map view, without Reset.
            page.get_by_role("button", name="Farms").click()
            expect(page.locator(".landsim-legend")).to_contain_text("farm enrolled")
            page.screenshot(path=ARTIFACTS / "03-farms-view.png", full_page=True)
            page.get_by_role("button", name="Land cover").click()
            expect(page.locator(".landsim-legend")).to_contain_text("primary forest")

            # Reset with nothing moved reproduces the launch scenario (no override).
            reset.click()
            expect(year).to_have_text("Year 0 of 30")
            expect(run_card).not_to_contain_text("(slider)")

            # Move a slider (keyboard on its knob), reset: the run uses the new value.
            cocoa = page.get_by_role("slider", name="Cocoa price (USD/kg)")
            expect(cocoa).to_have_attribute("aria-valuenow", "2")
            cocoa.focus()
            for _ in range(5):
                cocoa.press("ArrowRight")
            expect(cocoa).to_have_attribute("aria-valuenow", "2.5")
            expect(page.locator(".landsim-pending")).to_contain_text("cocoa price 2.5")
            step.click()
            expect(year).to_have_text("Year 1 of 30")
            reset.click()
            expect(year).to_have_text("Year 0 of 30")
            expect(run_card).to_contain_text("2.5 USD/kg (slider)")
            page.screenshot(path=ARTIFACTS / "04-slider-reset.png", full_page=True)

            # A bad seed gives a message, not a traceback.
            seed = page.get_by_label("Seed (whole number)")
            seed.fill("forty-two")
            seed.press("Enter")
            reset.click()
            expect(page.get_by_text("The seed must be a whole number")).to_be_visible()
            expect(year).to_have_text("Year 0 of 30")
            page.screenshot(path=ARTIFACTS / "05-bad-seed.png", full_page=True)

            # Play runs to the last year, then Step is disabled.
            page.get_by_role("button", name="▶").click()
            expect(year).to_have_text("Year 30 of 30", timeout=60_000)
            expect(step).to_be_disabled()
            page.screenshot(path=ARTIFACTS / "06-played.png", full_page=True)
        finally:
            browser.close()

    assert stop(server) == 0  # SIGTERM stops landsim viz and its server cleanly
    log = log_path.read_text()
    assert "Traceback" not in log and "Could not load URL" not in log, log
    assert sockets and all(is_local(url, port) for url in sockets), sockets
    assert problems == []


# --------------------------------------------------------------------------- the browser, more

#: Contrast of text against what is behind it (WCAG ratio) and the luminance of the
#: effective background (the first ancestor with an opaque background).
CONTRAST_JS = """
(el) => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const background = (e) => {
    for (; e; e = e.parentElement) {
      const v = parse(getComputedStyle(e).backgroundColor);
      if (v.length === 3 || (v.length === 4 && v[3] > 0.5)) return v;
    }
    return [255, 255, 255];
  };
  const lum = (v) => {
    const [r, g, b] = v.slice(0, 3).map((x) => {
      x /= 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const fg = lum(parse(getComputedStyle(el).color));
  const bg = lum(background(el));
  return [(Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05), bg];
}
"""


@pytest.fixture(scope="module")
def shared_viz():
    """One ``landsim viz BROWSER_SCENARIO`` and one Chromium for the tests below (each
    test opens its own page, which is a session of its own); yields (browser, url)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = dict(os.environ, SOLARA_ASSETS_CDN="http://127.0.0.1:9/npm/")
    log_path = ARTIFACTS / "server-shared.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*landsim_command(), "viz", BROWSER_SCENARIO, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_until_serving(server, url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
                )
                try:
                    yield browser, url
                finally:
                    browser.close()
        finally:
            stop(server)
    log = log_path.read_text()
    assert "Traceback" not in log and "Could not load URL" not in log, log


def open_page(shared_viz, **context):
    """A fresh page of the view, loaded (Step enabled, Year 0); its page errors and
    console errors are collected in ``page.problems``."""
    from playwright.sync_api import expect

    browser, url = shared_viz
    page = browser.new_context(viewport={"width": 1280, "height": 1500}, **context).new_page()
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on(
        "console",
        lambda m: page.problems.append(f"console: {m.text}") if m.type == "error" else None,
    )
    page.goto(url)
    expect(page.get_by_role("button", name="Step")).to_be_enabled(timeout=60_000)
    expect(page.locator(".landsim-year")).to_have_text("Year 0 of 30", timeout=30_000)
    return page


def set_slider(page, name, presses: int, key: str = "ArrowRight"):
    """Move a slider (found by its label) by ``presses`` steps with the keyboard."""
    slider = page.get_by_role("slider", name=name)
    slider.focus()
    for _ in range(presses):
        slider.press(key)
    return slider


def pick_scenario(page, name: str):
    page.get_by_label("Scenario").click(force=True)
    page.get_by_role("option", name=name, exact=True).click()


@pytest.mark.slow
def test_browser_play_with_a_render_interval_stops_at_the_last_year(shared_viz):
    """Render interval above 1, Play: the run ends at year 30, finished, no error."""
    from playwright.sync_api import expect

    page = open_page(shared_viz)
    # 3 presses: 4 years per redraw here (7 in Mesa's own slider); 30 is a multiple of neither.
    set_slider(page, re.compile("Render interval", re.I), 3)
    page.get_by_role("button", name="▶").click()
    expect(page.locator(".landsim-year")).to_have_text("Year 30 of 30", timeout=90_000)
    expect(page.locator(".landsim-run")).to_contain_text("the run is finished")
    expect(page.get_by_text("error in step")).to_have_count(0)
    expect(page.get_by_role("button", name="Step")).to_be_disabled()
    page.screenshot(path=ARTIFACTS / "10-render-interval.png", full_page=True)
    assert page.problems == []
    page.context.close()


@pytest.mark.slow
def test_browser_offers_no_thread_switch_and_plays_safely(shared_viz):
    """Threads stepped the model while the plots read it: the switch is gone."""
    from playwright.sync_api import expect

    page = open_page(shared_viz)
    expect(page.get_by_text(re.compile("use threads", re.I))).to_have_count(0)
    expect(page.get_by_role("checkbox")).to_have_count(0)
    set_slider(page, re.compile("Play interval", re.I), 10, "ArrowLeft")  # as fast as it goes
    page.get_by_role("button", name="▶").click()
    expect(page.locator(".landsim-year")).to_have_text("Year 30 of 30", timeout=90_000)
    expect(page.get_by_text("Traceback")).to_have_count(0)
    expect(page.locator(".landsim-plot canvas")).to_have_count(len(app.TRAJECTORIES))
    assert page.problems == []
    page.context.close()


@pytest.mark.slow
def test_browser_is_readable_with_a_dark_system_preference(shared_viz):
    from playwright.sync_api import expect

    page = open_page(shared_viz, color_scheme="dark")
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    expect(page.locator(".landsim-plot")).to_have_count(len(app.TRAJECTORIES))
    labels = page.locator(".v-slider__thumb-label")
    expect(labels).to_have_count(len(app.CONTROLS) + 2)  # the sliders and the two intervals
    checked = [*labels.all(), page.locator(".landsim-year"), page.locator(".landsim-legend")]
    checked += page.locator(".landsim-run td").all()[:4]
    for element in checked:
        contrast, _ = element.evaluate(CONTRAST_JS)
        assert contrast >= 4.5, (element.inner_text(), contrast)
    for plot in page.locator(".landsim-plot").all():  # plot text is dark: its ground is light
        _, ground = plot.evaluate(CONTRAST_JS)
        assert ground > 0.8
    page.screenshot(path=ARTIFACTS / "11-dark-preference.png", full_page=True)
    page.context.close()


@pytest.mark.slow
def test_browser_sliders_follow_the_picked_scenario_and_take_any_value(shared_viz):
    from playwright.sync_api import expect

    page = open_page(shared_viz)  # launched with Tambopata: monitoring 0.8, cap 350
    monitoring = page.get_by_role("slider", name="Monitoring probability (0-1)")
    expect(monitoring).to_have_attribute("aria-valuenow", "0.8")
    pick_scenario(page, "caqueta_conservation_agreements")
    expect(monitoring).to_have_attribute("aria-valuenow", "0.7")
    expect(page.locator(".landsim-pending")).to_contain_text(
        "scenario caqueta_conservation_agreements"
    )
    cap = page.get_by_role("slider", name="Enrolment cap (farms)")
    expect(cap).to_have_attribute("aria-valuenow", "36")
    payment = page.get_by_role("slider", name="Forest payment (USD/ha/yr)")
    expect(payment).to_have_attribute("aria-valuenow", "20")
    page.get_by_role("button", name="Reset").click()
    run_card = page.locator(".landsim-run")
    expect(run_card).to_contain_text("caqueta_conservation_agreements, as written")
    expect(run_card).not_to_contain_text("(slider)")
    # 0.8, where the slider stood for the launch scenario, is a value like any other.
    set_slider(page, "Monitoring probability (0-1)", 2)
    expect(monitoring).to_have_attribute("aria-valuenow", "0.8")
    pending = page.locator(".landsim-pending")
    expect(pending).to_have_text("Press Reset to apply: monitoring probability 0.8.")
    page.get_by_role("button", name="Reset").click()
    expect(pending).to_have_count(0)
    expect(run_card).to_contain_text("0.8 (slider)")
    expect(run_card).to_contain_text("changed by the sliders (monitoring probability 0.8)")
    page.screenshot(path=ARTIFACTS / "12-picked-scenario.png", full_page=True)
    assert page.problems == []
    page.context.close()


@pytest.mark.slow
def test_browser_run_card_describes_the_added_teaching_programme(shared_viz):
    from playwright.sync_api import expect

    page = open_page(shared_viz)
    pick_scenario(page, app.EMBEDDED)
    payment = set_slider(page, "Forest payment (USD/ha/yr)", 4)
    expect(payment).to_have_attribute("aria-valuenow", "20")
    expect(page.locator(".landsim-pending")).to_contain_text("forest payment 20")
    page.get_by_role("button", name="Reset").click()
    for k in (1, 2):
        page.get_by_role("button", name="Step").click()
        expect(page.locator(".landsim-year")).to_have_text(f"Year {k} of 30")
    run_card = page.locator(".landsim-run")
    expect(run_card).to_contain_text("farms enrolled now")
    headline = run_card.locator("p").first
    expect(headline).to_contain_text("teaching programme is added")
    expect(headline).not_to_contain_text(re.compile(r"^[^“]*no incentive scheme"))
    expect(run_card).to_contain_text("Farm income in year 2: mean")
    page.screenshot(path=ARTIFACTS / "13-teaching-programme.png", full_page=True)
    page.context.close()


def layout(page) -> list[dict]:
    boxes = [page.locator(".landsim-run").bounding_box()]
    boxes += [plot.bounding_box() for plot in page.locator(".landsim-plot").all()]
    return [{k: round(v) for k, v in box.items()} for box in boxes]


@pytest.mark.slow
def test_browser_dragging_on_the_map_keeps_the_layout(shared_viz):
    page = open_page(shared_viz)
    image = page.locator("img.landsim-map")
    before = layout(page)
    box = image.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 350, y + 500, steps=15)
    page.mouse.up()
    page.wait_for_timeout(800)
    assert layout(page) == before
    assert image.bounding_box() == box
    page.context.close()


def hover_until(page, plot, text: str, year: int, tries: int = 10) -> None:
    """Hover over ``year`` of ``plot`` until its hover box shows ``text`` (a redraw
    after a step may close the box)."""
    grid = app.CHART_GRID
    for attempt in range(tries):
        box = plot.bounding_box()
        inner = box["width"] - grid["left"] - grid["right"]
        x = box["x"] + grid["left"] + inner * year / 30 + attempt % 3
        page.mouse.move(x, box["y"] + box["height"] * 0.6)
        hover = plot.get_by_text(text).first
        try:
            hover.wait_for(state="visible", timeout=1_000)
            return
        except Exception:
            page.mouse.move(0, 0)
    raise AssertionError(f"no hover box with {text!r} over year {year} of the plot")


@pytest.mark.slow
def test_browser_gives_an_instructor_what_the_lab_needs(shared_viz):
    """Year and scale on the map, hover values, a clicked farm, the CSV, the previous
    run, the About panel; and none of Mesa's controls that mean nothing here."""
    from playwright.sync_api import expect

    page = open_page(shared_viz)
    step = page.get_by_role("button", name="Step")
    expect(page.get_by_text("Page 0")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"^Time:"))).to_have_count(0)

    # The year on the map and a scale bar.
    expect(page.locator(".landsim-map-year")).to_have_text("Year 0")
    for k in (1, 2, 3):
        step.click()
        expect(page.locator(".landsim-year")).to_have_text(f"Year {k} of 30")
    expect(page.locator(".landsim-map-year")).to_have_text("Year 3")
    expect(page.locator(".landsim-scale-label")).to_have_text("2 km")
    expect(page.locator(".landsim-run")).to_contain_text("Farm income in year 3: mean")
    legend = page.locator(".landsim-legend")
    expect(legend).to_contain_text("road")

    # Hover values on a plot.
    plot = page.locator(".landsim-plot").first
    hover_until(page, plot, "primary forest", year=2)

    # A click on a farm shows that farm.
    model = app.TeachingModel(**picked_arguments("tambopata_redd_cocoa"))
    ls = model.landscape
    rows, cols = np.nonzero(ls.owner >= 0)
    row, col = rows[len(rows) // 2], cols[len(rows) // 2]
    farm = int(ls.owner[row, col])
    image = page.locator("img.landsim-map").bounding_box()
    page.mouse.click(
        image["x"] + (col + 0.5) / ls.shape[1] * image["width"],
        image["y"] + (row + 0.5) / ls.shape[0] * image["height"],
    )
    card = page.locator(".landsim-farm")
    expect(card).to_contain_text(f"Farm {farm} ")
    for words in ("primary forest", "Savings", "Net income", "Programme:"):
        expect(card).to_contain_text(words)
    expect(legend).to_contain_text("the farm you clicked")
    page.screenshot(path=ARTIFACTS / "14-farm.png", full_page=True)

    # The yearly table as CSV.
    with page.expect_download() as download:
        page.get_by_text("Download the yearly table (CSV)").click()
    assert download.value.suggested_filename.endswith("-year3.csv")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("year,") and len(text.splitlines()) == 1 + 4

    # Reset: the run just made stays on the plots, faint, to compare with the next.
    page.get_by_role("button", name="Reset").click()
    expect(page.locator(".landsim-year")).to_have_text("Year 0 of 30")
    expect(page.get_by_text("Faint dashed lines: the previous run")).to_contain_text("to year 3")
    step.click()
    expect(page.locator(".landsim-year")).to_have_text("Year 1 of 30")
    hover_until(page, plot, f"({app.PREVIOUS})", year=1)

    # The About panel opens the model description and the lab.
    page.get_by_role("button", name="The guided lab").click()
    expect(page.get_by_text("Guided lab: a forest frontier in the browser")).to_be_visible()
    page.get_by_role("button", name="Close").click()
    page.get_by_role("button", name="The model (ODD description)").click()
    expect(page.locator(".v-dialog--active")).to_contain_text("ODD protocol")
    page.screenshot(path=ARTIFACTS / "15-about.png", full_page=True)
    assert page.problems == []
    page.context.close()
