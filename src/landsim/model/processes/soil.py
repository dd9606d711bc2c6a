"""Soil (ODD: "Soil fertility" and "Soil carbon").

Fertility: annual crops deplete the soil (``f (1 - d)``); fallow and tree systems
let it recover (``f + g (1 - f)``). Soil organic carbon moves linearly from its
stock at a land-use change to the new cover's equilibrium over
``soil.transition_years`` (IPCC 2019 Refinement, Vol. 4, ch. 2).
"""

from __future__ import annotations

import numpy as np

from landsim import carbon
from landsim.model import _fast
from landsim.model.state import N_COVERS, PERENNIALS, Cover, Landscape, system_params
from landsim.scenario import Scenario


def fertility_rates(params: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Per cover code: the yearly fertility factor (1 - depletion) and recovery rate."""
    factors = np.ones(N_COVERS)
    factors[Cover.MONOCROP] -= params.monocrop.fertility_depletion_rate
    rates = np.zeros(N_COVERS)
    rates[Cover.SECONDARY_FOREST] = params.forest.fertility_recovery_rate
    for system in PERENNIALS:
        rates[system.cover] = system_params(system, params).fertility_recovery_rate
    return factors, rates


def update_fertility(landscape: Landscape, factors: np.ndarray, rates: np.ndarray) -> None:
    """One year of depletion and recovery.

    Only the cells of covers with a factor other than 1 or a rate other than 0 are
    updated: the others' fertility would stay exactly as it is.
    """
    cover, fert = landscape.cover.ravel(), landscape.fertility.ravel()
    moving = np.flatnonzero((factors != 1.0) | (rates != 0.0))
    cells = np.flatnonzero(_fast.cover_mask(cover, moving))
    c = cover[cells].astype(np.intp)
    f = fert[cells] * factors.take(c)
    f += rates.take(c) * (1.0 - f)
    fert[cells] = f


def changing_soil_cells(landscape: Landscape, transition_years: int) -> np.ndarray:
    """Flat indices (raster order) of the cells whose soil carbon may change this
    year: those in transition (by the ages before they advance) with a non-zero
    rate, and any with a negative stock (which the update sets to 0)."""
    ls = landscape
    soc, rate = ls.soc_tc_per_ha.ravel(), ls.soc_rate_tc_per_ha.ravel()
    in_transition = ls.age.ravel() < transition_years
    return np.flatnonzero((in_transition & (rate != 0.0)) | (soc < 0.0))


def advance_soil(landscape: Landscape, cells: np.ndarray) -> tuple[float, float]:
    """Move the soil carbon of ``cells`` (see :func:`changing_soil_cells`) one year
    along its transition; return the soil removals and emissions (tCO2e).

    No other cell's stock changes, and a zero change counts in neither sum, so the
    sums over ``cells`` (in raster order) are those over the landscape.
    """
    ls = landscape
    soc, rate = ls.soc_tc_per_ha.ravel(), ls.soc_rate_tc_per_ha.ravel()
    old = soc[cells]
    new = np.maximum(old + rate[cells], 0.0)
    soc[cells] = new
    return carbon.split_change(old, new, ls.cell_size_ha)
