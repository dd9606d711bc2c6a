"""Deprecated alias of :mod:`landsim.model.programmes` (the incentive programmes
moved there); it will be removed in the next release."""

import warnings

from landsim.model.programmes import FarmAreas, ProgrammeAccounts, Programmes
from landsim.model.state import LOT_REFERENCE_HA
from landsim.model.state import PROGRAMME_YEAR_KEYS as YEAR_KEYS

__all__ = ["LOT_REFERENCE_HA", "YEAR_KEYS", "FarmAreas", "ProgrammeAccounts", "Programmes"]

warnings.warn(
    "landsim.schemes is deprecated: use landsim.model.programmes",
    DeprecationWarning,
    stacklevel=2,
)
