"""The synthetic landscape generator: the fishbone pattern of Amazon colonisation.

A main road runs along the southern edge, feeder roads run north from it every two
lot depths, and farm lots front the feeders on both sides, settled from the main
road inwards, with a protected reserve beyond the end of the feeders. Roads run
along cell edges, so they take no area.

References
----------
Oliveira Filho, F. J. B., & Metzger, J. P. (2006). Thresholds in landscape
structure for three common deforestation patterns in the Brazilian Amazon.
Landscape Ecology, 21, 1061-1073. (The fishbone pattern of settlement lots.)
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from landsim import limits
from landsim.landscape.groups import lexsort_groups, rank_within_groups
from landsim.landscape.layers import NO_OWNER, Cover, Landscape
from landsim.scenario import LandscapeParams, ScenarioError, lot_depth_cells


def generate_landscape(
    params: LandscapeParams, rng: np.random.Generator, source: str = "scenario"
) -> Landscape:
    """Generate a fishbone frontier landscape, deterministically from ``rng``.

    Raises
    ------
    ScenarioError
        If ``n_farms`` lots do not fit in the area left outside the reserve, or
        the landscape would need more memory than is available.
    """
    height, width = params.height, params.width
    limits.check_memory(  # before allocating anything (callers without a model too)
        limits.memory_bytes(height * width, params.n_farms),
        source,
        "landscape.width, landscape.height",
        f"a {width} x {height} landscape with {params.n_farms} farms",
    )
    depth = lot_depth_cells(params)
    side_km = float(np.sqrt(params.cell_size_ha)) * 0.1
    reserve_rows = round(params.reserve_fraction * height)

    owner, road, lot_area_cells = _lay_out_lots(params, depth, reserve_rows, rng, source)
    n_farms = lot_area_cells.size

    protected = np.zeros((height, width), dtype=bool)
    protected[:reserve_rows, :] = True

    road_distance_km = distance_to_road(road, side_km)
    cover, age, fertility = _initial_cover(params, owner, road_distance_km, n_farms, rng)
    claim = claims_near_lots(
        owner, protected, params.claim_distance_km / side_km, params.protected_can_change
    )
    return Landscape(
        cover=cover,
        age=age,
        fertility=fertility,
        owner=owner,
        protected=protected,
        road=road,
        road_distance_km=road_distance_km,
        claim=claim,
        cell_size_ha=params.cell_size_ha,
    )


def _lay_out_lots(params: LandscapeParams, depth: int, reserve_rows: int, rng, source: str):
    """Cut lots along feeder roads; keep the ``n_farms`` nearest the main road."""
    height, width = params.height, params.width
    strip_len = height - reserve_rows
    # Feeder roads run along the western edge of column c, for c = depth, 3 depth, ...
    feeders = np.arange(depth, width, 2 * depth)
    if strip_len < 1 or feeders.size == 0:
        raise ScenarioError(  # the scenario's validation refuses such a layout first
            source,
            [
                (
                    "landscape",
                    f"no room for lots: {width} x {height} cells, lot depth {depth} cells",
                )
            ],
        )
    strips = []  # (first column, last column + 1)
    for c in feeders:
        strips.append((max(0, c - depth), c))  # west side of the feeder
        strips.append((c, min(width, c + depth)))  # east side

    # Lot frontages (rows along the feeder) from the lot-size distribution.
    lots = []  # (distance from main road in rows, strip index, first row, n rows)
    n_draw = strip_len  # a lot is at least one row deep, so this many always suffice
    for s, (c0, c1) in enumerate(strips):
        size_cells = params.lot_size_ha.sample(rng, n_draw) / params.cell_size_ha
        rows = np.maximum(1, np.rint(size_cells / (c1 - c0))).astype(np.int64)
        ends = np.cumsum(rows)
        keep = ends <= strip_len
        starts = ends[keep] - rows[keep]
        for start, n in zip(starts, rows[keep], strict=True):
            lots.append((start, s, height - start - n, n))
    lots.sort()
    if len(lots) < params.n_farms:
        raise ScenarioError(
            source,
            [
                (
                    "landscape.n_farms",
                    f"{params.n_farms} lots do not fit: this layout holds at most {len(lots)} "
                    "(raise width/height, lower reserve_fraction or lot_size_ha)",
                )
            ],
        )
    owner = np.full((height, width), NO_OWNER, dtype=np.int32)
    area = np.zeros(params.n_farms, dtype=np.int64)
    for farm, (_, s, row0, n) in enumerate(lots[: params.n_farms]):
        c0, c1 = strips[s]
        owner[row0 : row0 + n, c0:c1] = farm
        area[farm] = n * (c1 - c0)

    road = np.zeros((height, width), dtype=bool)
    road[height - 1, :] = True  # the main road along the southern edge
    for c in feeders:
        road[reserve_rows:, c - 1] = True
        road[reserve_rows:, c] = True
    return owner, road, area


def distance_to_road(road: np.ndarray, side_km: float) -> np.ndarray:
    """Distance (km) from each cell centre to the nearest road (on a cell edge)."""
    if not road.any():
        return np.full(road.shape, np.inf, dtype=np.float32)
    d = ndimage.distance_transform_edt(~road)
    return ((d + 0.5) * side_km).astype(np.float32)


def _initial_cover(params, owner, road_distance_km, n_farms, rng):
    """Clear a share of each lot nearest its road; some of it lies fallow, some of
    the rest is pasture, and on the farms that grow cocoa some of the annual crops
    are cocoa agroforestry."""
    shape = owner.shape
    cover = np.full(shape, Cover.PRIMARY_FOREST, dtype=np.int8)
    age = np.zeros(shape, dtype=np.int16)
    fertility = np.ones(shape, dtype=np.float64)

    # Validation keeps both distributions inside [0, 1]: no clipping needed.
    cleared_share = params.initial_cleared_fraction.sample(rng, n_farms)
    cells = np.flatnonzero(owner.ravel() >= 0)
    farm = owner.ravel()[cells]
    order = lexsort_groups(farm, road_distance_km.ravel()[cells], rng.random(cells.size))
    cells, farm = cells[order], farm[order]
    lot_size = np.bincount(farm, minlength=n_farms)
    cleared = rank_within_groups(farm) < np.rint(cleared_share * lot_size)[farm]
    cleared_cells = cells[cleared]

    fallow = rng.random(cleared_cells.size) < params.initial_fallow_share
    flat_cover, flat_age, flat_fert = cover.ravel(), age.ravel(), fertility.ravel()
    flat_cover[cleared_cells] = np.where(fallow, Cover.SECONDARY_FOREST, Cover.MONOCROP)
    flat_age[cleared_cells] = np.where(
        fallow, rng.integers(1, 16, cleared_cells.size), rng.integers(0, 6, cleared_cells.size)
    )
    flat_fert[cleared_cells] = params.initial_fertility.sample(rng, cleared_cells.size)
    if params.initial_pasture_share > 0:  # some of the farmed land is pasture
        farmed = cleared_cells[~fallow]
        pasture = rng.random(farmed.size) < params.initial_pasture_share
        flat_cover[farmed[pasture]] = Cover.PASTURE
    if params.initial_cocoa_farm_share > 0:
        plant_initial_cocoa(params, flat_cover, flat_age, owner.ravel(), n_farms, rng)
    return cover, age, fertility


def plant_initial_cocoa(params, cover, age, owner, n_farms: int, rng) -> None:
    """Cocoa agroforestry on a share of the annual-crop land of the farms that grow
    cocoa at the start (``initial_cocoa_farm_share`` of them), planted 3-15 years
    before (bearing: the yield curve peaks after about five years).

    ``cover``, ``age`` and ``owner`` are flat views of the layers, changed in place.
    """
    grows = rng.random(n_farms) < params.initial_cocoa_farm_share
    crops = np.flatnonzero(cover == Cover.MONOCROP)
    crops = crops[grows[owner[crops]]]
    cocoa = crops[rng.random(crops.size) < params.initial_cocoa_share]
    cover[cocoa] = Cover.COCOA_AGROFORESTRY
    age[cocoa] = rng.integers(3, 16, cocoa.size)


def claims_near_lots(
    owner: np.ndarray, protected: np.ndarray, max_cells: float, include_protected: bool
) -> np.ndarray:
    """Unowned cells within ``max_cells`` of a lot (protected ones only when
    ``include_protected``): the nearest lot's farm, which may clear them."""
    claim = np.full(owner.shape, NO_OWNER, dtype=np.int32)
    owned = owner >= 0
    if max_cells <= 0 or not owned.any():
        return claim
    dist, (iy, ix) = ndimage.distance_transform_edt(~owned, return_indices=True)
    near = (~owned) & (dist <= max_cells)
    if not include_protected:
        near &= ~protected
    claim[near] = owner[iy[near], ix[near]]
    return claim
