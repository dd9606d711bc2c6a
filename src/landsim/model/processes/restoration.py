"""Restoration interventions on the map (ODD 7.16), in the sense of the Bonn
Challenge / Target 2 monitoring (FERM): a cell is under restoration while an
intervention on it persists, and the layer ``restoration`` says which:

- natural regeneration under agreement: secondary forest on the land of a farm
  enrolled in a programme whose contract forbids clearing (the agreement protects
  the regrowth);
- productive restoration: cocoa agroforestry or silvopasture that a farm enrolled
  in a programme established on its farmland;
- planting: reforestation (ARR) a programme planted on idle farmland.

A cell keeps its mark while its cover stays (the regrowth grows on after the
contract, the trees stand); it loses it when its cover changes
(:func:`landsim.model.processes.land_change.change_cover`). Rotating fallow
outside an agreement and systems adopted without a programme are not restoration
interventions, so with no programme nothing is under restoration. Planting trees
(reforestation a programme's carbon money pays for) is marked where it is
planted (``landsim.model.processes.planting``, ODD 7.17).

FERM is the FAO platform that monitors the UN Decade on Ecosystem Restoration
and Target 2 of the Kunming-Montreal Global Biodiversity Framework (restoration
of degraded land), as in the Peru Target 2 pilot of CIFOR-ICRAF, FAO, MINAM and
SERFOR that the restoration indicators follow.
"""

from __future__ import annotations

import numpy as np

from landsim.model.ownership import Ownership
from landsim.model.programmes.terms import is_active
from landsim.model.state import (
    NATURAL_REGENERATION,
    PRODUCTIVE_RESTORATION,
    RESTORATION_TYPES,
    Cover,
    Landscape,
    ModelState,
)


def protecting_farms(programmes, year: int, n: int) -> np.ndarray:
    """Farms enrolled in an active programme whose contract forbids clearing any
    forest (fallow too: ``protected_forest = "all"``)."""
    protecting = np.zeros(n, dtype=bool)
    for spec, acc in zip(programmes.specs, programmes.accounts, strict=True):
        ob = spec.obligations
        if (
            is_active(spec, year)
            and ob is not None
            and ob.no_clearing
            and ob.protected_forest == "all"
        ):
            protecting |= acc.enrolled
    return protecting


def mark_productive(landscape: Landscape, converted: list, enrolled: np.ndarray) -> None:
    """Mark the farmland cells just converted to cocoa agroforestry or silvopasture
    by ``enrolled`` farms as productive restoration (``converted``: cells, farms
    and cover of each system, :class:`~landsim.model.processes.land_change.LandChange`)."""
    mark = landscape.restoration.ravel()
    for cells, farms, cover in converted:
        mark[cells[enrolled[farms]]] = PRODUCTIVE_RESTORATION[cover]


def mark_natural_regeneration(state: ModelState, ownership: Ownership, programmes) -> None:
    """Mark the secondary forest of the farms that an agreement protects
    (:func:`protecting_farms`), not yet under an intervention, as natural
    regeneration under agreement."""
    landscape = state.landscape
    protecting = protecting_farms(programmes, state.year, state.farmers.n)
    if not protecting.any():
        return
    owned = ownership.owned[protecting[ownership.owned_farm]]
    cover, mark = landscape.cover.ravel(), landscape.restoration.ravel()
    owned = owned[(cover[owned] == Cover.SECONDARY_FOREST) & (mark[owned] == 0)]
    mark[owned] = NATURAL_REGENERATION


def restoration_areas_ha(landscape: Landscape) -> dict[str, float]:
    """Area under each restoration type (ha), by name."""
    counts = np.bincount(landscape.restoration.ravel(), minlength=len(RESTORATION_TYPES) + 1)
    cell = landscape.cell_size_ha
    return {name: float(counts[i + 1] * cell) for i, name in enumerate(RESTORATION_TYPES)}
