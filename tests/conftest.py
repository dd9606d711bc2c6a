"""Shared fixtures: a small landscape that runs in a few tens of milliseconds."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from landsim.scenario import Scenario, load_scenario

#: Overrides (dotted key paths) that shrink the default scenario to a 60 x 60
#: landscape of 20 farms run for 10 years. The fishbone layout holds about 50 lots
#: of the default size at this depth, so 20 farms always fit. No settlers arrive,
#: so the farms are the same 20 throughout (the settlers' tests turn them on:
#: :data:`SETTLERS`).
SMALL_OVERRIDES = {
    "landscape.width": 60,
    "landscape.height": 60,
    "landscape.n_farms": 20,
    "landscape.lot_depth_km": 0.5,
    "landscape.reserve_fraction": 0.2,
    "settlers.arrivals_per_farm_per_year": 0.0,
    "years": 10,
}
#: Settlers on the small landscape: about one household a year.
SETTLERS = {"settlers.arrivals_per_farm_per_year": 0.05}


def small_scenario_toml(name: str = "small", years: int = 10, extends: str = "default") -> str:
    """The small landscape of :data:`SMALL_OVERRIDES` as the text of a scenario file
    (for tests of files and of the command line)."""
    landscape = "".join(
        f"{key.removeprefix('landscape.')} = {value}\n"
        for key, value in SMALL_OVERRIDES.items()
        if key.startswith("landscape.")
    )
    arrivals = SMALL_OVERRIDES["settlers.arrivals_per_farm_per_year"]
    return (
        f'extends = "{extends}"\nname = "{name}"\nyears = {years}\n[landscape]\n{landscape}'
        f"[settlers]\narrivals_per_farm_per_year = {arrivals}\n"
    )


@pytest.fixture(scope="session")
def default_scenario() -> Scenario:
    """The embedded default scenario."""
    return load_scenario()


@pytest.fixture(scope="session")
def small_scenario(default_scenario: Scenario) -> Scenario:
    """The default scenario on a 60 x 60 landscape with 20 farms and 10 years.

    Session-scoped (scenarios are immutable), so hypothesis tests may use it.
    """
    return default_scenario.with_overrides(SMALL_OVERRIDES)


# Hypothesis: CI (where the CI variable is set) runs a fixed, derandomised set of
# examples and keeps no example database, so a run cannot fail on a new random
# example or on one saved by an earlier run; locally, examples stay random.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
