"""Carbon of the reference: biomass and soil carbon of each cover (ODD 7.2, 7.3)."""

from __future__ import annotations

import numpy as np

from landsim import carbon
from landsim.model.state import Cover
from landsim.scenario import Scenario

#: Tonnes of CO2 per tonne of carbon.
CO2_PER_C = carbon.CO2_PER_C


class CarbonCurves:
    """Biomass and equilibrium soil carbon of each cover, from a scenario.

    Parameters
    ----------
    scenario : Scenario
    """

    def __init__(self, scenario: Scenario):
        self.params = scenario
        self._biomass_table: dict[int, np.ndarray] = {}

    def biomass_density(self, cover: int, age: int) -> float:
        """Biomass carbon (tC/ha, above + below ground) of a cover at an age (7.2).

        Primary forest and annual crops hold constant stocks; secondary forest,
        cocoa agroforestry and silvopasture follow Chapman-Richards curves in age,
        tabulated here by whole years.

        Parameters
        ----------
        cover : int
            A cover code.
        age : int
            Years since the cover was established.

        Returns
        -------
        float
        """
        table = self._biomass_table.get(int(cover))
        if table is None or age >= table.size:
            ages = np.arange(max(2 * age, 64) + 1)
            table = carbon.biomass_density(np.full(ages.shape, cover), ages, self.params)
            self._biomass_table[int(cover)] = table
        return float(table[age])

    def soc_equilibrium(self, cover: int) -> float:
        """Equilibrium soil organic carbon (tC/ha) of a cover (7.3).

        Parameters
        ----------
        cover : int
            A cover code.

        Returns
        -------
        float
        """
        return self.params.soil.soc_reference_tc_per_ha * carbon.soc_factors(self.params)[cover]


def removal_curve_tco2e_per_ha(curves: CarbonCurves, cover: Cover, years: int) -> list[float]:
    """Biomass removals in each of the first ``years`` years after establishing a cover.

    Parameters
    ----------
    curves : CarbonCurves
    cover : Cover
    years : int

    Returns
    -------
    list of float
        The removal (tCO2e/ha) of year 1, 2, ..., ``years``.
    """
    stock = [curves.biomass_density(cover, age) for age in range(years + 1)]
    return [(stock[a + 1] - stock[a]) * CO2_PER_C for a in range(years)]


def grow_cell_carbon(cell, cover: Cover, in_transition: bool, curves: CarbonCurves):
    """One year of a cell's carbon, after its age has been counted up.

    Soil carbon moves one step towards its equilibrium while the cell is in its
    soil transition (7.3); biomass follows the cover's curve at the new age (7.2).

    Parameters
    ----------
    cell : mesa.discrete_space.Cell
    cover : Cover
        The cell's cover.
    in_transition : bool
        Whether the cell was in its soil transition at the start of the year.
    curves : CarbonCurves

    Returns
    -------
    tuple of float
        The change of biomass and of soil carbon (tC/ha).
    """
    old_soc = cell.soc_tc_per_ha
    if in_transition:
        cell.soc_tc_per_ha = max(cell.soc_tc_per_ha + cell.soc_rate_tc_per_ha, 0.0)
    old_biomass = cell.biomass_tc_per_ha
    cell.biomass_tc_per_ha = curves.biomass_density(cover, int(cell.age))
    return cell.biomass_tc_per_ha - old_biomass, cell.soc_tc_per_ha - old_soc
