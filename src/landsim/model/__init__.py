"""The land-use model (see :mod:`landsim.model.model` for the yearly schedule).

=======================  ===========================================================
module                   what it holds
=======================  ===========================================================
``model``                :class:`LandUseModel`: random streams, state, the schedule
``state``                covers, options, the registry of land-use systems, the state
``setup``                the scenario a model runs and its landscape
``ownership``            which farm may change which cell (an index kept across years)
``processes``            one module per ODD submodel, functions of the state
``indicators``           the yearly record, its collector, the yearly and farm tables
``grid``                 the Mesa grid that mirrors the layers (small runs only)
``_fast``                bit-identical fast paths, each tested against plain numpy
=======================  ===========================================================

Names are imported on first use, so that ``landsim.model.state`` (which the
reference implementation reads) does not load the vectorised processes.
"""

from importlib import import_module

_EXPORTS = {
    "LandUseModel": "landsim.model.model",
    "apply_keyword_overrides": "landsim.model.setup",
    "build_landscape": "landsim.model.setup",
    "resolve_scenario": "landsim.scenario",
    "describe_seed": "landsim.provenance",
    "N_COVERS": "landsim.model._fast",
    "argsort_stable": "landsim.model._fast",
    "count_covers": "landsim.model._fast",
    "cover_mask": "landsim.model._fast",
    "dilate_padded": "landsim.model._fast",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'landsim.model' has no attribute {name!r}")
