"""The page: the sidebar (Mesa's ``ModelController``, the scenario picker, the
seed, the sliders) and the main area, laid out with Solara."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import solara
from mesa.visualization.solara_viz import ModelController

from landsim.scenario import ScenarioError, load_scenario

#: Environment variable that carries the scenario file to the page ("" = embedded default).
from landsim.viz.cards import About, FarmCard, RunCard, TableDownload, describe_previous
from landsim.viz.controls import (
    CONTROLS,
    ViewerSetup,
    initial_arguments,
    make_model_params,
    slider_values,
)
from landsim.viz.maps import PAGE_CSS, LandscapeMap
from landsim.viz.plots import PLOT_COLUMNS, TRAJECTORIES, TrajectoryPlot, read_table
from landsim.viz.scenarios import SCENARIO_ENV, TITLE
from landsim.viz.teaching import TeachingModel

# --------------------------------------------------------------------------- the page


def read_launch_file() -> str | None:
    """The scenario file the server was started with (None: the embedded default)."""
    return os.environ.get(SCENARIO_ENV) or None


def describe_pending(settings: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
    """The settings changed since the run was built (which Reset would apply), in words;
    "" if none."""
    changes = []
    if settings.get("scenario_file") != inputs.get("scenario_file"):
        changes.append(f"scenario {settings.get('scenario_file')}")
    if str(settings.get("seed") or "").strip() != str(inputs.get("seed") or "").strip():
        changes.append(f"seed {settings.get('seed')}")
    for control in CONTROLS:
        new, old = settings.get(control.key), inputs.get(control.key)
        if new is not None and (old is None or not math.isclose(new, old, abs_tol=1e-9)):
            changes.append(f"{control.label.lower()} {new:g}")
    if not changes:
        return ""
    return "Press Reset to apply: " + ", ".join(changes) + "."


@solara.component
def ParameterInputs(
    model_params: Mapping[str, Any],
    settings: solara.Reactive[dict[str, Any]],
    inputs: Mapping[str, Any],
) -> None:
    """The scenario picker, the seed field and the sliders, bound to ``settings``.

    Picking a scenario puts every slider where that scenario has its parameter, so
    the sliders always show what a Reset would run; what differs from the run's
    ``inputs`` is listed as waiting for Reset.
    """
    setup: ViewerSetup = model_params["setup"]
    problem, set_problem = solara.use_state(None)

    def change(name, value):
        settings.value = {**settings.value, name: value}

    def pick(name):
        try:
            values = slider_values(load_scenario(setup.files.get(name)))
            set_problem(None)
        except ScenarioError as exc:
            values = {}
            set_problem(f"This scenario is not valid ({exc}).")
        settings.value = {**settings.value, "scenario_file": name, **values}

    picker = model_params["scenario_file"]
    solara.Select(
        picker["label"],
        values=picker["values"],
        value=settings.value["scenario_file"],
        on_value=pick,
    )
    solara.InputText(
        model_params["seed"]["label"],
        value=str(settings.value["seed"]),
        on_value=lambda text: change("seed", text),
    )
    for control in CONTROLS:
        slider = solara.SliderInt if control.integer else solara.SliderFloat
        kind = int if control.integer else float
        slider(
            control.full_label,
            value=kind(settings.value[control.key]),
            min=kind(control.minimum),
            max=kind(control.maximum),
            step=kind(control.step),
            on_value=lambda value, key=control.key: change(key, value),
        )
    # Messages come last: an element shown above the sliders would rebuild them (and
    # take the keyboard focus from a slider being moved).
    pending = describe_pending(settings.value, inputs)
    if pending:
        solara.Text(pending, classes=["landsim-pending"], style={"font-size": "13px"})
    if problem:
        solara.Error(problem)


@solara.component
def Page():
    """The page for the scenario in ``LANDSIM_VIZ_SCENARIO``.

    Mesa's ``ModelController`` steps, plays and resets the model; the rest is laid
    out here rather than by ``SolaraViz``, whose draggable grid, page tabs, step
    counter, thread switch and fire-and-forget parameter inputs do not fit this
    model (see the module docstring).
    """
    model_params = solara.use_memo(lambda: make_model_params(read_launch_file()), [])
    first = solara.use_memo(lambda: TeachingModel(**initial_arguments(model_params)), [])
    model = solara.use_reactive(first)
    settings = solara.use_reactive(initial_arguments(model_params))
    play_interval = solara.use_reactive(100)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)  # the page reads the model between steps
    selected, set_selected = solara.use_state(None)
    runs = solara.use_ref({"current": first, "previous": None})

    current = model.value
    if runs.current["current"] is not current:  # Reset: the old run becomes the previous one
        old = runs.current["current"]
        if old is not None and old.year > 0:
            runs.current["previous"] = old
        runs.current["current"] = current
    previous = runs.current["previous"]
    solara.use_effect(lambda: set_selected(None), [id(current)])  # a new run: no farm picked
    previous_table = solara.use_memo(
        lambda: None if previous is None else read_table(previous)[["year", *PLOT_COLUMNS]],
        dependencies=[id(previous)],
    )

    solara.Title("landsim")
    solara.Style(PAGE_CSS)
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar(), solara.Column():
        with solara.Card("Controls"):
            solara.SliderInt(
                "Play interval (ms between years)",
                value=play_interval,
                min=0,
                max=500,
                step=10,
            )
            solara.SliderInt(
                "Render interval (years per redraw)", value=render_interval, min=1, max=10
            )
            ModelController(
                model,
                model_parameters=settings,
                play_interval=play_interval,
                render_interval=render_interval,
                use_threads=use_threads,
            )
        with solara.Card("Model parameters"):
            ParameterInputs(model_params, settings, current.inputs)
        with solara.Card("About"):
            About()
    with solara.Column(style={"padding": "8px"}):
        with solara.Columns([3, 2]):
            with solara.Card():
                LandscapeMap(current, selected, set_selected)
            with solara.Column():
                with solara.Card():
                    RunCard(current)
                with solara.Card("Farm"):
                    FarmCard(current, selected)
        # Always there (empty before a first Reset), so the plots below are never rebuilt.
        solara.Text(describe_previous(previous), style={"font-size": "13px"})
        with solara.Columns([1, 1]):
            for spec in TRAJECTORIES[:2]:
                with solara.Card():
                    TrajectoryPlot(current, spec, previous_table)
        with solara.Columns([1, 1]):
            for spec in TRAJECTORIES[2:]:
                with solara.Card():
                    TrajectoryPlot(current, spec, previous_table)
        TableDownload(current)
