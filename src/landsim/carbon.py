"""Carbon: biomass by cover and age, soil organic carbon, and yearly fluxes.

Stocks are densities in tC/ha on each cell; totals and fluxes are reported in tC
and tCO2e (x 44/12). Each year the change in stock of every cell and pool is split
into removals (gains) and emissions (losses), so that, summed over the landscape,
``stock change = removals - emissions`` holds exactly.

References
----------
Poorter, L., et al. (2016). Biomass resilience of Neotropical secondary forests.
Nature, 530, 211-214. (Regrowth curve; a Chapman-Richards fit, docs/references.md.)
Gonas, M., et al. (2022). Sustainability, 14, 9739. (Cocoa agroforestry biomass.)
Don, A., Schumacher, J., & Freibauer, A. (2011). Impact of tropical land-use change
on soil organic carbon stocks - a meta-analysis. Global Change Biology, 17, 1658-1670.
IPCC (2019). Refinement to the 2006 IPCC Guidelines, Vol. 4, ch. 2, 5 and 6 (Tier 1
soil stock-change factors, the 20-year default period; committed emission of
biomass at clearing).
"""

from __future__ import annotations

import math

import numpy as np

from landsim.landscape import Cover
from landsim.model.state import PERENNIALS, SYSTEMS, system_params
from landsim.scenario import Scenario

CO2_PER_C = 44.0 / 12.0
#: The most clearings the ``clearings`` layer (int16) counts.
MAX_CLEARINGS = int(np.iinfo(np.int16).max)
#: The row of planted secondary forest in :func:`biomass_table` (after the covers').
PLANTED_ROW = len(Cover)


def chapman_richards(age, a_max: float, k: float, p: float):
    """Chapman-Richards growth ``a_max * (1 - exp(-k * age)) ** p``.

    Parameters
    ----------
    age : array_like
        Years since establishment (>= 0).
    a_max : float
        Asymptote (tC/ha).
    k : float
        Rate (1/yr).
    p : float
        Shape (dimensionless).
    """
    return a_max * (-np.expm1(-k * np.asarray(age, dtype=np.float64))) ** p


def regrowth_levels(scenario: Scenario) -> int:
    """How many clearings of its land give secondary forest a rate of its own: the
    full rate (cleared once), then one per re-clearing until the loss has reached
    ``forest.regrowth_loss_max`` (one level beyond, so that rounding cannot leave
    the last level short of the cap); more clearings have the last level's rate."""
    f = scenario.forest
    if f.regrowth_loss_per_reclearing == 0:
        return 1
    if f.regrowth_loss_per_reclearing * (MAX_CLEARINGS - 2) <= f.regrowth_loss_max:
        return MAX_CLEARINGS  # no more levels than clearings the int16 layer counts
    return 2 + math.ceil(f.regrowth_loss_max / f.regrowth_loss_per_reclearing)


def regrowth_factor(clearings: np.ndarray, scenario: Scenario) -> np.ndarray:
    """The share of the full regrowth rate of secondary forest on land cleared
    ``clearings`` times: ``1 - min(loss x (clearings - 1), loss_max)``.

    References
    ----------
    Heinrich, V. H. A., et al. (2021). Large carbon sink potential of secondary
    forests in the Brazilian Amazon to mitigate climate change. Nature
    Communications, 12, 1785. (Repeated deforestation cuts regrowth by 8-55 %.)
    """
    f = scenario.forest
    reclearings = np.maximum(np.asarray(clearings, dtype=np.float64) - 1.0, 0.0)
    return 1.0 - np.minimum(f.regrowth_loss_per_reclearing * reclearings, f.regrowth_loss_max)


def biomass_density(
    cover: np.ndarray,
    age: np.ndarray,
    scenario: Scenario,
    clearings: np.ndarray | None = None,
    planted: np.ndarray | None = None,
) -> np.ndarray:
    """Biomass carbon, above + below ground (tC/ha), by cover and age.

    Above-ground carbon follows a per-cover curve; below-ground carbon is the
    above-ground value times the cover's root:shoot ratio
    (:func:`root_shoot_ratios`). Secondary forest regrows at a rate cut by each
    earlier clearing of its land (:func:`regrowth_factor`; ``clearings`` None:
    cleared once); planted secondary forest (``planted``, a mask; None: none)
    grows on the planting curve instead (:func:`planted_agb`), whatever the
    land's history: the seedlings are planted, not waited for.
    """
    f = scenario.forest
    agb = np.zeros(cover.shape, dtype=np.float64)
    agb[cover == Cover.PRIMARY_FOREST] = f.primary_agb_tc_per_ha
    agb[cover == Cover.MONOCROP] = scenario.monocrop.agb_tc_per_ha
    agb[cover == Cover.PASTURE] = scenario.pasture.agb_tc_per_ha
    curves = [
        (
            Cover.SECONDARY_FOREST,
            f.secondary_agb_max_tc_per_ha,
            f.secondary_growth_rate,
            f.secondary_shape,
        )
    ]
    for system in PERENNIALS:
        p = system_params(system, scenario)
        curves.append((system.cover, p.agb_max_tc_per_ha, p.agb_growth_rate, p.agb_shape))
    for code, a_max, k, p in curves:
        mask = cover == code
        if code == Cover.SECONDARY_FOREST and clearings is not None:
            k = k * regrowth_factor(clearings[mask], scenario)
        agb[mask] = chapman_richards(age[mask], a_max, k, p)
    if planted is not None:
        mask = planted & (cover == Cover.SECONDARY_FOREST)
        agb[mask] = planted_agb(age[mask], scenario)
    return agb * (1.0 + root_shoot_ratios(scenario))[cover]


def planted_agb(age, scenario: Scenario):
    """Above-ground carbon (tC/ha) of a planting (ARR) of ``age`` years: the
    Chapman-Richards curve of ``forest.planted_agb_max_tc_per_ha``,
    ``planted_growth_rate`` and ``planted_shape``, faster than regrowth in its
    early years (Bernal et al. 2018, docs/references.md)."""
    f = scenario.forest
    return chapman_richards(
        age, f.planted_agb_max_tc_per_ha, f.planted_growth_rate, f.planted_shape
    )


def root_shoot_ratios(scenario: Scenario) -> np.ndarray:
    """Below- to above-ground biomass of each cover code: ``forest.root_shoot_ratio``
    for the forest covers, each other system's ``root_shoot_ratio``."""
    return np.array(
        [
            scenario.forest.root_shoot_ratio
            if s.forest
            else system_params(s, scenario).root_shoot_ratio
            for s in SYSTEMS
        ]
    )


def biomass_table(scenario: Scenario, max_age: int, max_clearings: int = 1) -> np.ndarray:
    """:func:`biomass_density` of every cover code (rows) at ages 0..``max_age``
    (columns), tC/ha: the same numbers, computed once for a lookup by cover and age.

    After the cover rows come planted secondary forest's row (:data:`PLANTED_ROW`),
    then secondary forest's rows on land cleared 2, 3, ... times, up to
    ``max_clearings`` and at most one per slower regrowth rate
    (:func:`regrowth_levels`)."""
    ages = np.arange(max_age + 1)
    rows = [
        biomass_density(np.full(ages.shape, code, dtype=np.int8), ages, scenario) for code in Cover
    ]
    secondary = np.full(ages.shape, Cover.SECONDARY_FOREST, dtype=np.int8)
    rows.append(biomass_density(secondary, ages, scenario, planted=np.ones(ages.shape, bool)))
    for clearings in range(2, min(max_clearings, regrowth_levels(scenario)) + 1):
        times = np.full(ages.shape, clearings)
        rows.append(biomass_density(secondary, ages, scenario, times))
    return np.stack(rows)


def soc_factors(scenario: Scenario) -> np.ndarray:
    """Soil carbon stock-change factor per cover code: primary forest, the
    reference, 1; each other cover its IPCC Tier 1 ``land_use * management * input``
    (``soil.<system>``)."""
    s = scenario.soil
    return np.array(
        [
            1.0 if system.cover == Cover.PRIMARY_FOREST else getattr(s, system.name).combined
            for system in SYSTEMS
        ]
    )


def soc_equilibrium(cover: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Equilibrium soil organic carbon (tC/ha) of each cell's cover."""
    return scenario.soil.soc_reference_tc_per_ha * soc_factors(scenario)[cover]


def split_change(old: np.ndarray, new: np.ndarray, cell_size_ha: float) -> tuple[float, float]:
    """Removals and emissions (tCO2e) in going from ``old`` to ``new`` densities."""
    return split_difference((new - old) * cell_size_ha)


def split_difference(d: np.ndarray) -> tuple[float, float]:
    """Removals and emissions (tCO2e) of per-cell stock changes ``d`` (tC)."""
    gain = float(d[d > 0].sum())
    loss = float(-d[d < 0].sum())
    return gain * CO2_PER_C, loss * CO2_PER_C
