"""The browser view for students: ``landsim viz`` (Mesa and Solara).

:func:`launch` serves the page ``landsim.app:Page`` with ``solara run`` in a child
process on localhost, passing the scenario file in the environment variable
``LANDSIM_VIZ_SCENARIO``, and blocks until Ctrl-C. The page:

- the sidebar holds Mesa's ``ModelController`` (Reset, Play, Step) with its play
  and render intervals, a picker for the shipped scenarios, a seed field, sliders
  for the parameters students explore (cocoa price, carbon price, payment per ha of
  forest, enrolment cap, monitoring, discount rate) and an About panel that opens
  the model description (docs/ODD.md) and the guided lab (docs/teaching.md);
- the main area holds a map of the landscape (land cover, with switchable views of
  carbon, soil fertility and farms; roads, the year and a scale bar; a click on a
  farm selects it), a card on the run (what runs, the year, indicators, farm
  income, the value each slider's parameter has in this run, messages), a card on
  the selected farm, line plots of forest area, yearly deforestation, carbon stock
  and farm income with hover values (Solara's ECharts component, served locally),
  on which the previous run stays as faint dashed lines, and a download of the
  yearly table as CSV.

Sliders are named by scenario key paths, as in the TOML files (one vocabulary;
see :data:`CONTROLS`); programme keys are written as in a ``[[programmes]]``
table (``programmes.enrolment_cap``) and apply to every programme of the
scenario. Picking a scenario puts every slider where that scenario has its
parameter (:meth:`Control.slider_value`); a slider left there changes nothing
(the scenario runs as written), any other value overrides the scenario. In a
scenario without a programme, moving a programme slider adds
:func:`teaching_programme` (a payment per ha of standing forest with a
no-clearing obligation). As everywhere in Mesa, new slider values, a new scenario
or a new seed take effect on Reset.

The page is laid out here rather than by Mesa's ``SolaraViz``: its draggable grid
rearranged the page when students dragged on the map, its page tabs and step
counter ("Page 0", "Time: 30.0") mean nothing here, its "Use Threads" switch let
the plots read the model in the middle of a step, its parameter inputs cannot be
moved by the scenario picker, and its theme switch follows a dark system
preference that the app's fixed colours do not suit (the page stays light).
Mesa's own controller still steps the model: a step past the last year does
nothing (:meth:`TeachingModel.step`), so its render interval is safe; the model
steps under a lock that the page holds while reading it.

The map is drawn from the model's numpy rasters straight into a PNG (one square
of pixels per cell; about 17 ms per view at the default size, measured here), shown
by a small Vue component (``app_map.vue``) that reports where it was clicked; Mesa's
space renderer has no click events. No Mesa grid is built (``model.grid`` stays
unbuilt). The model never imports this
module (the Mesa convention); this module imports the model.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import PIL.Image
import solara
from matplotlib import colormaps
from mesa.experimental.scenarios import Scenario as MesaScenario
from mesa.visualization import Slider
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import update_counter

from landsim.landscape import Cover
from landsim.model import LandUseModel
from landsim.scenario import Scenario, ScenarioError, load_scenario

#: Environment variable that carries the scenario file to the page ("" = embedded default).
SCENARIO_ENV = "LANDSIM_VIZ_SCENARIO"
#: The picker's name for the scenario embedded in the package.
EMBEDDED = "default (embedded)"
TITLE = "landsim: land use at a forest frontier"


def find_scenario_dir() -> Path | None:
    """Where the shipped scenarios are, or None.

    ``landsim/scenarios`` if a wheel packages them there, else the ``scenarios``
    directory of the source checkout this module runs from (an editable install).
    Without either, the picker offers the embedded default only.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "scenarios", here.parents[1] / "scenarios"):
        if candidate.is_dir():
            return candidate
    return None


#: The shipped scenarios (see :func:`find_scenario_dir`).
SCENARIO_DIR = find_scenario_dir()

# --------------------------------------------------------------------------- seeds


class SeedError(ValueError):
    """A seed typed in the browser is not a whole number >= 0."""


def parse_seed(text: str | int | None) -> int | None:
    """The seed from the seed field (which delivers text).

    Parameters
    ----------
    text : str, int or None
        What the field holds; blank or None means the scenario's own seed.

    Returns
    -------
    int or None

    Raises
    ------
    SeedError
        With a message for students, if ``text`` is not a whole number >= 0.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, bool):
        raise SeedError(f"The seed must be a whole number such as 42 (got {text!r}).")
    try:
        seed = int(str(text).strip())
    except ValueError:
        raise SeedError(
            f"The seed must be a whole number such as 42 (got {str(text).strip()!r})."
        ) from None
    if seed < 0:
        raise SeedError(f"The seed must be 0 or more (got {seed}).")
    return seed


# --------------------------------------------------------------------------- scenarios


def find_scenario_files(directory: Path | None = SCENARIO_DIR) -> dict[str, Path]:
    """The scenario files of ``directory`` by name (file stem), sorted; {} if absent."""
    if directory is None or not directory.is_dir():
        return {}
    return {path.stem: path for path in sorted(directory.glob("*.toml"))}


def list_scenario_choices(
    launch_file: str | None, directory: Path | None = SCENARIO_DIR
) -> tuple[dict[str, str | None], str]:
    """The picker's entries and the one to start with.

    Parameters
    ----------
    launch_file : str or None
        The scenario ``landsim viz`` was given (None: the embedded default).
    directory : Path or None
        Where the shipped scenarios are.

    Returns
    -------
    choices : dict of str to (str or None)
        Name shown in the picker to scenario file (None: the embedded default):
        the embedded default, the launch file if it is not a shipped one, then the
        shipped scenarios.
    start : str
        The name of the launch scenario.
    """
    shipped = {name: str(path) for name, path in find_scenario_files(directory).items()}
    choices: dict[str, str | None] = {EMBEDDED: None}
    if launch_file is None:
        return choices | shipped, EMBEDDED
    launch = Path(launch_file).resolve()
    for name, path in shipped.items():
        if Path(path).resolve() == launch:
            return choices | shipped, name
    start = launch.stem if launch.stem not in shipped else str(launch_file)
    choices[start] = str(launch)
    return choices | shipped, start


# --------------------------------------------------------------------------- sliders


def scale_distribution(dist: Mapping[str, Any], mean: float) -> dict[str, Any]:
    """A farmer distribution (as plain data) rescaled to a new mean.

    Every parameter in the unit of the variable is multiplied by the same factor,
    so the relative spread among farmers (the coefficient of variation) is kept
    and a positive variable stays positive.
    """
    dist = dict(dist)
    kind = dist.get("dist", "constant")
    old = {
        "constant": lambda: dist["value"],
        "uniform": lambda: 0.5 * (dist["low"] + dist["high"]),
        "normal": lambda: dist["mean"],
        "lognormal": lambda: dist["mean"],
    }[kind]()
    if old == 0:
        return {"dist": "constant", "value": mean}
    factor = mean / old
    for key in ("value", "low", "high", "mean", "sd"):
        if dist.get(key) is not None:
            dist[key] = dist[key] * factor
    return dist


def teaching_programme(scenario: Scenario) -> dict[str, Any]:
    """The programme the programme sliders act on in a scenario that has none.

    A payment per ha of standing forest (primary or regrowth) on enrolled farms,
    at first zero, under a no-clearing obligation, over the whole run, open to
    every farm, with detected violators expelled; its budget is large enough
    never to bind in the shipped landscapes.
    """
    return {
        "name": "Teaching programme: payment per ha of standing forest",
        "start_year": 1,
        "end_year": scenario.years,
        "budget_usd": 100_000_000.0,
        "budget_usd_per_year": 10_000_000.0,
        "enrolment_cap": scenario.landscape.n_farms,
        "targeting": "first_come",
        "finance": "public",
        "detection_probability": 0.5,
        "expel_on_violation": True,
        "repay_on_violation": False,
        "obligations": {
            "no_clearing": True,
            "min_forest_share": 0.0,
            "min_sustainable_ha_per_40ha": 0.0,
            "grace_years": 0,
        },
        "forest_payment": {"usd_per_ha_per_year": 0.0},
    }


def read_nested(data: Mapping[str, Any], path: list[str]) -> Any:
    """``data[path[0]][path[1]]...``, or None where a table is absent."""
    node: Any = data
    for key in path:
        if node is None:
            return None
        node = node.get(key)
    return node


def write_nested(data: dict[str, Any], path: list[str], value: Any) -> None:
    """Set ``data[path[0]][path[1]]... = value``, creating absent tables."""
    node = data
    for key in path[:-1]:
        if node.get(key) is None:
            node[key] = {}
        node = node[key]
    node[path[-1]] = value


def list_programmes(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's programmes as plain data, or the teaching programme if none."""
    return [p.model_dump(mode="json") for p in scenario.programmes] or [
        teaching_programme(scenario)
    ]


def read_programme_value(scenario: Scenario, key: str) -> float:
    """The first programme's value of ``programmes.<path>`` (0 for an absent table)."""
    value = read_nested(list_programmes(scenario)[0], key.split(".")[1:])
    return 0.0 if value is None else float(value)


def override_programmes(scenario: Scenario, values: Mapping[str, float]) -> list[dict]:
    """The ``programmes`` list with ``values`` (by ``programmes.<path>``) set in each."""
    programmes = list_programmes(scenario)
    for programme in programmes:
        for key, value in values.items():
            write_nested(programme, key.split(".")[1:], value)
    return programmes


def read_cocoa_price(scenario: Scenario) -> float:
    """The long-run cocoa price (USD/kg)."""
    return scenario.markets.cocoa.mean


def override_cocoa_price(scenario: Scenario, value: float) -> dict[str, Any]:
    """The cocoa price level: where the price starts and reverts to.

    A scenario's explicit price path (a boom and bust) gives way to the
    stochastic price around this level.
    """
    return {
        "markets.cocoa.process": "ou",
        "markets.cocoa.initial": value,
        "markets.cocoa.mean": value,
    }


def read_carbon_price(scenario: Scenario) -> float:
    """The carbon price (USD/tCO2e): a path's last value, or the long-run mean."""
    carbon = scenario.markets.carbon
    return carbon.values[-1] if carbon.process == "path" else carbon.mean


def override_carbon_price(scenario: Scenario, value: float) -> dict[str, Any]:
    """A constant carbon price (a one-value path, which holds)."""
    return {"markets.carbon.process": "path", "markets.carbon.values": [value]}


def read_discount_rate(scenario: Scenario) -> float:
    """The farmers' mean discount rate (1/yr)."""
    return scenario.farmers.discount_rate.mean


def override_discount_rate(scenario: Scenario, value: float) -> dict[str, Any]:
    """The farmers' discount rates rescaled to mean ``value`` (see :func:`scale_distribution`)."""
    dist = scenario.farmers.discount_rate.model_dump(mode="json")
    return {"farmers.discount_rate": scale_distribution(dist, value)}


@dataclass(frozen=True)
class Control:
    """A slider: a scenario key path and how to show, read and apply it.

    Attributes
    ----------
    key : str
        The scenario key path, as in TOML files (``programmes.<key>`` applies to
        every programme).
    label : str
        What students see.
    unit : str
    minimum, maximum, step : float
    integer : bool
    read : callable or None
        ``read(scenario) -> float``: the scenario's value (None: a programme key).
    override : callable or None
        ``override(scenario, value) -> dict``: the ``with_overrides`` entries that
        apply ``value`` (None: a programme key).
    """

    key: str
    label: str
    unit: str
    minimum: float
    maximum: float
    step: float
    integer: bool = False
    read: Callable[[Scenario], float] | None = None
    override: Callable[[Scenario, float], dict[str, Any]] | None = None

    @property
    def is_programme(self) -> bool:
        return self.key.startswith("programmes.")

    def value_in(self, scenario: Scenario) -> float:
        """The value of this parameter in ``scenario``."""
        if self.is_programme:
            return read_programme_value(scenario, self.key)
        return self.read(scenario)

    @property
    def full_label(self) -> str:
        """The slider's label: what students see and its unit."""
        return f"{self.label} ({self.unit})"

    def slider_value(self, scenario: Scenario) -> float:
        """Where the slider stands for ``scenario``: its value, clipped to the range and
        rounded to the slider's step."""
        value = min(max(self.value_in(scenario), self.minimum), self.maximum)
        steps = round((value - self.minimum) / self.step)
        value = min(self.minimum + steps * self.step, self.maximum)
        return round(value) if self.integer else round(value, 10)

    def make_slider(self, value: float) -> Slider:
        """A Mesa slider starting at ``value`` (clipped to the range)."""
        value = min(max(value, self.minimum), self.maximum)
        kind = int if self.integer else float
        return Slider(
            label=self.full_label,
            value=kind(value),
            min=kind(self.minimum),
            max=kind(self.maximum),
            step=kind(self.step),
            dtype=kind,
        )


#: The sliders, in the order shown.
CONTROLS = (
    Control(
        "markets.cocoa.mean",
        "Cocoa price",
        "USD/kg",
        0.5,
        8.0,
        0.1,
        read=read_cocoa_price,
        override=override_cocoa_price,
    ),
    Control(
        "markets.carbon.values",
        "Carbon price",
        "USD/tCO2e",
        1.0,
        60.0,
        1.0,
        read=read_carbon_price,
        override=override_carbon_price,
    ),
    Control(
        "programmes.forest_payment.usd_per_ha_per_year",
        "Forest payment",
        "USD/ha/yr",
        0.0,
        100.0,
        5.0,
    ),
    Control("programmes.enrolment_cap", "Enrolment cap", "farms", 0, 500, 1, integer=True),
    Control(
        "programmes.detection_probability",
        "Monitoring probability",
        "0-1",
        0.0,
        1.0,
        0.05,
    ),
    Control(
        "farmers.discount_rate",
        "Discount rate, mean",
        "1/yr",
        0.02,
        0.5,
        0.005,
        read=read_discount_rate,
        override=override_discount_rate,
    ),
)
CONTROLS_BY_KEY = {control.key: control for control in CONTROLS}


def find_moved_controls(
    values: Mapping[str, float], starts: Mapping[str, float] | None
) -> dict[str, float]:
    """The slider values that differ from where the sliders started.

    With no ``starts``, every value counts as moved.
    """
    if starts is None:
        return dict(values)
    return {
        key: value
        for key, value in values.items()
        if key not in starts or not math.isclose(value, starts[key], rel_tol=1e-9, abs_tol=1e-12)
    }


def apply_controls(scenario: Scenario, values: Mapping[str, float]) -> Scenario:
    """``scenario`` with slider values (by key path) applied.

    Raises
    ------
    KeyError
        For a key that is not a slider's.
    ScenarioError
        If a value makes the scenario invalid.
    """
    overrides: dict[str, Any] = {}
    programme_values = {}
    for key, value in values.items():
        control = CONTROLS_BY_KEY[key]
        value = round(value) if control.integer else float(value)
        if control.is_programme:
            programme_values[key] = value
        else:
            overrides |= control.override(scenario, value)
    if programme_values:
        overrides["programmes"] = override_programmes(scenario, programme_values)
    if not overrides:
        return scenario
    return scenario.with_overrides(overrides, source=f"{scenario.source} (with sliders)")


@dataclass(frozen=True)
class ViewerSetup:
    """What the page fixes at launch (a fixed parameter of the model).

    Attributes
    ----------
    choices : tuple of (str, str or None)
        The picker's names and scenario files (None: the embedded default).
    """

    choices: tuple[tuple[str, str | None], ...]

    @property
    def files(self) -> dict[str, str | None]:
        return dict(self.choices)


def slider_values(scenario: Scenario) -> dict[str, float]:
    """Where every slider stands for ``scenario``, by key path."""
    return {control.key: control.slider_value(scenario) for control in CONTROLS}


def make_model_params(
    launch_file: str | None, directory: Path | None = SCENARIO_DIR
) -> dict[str, Any]:
    """The model's parameters for the page: picker, seed field, sliders, fixed setup.

    In Mesa's ``model_params`` form (``Slider`` objects and input dicts); the
    sliders start at the values of the launch scenario.

    Raises
    ------
    ScenarioError
        If the launch scenario is not valid.
    """
    scenario = load_scenario(launch_file)
    choices, start = list_scenario_choices(launch_file, directory)
    values = slider_values(scenario)
    sliders = {control.key: control.make_slider(values[control.key]) for control in CONTROLS}
    return {
        "scenario_file": {
            "type": "Select",
            "value": start,
            "values": list(choices),
            "label": "Scenario",
        },
        "seed": {"type": "InputText", "value": str(scenario.seed), "label": "Seed (whole number)"},
        **sliders,
        "setup": ViewerSetup(choices=tuple(choices.items())),
    }


def initial_arguments(model_params: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments the model is built from before anything is moved."""
    out = {}
    for name, param in model_params.items():
        if isinstance(param, Slider):
            out[name] = param.value
        elif isinstance(param, dict) and "type" in param:
            out[name] = param["value"]
        else:
            out[name] = param
    return out


# --------------------------------------------------------------------------- the model


class TeachingModel(LandUseModel):
    """A :class:`LandUseModel` built from the browser view's controls.

    Parameters
    ----------
    scenario : Scenario, path or None
        The scenario when ``scenario_file`` is not given (None: the embedded
        default). Mesa's own scenario object, which Mesa's Reset passes, is
        ignored: the landsim scenario comes from the picker.
    rng : int, numpy.random.Generator or None
        Overrides the seed field.
    setup : ViewerSetup, optional
        The picker's files.
    scenario_file : str, optional
        A name from ``setup.choices``.
    seed : str or int, optional
        The seed field; blank: the scenario's own seed.
    **controls : float
        Slider values by scenario key path (e.g. ``markets.cocoa.mean``). A value
        other than where the slider stands for the chosen scenario
        (:meth:`Control.slider_value`) overrides the scenario; a slider left where
        the scenario puts it changes nothing.

    Attributes
    ----------
    scenario_name : str
        The picker's name of the scenario run (or the scenario's own name).
    base : Scenario
        The chosen scenario as written, before the sliders.
    overridden : dict
        The slider values applied, by key path.
    notices : list of str
        Messages for the student (bad seed, invalid scenario), shown on the page.
    inputs : dict
        The picker, seed field and slider values the model was built from.
    lock : threading.RLock
        Held while the model steps; the page holds it while it reads the model, so
        that it never reads a year half-done.
    """

    def __init__(
        self,
        scenario=None,
        *,
        rng=None,
        setup: ViewerSetup | None = None,
        scenario_file: str | None = None,
        seed: str | int | None = None,
        **controls: float,
    ):
        unknown = sorted(set(controls) - set(CONTROLS_BY_KEY))
        if unknown:
            raise TypeError(f"unknown slider(s): {', '.join(unknown)}")
        self.notices: list[str] = []
        self.lock = threading.RLock()
        self.inputs = {"scenario_file": scenario_file, "seed": seed, **controls}
        if isinstance(scenario, MesaScenario):
            scenario = None
        self.base, self.scenario_name = self._choose_scenario(scenario, setup, scenario_file)
        moved = find_moved_controls(controls, slider_values(self.base))
        params, self.overridden = self._apply(self.base, moved)
        if rng is None:
            rng = self._read_seed(seed)
        if rng is None:  # a blank (or bad) seed field: the scenario's own seed
            rng = params.seed
        super().__init__(params, rng=rng)

    @property
    def finished(self) -> bool:
        """Whether the run has reached its last year."""
        return self.year >= self.params.years

    @property
    def adds_teaching_programme(self) -> bool:
        """Whether the sliders added :func:`teaching_programme` to a scenario without one."""
        return not self.base.programmes and bool(self.params.programmes)

    def step(self) -> None:
        """Simulate one year; past the last year, do nothing (the run is finished).

        Mesa's Play steps the model several times between redraws (its render
        interval) without checking whether the run has ended.
        """
        with self.lock:
            if self.finished:
                self.running = False
                return
            super().step()

    def _choose_scenario(self, scenario, setup, scenario_file) -> tuple[Scenario, str]:
        if scenario_file is not None:
            files = setup.files if setup else {}
            if scenario_file not in files:
                self.notices.append(
                    f"Unknown scenario {scenario_file!r}: running the embedded default."
                )
                return load_scenario(None), EMBEDDED
            scenario = files[scenario_file]
        try:
            loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        except ScenarioError as exc:
            self.notices.append(f"This scenario is not valid ({exc}): running the default.")
            return load_scenario(None), EMBEDDED
        return loaded, scenario_file or loaded.name

    def _apply(self, base: Scenario, moved: dict[str, float]) -> tuple[Scenario, dict]:
        try:
            return apply_controls(base, moved), moved
        except ScenarioError as exc:
            self.notices.append(f"The sliders give an invalid scenario ({exc}): ignored.")
            return base, {}

    def _read_seed(self, text) -> int | None:
        try:
            return parse_seed(text)
        except SeedError as exc:
            self.notices.append(f"{exc} Running with the scenario's seed instead.")
            return None


# --------------------------------------------------------------------------- the map

#: Land-cover colours and legend labels, by cover code.
COVER_STYLE = {
    Cover.PRIMARY_FOREST: ("#1b5e20", "primary forest"),
    Cover.SECONDARY_FOREST: ("#8bc34a", "regrowth (fallow)"),
    Cover.MONOCROP: ("#f5d76e", "annual crops"),
    Cover.COCOA_AGROFORESTRY: ("#8c510a", "cocoa agroforestry"),
    Cover.SILVOPASTURE: ("#e69f00", "silvopasture"),
}
#: Farm-view colours and legend labels.
FARM_STYLE = {
    "reserve": ("#b0b0b0", "reserve (unowned)"),
    "unowned": ("#e6e6e6", "unowned land"),
    "farm": ("#f3e5c0", "farm, not enrolled"),
    "enrolled": ("#43a047", "farm enrolled in a programme"),
    "expelled": ("#e53935", "farm expelled from a programme"),
}
BOUNDARY_STYLE = ("#303030", "farm boundary")
RESERVE_LINE_STYLE = ("#000000", "reserve boundary (dashed)")
ROAD_STYLE = ("#707070", "road")
SELECTED_STYLE = ("#d500f9", "the farm you clicked")
#: Continuous views: colour map and legend title.
SCALE_STYLE = {
    "Carbon": ("YlGn", "carbon stock, tC/ha (biomass + soil)"),
    "Soil fertility": ("YlOrBr_r", "soil fertility (1 = fresh forest soil)"),
}
VIEWS = ("Land cover", "Carbon", "Soil fertility", "Farms")
#: Largest side of the map image (pixels): cells are drawn as squares of whole pixels.
MAP_PIXELS = 600


@dataclass(frozen=True)
class Legend:
    """What a map view's colours mean.

    Attributes
    ----------
    entries : tuple of (colour, label)
        Categorical colours.
    scale : tuple of (colour map, low, high, title), or None
        A continuous colour scale.
    """

    entries: tuple[tuple[str, str], ...] = ()
    scale: tuple[str, float, float, str] | None = None


def to_rgb(colour: str) -> np.ndarray:
    """An ``#rrggbb`` colour as uint8 RGB."""
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)


def colour_scale(values: np.ndarray, cmap: str, low: float, high: float) -> np.ndarray:
    """``values`` as uint8 RGB through a matplotlib colour map over [low, high]."""
    unit = np.clip((values - low) / (high - low), 0.0, 1.0)
    return colormaps[cmap](unit, bytes=True)[..., :3]


def paint_cover(model: LandUseModel) -> tuple[np.ndarray, Legend]:
    """Land cover in categorical colours."""
    palette = np.array([to_rgb(COVER_STYLE[c][0]) for c in Cover])
    return palette[model.landscape.cover], Legend(entries=tuple(COVER_STYLE.values()))


def top_carbon_density(scenario: Scenario) -> float:
    """Carbon stock of a ha of primary forest at soil equilibrium (tC/ha)."""
    forest = scenario.forest
    biomass = forest.primary_agb_tc_per_ha * (1 + forest.root_shoot_ratio)
    return biomass + scenario.soil.soc_reference_tc_per_ha


def paint_carbon(model: LandUseModel) -> tuple[np.ndarray, Legend]:
    """Carbon stock per ha (biomass + soil)."""
    ls = model.landscape
    top = top_carbon_density(model.params)
    cmap, title = SCALE_STYLE["Carbon"]
    rgb = colour_scale(ls.biomass_tc_per_ha + ls.soc_tc_per_ha, cmap, 0.0, top)
    return rgb, Legend(scale=(cmap, 0.0, top, title))


def paint_fertility(model: LandUseModel) -> tuple[np.ndarray, Legend]:
    """Soil fertility (1 = fresh forest soil)."""
    cmap, title = SCALE_STYLE["Soil fertility"]
    threshold = model.params.monocrop.exhaustion_fertility
    title = f"{title}; annual-crop land below {threshold:g} is exhausted"
    rgb = colour_scale(model.landscape.fertility, cmap, 0.0, 1.0)
    return rgb, Legend(scale=(cmap, 0.0, 1.0, title))


def paint_farms(model: LandUseModel) -> tuple[np.ndarray, Legend]:
    """Farms by programme status (their boundaries are added by :func:`draw_map`)."""
    ls = model.landscape
    names = list(FARM_STYLE)
    kind = np.where(ls.protected, names.index("reserve"), names.index("unowned"))
    status = np.full(model.farmers.n, names.index("farm"))
    status[model.programmes.enrolled_any()] = names.index("enrolled")
    status[model.programmes.expelled_any()] = names.index("expelled")
    owned = ls.owner >= 0
    kind[owned] = status[ls.owner[owned]]
    palette = np.array([to_rgb(FARM_STYLE[name][0]) for name in names])
    shown = ["reserve", "unowned", "farm"] + (["enrolled", "expelled"] if model.programmes else [])
    entries = (*(FARM_STYLE[name] for name in shown), BOUNDARY_STYLE)
    return palette[kind], Legend(entries=entries)


PAINTERS = {
    "Land cover": paint_cover,
    "Carbon": paint_carbon,
    "Soil fertility": paint_fertility,
    "Farms": paint_farms,
}


def enlarge(layer: np.ndarray, factor: int) -> np.ndarray:
    """Each cell as a ``factor`` x ``factor`` block of pixels."""
    return np.repeat(np.repeat(layer, factor, axis=0), factor, axis=1)


def find_edges(labels: np.ndarray) -> np.ndarray:
    """Pixels whose right or lower neighbour has another label."""
    edge = np.zeros(labels.shape, dtype=bool)
    edge[:, :-1] |= labels[:, 1:] != labels[:, :-1]
    edge[:-1, :] |= labels[1:, :] != labels[:-1, :]
    return edge


def draw_roads(image: np.ndarray, road: np.ndarray, factor: int) -> None:
    """Draw the roads on ``image`` (in place): a line through the middle of every road
    cell, joined to the road cells beside it."""
    if factor < 3 or not road.any():
        return
    colour = to_rgb(ROAD_STYLE[0])
    width = max(1, factor // 3)
    low = (factor - width) // 2
    band = slice(low, low + width)
    height, cols = road.shape
    # (rows, columns, pixel row in the cell, pixel column in the cell, rgb): a view.
    cells = image.reshape(height, factor, cols, factor, 3).transpose(0, 2, 1, 3, 4)
    cells[:, :, band, band][road] = colour
    east = road[:, :-1] & road[:, 1:]  # a road cell and its eastern neighbour
    cells[:, :-1, band, low:][east] = colour
    cells[:, 1:, band, : low + width][east] = colour
    south = road[:-1, :] & road[1:, :]
    cells[:-1, :, low:, band][south] = colour
    cells[1:, :, : low + width, band][south] = colour


def erode(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` whose four neighbours are all in ``mask`` (outside counts as not)."""
    padded = np.pad(mask, 1)
    return mask & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]


def draw_map(
    model: LandUseModel, view: str = "Land cover", selected: int | None = None
) -> tuple[np.ndarray, Legend]:
    """The landscape in one of :data:`VIEWS` as an RGB image, and its legend.

    Each cell is a square of whole pixels (north at the top); roads are drawn as
    lines, the reserve boundary is dashed, in the farm view farm boundaries are
    drawn, and the boundary of the ``selected`` farm (if any) is highlighted.
    """
    rgb, legend = PAINTERS[view](model)
    ls = model.landscape
    factor = max(1, MAP_PIXELS // max(ls.shape))
    image = enlarge(rgb, factor)
    entries = list(legend.entries)
    if view == "Farms":
        owner = enlarge(ls.owner, factor)
        boundary = find_edges(owner) & (owner >= 0)
        image[boundary] = to_rgb(BOUNDARY_STYLE[0])
    if ls.road.any():
        draw_roads(image, ls.road, factor)
        entries.append(ROAD_STYLE)
    if ls.protected.any() and not ls.protected.all():
        rows, cols = np.indices(image.shape[:2])
        line = find_edges(enlarge(ls.protected, factor)) & ((rows + cols) // 6 % 2 == 0)
        image[line] = to_rgb(RESERVE_LINE_STYLE[0])
        entries.append(RESERVE_LINE_STYLE)
    if selected is not None and 0 <= selected < model.farmers.n:
        mine = enlarge(ls.owner == selected, factor)
        image[mine & ~erode(erode(mine))] = to_rgb(SELECTED_STYLE[0])
        entries.append(SELECTED_STYLE)
    return image, Legend(entries=tuple(entries), scale=legend.scale)


def encode_png(image: np.ndarray) -> bytes:
    """An RGB image as PNG bytes (fast compression: speed matters more than size)."""
    buffer = io.BytesIO()
    PIL.Image.fromarray(image).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def render_map(
    model: LandUseModel, view: str, selected: int | None = None
) -> tuple[bytes, Legend]:
    """The map in ``view`` as PNG bytes, and its legend."""
    image, legend = draw_map(model, view, selected)
    return encode_png(image), legend


def format_legend(legend: Legend) -> str:
    """The legend as HTML (coloured swatches, or a colour bar with its range)."""
    swatch = (
        '<span style="white-space:nowrap"><span style="display:inline-block;width:14px;'
        "height:14px;margin:0 4px 0 10px;vertical-align:middle;border:1px solid #777;"
        'background:{}"></span>{}</span> '
    )
    parts = [swatch.format(colour, html.escape(label)) for colour, label in legend.entries]
    if legend.scale is not None:
        cmap, low, high, title = legend.scale
        stops = ", ".join(
            "#{:02x}{:02x}{:02x}".format(*rgb)
            for rgb in colour_scale(np.linspace(low, high, 9), cmap, low, high)
        )
        parts.insert(
            0,
            f'<div>{html.escape(title)}</div><div style="display:flex;align-items:center;gap:6px">'
            f'<span>{low:g}</span><span style="flex:1;height:12px;border:1px solid #777;'
            f'background:linear-gradient(to right, {stops})"></span><span>{high:g}</span></div>',
        )
    style = "font-size:13px;line-height:22px"
    return f'<div class="landsim-legend" style="{style}">{"".join(parts)}</div>'


def describe_extent(model: LandUseModel) -> str:
    """The map's size and orientation in words."""
    height, width = model.landscape.shape
    side = model.landscape.cell_side_km
    text = f"{width * side:.3g} x {height * side:.3g} km, north at the top"
    if model.params.landscape.source == "synthetic":
        text += "; the main road runs along the southern edge, feeder roads run north from it"
    return text + "."


#: Page styles. The page is always in the light theme (the app draws in fixed
#: colours); the map shows cells as sharp squares; every slider shows its value
#: under its knob (Vuetify's sliders show it only while dragged, and students need
#: to see what they set before pressing Reset).
PAGE_CSS = """
.landsim-map-frame { width: 100%; max-width: 600px; }
.landsim-map-holder { position: relative; line-height: 0; }
.landsim-map { width: 100%; height: auto; image-rendering: pixelated; cursor: crosshair;
    user-select: none; }
.landsim-map-year { position: absolute; top: 6px; left: 6px; line-height: 1.3;
    background: rgba(255, 255, 255, 0.85); color: #111; padding: 1px 6px; border-radius: 3px;
    font-weight: bold; font-size: 14px; pointer-events: none; }
.landsim-scale { display: flex; align-items: center; gap: 6px; margin-top: 4px;
    font-size: 12px; color: #333; }
.landsim-scale-bar { height: 6px; border: 1px solid #222; border-top: none;
    background: repeating-linear-gradient(to right, #222 0 50%, #fff 50% 100%); }
.v-slider .v-slider__thumb-label-container { display: block !important; }
.v-slider .v-slider__thumb-label.primary {
    transform: translateX(-50%) translateY(24px) !important; background: transparent !important;
    color: #222 !important; width: auto !important; height: auto !important;
    border-radius: 0 !important; font-size: 12px; }
.v-slider .v-slider__thumb-label > * { transform: none !important; }
.v-input__slider { padding-bottom: 10px; }
.landsim-run td, .landsim-run th { padding: 2px 6px 2px 0; vertical-align: top; }
.landsim-key { font-family: monospace; font-size: 11px; color: #555; word-break: break-all; }
.landsim-finished { color: #1b5e20; }
.landsim-doc { max-height: 70vh; overflow-y: auto; }
"""


def choose_scale_bar(width_km: float) -> tuple[float, float]:
    """A round length for the scale bar (about a fifth of the map's width), in km, and
    the fraction of the map's width it spans."""
    target = width_km / 5
    if target <= 0:
        return 0.0, 0.0
    magnitude = 10 ** math.floor(math.log10(target))
    length = max(m * magnitude for m in (1, 2, 5) if m * magnitude <= target)
    return length, length / width_km


def format_km(length: float) -> str:
    """A length in km for the scale bar (metres below 1 km)."""
    return f"{length * 1000:g} m" if length < 1 else f"{length:g} km"


@solara.component_vue("app_map.vue")
def MapImage(
    src: str,
    year_label: str,
    scale_label: str,
    scale_percent: float,
    event_cell_clicked: Callable[[dict], None],
):
    """The map image with the year over it and a scale bar; reports clicks as
    fractions of the image's width and height."""


def find_clicked_cell(model: LandUseModel, click: Mapping[str, float]) -> tuple[int, int] | None:
    """The (row, column) of the cell at a click given as fractions of the map's size."""
    height, width = model.landscape.shape
    try:
        x, y = float(click["x"]), float(click["y"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (0 <= x <= 1 and 0 <= y <= 1):
        return None
    return min(int(y * height), height - 1), min(int(x * width), width - 1)


@solara.component
def LandscapeMap(model: TeachingModel, selected: int | None, on_select: Callable):
    """The map with a switch between :data:`VIEWS` (no Reset needed to switch).

    Clicking a cell selects the farm that owns it (``on_select(farm id or -1)``).
    """
    update_counter.get()
    view, set_view = solara.use_state(VIEWS[0])

    def draw():
        with model.lock:
            png, legend = render_map(model, view, selected)
            return base64.b64encode(png).decode("ascii"), legend, model.year

    encoded, legend, year = solara.use_memo(draw, dependencies=[model, model.year, view, selected])
    ls = model.landscape
    length, fraction = choose_scale_bar(ls.shape[1] * ls.cell_side_km)

    def clicked(click):
        cell = find_clicked_cell(model, click)
        if cell is not None:
            owner = int(model.landscape.owner[cell])
            on_select(owner if owner >= 0 else -1)

    with solara.Column(gap="4px"):
        solara.ToggleButtonsSingle(value=view, values=list(VIEWS), on_value=set_view, dense=True)
        MapImage(
            src=f"data:image/png;base64,{encoded}",
            year_label=f"Year {year}",
            scale_label=format_km(length),
            scale_percent=100 * fraction,
            event_cell_clicked=clicked,
        )
        solara.HTML(tag="div", unsafe_innerHTML=format_legend(legend))
        solara.Text(
            describe_extent(model) + " Click a farm to see it.",
            style={"font-size": "12px", "color": "#444"},
        )


# --------------------------------------------------------------------------- a farm


def describe_farm(model: LandUseModel, farm: int) -> str:
    """One farm as HTML: its land by cover, savings, income and programme status."""
    ls, fs = model.landscape, model.farmers
    mine = ls.owner == farm
    ha = np.bincount(ls.cover[mine], minlength=len(Cover)) * ls.cell_size_ha
    cover = "".join(
        f"<tr><td>{html.escape(label)}</td><td align='right'>{ha[code]:,.1f} ha</td></tr>"
        for code, (_, label) in COVER_STYLE.items()
    )
    if not model.programmes:
        status = "no programme in this run"
    elif model.programmes.expelled_any()[farm]:
        status = "expelled from a programme (caught clearing)"
    elif model.programmes.enrolled_any()[farm]:
        status = "enrolled in a programme"
    elif model.programmes.ever_enrolled_any()[farm]:
        status = "was enrolled; the contract has ended"
    else:
        status = "not enrolled"
    income = (
        f"{fs.net_income_usd[farm]:,.0f} USD in year {model.year} "
        f"(programme payments {fs.payments_usd[farm]:,.0f} USD of it)"
        if model.year > 0
        else "none yet (year 0)"
    )
    return (
        f'<div class="landsim-farm"><b>Farm {farm}</b> · {mine.sum() * ls.cell_size_ha:,.1f} ha'
        f'<table style="border-collapse:collapse;font-size:13px">{cover}</table>'
        f"<p>Savings: {fs.savings_usd[farm]:,.0f} USD<br/>Net income: {income}<br/>"
        f"Income since the start: {fs.cumulative_income_usd[farm]:,.0f} USD<br/>"
        f"Primary forest it cleared: {fs.deforested_ha[farm]:,.1f} ha<br/>"
        f"Programme: {html.escape(status)}</p></div>"
    )


@solara.component
def FarmCard(model: TeachingModel, farm: int | None):
    """The farm clicked on the map (or how to pick one)."""
    update_counter.get()
    if farm is None:
        solara.Text("Click a farm on the map to see it here.", style={"font-size": "13px"})
    elif farm < 0 or farm >= model.farmers.n:
        solara.Text("That is not a farm (reserve or unowned land).", style={"font-size": "13px"})
    else:
        with model.lock:
            card = describe_farm(model, farm)
        solara.HTML(tag="div", unsafe_innerHTML=card)


# --------------------------------------------------------------------------- the plots


@dataclass(frozen=True)
class Trajectory:
    """A line plot of columns of the yearly table.

    Attributes
    ----------
    title, unit : str
    lines : tuple of (column, label, colour)
    scale : float
        Factor from the columns' unit to ``unit``.
    from_zero : bool
        Whether the y axis starts at 0.
    """

    title: str
    unit: str
    lines: tuple[tuple[str, str, str], ...]
    scale: float = 1.0
    from_zero: bool = False


TRAJECTORIES = (
    Trajectory(
        "Forest area",
        "thousand ha",
        (
            ("forest_area_ha", "all forest (primary + regrowth)", "#8bc34a"),
            ("area_primary_forest_ha", "primary forest", "#1b5e20"),
        ),
        scale=1e-3,
    ),
    Trajectory(
        "Deforestation per year",
        "ha per year",
        (
            ("deforestation_ha", "primary forest cleared", "#c62828"),
            ("secondary_cleared_ha", "regrowth cleared again", "#ef9a9a"),
        ),
        from_zero=True,
    ),
    Trajectory(
        "Carbon stock",
        "million tC",
        (
            ("carbon_stock_tc", "biomass + soil", "#1b5e20"),
            ("biomass_carbon_tc", "biomass", "#8bc34a"),
        ),
        scale=1e-6,
    ),
    Trajectory(
        "Farm income",
        "USD per farm per year",
        (
            ("income_mean_usd", "mean", "#1565c0"),
            ("income_poorest20_usd", "poorest 20 % of farms (mean)", "#90caf9"),
            ("payments_mean_usd", "programme payments in it (mean)", "#43a047"),
        ),
    ),
)
#: The yearly columns the plots read.
PLOT_COLUMNS = [column for spec in TRAJECTORIES for column, _, _ in spec.lines]
#: Where a plot's axes are in its box (pixels from each side).
CHART_GRID = {"left": 64, "right": 16, "top": 72, "bottom": 42}
#: What the faint lines of the previous run are called in the hover box.
PREVIOUS = "previous run"


def to_points(table: pd.DataFrame, column: str, scale: float) -> list[list]:
    """``[year, value]`` pairs of a column, rounded for the hover box (None if missing)."""
    years = table["year"].to_numpy(int)
    values = table[column].to_numpy(float) * scale
    return [
        [int(year), float(f"{value:.4g}") if np.isfinite(value) else None]
        for year, value in zip(years, values, strict=True)
    ]


def chart_option(
    table: pd.DataFrame, spec: Trajectory, years: int, previous: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The ECharts option of a line plot of ``spec``'s columns (with hover values).

    With a ``previous`` table, that run's lines are drawn faint and dashed under
    this run's.
    """
    series = []
    for column, label, colour in spec.lines:
        if previous is not None and column in previous:
            series.append(
                {
                    "type": "line",
                    "name": f"{label} ({PREVIOUS})",
                    "data": to_points(previous, column, spec.scale),
                    "color": colour,
                    "showSymbol": False,
                    "lineStyle": {"type": "dashed", "width": 1.5, "opacity": 0.45},
                    "z": 1,
                    "silent": True,
                }
            )
    for column, label, colour in spec.lines:
        series.append(
            {
                "type": "line",
                "name": label,
                "data": to_points(table, column, spec.scale),
                "color": colour,
                "symbolSize": 4,
                "lineStyle": {"width": 2},
                "z": 2,
            }
        )
    return {
        "animation": False,
        "title": {"text": spec.title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 26, "data": [label for _, label, _ in spec.lines]},
        "grid": dict(CHART_GRID),
        "xAxis": {
            "type": "value",
            "name": "year",
            "nameLocation": "middle",
            "nameGap": 26,
            "min": 0,
            "max": max(years, 1),
            "minInterval": 1,
        },
        "yAxis": {
            "type": "value",
            "name": spec.unit,
            "nameLocation": "middle",
            "nameGap": 48,
            "scale": not spec.from_zero,
        },
        "series": series,
    }


def read_table(model: TeachingModel) -> pd.DataFrame:
    """A copy of the model's yearly table (read under the model's lock)."""
    with model.lock:
        return model.yearly_table().copy()


@solara.component
def TrajectoryPlot(model: TeachingModel, spec: Trajectory, previous: pd.DataFrame | None):
    """One of :data:`TRAJECTORIES`, redrawn each year."""
    update_counter.get()
    option = solara.use_memo(
        lambda: chart_option(read_table(model), spec, model.params.years, previous),
        dependencies=[model, model.year, spec, id(previous)],
    )
    with solara.Div(classes=["landsim-plot"]):
        solara.FigureEcharts(
            option=option, attributes={"style": "height: 330px; width: 100%"}, responsive=True
        )


# --------------------------------------------------------------------------- the run card


def describe_value(scenario: Scenario, control: Control) -> str:
    """The value of a slider's parameter in ``scenario``, in words, with its unit."""
    unit = "" if control.unit == "0-1" else control.unit  # a probability needs none
    if control.is_programme:
        if not scenario.programmes:
            return "no programme"
        values = [
            read_nested(p.model_dump(mode="json"), control.key.split(".")[1:])
            for p in scenario.programmes
        ]
        return ", ".join("none" if v is None else f"{v:g} {unit}".strip() for v in values)
    if control.key == "markets.cocoa.mean" and scenario.markets.cocoa.process == "path":
        path = ", ".join(f"{v:g}" for v in scenario.markets.cocoa.values)
        return f"price path {path} {unit}, then the last value holds"
    if control.key == "markets.carbon.values" and len(scenario.markets.carbon.values) > 1:
        path = ", ".join(f"{v:g}" for v in scenario.markets.carbon.values)
        return f"price path {path} {unit}, then the last value holds"
    return f"{control.value_in(scenario):.3g} {unit}".strip()


def describe_programmes(model: LandUseModel) -> list[str]:
    """One sentence per programme of the run (HTML-escaped)."""
    sc = model.params
    if not sc.programmes:
        return [
            "No incentive programme in this run. Moving a programme slider adds the "
            "teaching programme: a payment per ha of standing forest to farms that "
            "promise not to clear."
        ]
    return [
        html.escape(
            f"Programme “{spec.name}”, years {spec.start_year}-{spec.end_year}: "
            f"{int(acc.enrolled.sum())} farms enrolled now, {int(acc.expelled.sum())} "
            f"expelled; {acc.spent_usd:,.0f} USD spent so far, "
            f"{spec.budget_usd - acc.spent_usd:,.0f} USD of its budget left."
        )
        for spec, acc in zip(sc.programmes, model.programmes.accounts, strict=True)
    ]


def describe_scenario(model: TeachingModel) -> str:
    """What runs, in words (HTML): the scenario as written, or what the sliders changed.

    A scenario's description says what the scenario is as written; once sliders
    change it (above all, once they add the teaching programme to a scenario
    without one) it no longer describes the run, and is quoted as the starting point.
    """
    name = html.escape(getattr(model, "scenario_name", model.params.name))
    base = getattr(model, "base", model.params)
    overridden = getattr(model, "overridden", {})
    if not overridden:
        return f"<b>{name}</b>, as written: {html.escape(base.description)}"
    changes = ", ".join(
        f"{html.escape(CONTROLS_BY_KEY[key].label.lower())} "
        f"{html.escape(describe_value(model.params, CONTROLS_BY_KEY[key]))}"
        for key in overridden
    )
    text = f"<b>{name}</b>, changed by the sliders ({changes})"
    if getattr(model, "adds_teaching_programme", False):
        text += (
            ": <b>the teaching programme is added</b> (a yearly payment per ha of standing "
            "forest to enrolled farms that promise not to clear)"
        )
    return f"{text}. Starting point: “{html.escape(base.description)}”."


def describe_run(model: TeachingModel) -> str:
    """The run card as HTML: scenario, year, seed, indicators, slider parameters."""
    sc, ls, rec = model.params, model.landscape, model.record
    height, width = ls.shape
    overridden = getattr(model, "overridden", {})
    rows = "".join(
        f'<tr><td>{html.escape(c.label)}<br/><span class="landsim-key">{c.key}</span></td>'
        f"<td>{html.escape(describe_value(sc, c))}"
        f"{' <b>(slider)</b>' if c.key in overridden else ''}</td></tr>"
        for c in CONTROLS
    )
    status = (
        ' · <b class="landsim-finished">the run is finished; press Reset for a new run</b>'
        if model.year >= sc.years
        else ""
    )
    income = (
        f"Farm income in year {model.year}: mean {rec['income_mean_usd']:,.0f} USD per farm, "
        f"poorest 20 % of farms {rec['income_poorest20_usd']:,.0f} USD, of which programme "
        f"payments {rec['payments_mean_usd']:,.0f} USD (mean)"
        if model.year > 0
        else "Farm income: none yet (the first harvest is in year 1)"
    )
    paragraphs = [
        describe_scenario(model),
        f'<b class="landsim-year">Year {model.year} of {sc.years}</b>{status} · '
        f"seed {model.seed} · {width} x {height} cells of {ls.cell_size_ha:g} ha · "
        f"{model.farmers.n} farms",
        f"Forest {rec['forest_area_ha']:,.0f} ha · primary forest cleared so far "
        f"{rec['cumulative_deforestation_ha']:,.0f} ha · carbon stock "
        f"{rec['carbon_stock_tc'] / 1e6:.2f} million tC · cocoa agroforestry "
        f"{rec['area_cocoa_agroforestry_ha']:,.0f} ha on {rec['adopters_cocoa_agroforestry']} "
        "farms",
        income,
    ]
    table = (
        '<table style="border-collapse:collapse;width:100%;font-size:13px">'
        '<tr><th align="left">slider and scenario key</th><th align="left">in this run</th></tr>'
        f"{rows}</table>"
    )
    footer = "<i>Moved sliders, the scenario picker and the seed take effect on Reset.</i>"
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    programmes = "".join(f"<p>{p}</p>" for p in describe_programmes(model))
    return f'<div class="landsim-run">{body}{programmes}{table}<p>{footer}</p></div>'


@solara.component
def RunCard(model: TeachingModel):
    """The scenario, year, seed, slider parameters and messages of the run."""
    update_counter.get()
    with model.lock:
        card = describe_run(model)
    with solara.Column(gap="4px"):
        for notice in getattr(model, "notices", []):
            solara.Error(notice)
        solara.HTML(tag="div", unsafe_innerHTML=card)


def describe_previous(model: TeachingModel | None) -> str:
    """How the faint lines are labelled: the previous run's scenario, sliders and seed."""
    if model is None:
        return ""
    changes = ", ".join(
        f"{CONTROLS_BY_KEY[key].label.lower()} {value:g}"
        for key, value in model.overridden.items()
    )
    return (
        f"Faint dashed lines: the {PREVIOUS} ({model.scenario_name}"
        f"{', ' + changes if changes else ''}; seed {model.seed}; to year {model.year})."
    )


# --------------------------------------------------------------------------- the table


def table_filename(model: TeachingModel) -> str:
    """The CSV file's name: scenario, seed and year."""
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in model.scenario_name)
    return f"landsim-{name}-seed{model.seed}-year{model.year}.csv"


def table_csv(model: TeachingModel) -> bytes:
    """The yearly table of the run so far as CSV (one row per year)."""
    return read_table(model).to_csv(index=False).encode("utf-8")


@solara.component
def TableDownload(model: TeachingModel):
    """A button that downloads the yearly table of the run so far."""
    update_counter.get()
    with solara.Row():
        solara.FileDownload(
            lambda: table_csv(model),
            filename=table_filename(model),
            label="Download the yearly table (CSV)",
            mime_type="text/csv",
        )


# --------------------------------------------------------------------------- about


#: The documents the About panel opens, by title (paths in the source checkout).
DOCUMENTS = {
    "The model (ODD description)": "docs/ODD.md",
    "The guided lab": "docs/teaching.md",
}


def find_document(relative: str) -> Path | None:
    """A document of the source checkout this module runs from, or None."""
    path = Path(__file__).resolve().parents[2] / relative
    return path if path.is_file() else None


@solara.component
def About():
    """What the page is, with the model description and the lab to open."""
    shown, set_shown = solara.use_state(None)
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            "landsim simulates smallholder households at a tropical forest frontier, year by "
            "year (an agent-based model built on Mesa). Pick a scenario, move sliders, press "
            "<b>Reset</b>, then <b>▶</b> or <b>Step</b>. The documents open here as text "
            "(they are Markdown files of the landsim repository):"
        ),
        style={"font-size": "13px"},
    )
    for title, relative in DOCUMENTS.items():
        path = find_document(relative)
        if path is None:
            solara.Text(f"{title}: {relative} in the landsim repository.")
        else:
            solara.Button(title, text=True, small=True, on_click=lambda t=title: set_shown(t))
    if shown is not None:
        path = find_document(DOCUMENTS[shown])
        dialog = solara.v.Dialog(v_model=True, on_v_model=lambda _: set_shown(None), width="900")
        with dialog, solara.Card(shown):
            with solara.Div(classes=["landsim-doc"]):
                solara.Preformatted(
                    path.read_text(encoding="utf-8") if path else "",
                    style_="white-space: pre-wrap; font-size: 13px",
                )
            solara.Button("Close", on_click=lambda: set_shown(None))


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


# --------------------------------------------------------------------------- launching


def check_port(host: str, port: int) -> None:
    """Raise the CLI's usage error if nothing can listen on ``host:port``."""
    from landsim.cli import UsageError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            pass
    except OSError as exc:
        raise UsageError(
            f"cannot serve on {host}:{port} ({exc.strerror or exc}); "
            "choose another port with --port"
        ) from None


def server_command(host: str, port: int) -> list[str]:
    """The ``solara run`` command serving :func:`Page`.

    Production mode (no file watching); no browser opened; no version check
    against PyPI (nothing leaves the machine).
    """
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        "landsim.app:Page",
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
    ]


def server_environment(scenario_file: str | None) -> dict[str, str]:
    """The server's environment: the scenario; nothing fetched from or sent to the internet.

    Solara serves its front-end from its local asset proxy (filled by the
    ``solara-assets`` package), which it would switch off under VS Code, making the
    browser fetch it from a CDN; its telemetry is switched off.
    """
    env = dict(os.environ)
    env[SCENARIO_ENV] = str(Path(scenario_file).resolve()) if scenario_file else ""
    env["SOLARA_ASSETS_PROXY"] = "True"
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    env.setdefault("MPLBACKEND", "Agg")
    # Solara warns on every page load when served on 127.0.0.1 rather than "localhost".
    quiet = "ignore:Cookies with samesite=none require https:UserWarning"
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), quiet]))
    return env


def stop_server(server: subprocess.Popen, grace: float = 10.0) -> None:
    """Wait up to ``grace`` seconds for the server to end, then terminate, then kill."""
    for action in (None, server.terminate, server.kill):
        if server.poll() is not None:
            return
        if action is not None:
            action()
        try:
            server.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def exit_code(returncode: int) -> int:
    """landsim's exit code from the server's return code (a stop by Ctrl-C or SIGTERM is
    a normal end; another signal n gives 128 + n, as a shell reports it)."""
    if returncode in (-signal.SIGINT, -signal.SIGTERM):
        return 0
    return 128 - returncode if returncode < 0 else returncode


def launch(scenario_file: str | None, *, host: str, port: int) -> int:
    """Serve the browser view on ``http://host:port`` until Ctrl-C.

    Parameters
    ----------
    scenario_file : str or None
        The scenario to start with (None: the embedded default).
    host, port
        Where to listen.

    Returns
    -------
    int
        0 when stopped by Ctrl-C (or SIGTERM), else the server's exit code.
    """
    check_port(host, port)
    print(f"landsim: serving the browser view at http://{host}:{port}/ (Ctrl-C to stop)")
    sys.stdout.flush()
    server = subprocess.Popen(server_command(host, port), env=server_environment(scenario_file))
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: server.terminate())
    try:
        return exit_code(server.wait())
    except KeyboardInterrupt:  # Ctrl-C reached the server too: it shuts down by itself
        stop_server(server, grace=5.0)
        return 0
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        stop_server(server, grace=5.0)
