"""Social learning (ODD: "Learning" and "Interaction").

Each farmer sees which of its neighbours (``decision.neighbours`` nearest farms)
have adopted each perennial system; its knowledge grows with the share that have
adopted any: ``k += rate x share x (1 - k)``.

References
----------
Rogers, E. M. (2003). Diffusion of Innovations (5th ed.). Free Press.
"""

from __future__ import annotations

import numpy as np

from landsim.model.processes.survey import FarmSurvey
from landsim.model.state import PERENNIALS, FarmerState


def learn(farmers: FarmerState, survey: FarmSurvey, rate: float) -> dict[str, np.ndarray]:
    """Update ``farmers.knowledge``; return each perennial system's share of
    adopting neighbours, by system name."""
    area = survey.area_cells
    # Neighbours by rows (neighbour, farm), so that the counts over them are sums
    # of whole rows; a count of adopters over k neighbours divided by k is exactly
    # their mean.
    neighbours = farmers.neighbours.T
    k = neighbours.shape[0]
    adopted = {s.name: area[:, s.cover] > 0 for s in PERENNIALS}
    shares = {name: a[neighbours].sum(axis=0) / k for name, a in adopted.items()}
    any_adopted = np.zeros(farmers.n, dtype=bool)
    for a in adopted.values():
        any_adopted = any_adopted | a
    either = any_adopted[neighbours].sum(axis=0) / k
    farmers.knowledge += rate * either * (1.0 - farmers.knowledge)
    return shares
