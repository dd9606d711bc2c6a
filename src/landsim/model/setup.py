"""Initialisation (ODD: "Initialization"): the scenario a model runs, and its
landscape (generated, or read from a file).

The farmers' draws are :func:`landsim.agents.draw_farmers` and the price paths
:class:`landsim.market.Market`.
"""

from __future__ import annotations

import numpy as np

from landsim import carbon, limits
from landsim.landscape import Cover, Landscape, generate_landscape, load_landscape
from landsim.scenario import Scenario, check_roads, resolve_scenario

__all__ = [
    "apply_keyword_overrides",
    "build_landscape",
    "prepare_landscape",
    "resolve_scenario",
    "set_model_layers",
]


def apply_keyword_overrides(scenario: Scenario, overrides: dict) -> Scenario:
    """``scenario`` with model keyword arguments applied as dotted-key overrides.

    ``seed`` is refused: a model's randomness comes from ``rng`` (Mesa 3's
    convention), and a scenario's ``seed`` given here would silently not be used.
    """
    if "seed" in overrides:
        raise TypeError(
            "LandUseModel takes its seed as rng= (Mesa 3's convention), not seed=; "
            f"use rng={overrides['seed']!r}"
        )
    return scenario.with_overrides(overrides, source=f"{scenario.source} (model keywords)")


def build_landscape(scenario: Scenario, rng) -> Landscape:
    """The scenario's landscape: generated, or read from its ``.npz`` file."""
    params = scenario.landscape
    if params.source == "synthetic":
        limits.check_model_memory(scenario)  # before allocating anything
        return generate_landscape(params, rng, source=scenario.source)
    return load_landscape(params.source, params)  # checks memory from the headers


def prepare_landscape(scenario: Scenario, landscape: Landscape | None, rng) -> Landscape:
    """The landscape a model starts from: ``landscape`` if given, else the
    scenario's (:func:`build_landscape`); its extent checked against the
    scenario's road schedule (:func:`landsim.scenario.check_roads`)."""
    if landscape is None:
        landscape = build_landscape(scenario, rng)
    check_roads(scenario, landscape.shape, landscape.cell_size_ha)
    return landscape


def set_model_layers(landscape: Landscape, scenario: Scenario) -> None:
    """Set the layers the model derives at the start: clearings (1 for every cell
    not in primary forest), biomass and soil carbon from the cover, and no
    restoration intervention anywhere."""
    landscape.clearings = (landscape.cover != Cover.PRIMARY_FOREST).astype(np.int16)
    landscape.biomass_tc_per_ha = carbon.biomass_density(
        landscape.cover, landscape.age, scenario, landscape.clearings
    )
    landscape.soc_tc_per_ha = carbon.soc_equilibrium(landscape.cover, scenario)
    landscape.restoration = np.zeros(landscape.shape, dtype=np.int8)
