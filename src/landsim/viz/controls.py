"""The sliders: scenario keys a student may move, how a slider reads a scenario
and how its value overrides one (one vocabulary with the TOML files)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mesa.visualization import Slider
from pydantic import TypeAdapter

from landsim.scenario import (
    Distribution,
    Scenario,
    get_path,
    load_scenario,
    rescale,
    set_table_path,
)

#: Environment variable that carries the scenario file to the page ("" = embedded default).
from landsim.viz.scenarios import SCENARIO_DIR, list_scenario_choices

# --------------------------------------------------------------------------- sliders


def scale_distribution(dist: Mapping[str, Any], mean: float) -> dict[str, Any]:
    """A farmer distribution (as plain data) rescaled to a new mean, by the rule of
    :func:`landsim.scenario.rescale` (the relative spread is kept)."""
    parsed = TypeAdapter(Distribution).validate_python(dict(dist))
    return rescale(parsed, mean).model_dump(mode="json")


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
        "forest_payment": {"usd_per_ha_per_year": 0.0},
    }


def read_nested(data: Mapping[str, Any], path: list[str]) -> Any:
    """``data[path[0]][path[1]]...``, or None where a table is absent (kept for
    ``landsim.app``; :func:`landsim.scenario.get_path` takes a dotted key)."""
    return get_path(data, ".".join(path))


def write_nested(data: dict[str, Any], path: list[str], value: Any) -> None:
    """Set ``data[path[0]][path[1]]... = value``, creating absent tables (kept for
    ``landsim.app``; :func:`landsim.scenario.set_table_path` takes a dotted key)."""
    set_table_path(data, ".".join(path), value)


def list_programmes(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's programmes as plain data, or the teaching programme if none."""
    return [p.model_dump(mode="json") for p in scenario.programmes] or [
        teaching_programme(scenario)
    ]


def read_programme_value(scenario: Scenario, key: str) -> float:
    """The first programme's value of ``programmes.<path>`` (0 for an absent table;
    the last of a list by programme year, such as a growing enrolment cap)."""
    value = get_path(list_programmes(scenario)[0], key.partition(".")[2])
    if isinstance(value, list):
        value = value[-1]
    return 0.0 if value is None else float(value)


def override_programmes(scenario: Scenario, values: Mapping[str, float]) -> list[dict]:
    """The ``programmes`` list with ``values`` (by ``programmes.<path>``) set in each."""
    programmes = list_programmes(scenario)
    for programme in programmes:
        for key, value in values.items():
            set_table_path(programme, key.partition(".")[2], value)
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
    """The farmers' discount rates rescaled to mean ``value``
    (:func:`landsim.scenario.rescale`)."""
    dist = rescale(scenario.farmers.discount_rate, value)
    return {"farmers.discount_rate": dist.model_dump(mode="json")}


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
