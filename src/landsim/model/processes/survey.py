"""What each farmer knows of its land at the start of the year (ODD: "Sensing").

One pass over the owned and claimable cells gives the per-farm aggregates the
decisions need: the area of each cover, the annual-crop cells and how fertile they
are, which of them are exhausted, and the forest the farm may clear.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from landsim.model.ownership import Ownership
from landsim.model.state import N_COVERS, Cover, Landscape
from landsim.scenario import Scenario


@dataclass(frozen=True)
class FarmSurvey:
    """Per-farm aggregates of the land at the start of a decision.

    Attributes
    ----------
    area_cells : int ndarray, shape (n_farms, n_covers)
        Cells of each cover on each farm.
    n_monocrop : int ndarray
        Annual-crop cells that may change.
    monocrop_min_fertility : ndarray
        Fertility of each farm's least fertile such cell (1 where none).
    n_exhausted : int ndarray
        Annual-crop cells below ``monocrop.exhaustion_fertility``.
    exhausted_fertility : ndarray
        Their mean fertility (0 where none).
    n_candidates : int ndarray
        Forest cells the farm may clear (own or claimable; fallow once recovered).
    forest_fertility : ndarray
        Their mean fertility (1 where none).
    clear_candidates : (ndarray, ndarray)
        Flat indices of the cells that may be cleared (raster order) and their farm.
    monocrop_cells : (ndarray, ndarray, ndarray)
        The annual-crop cells that may change, their farm and their fertility.
    n_pasture : int ndarray
        Pasture cells that may change.
    pasture_min_fertility : ndarray
        Fertility of each farm's least fertile such cell (1 where none).
    pasture_cells : (ndarray, ndarray, ndarray)
        The pasture cells that may change, their farm and their fertility.
    exhausted_cells : (ndarray, ndarray)
        The exhausted annual-crop cells and their farm.
    n_idle : int ndarray
        All annual-crop cells below ``monocrop.exhaustion_fertility``, those that
        may not change too: exhausted land is not cropped (it lies idle).
    """

    area_cells: np.ndarray
    n_monocrop: np.ndarray
    monocrop_min_fertility: np.ndarray
    n_exhausted: np.ndarray
    exhausted_fertility: np.ndarray
    n_candidates: np.ndarray
    forest_fertility: np.ndarray
    clear_candidates: tuple[np.ndarray, np.ndarray]
    monocrop_cells: tuple[np.ndarray, np.ndarray, np.ndarray]
    exhausted_cells: tuple[np.ndarray, np.ndarray]
    n_pasture: np.ndarray
    pasture_min_fertility: np.ndarray
    pasture_cells: tuple[np.ndarray, np.ndarray, np.ndarray]
    n_idle: np.ndarray

    def worked_cells(self) -> np.ndarray:
        """Cells of each cover that are worked (need labour), shape (n_farms,
        n_covers): all of them but idle annual-crop land."""
        worked = self.area_cells.copy()
        worked[:, Cover.MONOCROP] -= self.n_idle
        return worked

    def cells_of(self, cover: Cover) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The cells of ``cover`` (annual crops or pasture) that may change, their
        farm and their fertility."""
        return self.pasture_cells if cover == Cover.PASTURE else self.monocrop_cells

    def count_of(self, cover: Cover) -> np.ndarray:
        """How many cells of ``cover`` (annual crops or pasture) may change."""
        return self.n_pasture if cover == Cover.PASTURE else self.n_monocrop


def survey_farms(
    landscape: Landscape, ownership: Ownership, params: Scenario, n: int
) -> FarmSurvey:
    """The :class:`FarmSurvey` of the current layers."""
    cover, fert = landscape.cover.ravel(), landscape.fertility.ravel()
    owned, o = ownership.owned, ownership.owned_farm
    c = cover[owned]
    area = np.bincount(o * N_COVERS + c, minlength=n * N_COVERS).reshape(n, N_COVERS)

    # Annual-crop and pasture cells that may change, in raster order, and the
    # least fertile of each; the exhausted annual-crop cells.
    mono_cells, mono_farm, mono_fert, mono_min = _farmland(
        c == Cover.MONOCROP, owned, o, fert, ownership, n
    )
    pasture = _farmland(c == Cover.PASTURE, owned, o, fert, ownership, n)
    exh = mono_fert < params.monocrop.exhaustion_fertility
    idle = count_idle(c, fert[owned], o, params.monocrop.exhaustion_fertility, n)
    exh_farm = mono_farm[exh]
    n_exh = np.bincount(exh_farm, minlength=n)
    exh_fert = np.bincount(exh_farm, mono_fert[exh], minlength=n) / np.maximum(n_exh, 1)

    # Forest a farm may clear: its own, or unowned forest it can claim;
    # fallow only once its soil has recovered (``forest.reclear_fertility``).
    forest = (cover == Cover.PRIMARY_FOREST) | (
        (cover == Cover.SECONDARY_FOREST) & (fert >= params.forest.reclear_fertility)
    )
    cand = np.flatnonzero(forest & ownership.may_clear)
    cand_farm = ownership.farm_of[cand]
    n_cand = np.bincount(cand_farm, minlength=n)
    cand_fert = np.bincount(cand_farm, fert[cand], minlength=n) / np.maximum(n_cand, 1)
    return FarmSurvey(
        area_cells=area,
        n_monocrop=np.bincount(mono_farm, minlength=n),
        monocrop_min_fertility=mono_min,
        n_exhausted=n_exh,
        exhausted_fertility=exh_fert,
        n_candidates=n_cand,
        forest_fertility=np.where(n_cand > 0, cand_fert, 1.0),
        clear_candidates=(cand, cand_farm),
        monocrop_cells=(mono_cells, mono_farm, mono_fert),
        exhausted_cells=(mono_cells[exh], exh_farm),
        n_pasture=np.bincount(pasture[1], minlength=n),
        pasture_min_fertility=pasture[3],
        pasture_cells=pasture[:3],
        n_idle=idle,
    )


def count_idle(cover, fertility, farm, exhaustion_fertility: float, n: int) -> np.ndarray:
    """Idle annual-crop cells per farm: those below ``exhaustion_fertility``
    (``cover``, ``fertility`` and ``farm`` of the owned cells)."""
    idle = (cover == Cover.MONOCROP) & (fertility < exhaustion_fertility)
    return np.bincount(farm[idle], minlength=n)


def _farmland(mask, owned, farm, fertility, ownership: Ownership, n: int):
    """The owned cells of ``mask`` that may change, their farm, fertility, and each
    farm's lowest fertility among them (1 where none)."""
    if ownership.owned_changeable is not None:
        mask &= ownership.owned_changeable
    cells, farms = owned[mask], farm[mask]
    fert = fertility[cells]
    lowest = np.ones(n)
    np.minimum.at(lowest, farms, fert)
    return cells, farms, fert, lowest


def survey_after_abandonment(
    survey: FarmSurvey,
    abandons: np.ndarray,
    landscape: Landscape,
    ownership: Ownership,
    params: Scenario,
) -> FarmSurvey:
    """The survey after the abandonment of stage 1, updated from the one before it:
    only the abandoning farms' exhausted annual-crop cells changed (to secondary
    forest, fertility unchanged)."""
    if not abandons.any():
        return survey
    n = abandons.size
    if params.forest.reclear_fertility <= params.monocrop.exhaustion_fertility:
        # Abandoned land may be cleared at once: survey again.
        return survey_farms(landscape, ownership, params, n)
    mono_cells, mono_farm, mono_fert = survey.monocrop_cells
    exh = mono_fert < params.monocrop.exhaustion_fertility
    gone = exh & abandons[mono_farm]
    n_gone = np.bincount(mono_farm[gone], minlength=n)
    area = survey.area_cells.copy()
    area[:, Cover.MONOCROP] -= n_gone
    area[:, Cover.SECONDARY_FOREST] += n_gone
    # The abandoning farms' least fertile annual crop is now their least
    # fertile unexhausted one (or none).
    mono_min = np.where(abandons, 1.0, survey.monocrop_min_fertility)
    left = ~gone & abandons[mono_farm]
    np.minimum.at(mono_min, mono_farm[left], mono_fert[left])
    keep = ~gone
    exhausted, exh_farm = survey.exhausted_cells
    still = ~abandons[exh_farm]
    return replace(
        survey,
        area_cells=area,
        n_exhausted=np.where(abandons, 0, survey.n_exhausted),
        exhausted_fertility=np.where(abandons, 0.0, survey.exhausted_fertility),
        monocrop_min_fertility=mono_min,
        n_monocrop=survey.n_monocrop - n_gone,
        n_idle=survey.n_idle - n_gone,
        monocrop_cells=(mono_cells[keep], mono_farm[keep], mono_fert[keep]),
        exhausted_cells=(exhausted[still], exh_farm[still]),
    )
