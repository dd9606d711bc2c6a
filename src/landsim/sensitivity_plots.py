"""Deprecated alias of :mod:`landsim.plot.sensitivity` (the figures of a
sensitivity analysis moved there); it will be removed in the next release."""

import warnings

from landsim.plot.sensitivity import *  # noqa: F403
from landsim.plot.sensitivity import MORRIS_LABELS, plot_convergence, plot_indices, plot_morris

__all__ = ["MORRIS_LABELS", "plot_convergence", "plot_indices", "plot_morris"]

warnings.warn(
    "landsim.sensitivity_plots is deprecated: use landsim.plot.sensitivity",
    DeprecationWarning,
    stacklevel=2,
)
