"""Biomass carbon and the year's fluxes (ODD: "Carbon").

Biomass (above and below ground, tC/ha) follows each cover's curve by age, and
for secondary forest by how often its land was cleared
(:func:`landsim.carbon.biomass_density`); each year's change of every cell is
split into removals and emissions, so that stock change = removals - emissions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from landsim import carbon
from landsim.model.state import N_COVERS, PLANTING, Cover, FarmerState, Landscape
from landsim.scenario import Scenario

#: The table row of secondary forest on land cleared twice (after the covers'
#: rows and the planting row, :func:`landsim.carbon.biomass_table`).
FIRST_LEVEL_ROW = N_COVERS + 1


class CarbonFluxes(NamedTuple):
    """The landscape's carbon removals and emissions in a year, by pool (tCO2e)."""

    biomass_removals_tco2e: float = 0.0
    biomass_emissions_tco2e: float = 0.0
    soil_removals_tco2e: float = 0.0
    soil_emissions_tco2e: float = 0.0
    #: The biomass removals of planted cells (part of the biomass removals).
    planting_removals_tco2e: float = 0.0


class BiomassTable:
    """``carbon.biomass_density(cover, age, clearings)``, looked up in a table by
    row (cover, or secondary forest's regrowth level) and age (whole years)
    instead of evaluating the growth curves for every cell."""

    def __init__(self, params: Scenario):
        self.params = params
        self._table = np.zeros((0, 0))
        self._levels = carbon.regrowth_levels(params)

    def rows(
        self, cover: np.ndarray, clearings: np.ndarray, restoration: np.ndarray | None = None
    ) -> np.ndarray:
        """The table row of each cell: its cover; for secondary forest on land
        cleared more than once, the row of its slower regrowth; for planted
        secondary forest (``restoration`` marks it), the planting row."""
        rows = cover.astype(np.int16)
        secondary = cover == Cover.SECONDARY_FOREST
        if self._levels > 1:
            slow = secondary & (clearings > 1)
            level = np.minimum(clearings[slow], self._levels)
            rows[slow] = FIRST_LEVEL_ROW + level - 2
        if restoration is not None:
            rows[secondary & (restoration == PLANTING)] = carbon.PLANTED_ROW
        return rows

    def __call__(
        self,
        cover: np.ndarray,
        age: np.ndarray,
        clearings: np.ndarray,
        restoration: np.ndarray | None = None,
    ) -> np.ndarray:
        rows = self.rows(cover, clearings, restoration)
        max_age = int(age.max()) if age.size else 0
        max_row = int(rows.max()) if rows.size else 0
        table = self._table
        if max_age >= table.shape[1] or max_row >= table.shape[0]:
            # Ages and clearings grow over a run: room for twice as many.
            levels = max(2 * (max_row - FIRST_LEVEL_ROW + 2), 4)
            table = carbon.biomass_table(self.params, max(2 * max_age, 128), levels)
            self._table = table
        # A 16-bit index is computed several times faster, when the table is small
        # enough for one (ages are below its width).
        small = table.size <= np.iinfo(np.int16).max and age.dtype.itemsize <= 2
        index = rows.astype(np.int16 if small else np.intp) * table.shape[1] + age
        return np.take(table.ravel(), index)


def advance_biomass(
    landscape: Landscape, farmers: FarmerState, density: BiomassTable
) -> tuple[float, float, float]:
    """Biomass from the new ages; return the landscape's biomass removals and
    emissions (tCO2e), and the removals of planted cells, and set each farm's
    (``farmers.removals_tco2e`` and ``farmers.emissions_tco2e``), for carbon
    payments.

    The sums run over the cells whose biomass changed, in raster order: a zero
    change adds nothing to any of them.
    """
    ls, fs = landscape, farmers
    old = ls.biomass_tc_per_ha
    ls.biomass_tc_per_ha = density(ls.cover, ls.age, ls.clearings, ls.restoration)
    change_tc = np.subtract(ls.biomass_tc_per_ha, old).ravel()
    change_tc *= ls.cell_size_ha
    changed = np.flatnonzero(change_tc != 0.0)
    change_tc = change_tc[changed]
    gain, loss = carbon.split_difference(change_tc)
    planted = ls.restoration.ravel()[changed] == PLANTING
    planting_gain = carbon.split_difference(change_tc[planted])[0]
    o = ls.owner.ravel()[changed]
    owned = o >= 0
    o, d = o[owned], change_tc[owned] * carbon.CO2_PER_C
    fs.removals_tco2e[:] = np.bincount(o, np.maximum(d, 0.0), fs.n)
    fs.emissions_tco2e[:] = np.bincount(o, np.maximum(-d, 0.0), fs.n)
    return gain, loss, planting_gain
