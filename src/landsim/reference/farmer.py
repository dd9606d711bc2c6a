"""The reference's farmers: what each sees of its land, learns, values, and does.

A :class:`ReferenceFarmer` is a Mesa agent that loops over its own cells (ODD 7.5 to
7.12): it surveys them, learns from its neighbours, values its options, sizes them
by its labour and savings, abandons exhausted land, produces and saves.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa

import landsim.reference.labour as labour
from landsim.model.state import CHANGES, CLEARING, PLANTING, Cover, Option
from landsim.reference.curves import (
    annual_crop_value,
    beef_yield_kg_per_ha,
    cocoa_yield_kg_per_ha,
    discount_factor,
    expected_price,
    fallow_value,
    pasture_value,
    restoration_value,
    sum_in_order,
)
from landsim.reference.planting import planting_kept
from landsim.reference.survey import FarmSurvey

if TYPE_CHECKING:
    from landsim.reference.model import ReferenceModel


class ReferenceFarmer(mesa.Agent):
    """A farm household that manages its own cells one by one.

    Parameters
    ----------
    model : ReferenceModel
    farm_id : int
        The value of the ``owner`` layer on its cells.
    attributes : dict
        The drawn attributes (discount rate, risk aversion, labour, savings,
        knowledge) and ``neighbours`` (farm ids).
    """

    def __init__(self, model: ReferenceModel, farm_id: int, attributes: dict):
        super().__init__(model)
        self.farm_id = farm_id
        self.discount_rate = float(attributes["discount_rate"])
        self.risk_aversion = float(attributes["risk_aversion"])
        self.labour_ha_per_year = float(attributes["labour_ha_per_year"])
        self.labour_days_per_year = float(attributes["labour_days_per_year"])
        self.savings_usd = float(attributes["savings_usd"])
        self.knowledge = float(attributes["knowledge"])
        self.price_extrapolation = float(attributes["price_extrapolation"])
        self.change_share = float(attributes["change_share"])
        self.neighbours = [int(i) for i in attributes["neighbours"]]
        self.cells: list = []  # own cells, in raster order
        self.claimable: list = []  # unowned cells this farm may clear, in raster order
        self.revenue_usd = self.operating_cost_usd = self.net_income_usd = 0.0
        self.investment_usd = self.payments_usd = self.cocoa_kg = 0.0
        self.removals_tco2e = self.emissions_tco2e = self.soil_removals_tco2e = 0.0
        self.hired_days = self.off_farm_days = 0.0
        self.hired_labour_usd = self.off_farm_income_usd = 0.0
        self.deforested_ha = self.claimed_ha = self.cumulative_income_usd = 0.0
        self.arrived_year = model.year  # 0 at set-up; a settler's year of arrival
        self.last_option = Option.KEEP
        self.abandoned = False

    # ------------------------------------------------------------------ sensing

    def survey(self) -> FarmSurvey:
        """Look over the farm's cells (and the forest it may claim).

        Returns
        -------
        FarmSurvey
        """
        model = self.model
        threshold = model.params.monocrop.exhaustion_fertility
        degraded = model.params.pasture.degraded_fertility
        reclear = model.params.forest.reclear_fertility
        by_cover, idle = [0] * len(Cover), [0] * len(Cover)
        monocrop, exhausted, pasture, worn_pasture = [], [], [], []
        for cell in self.cells:
            by_cover[cell.cover] += 1
            if self.is_idle(cell):
                idle[cell.cover] += 1
            if cell.cover == Cover.MONOCROP and model.may_change(cell):
                monocrop.append(cell)
                if cell.fertility < threshold:
                    exhausted.append(cell)
            elif cell.cover == Cover.PASTURE and model.may_change(cell):
                pasture.append(cell)
                if cell.fertility < degraded:
                    worn_pasture.append(cell)
        exhausted += worn_pasture  # the worn-out land: cropland first, then pasture

        kept = planting_kept(model)  # planted cells may not be cleared (7.17)

        def clearable(cell) -> bool:
            recovered = cell.cover == Cover.SECONDARY_FOREST and cell.fertility >= reclear
            recovered &= not (kept and cell.restoration == PLANTING)
            return (cell.cover == Cover.PRIMARY_FOREST or recovered) and model.may_change(cell)

        forest = sorted(
            (c for c in self.cells + self.claimable if clearable(c)), key=model.raster_index
        )
        return FarmSurvey(
            cells_by_cover=by_cover,
            monocrop=monocrop,
            exhausted=exhausted,
            clearable=forest,
            monocrop_min_fertility=min((c.fertility for c in monocrop), default=1.0),
            exhausted_fertility=sum_in_order(c.fertility for c in exhausted)
            / max(len(exhausted), 1),
            forest_fertility=(
                sum_in_order(c.fertility for c in forest) / len(forest) if forest else 1.0
            ),
            pasture=pasture,
            pasture_min_fertility=min((c.fertility for c in pasture), default=1.0),
            idle=idle,
        )

    def has_any(self, survey: FarmSurvey, cover: Cover) -> bool:
        """Whether the surveyed farm has any cell under ``cover``."""
        return survey.cells_by_cover[cover] > 0

    def is_idle(self, cell) -> bool:
        """Whether ``cell`` lies idle: exhausted annual-crop land is not cropped,
        degraded pasture not grazed (7.11)."""
        sc = self.model.params
        if cell.cover == Cover.MONOCROP:
            return cell.fertility < sc.monocrop.exhaustion_fertility
        return cell.cover == Cover.PASTURE and cell.fertility < sc.pasture.degraded_fertility

    def days_needed(self, survey: FarmSurvey) -> float:
        """Labour (person-days/yr) the surveyed land needs; idle land needs none."""
        worked = [n - i for n, i in zip(survey.cells_by_cover, survey.idle, strict=True)]
        return labour.days_needed(worked, self.model.labour_days_per_ha, self.model.cell_size_ha)

    # ------------------------------------------------------------------ learning

    def adoption_shares(self, surveys: dict[int, FarmSurvey]) -> dict[str, float]:
        """Shares of neighbours with any cocoa agroforestry, silvopasture, either (7.8).

        Parameters
        ----------
        surveys : dict
            Farm id -> FarmSurvey of every farm.

        Returns
        -------
        dict
            ``cocoa_agroforestry``, ``silvopasture`` and ``either`` -> share.
        """
        af = sp = either = 0
        for j in self.neighbours:
            has_af = self.has_any(surveys[j], Cover.COCOA_AGROFORESTRY)
            has_sp = self.has_any(surveys[j], Cover.SILVOPASTURE)
            af += has_af
            sp += has_sp
            either += has_af or has_sp
        k = len(self.neighbours)
        return {"cocoa_agroforestry": af / k, "silvopasture": sp / k, "either": either / k}

    def learn(self, shares: dict[str, float]) -> None:
        """Knowledge grows with the share of neighbours who adopted either system.

        References
        ----------
        Rogers, E. M. (2003). Diffusion of Innovations (5th ed.). Free Press.
        """
        rate = self.model.params.decision.knowledge_learning_rate
        self.knowledge += rate * shares["either"] * (1.0 - self.knowledge)

    # ------------------------------------------------------------------ valuing

    def value_options(self, survey: FarmSurvey, shares: dict, expected: dict) -> list[float]:
        """Value (USD/ha) of each option relative to keeping things as they are (7.6).

        Parameters
        ----------
        survey : FarmSurvey
        shares : dict
            :meth:`adoption_shares` of the farmer.
        expected : dict
            Product -> expected price and its coefficient of variation.

        Returns
        -------
        list of float
            By option.

        References
        ----------
        Villamor, G. B., et al. (2014). Environmental Modelling & Software, 61,
        151-165. (NPV-based multinomial logit land-use choice.)
        Markowitz, H. (1952). Portfolio selection. Journal of Finance, 7, 77-91.
        """
        sc = self.model.params
        d, cocoa, sp = sc.decision, sc.cocoa_agroforestry, sc.silvopasture
        p_m, cv_m = expected_price(self.price_extrapolation, expected["monocrop"])
        p_c, cv_c = expected_price(self.price_extrapolation, expected["cocoa"])
        p_b, cv_b = expected_price(self.price_extrapolation, expected["beef"])
        rho = self.risk_aversion
        wage = labour.marginal_wage(
            max(self.labour_days_per_year - self.days_needed(survey), 0.0), sc.labour
        )
        new_field, new_field_revenue = annual_crop_value(
            self, survey.forest_fertility, p_m, True, wage
        )
        # A perennial system is valued over its productive life, and so is what
        # it replaces.
        kept, kept_revenue = annual_crop_value(
            self, survey.monocrop_min_fertility, p_m, True, wage, cocoa.productive_life_years
        )
        fallow = fallow_value(self, survey.exhausted_fertility, p_m, cv_m, wage)
        forgone = kept - rho * cv_m * kept_revenue
        pa = sc.pasture
        new_pasture, new_pasture_revenue = pasture_value(
            self, survey.forest_fertility, p_b, True, wage
        )
        kept_pasture, kept_pasture_revenue = pasture_value(
            self, survey.pasture_min_fertility, p_b, False, wage, sp.productive_life_years
        )
        novice = d.technology_uncertainty * (1.0 - self.knowledge)
        cost_factor = 1.0 + d.knowledge_cost_premium * (1.0 - self.knowledge)

        cocoa_net = cocoa_revenue = sp_net = sp_revenue = cocoa_annuity = sp_annuity = 0.0
        for t in range(1, cocoa.productive_life_years + 1):
            df = discount_factor(self.discount_rate, t)
            cocoa_annuity += df
            kg = cocoa_yield_kg_per_ha(t - 1, cocoa)  # a plot is of age t - 1 in year t
            cocoa_revenue += df * kg * p_c
            cocoa_net += df * kg * (p_c - cocoa.production_cost_usd_per_kg)
        for t in range(1, sp.productive_life_years + 1):
            df = discount_factor(self.discount_rate, t)
            sp_annuity += df
            beef = beef_yield_kg_per_ha(t - 1, sp)
            sp_revenue += df * beef * p_b
            sp_net += df * (beef * p_b - sp.operating_cost_usd_per_ha)

        cocoa_net -= wage * cocoa.labour_days_per_ha * cocoa_annuity
        sp_net -= wage * sp.labour_days_per_ha * sp_annuity
        values = [0.0] * len(Option)
        values[Option.CLEAR] = (
            new_field - rho * cv_m * new_field_revenue - sc.forest.clearing_cost_usd_per_ha
        )
        values[Option.PASTURE] = (
            new_pasture
            - rho * cv_b * new_pasture_revenue
            - sc.forest.clearing_cost_usd_per_ha
            - pa.establishment_cost_usd_per_ha
        )
        values[Option.COCOA_AGROFORESTRY] = (
            cocoa_net
            - rho * (cv_c + novice) * cocoa_revenue
            - cocoa.establishment_cost_usd_per_ha * cost_factor
            - forgone
            + d.imitation_weight_usd_per_ha * shares["cocoa_agroforestry"]
        )
        values[Option.COCOA_ON_CLEARED] = (
            cocoa_net
            - rho * (cv_c + novice) * cocoa_revenue
            - cocoa.establishment_cost_usd_per_ha * cost_factor
            - sc.forest.clearing_cost_usd_per_ha
            + d.imitation_weight_usd_per_ha * shares["cocoa_agroforestry"]
        )
        values[Option.SILVOPASTURE] = (
            sp_net
            - rho * (cv_b + novice) * sp_revenue
            - sp.establishment_cost_usd_per_ha * cost_factor
            - (kept_pasture - rho * cv_b * kept_pasture_revenue)
            + d.imitation_weight_usd_per_ha * shares["silvopasture"]
        )
        values[Option.ABANDON] = fallow
        values[Option.RESTORE_PASTURE] = restoration_value(
            self, survey.pasture_min_fertility, p_b, cv_b, wage
        )
        for option in CLEARING:  # where tenure is insecure, clearing secures land (7.0)
            values[option] += sc.settlers.tenure_value_usd_per_ha
        return values

    def option_sizes(self, survey: FarmSurvey, upfront: dict | None = None) -> list[int]:
        """Cells the farmer could change this year under each option (7.7).

        Parameters
        ----------
        survey : FarmSurvey
        upfront : dict, optional
            Option -> share of the establishment cost paid up front (1 if absent).

        Returns
        -------
        list of int
            By option: bounded by labour (household, then hired), savings, land.
        """
        sc, cell_ha = self.model.params, self.model.cell_size_ha
        days = self.model.labour_days_per_ha
        needed = self.days_needed(survey)
        by_labour = round(self.labour_ha_per_year / cell_ha)

        def within_labour(extra_days_per_ha: float, cost_usd_per_ha: float) -> float:
            return labour.cells_within_labour(
                extra_days_per_ha * cell_ha,
                cost_usd_per_ha * cell_ha,
                needed,
                self.labour_days_per_year,
                self.savings_usd,
                sc.labour,
            )

        sizes = [0] * len(Option)
        sizes[Option.CLEAR] = min(
            by_labour, len(survey.clearable), within_labour(days[Cover.MONOCROP], 0.0)
        )
        sizes[Option.PASTURE] = min(
            by_labour,
            len(survey.clearable),
            within_labour(days[Cover.PASTURE], sc.pasture.establishment_cost_usd_per_ha),
        )
        cocoa_share = (upfront or {}).get(Option.COCOA_AGROFORESTRY, 1.0)
        sizes[Option.COCOA_ON_CLEARED] = min(
            by_labour,
            len(survey.clearable),
            within_labour(
                sc.cocoa_agroforestry.labour_days_per_ha,
                sc.cocoa_agroforestry.establishment_cost_usd_per_ha * cocoa_share,
            ),
        )
        for option, system, land, replaced in (
            (Option.COCOA_AGROFORESTRY, sc.cocoa_agroforestry, survey.monocrop, Cover.MONOCROP),
            (Option.SILVOPASTURE, sc.silvopasture, survey.pasture, Cover.PASTURE),
        ):
            share = (upfront or {}).get(option, 1.0)
            sizes[option] = min(
                by_labour,
                len(land),
                within_labour(
                    system.labour_days_per_ha - days[replaced],
                    system.establishment_cost_usd_per_ha * share,
                ),
            )
        sizes[Option.RESTORE_PASTURE] = min(
            by_labour,
            len(survey.pasture),
            within_labour(days[Cover.PASTURE], sc.pasture.restoration_cost_usd_per_ha),
        )
        for option in CHANGES:  # the farmer's share of what the constraints allow
            if sizes[option] > 0:
                sizes[option] = max(math.floor(self.change_share * sizes[option] + 0.5), 1)
        sizes[Option.ABANDON] = len(survey.exhausted)
        return [int(s) for s in sizes]

    # ------------------------------------------------------------------ acting

    def abandon_exhausted_land(self, survey: FarmSurvey) -> tuple[int, int]:
        """All worn-out cells (exhausted annual crops, degraded pasture) become
        secondary forest; returns how many, and how many of them were pasture."""
        pasture = sum(cell.cover == Cover.PASTURE for cell in survey.exhausted)
        for cell in survey.exhausted:
            self.model.change_cover(cell, Cover.SECONDARY_FOREST)
        return len(survey.exhausted), pasture

    def produce(self, prices: dict[str, float]) -> None:
        """Revenue, operating cost, labour, net income and cocoa of this year (7.11):
        hired days for what the land needs beyond the household's labour, spare
        days off the farm, and production in proportion to the labour the land had."""
        sc, cell_ha = self.model.params, self.model.cell_size_ha
        revenue = cost = cocoa = 0.0
        by_cover = [0] * len(Cover)
        for cell in self.cells:
            if self.is_idle(cell):
                continue  # not cropped or grazed
            by_cover[cell.cover] += 1
            if cell.cover == Cover.MONOCROP:
                revenue += sc.monocrop.yield_t_per_ha * cell.fertility * prices["monocrop"]
                cost += sc.monocrop.operating_cost_usd_per_ha
            elif cell.cover == Cover.COCOA_AGROFORESTRY:
                kg = cocoa_yield_kg_per_ha(int(cell.age), sc.cocoa_agroforestry)
                revenue += kg * prices["cocoa"]
                cost += kg * sc.cocoa_agroforestry.production_cost_usd_per_kg
                cocoa += kg
            elif cell.cover == Cover.SILVOPASTURE:
                beef = beef_yield_kg_per_ha(int(cell.age), sc.silvopasture)
                revenue += beef * prices["beef"] if beef else 0.0
                cost += sc.silvopasture.operating_cost_usd_per_ha
            elif cell.cover == Cover.PASTURE:
                pa = sc.pasture
                if cell.age >= pa.first_income_year:
                    revenue += pa.beef_yield_kg_per_ha * cell.fertility * prices["beef"]
                else:
                    revenue += 0.0
                cost += pa.operating_cost_usd_per_ha
        needed = labour.days_needed(by_cover, self.model.labour_days_per_ha, cell_ha)
        hired, off_farm, worked = labour.work(
            needed, self.labour_days_per_year, self.savings_usd, sc.labour
        )
        self.revenue_usd = revenue * cell_ha * worked
        self.operating_cost_usd = cost * cell_ha * worked
        self.cocoa_kg = cocoa * cell_ha * worked
        self.hired_days, self.off_farm_days = hired, off_farm
        self.hired_labour_usd = hired * sc.labour.hired_wage_usd_per_day
        self.off_farm_income_usd = off_farm * sc.labour.off_farm_wage_usd_per_day
        self.net_income_usd = (
            self.revenue_usd
            - self.operating_cost_usd
            - self.hired_labour_usd
            + self.off_farm_income_usd
        )

    def save(self) -> None:
        """Savings take the saved share of a profit, or absorb a loss, never below 0."""
        self.cumulative_income_usd += self.net_income_usd
        net = self.net_income_usd
        saved = self.model.params.farmers.savings_rate * net if net > 0 else net
        self.savings_usd = max(self.savings_usd + saved, 0.0)
