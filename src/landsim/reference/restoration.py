"""Restoration interventions of the reference, cell by cell (ODD 7.16): the
regrowth that an agreement forbidding clearing protects is natural regeneration
under agreement (productive restoration is marked where systems are
established, :func:`landsim.reference.land.establish_systems`; a cover change
ends an intervention, :meth:`ReferenceModel.change_cover`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from landsim.model.state import NATURAL_REGENERATION, RESTORATION_TYPES, Cover

if TYPE_CHECKING:
    from landsim.reference.model import ReferenceModel


def mark_natural_regeneration(model: ReferenceModel) -> None:
    """Secondary forest of farmers enrolled in an active programme whose contract
    forbids clearing any forest (fallow too), not yet under an intervention,
    becomes natural regeneration under agreement."""
    for prog in model.programmes.programmes:
        ob = prog.spec.obligations
        protects = ob is not None and ob.no_clearing and ob.protected_forest == "all"
        if not (prog.active(model.year) and protects):
            continue
        for f in model.farmers:
            if not prog.contracts[f.farm_id].enrolled:
                continue
            for cell in f.cells:
                if cell.cover == Cover.SECONDARY_FOREST and cell.restoration == 0:
                    cell.restoration = NATURAL_REGENERATION


def restoration_areas_ha(model: ReferenceModel) -> dict[str, float]:
    """Area (ha) under each restoration type, by name."""
    counts = [0] * (len(RESTORATION_TYPES) + 1)
    for cell in model.cells:
        counts[cell.restoration] += 1
    return {
        name: float(counts[i + 1] * model.cell_size_ha) for i, name in enumerate(RESTORATION_TYPES)
    }
