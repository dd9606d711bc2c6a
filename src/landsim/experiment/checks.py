"""The checks of a design against its base scenarios, made before any run starts.

Every value of a grid key and every sample bound alone (so that a message names
it), then every design point, is applied to every base scenario
(:func:`point_checks`, :func:`check_points`), so that an unknown key or an invalid
value is reported against the experiment file with its key and what is allowed,
and not in the middle of a batch. An integer key in ``[samples]`` is drawn over
the integers of its bounds, which must be integers themselves
(:func:`check_sample_factors`).
"""

from __future__ import annotations

from typing import Any

from landsim.experiment.spec import ExperimentSpec, Outputs, Samples, parse_scalar
from landsim.limits import model_memory_bytes
from landsim.scenario import Scenario, ScenarioError, get_path


def is_integer_key(scenario: Scenario, key: str) -> bool:
    """Whether a dotted key holds an integer (not a boolean) in ``scenario``."""
    node = get_path(scenario.to_dict(), key)
    return isinstance(node, int) and not isinstance(node, bool)


def integer_keys(scenarios, keys) -> set[str]:
    """The keys among ``keys`` that hold an integer in some scenario of
    ``scenarios`` (``None`` entries, a function's, hold none)."""
    return {
        key
        for key in keys
        for scenario in scenarios
        if scenario is not None and is_integer_key(scenario, key)
    }


def check_sample_factors(samples: Samples, integer: set[str], source: str) -> None:
    """Refuse bounds that are not integers for the integer keys ``integer``.

    Raises
    ------
    ScenarioError
        Naming each such factor and how it would be drawn.
    """
    problems = [
        (
            f'samples.factors."{key}"',
            f"an integer key: its bounds must be integers (got {list(bounds)}); it "
            "is drawn uniformly from the integers low..high, both included",
        )
        for key, bounds in samples.factors.items()
        if key in integer and not all(float(b).is_integer() for b in bounds)
    ]
    if problems:
        raise ScenarioError(source, problems)


def point_checks(
    spec: ExperimentSpec, points: list[dict[str, Any]], integer: set[str] | tuple = ()
) -> list[tuple[str, dict[str, Any]]]:
    """(where, overrides) pairs to apply: each value of a grid key and each sample
    bound alone, then every point of the design (values that are valid alone may
    not be together, e.g. a range whose low end passes its high end)."""
    if spec.grid is not None:
        checks = [
            (f'grid."{key}"', {key: value})
            for key, values in spec.grid.items()
            for value in values
        ]
        if len(spec.grid) > 1:
            checks += [("grid", point) for point in points]
        return checks
    if spec.points is not None:
        return [(f"points.{i}", point) for i, point in enumerate(points)]
    if spec.samples is not None:
        checks = [
            (f'samples.factors."{key}"', {key: int(b) if key in integer else b})
            for key, bounds in spec.samples.factors.items()
            for b in bounds
        ]
        return checks + [("samples", point) for point in points]
    return []


def check_points(
    checks: list[tuple[str, dict[str, Any]]],
    scenarios: dict[str, Scenario],
    points: list[dict[str, Any]],
    source: str,
) -> int:
    """Apply every check's overrides to every base scenario.

    Returns
    -------
    int
        The estimated peak memory of the largest run (bytes), for the batch
        engine's check of how many runs fit in memory at once.

    Raises
    ------
    ScenarioError
        Naming ``source``, where the overrides are, the point (for a whole point),
        the key, what is allowed and the scenario.
    """
    largest = max((model_memory_bytes(s) for s in scenarios.values()), default=0)
    for where, overrides in checks:
        for scenario_id, scenario in scenarios.items():
            try:
                varied = scenario.with_overrides(overrides)
            except ScenarioError as exc:
                at = ""
                if where in ("grid", "samples"):
                    i = points.index(overrides)
                    values = ", ".join(f"{k} = {v!r}" for k, v in overrides.items())
                    at = f"point {i} ({values}): "
                problems = [
                    (where, f"{at}{key}: {msg} (in scenario {scenario_id!r})")
                    for key, msg in exc.problems
                ]
                raise ScenarioError(source, problems) from None
            if any(k == "years" or k.startswith("landscape.") for k in overrides):
                largest = max(largest, model_memory_bytes(varied))
    return largest


def check_scalars(outputs: Outputs, source: str) -> None:
    """Read every scalar of ``[outputs]`` (:func:`parse_scalar`), refusing a bad one."""
    for i, scalar in enumerate(outputs.scalars):
        parse_scalar(scalar, source, f"outputs.scalars.{i}")
