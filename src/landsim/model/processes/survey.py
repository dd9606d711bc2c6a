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
        Worn-out cells that may change: annual crops below
        ``monocrop.exhaustion_fertility`` and pasture below
        ``pasture.degraded_fertility``.
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
        The worn-out cells (the annual-crop ones, then the pasture ones) and their
        farm.
    idle_cells : int ndarray, shape (n_farms, n_covers)
        Cells of each cover that lie idle, those that may not change too: annual
        crops below ``monocrop.exhaustion_fertility`` (not cropped) and pasture
        below ``pasture.degraded_fertility`` (not grazed).
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
    idle_cells: np.ndarray

    def worked_cells(self) -> np.ndarray:
        """Cells of each cover that are worked (need labour), shape (n_farms,
        n_covers): all of them but idle land."""
        return self.area_cells - self.idle_cells

    def cells_of(self, cover: Cover) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The cells of ``cover`` (annual crops or pasture) that may change, their
        farm and their fertility."""
        return self.pasture_cells if cover == Cover.PASTURE else self.monocrop_cells

    def count_of(self, cover: Cover) -> np.ndarray:
        """How many cells of ``cover`` (annual crops or pasture) may change."""
        return self.n_pasture if cover == Cover.PASTURE else self.n_monocrop


def survey_farms(
    landscape: Landscape,
    ownership: Ownership,
    params: Scenario,
    n: int,
    kept: np.ndarray | None = None,
) -> FarmSurvey:
    """The :class:`FarmSurvey` of the current layers; ``kept`` (a flat mask, or
    None) marks forest that may not be cleared (planting, ``planting.kept_cells``)."""
    cover, fert = landscape.cover.ravel(), landscape.fertility.ravel()
    owned, o = ownership.owned, ownership.owned_farm
    c = cover[owned]
    area = np.bincount(o * N_COVERS + c, minlength=n * N_COVERS).reshape(n, N_COVERS)

    # Annual-crop and pasture cells that may change, in raster order, and the
    # least fertile of each; the worn-out ones (exhausted cropland, then degraded
    # pasture), which may be abandoned.
    mono_cells, mono_farm, mono_fert, mono_min = _farmland(
        c == Cover.MONOCROP, owned, o, fert, ownership, n
    )
    pasture = _farmland(c == Cover.PASTURE, owned, o, fert, ownership, n)
    limits = idle_limits(params)
    idle = count_idle(c, fert[owned], o, limits, n)
    worn_m = mono_fert < limits[Cover.MONOCROP]
    worn_p = pasture[2] < limits[Cover.PASTURE]
    exh_cells = np.concatenate([mono_cells[worn_m], pasture[0][worn_p]])
    exh_farm = np.concatenate([mono_farm[worn_m], pasture[1][worn_p]])
    exh_f = np.concatenate([mono_fert[worn_m], pasture[2][worn_p]])
    n_exh = np.bincount(exh_farm, minlength=n)
    exh_fert = np.bincount(exh_farm, exh_f, minlength=n) / np.maximum(n_exh, 1)

    # Forest a farm may clear: its own, or unowned forest it can claim;
    # fallow only once its soil has recovered (``forest.reclear_fertility``).
    forest = (cover == Cover.PRIMARY_FOREST) | (
        (cover == Cover.SECONDARY_FOREST) & (fert >= params.forest.reclear_fertility)
    )
    if kept is not None:
        forest &= ~kept
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
        exhausted_cells=(exh_cells, exh_farm),
        n_pasture=np.bincount(pasture[1], minlength=n),
        pasture_min_fertility=pasture[3],
        pasture_cells=pasture[:3],
        idle_cells=idle,
    )


def idle_limits(params: Scenario) -> np.ndarray:
    """Per cover code, the fertility below which land lies idle (not used): the
    exhaustion fertility of annual crops and the degraded fertility of pasture;
    0 for the others."""
    limits = np.zeros(N_COVERS)
    limits[Cover.MONOCROP] = params.monocrop.exhaustion_fertility
    limits[Cover.PASTURE] = params.pasture.degraded_fertility
    return limits


def count_idle(cover, fertility, farm, limits: np.ndarray, n: int) -> np.ndarray:
    """Idle cells of each cover per farm, shape (n, n_covers): those below their
    cover's ``limits`` (:func:`idle_limits`; ``cover``, ``fertility`` and
    ``farm`` of the owned cells)."""
    idle = fertility < limits.take(cover)
    code = farm[idle] * N_COVERS + cover[idle]
    return np.bincount(code, minlength=n * N_COVERS).reshape(n, N_COVERS)


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
    kept: np.ndarray | None = None,
) -> FarmSurvey:
    """The survey after the abandonment of stage 1, updated from the one before it:
    only the abandoning farms' worn-out cells changed (to secondary forest,
    fertility unchanged); ``kept`` as in :func:`survey_farms`."""
    if not abandons.any():
        return survey
    n = abandons.size
    limits = idle_limits(params)
    if params.forest.reclear_fertility <= limits.max():
        # Abandoned land may be cleared at once: survey again.
        return survey_farms(landscape, ownership, params, n, kept)
    area, idle = survey.area_cells.copy(), survey.idle_cells.copy()
    mono, n_mono_gone, mono_min = _without_worn(
        survey.monocrop_cells, survey.monocrop_min_fertility, abandons, limits[Cover.MONOCROP]
    )
    pasture, n_pasture_gone, pasture_min = _without_worn(
        survey.pasture_cells, survey.pasture_min_fertility, abandons, limits[Cover.PASTURE]
    )
    for cover, gone in ((Cover.MONOCROP, n_mono_gone), (Cover.PASTURE, n_pasture_gone)):
        area[:, cover] -= gone
        idle[:, cover] -= gone
        area[:, Cover.SECONDARY_FOREST] += gone
    exhausted, exh_farm = survey.exhausted_cells
    still = ~abandons[exh_farm]
    return replace(
        survey,
        area_cells=area,
        idle_cells=idle,
        n_exhausted=np.where(abandons, 0, survey.n_exhausted),
        exhausted_fertility=np.where(abandons, 0.0, survey.exhausted_fertility),
        monocrop_min_fertility=mono_min,
        n_monocrop=survey.n_monocrop - n_mono_gone,
        monocrop_cells=mono,
        n_pasture=survey.n_pasture - n_pasture_gone,
        pasture_min_fertility=pasture_min,
        pasture_cells=pasture,
        exhausted_cells=(exhausted[still], exh_farm[still]),
    )


def _without_worn(farmland, lowest, abandons, limit: float):
    """``farmland`` (cells, farm, fertility) without the abandoning farms' cells
    below ``limit``; how many each farm lost; and each farm's lowest fertility
    left (the abandoning farms': among what they keep, 1 where nothing)."""
    cells, farm, fert = farmland
    gone = (fert < limit) & abandons[farm]
    n_gone = np.bincount(farm[gone], minlength=abandons.size)
    lowest = np.where(abandons, 1.0, lowest)
    left = ~gone & abandons[farm]
    np.minimum.at(lowest, farm[left], fert[left])
    keep = ~gone
    return (cells[keep], farm[keep], fert[keep]), n_gone, lowest
