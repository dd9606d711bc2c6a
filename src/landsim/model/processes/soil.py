"""Soil (ODD: "Soil fertility" and "Soil carbon").

Fertility: annual crops and pasture deplete the soil (``f (1 - d)``), but idle
land (exhausted cropland, degraded pasture) keeps its fertility; fallow and tree systems let it
recover (``f + g (1 - f)``). Soil organic carbon approaches its cover's
IPCC Tier 1 equilibrium at a first-order rate (``soil.approach_rate_per_year``):
each year the gap shrinks by the factor ``exp(-rate)``, so most of a change comes
in the first years after a conversion, and a gap below
:data:`SOC_TOLERANCE_TC_PER_HA` closes.

References
----------
IPCC (2019). 2019 Refinement to the 2006 IPCC Guidelines for National Greenhouse
Gas Inventories, Vol. 4, ch. 2 (eq. 2.25), ch. 5 (Table 5.5) and ch. 6 (Table 6.2).
Don, A., Schumacher, J., & Freibauer, A. (2011). Global Change Biology, 17,
1658-1670. (Most of the change comes in the first years after conversion.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from landsim import carbon
from landsim.model import _fast
from landsim.model.processes.survey import idle_limits
from landsim.model.state import (
    N_COVERS,
    PERENNIALS,
    SOC_TOLERANCE_TC_PER_HA,
    Cover,
    Landscape,
    system_params,
)
from landsim.scenario import Scenario


@dataclass(frozen=True)
class FertilityRates:
    """Per cover code, the yearly fertility factor (``1 - depletion``), the
    recovery rate, and the fertility below which land lies idle and keeps its
    fertility (:func:`landsim.model.processes.survey.idle_limits`)."""

    factors: np.ndarray
    rates: np.ndarray
    idle_below: np.ndarray

    @classmethod
    def for_scenario(cls, params: Scenario) -> FertilityRates:
        factors = np.ones(N_COVERS)
        factors[Cover.MONOCROP] -= params.monocrop.fertility_depletion_rate
        factors[Cover.PASTURE] -= params.pasture.fertility_depletion_rate
        rates = np.zeros(N_COVERS)
        rates[Cover.SECONDARY_FOREST] = params.forest.fertility_recovery_rate
        for system in PERENNIALS:
            rates[system.cover] = system_params(system, params).fertility_recovery_rate
        return cls(factors, rates, idle_limits(params))


def update_fertility(landscape: Landscape, fertility: FertilityRates) -> None:
    """One year of depletion and recovery.

    Only the cells of covers with a factor other than 1 or a rate other than 0 are
    updated: the others' fertility would stay exactly as it is.
    """
    factors, rates = fertility.factors, fertility.rates
    cover, fert = landscape.cover.ravel(), landscape.fertility.ravel()
    moving = np.flatnonzero((factors != 1.0) | (rates != 0.0))
    cells = np.flatnonzero(_fast.cover_mask(cover, moving))
    c = cover[cells].astype(np.intp)
    f = fert[cells]
    idle = f < fertility.idle_below.take(c)
    f = np.where(idle, f, f * factors.take(c))
    f += rates.take(c) * (1.0 - f)
    fert[cells] = f


def soc_retention(params: Scenario) -> float:
    """The share of the gap to equilibrium that remains after a year,
    ``exp(-soil.approach_rate_per_year)``."""
    return math.exp(-params.soil.approach_rate_per_year)


def advance_soil(
    landscape: Landscape, equilibria: np.ndarray, retention: float, farmers=None
) -> tuple[float, float]:
    """Move every cell's soil carbon one year towards its cover's equilibrium
    (``equilibria``, tC/ha by cover code); return the soil removals and emissions
    (tCO2e), and set each farm's soil removals (``farmers.soil_removals_tco2e``,
    for soil-carbon payments) when ``farmers`` is given.

    Only cells away from equilibrium change, and a zero change counts in neither
    sum, so the sums over those cells (in raster order) are those over the
    landscape.
    """
    ls = landscape
    soc = ls.soc_tc_per_ha.ravel()
    target = equilibria.take(ls.cover.ravel())
    cells = np.flatnonzero(soc != target)
    old, goal = soc[cells], target[cells]
    new = goal + (old - goal) * retention
    new = np.where(np.abs(new - goal) < SOC_TOLERANCE_TC_PER_HA, goal, new)
    soc[cells] = new
    if farmers is not None:
        o = ls.owner.ravel()[cells]
        owned = o >= 0
        d = (new[owned] - old[owned]) * ls.cell_size_ha * carbon.CO2_PER_C
        farmers.soil_removals_tco2e[:] = np.bincount(o[owned], np.maximum(d, 0.0), farmers.n)
    return carbon.split_change(old, new, ls.cell_size_ha)
