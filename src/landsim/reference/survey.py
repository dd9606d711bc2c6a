"""What a reference farmer knows of its land (ODD 7.5): the :class:`FarmSurvey`
that :meth:`landsim.reference.farmer.ReferenceFarmer.survey` returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FarmSurvey:
    """What a farmer knows of its land at one moment of the year (ODD 7.5).

    Attributes
    ----------
    cells_by_cover : list of int
        Number of the farm's cells under each cover.
    monocrop : list of Cell
        Annual-crop cells whose cover may change, in raster order.
    exhausted : list of Cell
        The worn-out cells whose cover may change: annual crops below the
        exhaustion threshold, then pasture below the degraded threshold.
    clearable : list of Cell
        Forest the farmer may clear (own or claimable), in raster order.
    monocrop_min_fertility : float
        The lowest fertility in ``monocrop`` (1 if none).
    pasture : list of Cell
        Pasture cells whose cover may change, in raster order.
    pasture_min_fertility : float
        The lowest fertility in ``pasture`` (1 if none).
    exhausted_fertility : float
        The mean fertility of ``exhausted`` (0 if none).
    forest_fertility : float
        The mean fertility of ``clearable`` (1 if none).
    idle : list of int
        By cover, the farm's idle cells, those that may not change too: annual
        crops below the exhaustion threshold (not cropped) and pasture below the
        degraded threshold (not grazed).
    """

    cells_by_cover: list[int]
    monocrop: list
    exhausted: list
    clearable: list
    monocrop_min_fertility: float
    exhausted_fertility: float
    forest_fertility: float
    pasture: list
    pasture_min_fertility: float
    idle: list
