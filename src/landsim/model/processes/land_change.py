"""Land-use change (ODD: "Land-use change"): the year's choices applied to explicit
cells.

- Abandoning: the farm's worn-out cells (exhausted annual crops, degraded
  pasture) become secondary forest.
- Clearing: a farm clears its own forest before claimable unowned forest, each
  nearest existing fields and roads first (ties at random); clearing unowned
  forest makes it the farm's; cleared cells become annual cropland, pasture (sown
  at a cost paid from savings) or cocoa agroforestry (planted at its
  establishment cost), as the farm chose.
- Perennial systems are established on the farm's least fertile cells of the
  cover they replace (annual crops for cocoa agroforestry, pasture for
  silvopasture; ties at random), their establishment cost paid from savings.
- Restoring pasture renovates the farm's least fertile pasture cells (ties at
  random): their fertility rises to ``pasture.restored_fertility``, at
  ``pasture.restoration_cost_usd_per_ha`` paid from savings.

A changed cell's age is reset (:func:`change_cover`); its soil carbon then
approaches the new cover's equilibrium (``soil``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from landsim.landscape import rank_within_groups
from landsim.model import _fast
from landsim.model.ownership import Ownership
from landsim.model.processes.survey import FarmSurvey
from landsim.model.state import (
    CLEARING,
    NO_OWNER,
    PERENNIALS,
    Cover,
    FarmerState,
    Landscape,
    Option,
    system_params,
)
from landsim.scenario import Scenario


@dataclass
class LandChange:
    """What the year's land-use changes did.

    Attributes
    ----------
    cleared, cleared_farm : int ndarrays
        Flat indices of the cleared cells and the farm that cleared each.
    primary : bool ndarray
        Which cleared cells were primary forest.
    was_unowned : bool ndarray
        Which cleared cells were unowned (claimed by clearing).
    cleared_cover : int8 ndarray
        The cover each cleared cell became (annual crops, pasture or cocoa
        agroforestry: :data:`CLEARING`).
    established : dict of Option to int ndarray
        For each perennial option, the farm of each cell established.
    converted : list of (ndarray, ndarray, Cover)
        The farmland cells converted to each perennial system, their farm, and the
        system's cover.
    areas_ha : dict of str to float
        Area converted to each perennial system (ha), by system name.
    """

    cleared: np.ndarray
    cleared_farm: np.ndarray
    primary: np.ndarray
    was_unowned: np.ndarray
    cleared_cover: np.ndarray
    established: dict
    areas_ha: dict
    converted: list


def change_cover(landscape: Landscape, cells: np.ndarray, new_cover: Cover) -> None:
    """Set the cover of ``cells`` and reset their age; their soil carbon then
    approaches the new cover's equilibrium (``soil.advance_soil``). A restoration
    intervention on them ends (``restoration``)."""
    landscape.cover.ravel()[cells] = new_cover
    landscape.age.ravel()[cells] = 0
    if landscape.restoration is not None:
        landscape.restoration.ravel()[cells] = 0


def abandon(landscape: Landscape, survey: FarmSurvey, abandons: np.ndarray) -> tuple[float, float]:
    """The worn-out land (exhausted annual crops, degraded pasture) of the farmers
    who abandon becomes secondary forest. Returns the area abandoned and the part
    of it that was pasture (ha)."""
    exhausted, farm = survey.exhausted_cells
    cells = exhausted[abandons[farm]]
    pasture = int(np.count_nonzero(landscape.cover.ravel()[cells] == Cover.PASTURE))
    change_cover(landscape, cells, Cover.SECONDARY_FOREST)
    cell = landscape.cell_size_ha
    return float(cells.size * cell), float(pasture * cell)


def cells_to_clear(
    landscape: Landscape,
    survey: FarmSurvey,
    k_clear: np.ndarray,
    rng: np.random.Generator,
    search_levels: tuple[int, ...],
    margin: int,
    claims_first: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The cells each farm clears (``k_clear`` per farm) and their farm: own forest
    before claimable land (claimable land first for the farms ``claims_first``
    marks: their contract does not cover it), then nearest fields and roads, ties
    at random."""
    owner = landscape.owner.ravel()
    cand, cand_farm = survey.clear_candidates
    take = k_clear[cand_farm] > 0
    cand, cand_farm = cand[take], cand_farm[take]
    if not cand.size:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    is_claim = owner[cand] == NO_OWNER
    if claims_first is not None:
        is_claim = is_claim != claims_first[cand_farm]
    is_claim = is_claim.astype(np.int64)
    group = cand_farm * 2 + is_claim
    field_distance, bound = _fast.clearing_distances(
        landscape, cand, group, k_clear, search_levels, margin
    )
    # Sort by farm, then own land before claims, then distance, ties at random:
    # one composite integer key plus a uniform in [0, 1) sorts like a four-key
    # lexsort, about ten times faster.
    key = group * bound + field_distance
    order = _fast.argsort_stable(key + rng.random(cand.size))
    cand, cand_farm = cand[order], cand_farm[order]
    keep = rank_within_groups(cand_farm) < k_clear[cand_farm]
    return cand[keep], cand_farm[keep]


def cells_to_convert(
    farmland: tuple, k: np.ndarray, option: Option, fertility: np.ndarray, rng
) -> tuple[np.ndarray, np.ndarray]:
    """The cells of ``farmland`` (cells, farm, fertility: annual crops or pasture
    that may change) each farm converts under ``option`` (``k[:, option]`` per
    farm), the least fertile first, ties at random; and their farm."""
    land, land_farm, _ = farmland
    take = k[land_farm, option] > 0
    cells, farms = land[take], land_farm[take]
    order = np.lexsort((rng.random(cells.size), fertility[cells], farms))
    cells, farms = cells[order], farms[order]
    keep = rank_within_groups(farms) < k[farms, option]
    return cells[keep], farms[keep]


def apply_choices(
    params: Scenario,
    landscape: Landscape,
    farmers: FarmerState,
    ownership: Ownership,
    survey: FarmSurvey,
    choice: np.ndarray,
    sizes: np.ndarray,
    rng: np.random.Generator,
    search_levels: tuple[int, ...] = _fast.CLEARING_SEARCH_LEVELS,
    margin: int = _fast.FIELD_DISTANCE_MARGIN,
    claims_first: np.ndarray | None = None,
) -> LandChange:
    """Change the cells of each farmer's stage-2 choice; pay establishment from
    savings (``farmers.investment_usd``); record clearing in the farmers' totals.
    ``claims_first`` marks the farms that clear claimable land before their own
    (:func:`cells_to_clear`)."""
    ls, fs, cell = landscape, farmers, landscape.cell_size_ha
    cover, owner = ls.cover.ravel(), ls.owner.ravel()
    fert, claim = ls.fertility.ravel(), ls.claim.ravel()
    k = np.where(choice[:, None] == np.arange(len(Option)), sizes, 0)  # (n, options)

    k_clear = sum(k[:, option] for option in CLEARING)
    cleared, cleared_farm = cells_to_clear(
        ls, survey, k_clear, rng, search_levels, margin, claims_first
    )
    primary = cover[cleared] == Cover.PRIMARY_FOREST
    was_unowned = owner[cleared] == NO_OWNER
    fs.deforested_ha += np.bincount(cleared_farm[primary], minlength=fs.n) * cell
    fs.claimed_ha += np.bincount(cleared_farm[was_unowned], minlength=fs.n) * cell
    claimed = cleared[was_unowned]
    owner[cleared] = cleared_farm
    ls.clearings.ravel()[cleared] += 1
    claim[cleared] = NO_OWNER
    cleared_cover, changed, investment = use_cleared_land(
        params, cleared, cleared_farm, choice, fs.n, cell
    )
    planted = cleared_farm[cleared_cover == Cover.COCOA_AGROFORESTRY]
    converted, established, areas, cost = convert_farmland(
        params, survey, k, fert, rng, planted, cell
    )
    investment += cost
    changed += [(cells, new_cover) for cells, _, new_cover in converted]
    restored, restored_farm = cells_to_convert(
        survey.pasture_cells, k, Option.RESTORE_PASTURE, fert, rng
    )
    investment += restoration_cost_usd(params, restored_farm, fs.n, cell)
    areas["restored_pasture"] = float(restored.size * cell)
    for cells, new_cover in changed:
        change_cover(ls, cells, new_cover)
    restore_pasture(ls, restored, params.pasture.restored_fertility)
    ownership.record_clearing(ls, cleared, cleared_farm, claimed)
    fs.investment_usd[:] = investment
    fs.savings_usd -= investment
    return LandChange(
        cleared, cleared_farm, primary, was_unowned, cleared_cover, established, areas, converted
    )


def convert_farmland(params, survey, k, fertility, rng, planted, cell_size_ha: float):
    """Each perennial system established on the farmland it replaces (the chosen
    ``k`` cells of each farm, least fertile first, :func:`cells_to_convert`).

    Returns the converted cells, farms and cover of each system; the farms of the
    cells established by option (cocoa planted on cleared land, ``planted``, is
    established cocoa too: support is due); the area of each system (ha); and what
    establishment cost each farm (USD).
    """
    converted, established, areas = [], {}, {}
    cost = np.zeros(k.shape[0])
    for system in PERENNIALS:
        farmland = survey.cells_of(system.established_on)
        cells, farms = cells_to_convert(farmland, k, system.option, fertility, rng)
        cost += np.bincount(farms, minlength=k.shape[0]) * (
            system_params(system, params).establishment_cost_usd_per_ha * cell_size_ha
        )
        areas[system.name] = float(cells.size * cell_size_ha)
        converted.append((cells, farms, system.cover))
        extra = planted if system.option == Option.COCOA_AGROFORESTRY else farms[:0]
        established[system.option] = np.concatenate([farms, extra])
    return converted, established, areas, cost


def restoration_cost_usd(params: Scenario, farms: np.ndarray, n: int, cell_size_ha: float):
    """What restoring the cells of ``farms`` costs each farm (USD, from savings)."""
    cost = params.pasture.restoration_cost_usd_per_ha * cell_size_ha
    return np.bincount(farms, minlength=n) * cost


def restore_pasture(landscape: Landscape, cells: np.ndarray, restored_fertility: float) -> None:
    """Renovate pasture ``cells``: their fertility rises to ``restored_fertility``
    (never falls) and their age is reset (the grass is sown again)."""
    fert = landscape.fertility.ravel()
    fert[cells] = np.maximum(fert[cells], restored_fertility)
    landscape.age.ravel()[cells] = 0


def use_cleared_land(
    params: Scenario,
    cleared: np.ndarray,
    cleared_farm: np.ndarray,
    choice: np.ndarray,
    n: int,
    cell_size_ha: float,
) -> tuple[np.ndarray, list, np.ndarray]:
    """What each cleared cell becomes (by its farm's choice, :data:`CLEARING`), the
    cells of each new cover, and what sowing or planting them costs each farm
    (USD)."""
    to_cover = np.zeros(len(Option), dtype=np.int8)
    for option, new_cover in CLEARING.items():
        to_cover[option] = new_cover
    cleared_cover = to_cover[choice[cleared_farm]]
    investment = np.zeros(n)
    changed = []
    for new_cover in CLEARING.values():
        here = cleared_cover == new_cover
        changed.append((cleared[here], new_cover))
        cost = clearing_setup_cost_usd_per_ha(params, new_cover)
        if cost:
            investment += np.bincount(cleared_farm[here], minlength=n) * (cost * cell_size_ha)
    return cleared_cover, changed, investment


def clearing_setup_cost_usd_per_ha(params: Scenario, new_cover: Cover) -> float:
    """What it costs (USD/ha, from savings) to make cleared forest ``new_cover``:
    nothing for annual crops (sown by the household), sowing for pasture, the
    establishment cost for cocoa agroforestry."""
    if new_cover == Cover.PASTURE:
        return params.pasture.establishment_cost_usd_per_ha
    if new_cover == Cover.COCOA_AGROFORESTRY:
        return params.cocoa_agroforestry.establishment_cost_usd_per_ha
    return 0.0


def forest_edge_distance(landscape: Landscape, n: int) -> np.ndarray:
    """Mean distance (cells) of each farm's forest to the nearest field or road
    (inf for a farm with no forest): how exposed its forest is."""
    owner = landscape.owner.ravel()
    dist = _fast.distance_to_fields(landscape)
    forest = (dist > 0) & (owner >= 0)
    count = np.bincount(owner[forest], minlength=n)
    total = np.bincount(owner[forest], dist[forest], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.inf)


class FarmClearing(NamedTuple):
    """The forest each farm cleared this year (ha): all of it, its primary forest,
    the part on claimed (unowned) land, and the primary forest among that."""

    forest_ha: np.ndarray
    primary_ha: np.ndarray
    claims_ha: np.ndarray
    primary_claims_ha: np.ndarray


@dataclass
class YearChanges:
    """The year's land-use transitions, in ha (what the record reports).

    Attributes
    ----------
    abandoned_ha : float
        Worn-out land abandoned to secondary forest (stage 1).
    abandoned_pasture_ha : float
        The degraded pasture among it.
    deforestation_ha, secondary_cleared_ha, claimed_ha : float
        Primary forest cleared, fallow cleared, and unowned land claimed by clearing.
    deforestation_enrolled_ha, deforestation_not_enrolled_ha : float
        Primary forest cleared on enrolled and on other owned land.
    deforestation_unowned_ha : float
        Primary forest cleared on unowned land.
    cleared_to_pasture_ha, cleared_to_cocoa_ha : float
        Forest (primary or secondary) cleared for pasture, and for cocoa
        agroforestry; the rest of the cleared forest became annual crops.
    converted_ha : dict of str to float
        Land converted to each perennial system, by system name, and pasture
        restored (``"restored_pasture"``).
    cleared : FarmClearing
        The forest each farm cleared, by kind and land.
    """

    abandoned_ha: float
    abandoned_pasture_ha: float
    deforestation_ha: float
    secondary_cleared_ha: float
    claimed_ha: float
    deforestation_enrolled_ha: float
    deforestation_not_enrolled_ha: float
    deforestation_unowned_ha: float
    cleared_to_pasture_ha: float
    cleared_to_cocoa_ha: float
    converted_ha: dict
    cleared: FarmClearing


def tally(
    change: LandChange,
    abandoned_ha: tuple[float, float],
    enrolled: np.ndarray,
    cell_size_ha: float,
    n: int,
) -> YearChanges:
    """The year's transitions (see :class:`YearChanges`) from stage 1's abandoned
    area (all, and pasture: :func:`abandon`) and stage 2's changes."""
    cell, primary, was_unowned = cell_size_ha, change.primary, change.was_unowned
    enrolled = enrolled[change.cleared_farm]
    deforestation = float(primary.sum() * cell)
    own = primary & ~was_unowned
    return YearChanges(
        abandoned_ha=abandoned_ha[0],
        abandoned_pasture_ha=abandoned_ha[1],
        deforestation_ha=deforestation,
        secondary_cleared_ha=float(change.cleared.size * cell) - deforestation,
        claimed_ha=float(was_unowned.sum() * cell),
        deforestation_enrolled_ha=float((own & enrolled).sum() * cell),
        deforestation_not_enrolled_ha=float((own & ~enrolled).sum() * cell),
        deforestation_unowned_ha=float((primary & was_unowned).sum() * cell),
        cleared_to_pasture_ha=float((change.cleared_cover == Cover.PASTURE).sum() * cell),
        cleared_to_cocoa_ha=float((change.cleared_cover == Cover.COCOA_AGROFORESTRY).sum() * cell),
        converted_ha=change.areas_ha,
        cleared=FarmClearing(
            forest_ha=np.bincount(change.cleared_farm, minlength=n) * cell,
            primary_ha=np.bincount(change.cleared_farm[primary], minlength=n) * cell,
            claims_ha=np.bincount(change.cleared_farm[was_unowned], minlength=n) * cell,
            primary_claims_ha=np.bincount(change.cleared_farm[primary & was_unowned], minlength=n)
            * cell,
        ),
    )
