"""The scenarios an analysis varies: resolving them, rounding integer keys, and
checking every factor against them before anything is sampled.

The model of an analysis is a scenario (an object, a file or ``"default"``) whose
keys the factors override, or a Python callable evaluated in its place
(:func:`is_function_model`). A factor's extremes (its bounds, or mean +/- 3 sd)
must be valid values of its key in the scenario, and in the counterfactual where
the counterfactual has the key (:func:`check_factors`).
"""

from __future__ import annotations

from typing import Any

from landsim.experiment import is_integer_key
from landsim.scenario import DEFAULT_NAME, Scenario, ScenarioError, has_path, load_scenario
from landsim.sensitivity.spec import SensitivitySpec


def is_function_model(model: Any) -> bool:
    """Whether ``model`` is a Python callable rather than a scenario or its path."""
    return callable(model) and not isinstance(model, Scenario | str)


def resolve_scenario(model, years: int | None) -> Scenario:
    """The scenario ``model`` names (an object, a path, ``"default"`` or ``None``),
    with the horizon ``years`` if given."""
    if isinstance(model, Scenario):
        scenario = model
    elif model is None or model == DEFAULT_NAME:
        scenario = load_scenario(None)
    else:
        scenario = load_scenario(model)
    return scenario.with_overrides({"years": years}) if years is not None else scenario


def coerce(scenario: Scenario, name: str, value: float):
    """Round values of integer-valued scenario keys (e.g. years, neighbours)."""
    if is_integer_key(scenario, name):
        return round(value)
    return float(value)


def check_factors(
    spec: SensitivitySpec, scenario: Scenario, counterfactual: Scenario | None, source: str
) -> None:
    """Every factor must be a key of the scenario; the counterfactual takes the
    factors it has (e.g. not those of a programme it lacks).

    Raises
    ------
    ScenarioError
        Naming ``source``, the factor, the key and what is allowed.
    """
    for name, factor in spec.factors.items():
        scenarios = [scenario]
        if counterfactual is not None and has_path(counterfactual, name):
            scenarios.append(counterfactual)
        for target in scenarios:
            for value in factor.extremes():
                try:
                    target.with_overrides({name: coerce(scenario, name, value)})
                except ScenarioError as exc:
                    problems = [
                        (f'factors."{name}"', f"{key}: {msg}") for key, msg in exc.problems
                    ]
                    raise ScenarioError(source, problems) from None
