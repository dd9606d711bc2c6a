"""The browser view for students: ``landsim viz`` (Mesa SolaraViz).

:func:`launch` serves the page ``landsim.app:Page`` with ``solara run`` in a child
process on localhost, passing the scenario file in the environment variable
``LANDSIM_VIZ_SCENARIO``, and blocks until Ctrl-C. The page is Mesa's
``SolaraViz``:

- the sidebar holds Mesa's controls (Reset, Play, Step), a picker for the
  shipped scenarios, a seed field and sliders for the parameters students explore
  (cocoa price, carbon price, payment per ha of forest, enrolment cap, monitoring,
  discount rate);
- the main area holds a card on the run (scenario, year, the value each slider's
  parameter has in this run, messages), a map of the landscape (land cover, with
  switchable views of carbon, soil fertility and farms) and line plots of forest
  area, yearly deforestation, carbon stock and farm income.

Sliders are named by scenario key paths, as in the TOML files (one vocabulary;
see :data:`CONTROLS`); programme keys are written as in a ``[[programmes]]``
table (``programmes.enrolment_cap``) and apply to every programme of the
scenario. A slider overrides the chosen scenario only once it has been moved away
from its starting position (the launch scenario's value), so that picking a
scenario runs that scenario as written until a slider is moved. In a scenario
without a programme, moving a programme slider adds :func:`teaching_programme`
(a payment per ha of standing forest with a no-clearing obligation). As
everywhere in Mesa, new slider values, a new scenario or a new seed take effect on
Reset.

The map is drawn from the model's numpy rasters straight into a PNG (one square
of pixels per cell), the plots from its yearly table as SVG: a step and its redraw
take tens of milliseconds on the server at the default size. No Mesa grid is
built (``model.grid`` stays unbuilt). SolaraViz's draggable grid gets a layout of
its own (:func:`install_grid_layout`). The model never imports this module (the
Mesa convention); this module imports the model.
"""

from __future__ import annotations

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
from matplotlib.ticker import MaxNLocator
from mesa.experimental.scenarios import Scenario as MesaScenario
from mesa.visualization import Slider, SolaraViz, solara_viz
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

    def make_slider(self, value: float) -> Slider:
        """A Mesa slider starting at ``value`` (clipped to the range)."""
        value = min(max(value, self.minimum), self.maximum)
        kind = int if self.integer else float
        return Slider(
            label=f"{self.label} ({self.unit})",
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
    """What the page fixes at launch (a fixed SolaraViz parameter of the model).

    Attributes
    ----------
    choices : tuple of (str, str or None)
        The picker's names and scenario files (None: the embedded default).
    starts : tuple of (str, float)
        Each slider's starting value, by key path.
    """

    choices: tuple[tuple[str, str | None], ...]
    starts: tuple[tuple[str, float], ...]

    @property
    def files(self) -> dict[str, str | None]:
        return dict(self.choices)

    @property
    def start_values(self) -> dict[str, float]:
        return dict(self.starts)


def make_model_params(
    launch_file: str | None, directory: Path | None = SCENARIO_DIR
) -> dict[str, Any]:
    """SolaraViz's ``model_params``: picker, seed field, sliders and the fixed setup.

    The sliders start at the values of the launch scenario.

    Raises
    ------
    ScenarioError
        If the launch scenario is not valid.
    """
    scenario = load_scenario(launch_file)
    choices, start = list_scenario_choices(launch_file, directory)
    sliders = {
        control.key: control.make_slider(control.value_in(scenario)) for control in CONTROLS
    }
    setup = ViewerSetup(
        choices=tuple(choices.items()),
        starts=tuple((key, slider.value) for key, slider in sliders.items()),
    )
    return {
        "scenario_file": {
            "type": "Select",
            "value": start,
            "values": list(choices),
            "label": "Scenario",
        },
        "seed": {"type": "InputText", "value": str(scenario.seed), "label": "Seed (whole number)"},
        **sliders,
        "setup": setup,
    }


def initial_arguments(model_params: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments SolaraViz builds a model from before anything is moved."""
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
        default). Mesa's own scenario object, which SolaraViz passes on Reset, is
        ignored: the landsim scenario comes from the picker.
    rng : int, numpy.random.Generator or None
        Overrides the seed field.
    setup : ViewerSetup, optional
        The picker's files and the sliders' starting values. Without it, every
        slider value given is applied.
    scenario_file : str, optional
        A name from ``setup.choices``.
    seed : str or int, optional
        The seed field; blank: the scenario's own seed.
    **controls : float
        Slider values by scenario key path (e.g. ``markets.cocoa.mean``); a value
        that differs from its slider's start overrides the scenario.

    Attributes
    ----------
    scenario_name : str
        The picker's name of the scenario run (or the scenario's own name).
    overridden : dict
        The slider values applied, by key path.
    notices : list of str
        Messages for the student (bad seed, invalid scenario), shown on the page.
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
        if isinstance(scenario, MesaScenario):
            scenario = None
        base, self.scenario_name = self._choose_scenario(scenario, setup, scenario_file)
        moved = find_moved_controls(controls, setup.start_values if setup else None)
        params, self.overridden = self._apply(base, moved)
        if rng is None:
            rng = self._read_seed(seed)
        if rng is None:  # a blank (or bad) seed field: the scenario's own seed
            rng = params.seed
        super().__init__(params, rng=rng)

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


def draw_map(model: LandUseModel, view: str = "Land cover") -> tuple[np.ndarray, Legend]:
    """The landscape in one of :data:`VIEWS` as an RGB image, and its legend.

    Each cell is a square of whole pixels (north at the top); the reserve boundary
    is dashed, and in the farm view farm boundaries are drawn.
    """
    rgb, legend = PAINTERS[view](model)
    ls = model.landscape
    factor = max(1, MAP_PIXELS // max(ls.shape))
    image = enlarge(rgb, factor)
    if view == "Farms":
        owner = enlarge(ls.owner, factor)
        boundary = find_edges(owner) & (owner >= 0)
        image[boundary] = to_rgb(BOUNDARY_STYLE[0])
    if ls.protected.any() and not ls.protected.all():
        rows, cols = np.indices(image.shape[:2])
        line = find_edges(enlarge(ls.protected, factor)) & ((rows + cols) // 6 % 2 == 0)
        image[line] = to_rgb(RESERVE_LINE_STYLE[0])
        legend = Legend(entries=(*legend.entries, RESERVE_LINE_STYLE), scale=legend.scale)
    return image, legend


def encode_png(image: np.ndarray) -> bytes:
    """An RGB image as PNG bytes (fast compression: speed matters more than size)."""
    buffer = io.BytesIO()
    PIL.Image.fromarray(image).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def render_map(model: LandUseModel, view: str) -> tuple[bytes, Legend]:
    """The map in ``view`` as PNG bytes, and its legend."""
    image, legend = draw_map(model, view)
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


#: Page styles: the map image fits its grid cell and shows cells as sharp squares;
#: every slider shows its value under its knob (Mesa's sliders show it only while
#: dragged, and students need to see what they set before pressing Reset).
PAGE_CSS = """
.landsim-map { width: 100%; max-width: 520px; height: auto; image-rendering: pixelated; }
.v-slider .v-slider__thumb-label-container { display: block !important; }
.v-slider .v-slider__thumb-label.primary {
    transform: translateX(-50%) translateY(24px) !important; background: transparent !important;
    color: #222 !important; width: auto !important; height: auto !important;
    border-radius: 0 !important; font-size: 12px; }
.v-slider .v-slider__thumb-label > * { transform: none !important; }
.landsim-plot svg { display: block; max-width: 560px; }
.landsim-run td, .landsim-run th { padding: 2px 6px 2px 0; vertical-align: top; }
.landsim-key { font-family: monospace; font-size: 11px; color: #555; word-break: break-all; }
"""


@solara.component
def LandscapeMap(model: LandUseModel):
    """The map with a switch between :data:`VIEWS` (no Reset needed to switch)."""
    update_counter.get()
    view, set_view = solara.use_state(VIEWS[0])
    png, legend = solara.use_memo(
        lambda: render_map(model, view), dependencies=[model, model.year, view]
    )
    with solara.Column(gap="4px"):
        solara.ToggleButtonsSingle(value=view, values=list(VIEWS), on_value=set_view, dense=True)
        solara.Image(png, classes=["landsim-map"])
        solara.HTML(tag="div", unsafe_innerHTML=format_legend(legend))
        solara.Text(describe_extent(model), style={"font-size": "12px", "color": "#555"})


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


#: Width of a plot (SVG user units, about CSS pixels), its plot-area height, margins.
PLOT_WIDTH = 460
PLOT_AREA_HEIGHT = 170
PLOT_MARGINS = {"left": 62, "right": 14, "bottom": 40}
#: Rough width of a character of the 12 px legend font, to lay legend entries out.
CHAR_WIDTH = 6.6


def find_ticks(low: float, high: float, count: int, integer: bool = False) -> np.ndarray:
    """Round tick values from at most ``low`` to at least ``high`` (about ``count``)."""
    if not high > low:
        low, high = low - 1.0, high + 1.0
    return MaxNLocator(nbins=count, integer=integer, min_n_ticks=2).tick_values(low, high)


def format_tick(value: float) -> str:
    """A tick label: thousands separated, no needless decimals."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def trace_runs(xs: np.ndarray, ys: np.ndarray) -> list[str]:
    """SVG point lists of the runs of (xs, ys) between missing (NaN) values."""
    runs, current = [], []
    for x, y in zip(xs, ys, strict=True):
        if np.isfinite(y):
            current.append(f"{x:.1f},{y:.1f}")
        elif current:
            runs.append(" ".join(current))
            current = []
    if current:
        runs.append(" ".join(current))
    return runs


def place_legend(labels: list[str], x: float, width: float) -> list[tuple[float, int]]:
    """Position (x, row) of each legend entry, filling rows left to right."""
    places, left, row = [], x, 0
    for label in labels:
        size = 30 + CHAR_WIDTH * len(label) + 16
        if left > x and left + size > x + width:
            left, row = x, row + 1
        places.append((left, row))
        left += size
    return places


@dataclass(frozen=True)
class PlotFrame:
    """Where a plot's data go: data ranges mapped onto the plot area (SVG units)."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    left: float
    right: float
    top: float
    bottom: float

    def x(self, values) -> np.ndarray:
        low, high = self.x_range
        return self.left + (np.asarray(values, float) - low) / (high - low) * (
            self.right - self.left
        )

    def y(self, values) -> np.ndarray:
        low, high = self.y_range
        return self.bottom - (np.asarray(values, float) - low) / (high - low) * (
            self.bottom - self.top
        )


def draw_axes(frame: PlotFrame, xticks, yticks, unit: str) -> list[str]:
    """Grid lines, tick labels, the frame and the axis titles (SVG elements)."""
    f = frame
    out = []
    for tick in yticks:
        y = f.y(tick)
        out.append(
            f'<line x1="{f.left}" x2="{f.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>'
        )
        out.append(
            f'<text x="{f.left - 6}" y="{y + 4:.1f}" text-anchor="end">{format_tick(tick)}</text>'
        )
    for tick in xticks:
        x = f.x(tick)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{f.top}" y2="{f.bottom}" stroke="#e4e4e4"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{f.bottom + 16}" text-anchor="middle">'
            f"{format_tick(tick)}</text>"
        )
    out.append(
        f'<rect x="{f.left}" y="{f.top}" width="{f.right - f.left}" '
        f'height="{f.bottom - f.top}" fill="none" stroke="#888"/>'
    )
    middle = (f.left + f.right) / 2
    out.append(f'<text x="{middle}" y="{f.bottom + 34}" text-anchor="middle">year</text>')
    out.append(
        f'<text transform="translate(14 {(f.top + f.bottom) / 2}) rotate(-90)" '
        f'text-anchor="middle">{html.escape(unit)}</text>'
    )
    return out


def draw_series(frame: PlotFrame, years: np.ndarray, values: np.ndarray, colour: str) -> list[str]:
    """One series as a line with a dot per year (SVG elements)."""
    xs, ys = frame.x(years), frame.y(values)
    out = [
        f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
        for points in trace_runs(xs, ys)
    ]
    out += [
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>'
        for x, y in zip(xs, ys, strict=True)
        if np.isfinite(y)
    ]
    return out


def draw_trajectory(table: pd.DataFrame, spec: Trajectory, years: int) -> str:
    """A line plot of ``spec``'s columns of the yearly table, as an SVG document.

    Drawn directly rather than with matplotlib: a step's four plots then take a few
    milliseconds instead of several hundred on a busy two-core machine.
    """
    labels = [label for _, label, _ in spec.lines]
    places = place_legend(labels, PLOT_MARGINS["left"], PLOT_WIDTH - PLOT_MARGINS["left"])
    top = 30 + 16 * (places[-1][1] + 1) + 6
    height = top + PLOT_AREA_HEIGHT + PLOT_MARGINS["bottom"]
    series = [table[column].to_numpy(float) * spec.scale for column, _, _ in spec.lines]
    finite = np.concatenate([s[np.isfinite(s)] for s in series])
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    if spec.from_zero:
        low = min(low, 0.0)
    yticks = find_ticks(low, high, 5)
    span = max(years, 1)
    xticks = [t for t in find_ticks(0, span, 6, integer=True) if 0 <= t <= span]
    frame = PlotFrame(
        x_range=(0, span),
        y_range=(yticks[0], yticks[-1]),
        left=PLOT_MARGINS["left"],
        right=PLOT_WIDTH - PLOT_MARGINS["right"],
        top=top,
        bottom=top + PLOT_AREA_HEIGHT,
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {PLOT_WIDTH} {height}" '
        'width="100%" font-family="sans-serif" font-size="12">',
        f'<text x="{PLOT_WIDTH / 2}" y="18" text-anchor="middle" font-size="14" '
        f'font-weight="bold">{html.escape(spec.title)}</text>',
        *draw_axes(frame, xticks, yticks, spec.unit),
    ]
    year = table["year"].to_numpy(float)
    for (_, label, colour), values, (x, row) in zip(spec.lines, series, places, strict=True):
        out += draw_series(frame, year, values, colour)
        y = 30 + 16 * row + 8
        out.append(
            f'<line x1="{x}" x2="{x + 22}" y1="{y - 4}" y2="{y - 4}" stroke="{colour}" '
            f'stroke-width="3"/><text x="{x + 28}" y="{y}">{html.escape(label)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


@solara.component
def TrajectoryPlot(model: LandUseModel, spec: Trajectory):
    """One of :data:`TRAJECTORIES`, redrawn each year."""
    update_counter.get()
    svg = solara.use_memo(
        lambda: draw_trajectory(model.yearly_table(), spec, model.params.years),
        dependencies=[model, model.year, spec],
    )
    solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["landsim-plot"])


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


def describe_run(model: TeachingModel) -> str:
    """The run card as HTML: scenario, year, seed, indicators, slider parameters."""
    sc, ls, rec = model.params, model.landscape, model.record
    height, width = ls.shape
    name = getattr(model, "scenario_name", sc.name)
    overridden = getattr(model, "overridden", {})
    rows = "".join(
        f'<tr><td>{html.escape(c.label)}<br/><span class="landsim-key">{c.key}</span></td>'
        f"<td>{html.escape(describe_value(sc, c))}"
        f"{' <b>(slider)</b>' if c.key in overridden else ''}</td></tr>"
        for c in CONTROLS
    )
    paragraphs = [
        f"<b>{html.escape(name)}</b>: {html.escape(sc.description)}",
        f'<b class="landsim-year">Year {model.year} of {sc.years}</b> · seed {model.seed} · '
        f"{width} x {height} cells of {ls.cell_size_ha:g} ha · {model.farmers.n} farms",
        f"Forest {rec['forest_area_ha']:,.0f} ha · primary forest cleared so far "
        f"{rec['cumulative_deforestation_ha']:,.0f} ha · carbon stock "
        f"{rec['carbon_stock_tc'] / 1e6:.2f} million tC · cocoa agroforestry "
        f"{rec['area_cocoa_agroforestry_ha']:,.0f} ha on {rec['adopters_cocoa_agroforestry']} "
        "farms",
    ]
    table = (
        '<table style="border-collapse:collapse;width:100%;font-size:13px">'
        '<tr><th align="left">slider and scenario key</th><th align="left">in this run</th></tr>'
        f"{rows}</table>"
    )
    footer = "<i>Moved sliders, the scenario picker and the seed take effect on Reset.</i>"
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    programmes = "".join(f"<p>{p}</p>" for p in describe_programmes(model))
    return f'<div class="landsim-run">{body}{table}{programmes}<p>{footer}</p></div>'


@solara.component
def RunCard(model: TeachingModel):
    """The scenario, year, seed, slider parameters and messages of the run."""
    update_counter.get()
    with solara.Column(gap="4px", style={"height": "100%", "overflow-y": "auto"}):
        for notice in getattr(model, "notices", []):
            solara.Error(notice)
        solara.HTML(tag="div", unsafe_innerHTML=describe_run(model))


# --------------------------------------------------------------------------- the page


def make_trajectory_component(spec: Trajectory):
    """A SolaraViz component (a function of the model) plotting ``spec``."""

    @solara.component
    def Plot(model: LandUseModel):
        return TrajectoryPlot(model, spec)

    Plot.__name__ = f"Plot{spec.title.title().replace(' ', '')}"
    return Plot


COMPONENTS = [
    (LandscapeMap, 0),
    (RunCard, 0),
    *((make_trajectory_component(spec), 0) for spec in TRAJECTORIES),
]
#: Where the components sit in SolaraViz's draggable grid (12 columns; rows of
#: 30 px with 10 px gaps): the map and the run card side by side, then the plots.
GRID_LAYOUT = [
    {"i": 0, "x": 0, "y": 0, "w": 6, "h": 17},
    {"i": 1, "x": 6, "y": 0, "w": 6, "h": 17},
    *({"i": 2 + k, "x": 6 * (k % 2), "y": 17 + 9 * (k // 2), "w": 6, "h": 9} for k in range(4)),
]


def install_grid_layout() -> None:
    """Make SolaraViz lay out :data:`COMPONENTS` as :data:`GRID_LAYOUT`.

    SolaraViz gives every component the same cell (half the width, 390 px high),
    which the map and the run card overflow; Mesa has no option for the initial
    layout, so its ``make_initial_grid_layout`` is wrapped: our layout for our
    components, Mesa's for anything else. (If Mesa renames the function, the
    default layout is used.)
    """
    original = getattr(solara_viz, "make_initial_grid_layout", None)
    if original is None or getattr(original, "landsim", False):
        return

    def make_initial_grid_layout(num_components):
        if num_components == len(GRID_LAYOUT):
            return [dict(cell, moved=False) for cell in GRID_LAYOUT]
        return original(num_components)

    make_initial_grid_layout.landsim = True
    solara_viz.make_initial_grid_layout = make_initial_grid_layout


def read_launch_file() -> str | None:
    """The scenario file the server was started with (None: the embedded default)."""
    return os.environ.get(SCENARIO_ENV) or None


@solara.component
def Page():
    """The SolaraViz page for the scenario in ``LANDSIM_VIZ_SCENARIO``."""
    install_grid_layout()
    model_params = solara.use_memo(lambda: make_model_params(read_launch_file()), [])
    model = solara.use_memo(lambda: TeachingModel(**initial_arguments(model_params)), [])
    solara.Title("landsim")
    solara.Style(PAGE_CSS)
    SolaraViz(model, components=COMPONENTS, model_params=model_params, name=TITLE)


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
