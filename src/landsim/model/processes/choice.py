"""Choice (ODD: "Individual decision making" and "Stochasticity"): the bounded-
rational multinomial logit over the feasible options, in two stages each year.

Stage 1: keep cropping exhausted annual-crop land, or abandon it to regrow.
Stage 2: one land-use change: keep, clear forest, or establish a perennial system.

References
----------
McFadden, D. (1974). Conditional logit analysis of qualitative choice behavior.
In P. Zarembka (Ed.), Frontiers in Econometrics (pp. 105-142). Academic Press.
"""

from __future__ import annotations

import numpy as np

from landsim.economics import draw_choices, logit_probabilities
from landsim.model.processes.survey import FarmSurvey
from landsim.model.state import Option


def choose_abandonment(
    values: np.ndarray, survey: FarmSurvey, scale: float, uniforms: np.ndarray
) -> np.ndarray:
    """Stage 1: which farmers abandon their exhausted annual-crop land (bool per farm).

    ``values`` are the option values (USD/ha, incentives included); only farms
    with exhausted land may abandon.
    """
    stage1 = [Option.KEEP, Option.ABANDON]
    n = values.shape[0]
    feasible = np.column_stack([np.ones(n, dtype=bool), survey.n_exhausted > 0])
    probabilities = logit_probabilities(values[:, stage1], scale, feasible)
    return draw_choices(probabilities, uniforms) == 1


def choose_land_use_change(
    values: np.ndarray, sizes: np.ndarray, scale: float, uniforms: np.ndarray
) -> np.ndarray:
    """Stage 2: each farmer's option (an :class:`Option` code per farm).

    An option is feasible when it could change at least one cell (``sizes``);
    keeping things is always feasible, abandoning is stage 1's choice.
    """
    feasible = sizes > 0
    feasible[:, Option.KEEP] = True
    feasible[:, Option.ABANDON] = False
    probabilities = logit_probabilities(values, scale, feasible)
    return draw_choices(probabilities, uniforms)
