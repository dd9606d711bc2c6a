"""Every cell one year on: fertility, age, soil carbon and biomass (ODD 7.13, 7.3b)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from landsim.model.state import NO_OWNER, PLANTING, Cover
from landsim.reference.carbon import CO2_PER_C, grow_cell_carbon

if TYPE_CHECKING:
    from landsim.reference.model import ReferenceModel


def fertility_rates(scenario) -> dict[Cover, float]:
    """The yearly recovery rate of fertility under each cover that restores soil.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    dict
        Cover -> share of the gap to full fertility recovered each year.
    """
    return {
        Cover.SECONDARY_FOREST: scenario.forest.fertility_recovery_rate,
        Cover.COCOA_AGROFORESTRY: scenario.cocoa_agroforestry.fertility_recovery_rate,
        Cover.SILVOPASTURE: scenario.silvopasture.fertility_recovery_rate,
    }


def renew_fertility(cell, cover: Cover, scenario, recovery: dict[Cover, float]) -> None:
    """Annual crops and pasture deplete a cell's fertility; fallow and perennials
    restore it. Exhausted annual-crop land and degraded pasture are idle: not
    used, they keep their fertility.

    Parameters
    ----------
    cell : mesa.discrete_space.Cell
    cover : Cover
        The cell's cover.
    scenario : Scenario
    recovery : dict
        :func:`fertility_rates` of the scenario.
    """
    if cover == Cover.MONOCROP:
        if cell.fertility < scenario.monocrop.exhaustion_fertility:
            return
        cell.fertility = cell.fertility * (1.0 - scenario.monocrop.fertility_depletion_rate)
    elif cover == Cover.PASTURE:
        if cell.fertility < scenario.pasture.degraded_fertility:
            return
        cell.fertility = cell.fertility * (1.0 - scenario.pasture.fertility_depletion_rate)
    elif cover in recovery:
        cell.fertility = cell.fertility + recovery[cover] * (1.0 - cell.fertility)


def grow(model: ReferenceModel) -> tuple[float, float, float, float, float]:
    """Move every cell one year on and account for the carbon it gains or loses.

    Each farm's biomass removals and emissions (tCO2e) are noted on its farmer.

    Parameters
    ----------
    model : ReferenceModel

    Returns
    -------
    tuple of float
        Biomass removals and emissions, soil removals and emissions, and the
        biomass removals of planted cells (tCO2e), summed cell by cell in raster
        order.
    """
    sc, cell_ha = model.params, model.cell_size_ha
    recovery = fertility_rates(sc)
    retention = math.exp(-sc.soil.approach_rate_per_year)
    for f in model.farmers:
        f.removals_tco2e = f.emissions_tco2e = f.soil_removals_tco2e = 0.0
    bio_gain = bio_loss = soc_gain = soc_loss = planted_gain = 0.0
    for cell in model.cells:
        cover = Cover(cell.cover)
        renew_fertility(cell, cover, sc, recovery)
        cell.age += 1
        planted = cell.restoration == PLANTING
        curves = model.carbon
        biomass_change, soc_change = grow_cell_carbon(cell, cover, retention, curves, planted)

        change = biomass_change * cell_ha
        bio_gain += max(change, 0.0)
        if planted:
            planted_gain += max(change, 0.0)
        bio_loss += max(-change, 0.0)
        change = soc_change * cell_ha
        soc_gain += max(change, 0.0)
        soc_loss += max(-change, 0.0)
        if cell.owner != NO_OWNER:
            farmer = model.farmers[cell.owner]
            d = biomass_change * cell_ha * CO2_PER_C
            farmer.removals_tco2e += max(d, 0.0)
            farmer.emissions_tco2e += max(-d, 0.0)
            farmer.soil_removals_tco2e += max(soc_change * cell_ha * CO2_PER_C, 0.0)
    co2 = CO2_PER_C
    return bio_gain * co2, bio_loss * co2, soc_gain * co2, soc_loss * co2, planted_gain * co2
