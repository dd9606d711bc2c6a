"""Constraints (ODD: "Individual decision making"): how many cells each farmer could
change under each option this year.

Bounded by the labour to clear or establish (``farmers.labour_ha_per_year``), the
household labour left for cultivation (``farmers.labour_days_per_year``), savings
for establishment costs (clearing is done with family labour), and the land
available.
"""

from __future__ import annotations

import numpy as np

from landsim.model.processes.survey import FarmSurvey
from landsim.model.state import PERENNIALS, SYSTEMS, Cover, FarmerState, Option, system_params
from landsim.scenario import Scenario


def labour_days_per_ha(params: Scenario) -> np.ndarray:
    """Household labour (days/ha/yr) of each cover; forest needs none."""
    return np.array(
        [0.0 if s.forest else system_params(s, params).labour_days_per_ha for s in SYSTEMS]
    )


def option_sizes(
    params: Scenario,
    farmers: FarmerState,
    survey: FarmSurvey,
    cell_size_ha: float,
    days_per_ha: np.ndarray,
    upfront_shares: dict | None = None,
) -> np.ndarray:
    """Cells each farmer could change under each option, shape (n_farms, options).

    ``upfront_shares`` gives, per option, the share of the establishment cost each
    farmer pays up front (less than 1 with support).
    """
    fs, cell = farmers, cell_size_ha
    used_days = survey.area_cells @ days_per_ha * cell
    free_days = np.maximum(fs.labour_days_per_year - used_days, 0.0)
    k_labour = np.rint(fs.labour_ha_per_year / cell)
    days_mono = days_per_ha[Cover.MONOCROP]

    def labour_cap(extra_days_per_ha: float):
        if extra_days_per_ha <= 0:
            return np.inf
        return np.floor(free_days / (extra_days_per_ha * cell))

    def affordable(cost_usd_per_ha):
        cost = np.asarray(cost_usd_per_ha, dtype=float) * cell
        if cost.ndim == 0:  # the same cost for every farmer
            return np.floor(fs.savings_usd / cost) if cost > 0 else np.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(cost > 0, np.floor(fs.savings_usd / cost), np.inf)

    upfront = upfront_shares or {}
    sizes = np.zeros((fs.n, len(Option)))
    sizes[:, Option.CLEAR] = np.minimum(
        np.minimum(k_labour, survey.n_candidates), labour_cap(days_mono)
    )
    for system in PERENNIALS:
        p = system_params(system, params)
        sizes[:, system.option] = np.minimum(
            np.minimum(k_labour, survey.n_monocrop),
            np.minimum(
                labour_cap(p.labour_days_per_ha - days_mono),
                affordable(p.establishment_cost_usd_per_ha * upfront.get(system.option, 1.0)),
            ),
        )
    sizes[:, Option.ABANDON] = survey.n_exhausted
    return sizes.astype(np.int64)
