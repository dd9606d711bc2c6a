"""The Mesa grid that mirrors the landscape's layers (for the browser view and
small landscapes: one Python object per cell). The model's state is the arrays;
the grid is a copy, kept in step after each year."""

from __future__ import annotations

import numpy as np

from landsim.landscape import Landscape

#: Layers mirrored onto the Mesa grid, with their dtypes.
GRID_LAYERS: dict[str, type] = {
    "cover": np.int8,
    "fertility": np.float64,
    "owner": np.int32,
    "biomass_tc_per_ha": np.float64,
    "soc_tc_per_ha": np.float64,
}


def build_grid(landscape: Landscape, random):
    """An ``OrthogonalMooreGrid`` with the layers as property layers (indexed ``[x, y]``,
    the transpose of the landscape arrays)."""
    from mesa.discrete_space import OrthogonalMooreGrid

    height, width = landscape.shape
    grid = OrthogonalMooreGrid((width, height), torus=False, random=random)
    for name, dtype in GRID_LAYERS.items():
        grid.create_property_layer(name, default_value=0, dtype=dtype)
    sync_grid(grid, landscape)
    return grid


def sync_grid(grid, landscape: Landscape) -> None:
    """Copy the layers onto the grid's property layers."""
    for name in GRID_LAYERS:
        getattr(grid, name).data[:] = getattr(landscape, name).T
