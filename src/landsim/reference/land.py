"""The reference's land: the Mesa grid, distances, clearing and conversion (ODD 7.10)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import OrthogonalMooreGrid

from landsim.model.state import (
    CLEARING,
    NO_OWNER,
    PRODUCTIVE_RESTORATION,
    Cover,
    Landscape,
    Option,
)
from landsim.reference.curves import sum_in_order

if TYPE_CHECKING:
    from landsim.reference.model import ReferenceModel

#: Property layers of the reference grid, with their dtypes (as in the Landscape).
LAYERS = {
    "cover": np.int8,
    "age": np.int16,
    "fertility": np.float64,
    "owner": np.int32,
    "protected": bool,
    "road": bool,
    "claim": np.int32,
    "biomass_tc_per_ha": np.float64,
    "soc_tc_per_ha": np.float64,
    "clearings": np.int16,
    "restoration": np.int8,
}

FOREST_COVERS = (Cover.PRIMARY_FOREST, Cover.SECONDARY_FOREST)
#: The options that establish a perennial system, and the cover they establish.
NEW_SYSTEMS = (
    (Option.COCOA_AGROFORESTRY, Cover.COCOA_AGROFORESTRY),
    (Option.SILVOPASTURE, Cover.SILVOPASTURE),
)
#: What :func:`clear_forest` counts, in cells.
CLEARING_COUNTS = (
    "primary",
    "secondary",
    "claimed",
    "enrolled",
    "not_enrolled",
    "unowned",
    "pasture",
    "cocoa",
)


def build_grid(landscape: Landscape, random) -> tuple[OrthogonalMooreGrid, list]:
    """A Mesa grid holding the landscape's layers, and its cells in raster order.

    Parameters
    ----------
    landscape : Landscape
    random : random.Random
        The model's Python generator (Mesa's ``model.random``).

    Returns
    -------
    grid : OrthogonalMooreGrid
        Cell ``(x, y)`` is column ``x`` and row ``y`` (from the northern edge) of
        the landscape arrays; its property layers are :data:`LAYERS`.
    cells : list of Cell
        All cells row by row from the northern edge, west to east.
    """
    height, width = landscape.shape
    grid = OrthogonalMooreGrid((width, height), torus=False, random=random)
    for name, dtype in LAYERS.items():
        layer = grid.create_property_layer(name, default_value=0, dtype=dtype)
        source = getattr(landscape, name, None)
        if source is not None:
            layer.data[:] = source.T
    cells = [grid[(x, y)] for y in range(height) for x in range(width)]
    return grid, cells


# ----------------------------------------------------------------------------- distances


def distance_to_fields(model: ReferenceModel) -> dict:
    """Chessboard distance (cells) from each forest cell to the nearest field or road.

    A breadth-first search over Moore neighbourhoods.

    Parameters
    ----------
    model : ReferenceModel

    Returns
    -------
    dict
        Cell -> distance: 0 for the non-forest and road cells themselves; forest
        never reached is absent.
    """
    frontier = [c for c in model.cells if c.cover not in FOREST_COVERS or c.road]
    distance = dict.fromkeys(frontier, 0)
    step = 0
    while frontier:
        step += 1
        reached = []
        for cell in frontier:
            for neighbour in cell.neighborhood:
                if neighbour not in distance:
                    distance[neighbour] = step
                    reached.append(neighbour)
        frontier = reached
    return distance


def forest_edge_distance(model: ReferenceModel) -> dict[int, float]:
    """Mean distance of each farm's forest to the nearest field or road.

    Parameters
    ----------
    model : ReferenceModel

    Returns
    -------
    dict
        Farm id -> mean distance (cells) over its forest cells, inf if it has none.
    """
    distance = distance_to_fields(model)
    out = {}
    for f in model.farmers:
        own = [distance.get(c, -1) for c in f.cells]
        forest = [d for d in own if d > 0]
        out[f.farm_id] = sum_in_order(forest) / len(forest) if forest else math.inf
    return out


# ----------------------------------------------------------------------------- clearing


def draw_tie_breaks(model: ReferenceModel, clearing: list, surveys: dict, rng):
    """Distances to fields and one uniform per candidate cell of the clearing farmers.

    Parameters
    ----------
    model : ReferenceModel
    clearing : list of ReferenceFarmer
        The farmers who chose to clear.
    surveys : dict
        Farm id -> FarmSurvey.
    rng : numpy.random.Generator
        This year's decision stream; one uniform per candidate cell, in raster order.

    Returns
    -------
    distance : dict
        :func:`distance_to_fields` (empty if there is no candidate cell).
    tie_break : dict
        Candidate cell -> its uniform.
    """
    candidates = sorted(
        ((c, f) for f in clearing for c in surveys[f.farm_id].clearable),
        key=lambda pair: model.raster_index(pair[0]),
    )
    tie_break, distance = {}, {}
    if candidates:
        distance = distance_to_fields(model)
        uniforms = rng.random(len(candidates))
        for (cell, _), u in zip(candidates, uniforms, strict=True):
            tie_break[cell] = u
    return distance, tie_break


def clear_cells(
    model: ReferenceModel, farmer, cells: list, counts: dict, new_cover: Cover
) -> None:
    """One farmer turns ``cells`` into ``new_cover`` (annual crops or pasture);
    claimed cells join the farm.

    Parameters
    ----------
    model : ReferenceModel
    farmer : ReferenceFarmer
    cells : list of Cell
        The forest cells it clears.
    counts : dict
        :data:`CLEARING_COUNTS` -> cells so far this year, added to here.
    new_cover : Cover
        What the cleared land becomes.
    """
    enrolled = model.programmes.enrolled_anywhere(farmer)
    n_primary = n_claimed = 0
    for cell in cells:
        primary = cell.cover == Cover.PRIMARY_FOREST
        claimed = cell.owner == NO_OWNER
        n_primary += primary
        n_claimed += claimed
        if primary and claimed:
            counts["unowned"] += 1
        elif primary and enrolled:
            counts["enrolled"] += 1
        elif primary:
            counts["not_enrolled"] += 1
        if claimed:  # the claimed cell joins the farm
            cell.owner = farmer.farm_id
            cell.claim = NO_OWNER
            farmer.claimable.remove(cell)
            farmer.cells.append(cell)
        cell.clearings += 1
        model.change_cover(cell, new_cover)
    farmer.cells.sort(key=model.raster_index)
    counts["primary"] += n_primary
    counts["secondary"] += len(cells) - n_primary
    counts["claimed"] += n_claimed
    counts["pasture"] += len(cells) if new_cover == Cover.PASTURE else 0
    counts["cocoa"] += len(cells) if new_cover == Cover.COCOA_AGROFORESTRY else 0
    farmer.deforested_ha += n_primary * model.cell_size_ha
    farmer.claimed_ha += n_claimed * model.cell_size_ha


def clearing_record(cells: list, cell_ha: float) -> tuple[float, float, float, float]:
    """The forest ``cells`` a farmer is about to clear, in ha: all of them, the
    primary forest, those on claimed (unowned) land, and the primary forest among
    those."""
    primary = [c.cover == Cover.PRIMARY_FOREST for c in cells]
    claimed = [c.owner == NO_OWNER for c in cells]
    both = sum(p and c for p, c in zip(primary, claimed, strict=True))
    return (
        len(cells) * cell_ha,
        sum(primary) * cell_ha,
        sum(claimed) * cell_ha,
        both * cell_ha,
    )


def clear_forest(model: ReferenceModel, choices: dict, sizes: dict, surveys: dict, rng) -> dict:
    """Farmers who chose to clear convert their best forest cells to annual crops,
    to pasture (sown at a cost paid from savings) or to cocoa agroforestry (planted
    at its establishment cost).

    A farm's candidate cells are taken own land first, then claimable land, each
    nearest existing fields and roads first, ties at random (ODD 7.10); a farm
    enrolled where the contract covers only the land it holds takes claimable land
    first (activity shifting).

    Parameters
    ----------
    model : ReferenceModel
    choices, sizes : dict
        Farm id -> chosen option, and cells it changes.
    surveys : dict
        Farm id -> FarmSurvey.
    rng : numpy.random.Generator
        This year's decision stream.

    Returns
    -------
    dict
        The year's clearing indicators (ha), ``cleared``: farm id -> the forest it
        cleared (:func:`clearing_record`),
        ``setup_usd``: farm id -> what sowing pasture or planting cocoa on the
        cleared land cost it, and ``planted``: farm id -> cells it planted to cocoa.
    """
    cell_ha = model.cell_size_ha
    clearing = [f for f in model.farmers if choices[f.farm_id] in CLEARING]
    setup_usd = {f.farm_id: 0.0 for f in model.farmers}
    planted = {}
    costs = {
        Cover.PASTURE: model.params.pasture.establishment_cost_usd_per_ha,
        Cover.COCOA_AGROFORESTRY: model.params.cocoa_agroforestry.establishment_cost_usd_per_ha,
    }
    distance, tie_break = draw_tie_breaks(model, clearing, surveys, rng)
    counts = dict.fromkeys(CLEARING_COUNTS, 0)
    cleared = {f.farm_id: (0.0, 0.0, 0.0, 0.0) for f in model.farmers}
    for f in clearing:
        shifts = model.programmes.clears_claims_first(f, model.year)
        ranked = sorted(
            surveys[f.farm_id].clearable,
            key=lambda c: ((c.owner == NO_OWNER) != shifts, distance.get(c, -1), tie_break[c]),
        )
        cells = ranked[: sizes[f.farm_id]]
        new_cover = CLEARING[choices[f.farm_id]]
        cleared[f.farm_id] = clearing_record(cells, cell_ha)
        clear_cells(model, f, cells, counts, new_cover)
        if new_cover in costs:
            setup_usd[f.farm_id] = len(cells) * (costs[new_cover] * cell_ha)
        if new_cover == Cover.COCOA_AGROFORESTRY:
            planted[f.farm_id] = len(cells)
    out = {"deforestation_ha": float(counts["primary"] * cell_ha)}
    out["secondary_cleared_ha"] = (
        float((counts["primary"] + counts["secondary"]) * cell_ha) - out["deforestation_ha"]
    )
    out["claimed_ha"] = float(counts["claimed"] * cell_ha)
    out["cleared_to_pasture_ha"] = float(counts["pasture"] * cell_ha)
    out["cleared_to_cocoa_ha"] = float(counts["cocoa"] * cell_ha)
    for group in ("enrolled", "not_enrolled", "unowned"):
        out[f"deforestation_{group}_ha"] = float(counts[group] * cell_ha)
    out["cleared"] = cleared
    out["setup_usd"], out["planted"] = setup_usd, planted
    return out


# ----------------------------------------------------------------------------- conversion


def choose_pasture_to_restore(
    model: ReferenceModel, choices: dict, sizes: dict, surveys: dict, rng, investment: dict
) -> list:
    """The pasture cells that farmers who chose to restore pasture renovate: their
    least fertile (ties at random, one uniform per pasture cell of those farmers,
    in raster order); each pays ``pasture.restoration_cost_usd_per_ha`` into
    ``investment`` (farm id -> USD)."""
    cost = model.params.pasture.restoration_cost_usd_per_ha * model.cell_size_ha
    farmers = [f for f in model.farmers if choices[f.farm_id] == Option.RESTORE_PASTURE]
    cells = sorted(
        (c for f in farmers for c in surveys[f.farm_id].pasture), key=model.raster_index
    )
    tie_break = dict(zip(cells, rng.random(len(cells)), strict=True))
    restored = []
    for f in farmers:
        ranked = sorted(surveys[f.farm_id].pasture, key=lambda c: (c.fertility, tie_break[c]))
        chosen = ranked[: sizes[f.farm_id]]
        investment[f.farm_id] += len(chosen) * cost
        restored += chosen
    return restored


def establish_systems(
    model: ReferenceModel, choices: dict, sizes: dict, surveys: dict, rng, cleared: dict
) -> dict:
    """Adopters convert their least fertile cells of the cover each system
    replaces and pay for it.

    Farmers who chose cocoa agroforestry convert their least fertile annual-crop
    cells, those who chose silvopasture their least fertile pasture cells (ties at
    random, one uniform per such cell of the adopters of each system, in raster
    order), and pay the establishment cost; with what the land cleared this year
    cost to sow or plant (``cleared["setup_usd"]``, farm id -> USD), it is the
    year's investment. Cocoa planted on cleared land (``cleared["planted"]``, farm
    id -> cells) counts as established cocoa for establishment support.

    Parameters
    ----------
    model : ReferenceModel
    choices, sizes : dict
        Farm id -> chosen option, and cells it changes.
    surveys : dict
        Farm id -> FarmSurvey.
    rng : numpy.random.Generator
        This year's decision stream.

    Returns
    -------
    dict
        ``converted_<system>_ha`` of each system.
    """
    sc, cell_ha = model.params, model.cell_size_ha
    out = {}
    investment = dict(cleared["setup_usd"])
    converted: dict[int, dict] = {
        farm_id: {Option.COCOA_AGROFORESTRY: n} for farm_id, n in cleared["planted"].items()
    }
    to_change, productive = [], []
    for option, new_cover in NEW_SYSTEMS:
        system = sc.cocoa_agroforestry if option == Option.COCOA_AGROFORESTRY else sc.silvopasture
        adopters = [f for f in model.farmers if choices[f.farm_id] == option]

        def land(f, option=option):
            survey = surveys[f.farm_id]
            return survey.pasture if option == Option.SILVOPASTURE else survey.monocrop

        cells = sorted((c for f in adopters for c in land(f)), key=model.raster_index)
        tie_break = dict(zip(cells, rng.random(len(cells)), strict=True))
        n_converted = 0
        for f in adopters:
            ranked = sorted(land(f), key=lambda c: (c.fertility, tie_break[c]))
            chosen = ranked[: sizes[f.farm_id]]
            to_change += [(c, new_cover) for c in chosen]
            if model.programmes.enrolled_anywhere(f):  # productive restoration
                productive += [(c, PRODUCTIVE_RESTORATION[new_cover]) for c in chosen]
            investment[f.farm_id] += len(chosen) * (system.establishment_cost_usd_per_ha * cell_ha)
            converted.setdefault(f.farm_id, {})[option] = len(chosen)
            n_converted += len(chosen)
        out[f"converted_{new_cover.name.lower()}_ha"] = float(n_converted * cell_ha)
    model.programmes.record_establishment(model.year, converted)
    restored = choose_pasture_to_restore(model, choices, sizes, surveys, rng, investment)
    out["restored_pasture_ha"] = float(len(restored) * cell_ha)
    for cell, new_cover in to_change:
        model.change_cover(cell, new_cover)
    for cell, code in productive:
        cell.restoration = code
    for cell in restored:  # renovated: fertility up to the restored level, grass sown
        cell.fertility = max(cell.fertility, sc.pasture.restored_fertility)
        cell.age = 0
    for f in model.farmers:
        f.investment_usd = investment[f.farm_id]
        f.savings_usd -= f.investment_usd
    return out
