"""Carbon of the reference: biomass and soil carbon of each cover (ODD 7.2, 7.3).

Written from the scenario's parameters: above-ground carbon is constant for primary
forest and annual crops and follows a Chapman-Richards curve in age for secondary
forest, cocoa agroforestry and silvopasture; below-ground carbon is a fixed share
of it; soil carbon moves towards an equilibrium, a reference stock times a
stock-change factor per cover.

References
----------
Richards, F. J. (1959). A flexible growth function for empirical use. Journal of
Experimental Botany, 10, 290-301.
Poorter, L., et al. (2016). Biomass resilience of Neotropical secondary forests.
Nature, 530, 211-214.
IPCC (2019). Refinement to the 2006 IPCC Guidelines, Vol. 4, ch. 2.
"""

from __future__ import annotations

import numpy as np

from landsim.model.state import SOC_TOLERANCE_TC_PER_HA, Cover
from landsim.scenario import Scenario

#: Tonnes of CO2 per tonne of carbon: the molar masses of CO2 and of C, 44/12.
CO2_PER_C = 44.0 / 12.0


def chapman_richards(ages: np.ndarray, a_max: float, k: float, p: float) -> np.ndarray:
    """Chapman-Richards growth ``a_max (1 - exp(-k age))^p`` at each of ``ages``.

    Parameters
    ----------
    ages : numpy.ndarray of float64
        Years since establishment.
    a_max : float
        Asymptote (tC/ha).
    k : float
        Rate (1/yr).
    p : float
        Shape.

    Returns
    -------
    numpy.ndarray
    """
    # numpy's expm1 and power on an array of ages, as the vectorised model takes
    # them: numpy may evaluate these with vector code (SIMD) whose results differ in
    # the last bit from math.expm1 and the ** of Python floats (on a machine with
    # AVX-512, 91 of 6,000 table entries), and the two models must agree to the bit.
    return a_max * (-np.expm1(-k * ages)) ** p


def growth_parameters(scenario: Scenario, cover: int) -> tuple[float, float, float] | None:
    """The Chapman-Richards parameters of a cover's above-ground carbon.

    Parameters
    ----------
    scenario : Scenario
    cover : int
        A cover code.

    Returns
    -------
    tuple of float or None
        Asymptote (tC/ha), rate (1/yr) and shape; None for a cover whose stock does
        not grow with age (primary forest, annual crops, pasture).
    """
    if cover == Cover.SECONDARY_FOREST:
        f = scenario.forest
        return f.secondary_agb_max_tc_per_ha, f.secondary_growth_rate, f.secondary_shape
    systems = {
        Cover.COCOA_AGROFORESTRY: scenario.cocoa_agroforestry,
        Cover.SILVOPASTURE: scenario.silvopasture,
    }
    if cover in systems:
        s = systems[cover]
        return s.agb_max_tc_per_ha, s.agb_growth_rate, s.agb_shape
    return None


def constant_agb_tc_per_ha(scenario: Scenario, cover: int) -> float:
    """Above-ground carbon (tC/ha) of a cover whose stock does not grow with age."""
    if cover == Cover.PRIMARY_FOREST:
        return scenario.forest.primary_agb_tc_per_ha
    if cover == Cover.MONOCROP:
        return scenario.monocrop.agb_tc_per_ha
    if cover == Cover.PASTURE:
        return scenario.pasture.agb_tc_per_ha
    return 0.0


def regrowth_share(scenario: Scenario, clearings: int) -> float:
    """The share of secondary forest's full regrowth rate on land cleared
    ``clearings`` times: each clearing after the first slows it by
    ``forest.regrowth_loss_per_reclearing``, to at most ``forest.regrowth_loss_max``
    less (7.2; Heinrich et al. 2021)."""
    f = scenario.forest
    reclearings = float(max(clearings - 1, 0))
    return 1.0 - min(f.regrowth_loss_per_reclearing * reclearings, f.regrowth_loss_max)


def root_shoot_ratio(scenario: Scenario, cover: int) -> float:
    """Below- to above-ground biomass of a cover: the forest's for primary and
    secondary forest, each land use's own otherwise (7.2)."""
    if cover in (Cover.PRIMARY_FOREST, Cover.SECONDARY_FOREST):
        return scenario.forest.root_shoot_ratio
    return {
        Cover.MONOCROP: scenario.monocrop,
        Cover.COCOA_AGROFORESTRY: scenario.cocoa_agroforestry,
        Cover.SILVOPASTURE: scenario.silvopasture,
        Cover.PASTURE: scenario.pasture,
    }[Cover(cover)].root_shoot_ratio


def biomass_by_age(
    scenario: Scenario, cover: int, max_age: int, clearings: int = 1, planted: bool = False
) -> np.ndarray:
    """Biomass carbon (tC/ha, above + below ground) of a cover at ages 0..``max_age``.

    Parameters
    ----------
    scenario : Scenario
    cover : int
        A cover code.
    max_age : int
    clearings : int
        Times the land was cleared (slows secondary forest's regrowth).
    planted : bool
        Planted secondary forest: the planting curve
        (``forest.planted_agb_max_tc_per_ha``, ``planted_growth_rate``, ``planted_shape``),
        whatever the land's history (7.17).

    Returns
    -------
    numpy.ndarray
        By whole years of age.
    """
    below_ground = 1.0 + root_shoot_ratio(scenario, cover)
    curve = growth_parameters(scenario, cover)
    if planted and cover == Cover.SECONDARY_FOREST:
        f = scenario.forest
        curve = (f.planted_agb_max_tc_per_ha, f.planted_growth_rate, f.planted_shape)
        clearings = 1
    if curve is None:
        return np.full(max_age + 1, constant_agb_tc_per_ha(scenario, cover) * below_ground)
    a_max, k, p = curve
    if cover == Cover.SECONDARY_FOREST and clearings > 1:
        k = k * regrowth_share(scenario, clearings)
    ages = np.arange(max_age + 1, dtype=np.float64)
    return chapman_richards(ages, a_max, k, p) * below_ground


def soc_factor(scenario: Scenario, cover: int) -> float:
    """The soil carbon stock-change factor of a cover: primary forest, the
    reference, 1; the others IPCC Tier 1 F_LU x F_MG x F_I (7.3)."""
    s = scenario.soil
    if cover == Cover.PRIMARY_FOREST:
        return 1.0
    factors = {
        Cover.SECONDARY_FOREST: s.secondary_forest,
        Cover.MONOCROP: s.monocrop,
        Cover.COCOA_AGROFORESTRY: s.cocoa_agroforestry,
        Cover.SILVOPASTURE: s.silvopasture,
        Cover.PASTURE: s.pasture,
    }[Cover(cover)]
    return factors.land_use * factors.management * factors.input


class CarbonCurves:
    """Biomass and equilibrium soil carbon of each cover, from a scenario.

    Parameters
    ----------
    scenario : Scenario
    """

    def __init__(self, scenario: Scenario):
        self.params = scenario
        self._biomass_table: dict[tuple[int, int, bool], np.ndarray] = {}
        reference = scenario.soil.soc_reference_tc_per_ha
        self._soc_equilibrium = [reference * soc_factor(scenario, cover) for cover in Cover]

    def biomass_density(
        self, cover: int, age: int, clearings: int = 1, planted: bool = False
    ) -> float:
        """Biomass carbon (tC/ha, above + below ground) of a cover at an age (7.2).

        Primary forest and annual crops hold constant stocks; secondary forest,
        cocoa agroforestry and silvopasture follow Chapman-Richards curves in age,
        tabulated here by whole years; secondary forest's is slower on land cleared
        more than once.

        Parameters
        ----------
        cover : int
            A cover code.
        age : int
            Years since the cover was established.
        clearings : int
            Times the cell's land has been cleared.
        planted : bool
            Whether the cell was planted (secondary forest on the planting curve).

        Returns
        -------
        float
        """
        secondary = cover == Cover.SECONDARY_FOREST
        times = int(clearings) if secondary and clearings > 1 else 1
        key = (int(cover), times, bool(planted and secondary))
        if key[2]:
            key = (int(cover), 0, True)  # the land's history does not matter
        table = self._biomass_table.get(key)
        if table is None or age >= table.size:
            table = biomass_by_age(self.params, int(cover), max(2 * age, 64), times, key[2])
            self._biomass_table[key] = table
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
        return self._soc_equilibrium[cover]


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


def grow_cell_carbon(cell, cover: Cover, retention: float, curves: CarbonCurves, planted=False):
    """One year of a cell's carbon, after its age has been counted up.

    Soil carbon closes the share ``1 - retention`` of its gap to the cover's
    equilibrium, and sits at the equilibrium once the gap is below
    ``SOC_TOLERANCE_TC_PER_HA`` (7.3); biomass follows the cover's curve at the new
    age (7.2).

    Parameters
    ----------
    cell : mesa.discrete_space.Cell
    cover : Cover
        The cell's cover.
    retention : float
        ``exp(-soil.approach_rate_per_year)``.
    curves : CarbonCurves
    planted : bool
        Whether the cell is planted (7.17).

    Returns
    -------
    tuple of float
        The change of biomass and of soil carbon (tC/ha).
    """
    old_soc = cell.soc_tc_per_ha
    goal = curves.soc_equilibrium(cover)
    if old_soc != goal:
        new = goal + (old_soc - goal) * retention
        cell.soc_tc_per_ha = goal if abs(new - goal) < SOC_TOLERANCE_TC_PER_HA else new
    old_biomass = cell.biomass_tc_per_ha
    age, clearings = int(cell.age), int(cell.clearings)
    cell.biomass_tc_per_ha = curves.biomass_density(cover, age, clearings, planted)
    return cell.biomass_tc_per_ha - old_biomass, cell.soc_tc_per_ha - old_soc
