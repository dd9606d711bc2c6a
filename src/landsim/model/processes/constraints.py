"""Constraints (ODD: "Individual decision making"): how many cells each farmer could
change under each option this year.

Bounded by the labour to clear or establish (``farmers.labour_ha_per_year``), the
labour the new land needs every year (the household's spare days, then hired days,
``labour``), savings for establishment costs and the first year's hired labour
(clearing is done with family labour; sowing pasture is paid), and the land
available: forest for clearing, annual crops for cocoa agroforestry, pasture for
silvopasture and for restoring (restored pasture counts as needing its labour
anew: it is mostly idle degraded land). Each farmer then changes its share
``farmers.change_share`` of what these bounds allow, rounded to whole cells (at
least one): households keep labour and cash in reserve instead of making the
largest change every year.
"""

from __future__ import annotations

import numpy as np

from landsim.model.processes import labour
from landsim.model.processes.survey import FarmSurvey
from landsim.model.state import CHANGES, PERENNIALS, Cover, ModelState, Option, system_params


def option_sizes(
    state: ModelState,
    survey: FarmSurvey,
    days_per_ha: np.ndarray,
    upfront_shares: dict | None = None,
) -> np.ndarray:
    """Cells each farmer could change under each option, shape (n_farms, options).

    ``upfront_shares`` gives, per option, the share of the establishment cost each
    farmer pays up front (less than 1 with support).
    """
    params, fs, cell = state.params, state.farmers, state.landscape.cell_size_ha
    wage = params.labour.hired_wage_usd_per_day
    needed = labour.days_needed(survey.worked_cells(), days_per_ha, cell)
    balance = labour.balance(needed, fs.labour_days_per_year, fs.savings_usd, params.labour)
    k_labour = np.rint(fs.labour_ha_per_year / cell)

    upfront = upfront_shares or {}
    sizes = np.zeros((fs.n, len(Option)))

    def bound(land, days_per_ha_more, cost_usd_per_ha):
        """Cells of ``land`` within the labour to change them, the labour they add
        and their cost."""
        cap = labour.labour_cap(days_per_ha_more * cell, cost_usd_per_ha * cell, balance, wage)
        return np.minimum(np.minimum(k_labour, land), cap)

    pasture, cocoa = params.pasture, params.cocoa_agroforestry
    cocoa_cost = np.asarray(
        cocoa.establishment_cost_usd_per_ha * upfront.get(Option.COCOA_AGROFORESTRY, 1.0)
    )
    forest = survey.n_candidates
    sizes[:, Option.CLEAR] = bound(forest, days_per_ha[Cover.MONOCROP], 0.0)
    sizes[:, Option.PASTURE] = bound(
        forest, days_per_ha[Cover.PASTURE], pasture.establishment_cost_usd_per_ha
    )
    sizes[:, Option.COCOA_ON_CLEARED] = bound(forest, cocoa.labour_days_per_ha, cocoa_cost)
    for system in PERENNIALS:
        p = system_params(system, params)
        cost = np.asarray(p.establishment_cost_usd_per_ha * upfront.get(system.option, 1.0))
        extra_days = p.labour_days_per_ha - days_per_ha[system.established_on]
        sizes[:, system.option] = bound(survey.count_of(system.established_on), extra_days, cost)
    # Restored pasture is grazed (and worked) again, at a cost.
    sizes[:, Option.RESTORE_PASTURE] = bound(
        survey.n_pasture, days_per_ha[Cover.PASTURE], pasture.restoration_cost_usd_per_ha
    )
    # Each farmer changes its share of what the constraints allow, rounded to
    # whole cells (at least one where any is allowed).
    allowed = sizes[:, CHANGES]
    share = np.floor(fs.change_share[:, None] * allowed + 0.5)
    sizes[:, CHANGES] = np.where(allowed > 0, np.maximum(share, 1.0), 0.0)
    sizes[:, Option.ABANDON] = survey.n_exhausted
    return sizes.astype(np.int64)
