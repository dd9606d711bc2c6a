"""Valuation (ODD: "Objectives" and "Prediction"): the net present value per ha of
each option over the farmer's planning horizon, at its own discount rate, with a
risk penalty and a social-learning term (:func:`landsim.economics.value_options`).
"""

from __future__ import annotations

import numpy as np

from landsim.economics import discount_factors, valuation_years, value_options
from landsim.model.processes import labour
from landsim.model.processes.survey import FarmSurvey
from landsim.model.state import CLEARING, ModelState
from landsim.scenario import Scenario


class DiscountFactors:
    """Each farmer's discount factors over the years a valuation needs
    (:func:`landsim.economics.valuation_years`), computed again only when the
    discount rates change (which the model never does)."""

    def __init__(self, horizon: int):
        self.horizon = horizon
        self._cached: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def for_scenario(cls, params: Scenario) -> DiscountFactors:
        """Discount factors over the years ``params``'s valuations need."""
        return cls(
            valuation_years(
                params.decision.planning_horizon_years,
                params.cocoa_agroforestry,
                params.silvopasture,
            )
        )

    def __call__(self, rates: np.ndarray) -> np.ndarray:
        cached = self._cached
        if cached is None or not np.array_equal(cached[0], rates):
            cached = (rates.copy(), discount_factors(rates, self.horizon))
            self._cached = cached
        return cached[1]


def value(
    state: ModelState,
    survey: FarmSurvey,
    shares: dict[str, np.ndarray],
    expected: dict[str, tuple[float, float]],
    discount: np.ndarray,
    days_per_ha: np.ndarray,
    options=None,
) -> np.ndarray:
    """Value (USD/ha) of each option against keeping things, shape (n_farms, options);
    labour at each farmer's marginal wage (:func:`labour.marginal_wage`)."""
    sc, farmers = state.params, state.farmers
    needed = labour.days_needed(survey.worked_cells(), days_per_ha, state.landscape.cell_size_ha)
    free_days = np.maximum(farmers.labour_days_per_year - needed, 0.0)
    values = value_options(
        discount=discount,
        options=options,
        discount_rate=farmers.discount_rate,
        risk_aversion=farmers.risk_aversion,
        knowledge=farmers.knowledge,
        horizon=sc.decision.planning_horizon_years,
        prices=expected,
        forest_fertility=survey.forest_fertility,
        monocrop_fertility=survey.monocrop_min_fertility,
        exhausted_fertility=survey.exhausted_fertility,
        share_adopting=shares,
        monocrop=sc.monocrop,
        cocoa=sc.cocoa_agroforestry,
        silvopasture=sc.silvopasture,
        pasture=sc.pasture,
        pasture_fertility=survey.pasture_min_fertility,
        clearing_cost_usd_per_ha=sc.forest.clearing_cost_usd_per_ha,
        fallow_recovery_rate=sc.forest.fertility_recovery_rate,
        reclear_fertility=sc.forest.reclear_fertility,
        imitation_weight_usd_per_ha=sc.decision.imitation_weight_usd_per_ha,
        knowledge_cost_premium=sc.decision.knowledge_cost_premium,
        technology_uncertainty=sc.decision.technology_uncertainty,
        wage_usd_per_day=labour.marginal_wage(free_days, sc.labour),
    )
    # Where tenure is insecure, clearing secures the land: every clearing option
    # gains its tenure value.
    cleared = [o for o in CLEARING if options is None or o in options]
    values[:, cleared] += sc.settlers.tenure_value_usd_per_ha
    return values
