"""The browser view (``landsim viz``, ``landsim.app``).

Fast tests of the parts that need no browser (seeds, scenario listing, sliders
and their scenario overrides, the Mesa Reset path, drawing, launching); a slow
test that the claims of the guided lab (docs/teaching.md) still hold; and a slow
test that starts the real ``landsim viz`` command and drives Debian's Chromium
with Playwright. Its screenshots and the server's log are saved in
``test-artifacts/viz/`` (gitignored; ``LANDSIM_TEST_ARTIFACTS`` moves it).
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
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


def test_picking_a_scenario_runs_it_as_written():
    model = app.TeachingModel(**default_arguments(scenario_file="carbon_price_high"))
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
    """SolaraViz's Reset: Mesa adds its own scenario object, which is ignored."""
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
    model = app.TeachingModel(**default_arguments(scenario_file="tambopata_redd_cocoa"))
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
        row, col = np.argwhere(cover == code)[0]
        pixel = image[row * factor + 1, col * factor + 1]
        assert tuple(pixel) == tuple(app.to_rgb(app.COVER_STYLE[Cover(code)][0]))
    assert [label for _, label in legend.entries][:5] == [s[1] for s in app.COVER_STYLE.values()]


def test_farm_view_shows_enrolment_and_boundaries(stepped_model):
    image, legend = app.draw_map(stepped_model, "Farms")
    labels = [label for _, label in legend.entries]
    assert "farm enrolled in a programme" in labels and "farm boundary" in labels
    colours = {tuple(c) for c in np.unique(image.reshape(-1, 3), axis=0)}
    assert tuple(app.to_rgb(app.BOUNDARY_STYLE[0])) in colours
    assert tuple(app.to_rgb(app.FARM_STYLE["enrolled"][0])) in colours


@pytest.mark.parametrize("spec", app.TRAJECTORIES, ids=lambda s: s.title)
def test_plots_are_valid_svg_with_every_series(stepped_model, spec):
    svg = app.draw_trajectory(stepped_model.yearly_table(), spec, stepped_model.params.years)
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert spec.title in texts and "year" in texts
    for _, label, _ in spec.lines:
        assert label in texts
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) >= len(spec.lines) - 1  # income has no line at year 0 only


def test_plot_of_the_initial_year_only(stepped_model):
    table = stepped_model.yearly_table().iloc[:1]
    for spec in app.TRAJECTORIES:
        ET.fromstring(app.draw_trajectory(table, spec, 30))  # NaN incomes: no error


def test_run_card_names_scenario_year_seed_and_overrides():
    model = app.TeachingModel(**default_arguments(seed="9", **{"markets.cocoa.mean": 3.0}))
    model.run_for(2)
    card = app.describe_run(model)
    assert "Year 2 of 30" in card and "seed 9" in card and "default (embedded)" in card
    assert "markets.cocoa.mean" in card and "(slider)" in card
    assert "No incentive programme" in card
    ET.fromstring(card)  # well-formed


# --------------------------------------------------------------------------- the lab


def run_lab(scenario_file=None, **controls) -> dict:
    """A 30-year run as a student does it in docs/teaching.md (seed 0)."""
    scenario = app.apply_controls(load_scenario(scenario_file), controls)
    model = app.LandUseModel(scenario, rng=0)
    model.run_for(scenario.years)
    table = model.yearly_table()
    return {
        "cleared": model.record["cumulative_deforestation_ha"],
        "cleared_1_10": table["deforestation_ha"].iloc[1:11].sum(),
        "cleared_11_30": table["deforestation_ha"].iloc[11:].sum(),
        "spent": sum(acc.spent_usd for acc in model.programmes.accounts),
        "cocoa_farms": model.record["adopters_cocoa_agroforestry"],
        "cocoa_ha": model.record["area_cocoa_agroforestry_ha"],
        "income": table["income_mean_usd"].iloc[1:].mean(),
        "table": table,
    }


@pytest.mark.slow
def test_the_lab_in_docs_teaching_still_holds():
    """The qualitative claims of docs/teaching.md (its numbers are for seed 0)."""
    pay = "programmes.forest_payment.usd_per_ha_per_year"
    detect = "programmes.detection_probability"
    default = run_lab()
    first = default["table"].iloc[[0, -1]]
    # 1: total forest grows while primary forest falls; most clearing early.
    assert first["forest_area_ha"].iloc[1] > first["forest_area_ha"].iloc[0]
    assert first["area_primary_forest_ha"].iloc[1] < first["area_primary_forest_ha"].iloc[0]
    assert 3000 < default["cleared"] < 5000
    # 2: cocoa price.
    cheap, dear = run_lab(**{"markets.cocoa.mean": 1.0}), run_lab(**{"markets.cocoa.mean": 4.0})
    assert cheap["cocoa_farms"] == 0 and dear["cocoa_farms"] >= 340
    assert dear["cleared"] < default["cleared"] < cheap["cleared"]
    assert dear["income"] > 3 * default["income"] > 3 * cheap["income"]
    boom = run_lab(SCENARIOS / "cocoa_boom_bust.toml")
    assert boom["cocoa_ha"] > 1.5 * default["cocoa_ha"]
    # 3: discount rate.
    patient = run_lab(**{"farmers.discount_rate": 0.05})
    impatient = run_lab(**{"farmers.discount_rate": 0.4})
    assert patient["cocoa_farms"] >= 340 and impatient["cocoa_farms"] < 20
    assert patient["income"] > 1.5 * default["income"] > 1.5 * impatient["income"]
    # 4: payments: less clearing, dearer hectares.
    p20, p40 = run_lab(**{pay: 20.0}), run_lab(**{pay: 40.0})
    assert p40["cleared"] < p20["cleared"] < default["cleared"] / 2
    per_ha = [p["spent"] / (default["cleared"] - p["cleared"]) for p in (p20, p40)]
    extra = (p40["spent"] - p20["spent"]) / (p20["cleared"] - p40["cleared"])
    assert per_ha[0] < per_ha[1] < extra
    # 5: monitoring: none is worst; perfect monitoring is not best, but cheaper.
    d0, d02, d1 = (run_lab(**{pay: 40.0, detect: d}) for d in (0.0, 0.2, 1.0))
    assert d02["cleared"] < d1["cleared"] < d0["cleared"]
    assert d1["spent"] < d02["spent"] < d0["spent"]
    # 7: Tambopata: hardly any clearing under contract, clearing returns after.
    tambopata = run_lab(SCENARIOS / "tambopata_redd_cocoa.toml")
    assert tambopata["cleared_1_10"] < 0.05 * default["cleared_1_10"]
    assert tambopata["cleared_11_30"] > 0.8 * default["cleared_11_30"]
    high = run_lab(SCENARIOS / "tambopata_redd_cocoa.toml", **{"markets.carbon.values": 25.0})
    assert high["spent"] == pytest.approx(5_500_000) and high["cleared_1_10"] < 20


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
            expect(plots.locator("svg")).to_have_count(len(app.TRAJECTORIES))
            expect(year).to_have_text("Year 0 of 30")
            run_card = page.locator(".landsim-run")
            expect(run_card).to_contain_text("tambopata_redd_cocoa")  # the launch scenario
            expect(run_card).to_contain_text("Tambopata REDD+ and cocoa agroforestry")
            page.screenshot(path=ARTIFACTS / "01-loaded.png", full_page=True)

            # Step: the year advances, the map and every plot are redrawn, quickly.
            map_before = map_image.get_attribute("src")
            plot_svgs = [p.inner_html() for p in plots.all()]
            durations = []
            for k in range(1, 4):
                start = time.perf_counter()
                step.click()
                expect(year).to_have_text(f"Year {k} of 30", timeout=10_000)
                durations.append(time.perf_counter() - start)
            expect(page.get_by_text("Time: 3.0")).to_be_visible()
            assert map_image.get_attribute("src") != map_before
            after_svgs = [p.inner_html() for p in plots.all()]
            assert all(a != b for a, b in zip(plot_svgs, after_svgs, strict=True))
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
