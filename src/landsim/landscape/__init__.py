"""The landscape: raster layers held as numpy arrays.

Arrays have shape ``(height, width)`` (row ``y`` from north to south, column ``x``).
A Mesa grid is never the store; :meth:`landsim.model.LandUseModel.grid` builds one
from these arrays on demand for the browser view and small runs.

=============  ==============================================================
``layers``     land covers (:class:`Cover`) and :class:`Landscape`
``generator``  the synthetic fishbone generator (:func:`generate_landscape`)
``groups``     stable orderings within farms (lots, cell choice)
``npz``        ``.npz`` landscapes (:func:`load_landscape`, :func:`save_landscape`)
=============  ==============================================================
"""

from landsim.landscape.generator import distance_to_road, generate_landscape
from landsim.landscape.groups import lexsort_groups, rank_within_groups
from landsim.landscape.layers import (
    COVER_NAMES,
    NO_OWNER,
    OPTIONAL_LAYERS,
    REQUIRED_LAYERS,
    Cover,
    Landscape,
)
from landsim.landscape.npz import (
    LAYER_KINDS,
    MAX_AGE,
    load_landscape,
    npz_shape,
    save_landscape,
)

__all__ = [
    "COVER_NAMES",
    "LAYER_KINDS",
    "MAX_AGE",
    "NO_OWNER",
    "OPTIONAL_LAYERS",
    "REQUIRED_LAYERS",
    "Cover",
    "Landscape",
    "distance_to_road",
    "generate_landscape",
    "lexsort_groups",
    "load_landscape",
    "npz_shape",
    "rank_within_groups",
    "save_landscape",
]
