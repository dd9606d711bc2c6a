"""The landscape's land covers and raster layers (numpy arrays of shape
``(height, width)``, row ``y`` from north to south, column ``x``)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import IntEnum

import numpy as np


class Cover(IntEnum):
    """Land covers. The integer codes are what the ``cover`` layer holds."""

    PRIMARY_FOREST = 0
    SECONDARY_FOREST = 1
    MONOCROP = 2
    COCOA_AGROFORESTRY = 3
    SILVOPASTURE = 4
    PASTURE = 5


COVER_NAMES = tuple(c.name.lower() for c in Cover)
NO_OWNER = -1

#: Layers an ``.npz`` landscape must hold, and those it may hold.
REQUIRED_LAYERS = ("cover", "owner", "protected", "road")
OPTIONAL_LAYERS = ("age", "fertility")


@dataclass
class Landscape:
    """Cell state as raster layers (all arrays of shape ``(height, width)``).

    Attributes
    ----------
    cover : int8 array
        :class:`Cover` code.
    age : int16 array
        Years since the current cover was established.
    fertility : float64 array
        Soil fertility index in [0, 1] (1 = fresh forest soil).
    owner : int32 array
        Farm id, or ``NO_OWNER`` (-1).
    protected : bool array
        Reserve cells; they never change unless the scenario allows it.
    road : bool array
        Cells that front a road.
    road_distance_km : float32 array
        Distance from the cell centre to the nearest road (km).
    claim : int32 array
        For unowned cells within the claim distance of a lot (unprotected ones,
        unless the scenario lets protected cells change), the farm that may clear
        it (the nearest); otherwise -1.
    biomass_tc_per_ha, soc_tc_per_ha : float64 arrays
        Biomass carbon (above + below ground) and soil organic carbon (0-30 cm);
        set by the model.
    clearings : int16 array
        Times the cell has been cleared (0: never; 1 at the start for every cell
        not in primary forest); set by the model.
    restoration : int8 array
        The restoration intervention the cell is under (0: none; codes in
        :data:`landsim.model.state.RESTORATION_TYPES`); set by the
        model.
    cell_size_ha : float
        Area of one cell (ha).
    """

    cover: np.ndarray
    age: np.ndarray
    fertility: np.ndarray
    owner: np.ndarray
    protected: np.ndarray
    road: np.ndarray
    road_distance_km: np.ndarray
    claim: np.ndarray
    cell_size_ha: float
    biomass_tc_per_ha: np.ndarray | None = None
    soc_tc_per_ha: np.ndarray | None = None
    clearings: np.ndarray | None = None
    restoration: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.cover.shape

    @property
    def n_farms(self) -> int:
        return int(self.owner.max()) + 1 if self.owner.size else 0

    @property
    def cell_side_km(self) -> float:
        return float(np.sqrt(self.cell_size_ha)) * 0.1

    def layers(self) -> dict[str, np.ndarray]:
        """All raster layers by name (the arrays themselves, not copies)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        }

    def copy(self, carbon: bool = True) -> Landscape:
        """A copy whose layers are copies (``carbon=False`` leaves out the layers
        that :class:`~landsim.model.LandUseModel` sets from the others: carbon and
        clearings, restoration)."""
        copied = {name: layer.copy() for name, layer in self.layers().items()}
        if not carbon:
            derived = ("biomass_tc_per_ha", "soc_tc_per_ha", "clearings", "restoration")
            copied |= dict.fromkeys(derived, None)
        return replace(self, **copied)
