"""A per-agent reference implementation of landsim's yearly rules.

:class:`ReferenceModel` runs the same model as :class:`landsim.model.LandUseModel`,
written the way a Mesa user would write it: the landscape is a Mesa
``OrthogonalMooreGrid`` whose layers (cover, age, fertility, owner, ...) are Mesa
property layers, and each :class:`ReferenceFarmer` agent loops in Python over its
own cells, reading and writing them through Mesa cell access (``cell.cover``,
``cell.fertility``, ``cell.neighborhood``). It is slow (one to two seconds per
year on the default 200 x 200 landscape) and is meant as an executable specification of
the yearly rules in ``docs/ODD.md`` (sections 3 and 7) and ``docs/schemes.md``,
against which the vectorised model is tested (``tests/test_reference.py``).

What is shared with the vectorised model, and what is not:

- *Shared (inputs and set-up, not yearly rules)*: scenario validation, the
  landscape generator or ``.npz`` reader, the draws of farmer attributes and their
  neighbour network, the price paths (:class:`landsim.market.Market`), the
  Chapman-Richards growth curve (:func:`landsim.carbon.chapman_richards`, tabulated
  here by whole years of age), and the Gini coefficient of the outputs.
- *Written afresh*: every yearly process: price expectations, farm statistics,
  social learning, option values, the logit choices, option sizes, abandonment,
  clearing and conversion of cells, production, savings, growth of fertility,
  ages, biomass and soil carbon, carbon accounting, incentive programmes
  (enrolment, targeting, incentives, monitoring, sanctions, payments, budgets),
  and the yearly indicators.

Random numbers are consumed exactly as in the vectorised model, so that both give
the same results for the same seed: the seed is split into the same five streams
(landscape, farmers, markets, decisions, programmes); each year one child of the
decision stream draws, in this order, one uniform per farmer for stage 1, one per
farmer for stage 2, then one per candidate cell of the clearing farmers, one per
annual-crop cell of the farmers converting to cocoa agroforestry, and one per
annual-crop cell of the farmers converting to silvopasture, each set of cells
taken in raster order (row by row from the northern edge). Each farmer uses the
draws of its own id or its own cells. Programmes draw from their own stream in
the same way (one uniform per farmer for enrolment and one for detection, per
programme, and a permutation of the applicants for random targeting).

Where the two implementations can differ (see ``tests/test_reference.py``):

- Sums over farmers that set state or outputs are taken with numpy over farmers
  in id order, and sums over a farm's cells in raster order, so they match the
  vectorised model bit for bit. Landscape totals (carbon stocks, removals and
  emissions) are summed here cell by cell, in a different order from numpy's
  pairwise sums, and agree to about 1e-14 relative.
- Option values and choice probabilities are computed here with plain Python
  loops, so they may differ from the vectorised ones in the last bits; a choice
  could differ only if a uniform draw fell within that rounding of a boundary
  between two options (probability about 1e-15 per decision).
- Clearing breaks ties at random with one uniform per cell; the vectorised model
  adds that uniform to an integer sort key, which rounds it to about 2**-30 on
  the largest landscapes. The two orders differ only if two candidate cells of one
  farm at the same distance draw uniforms that close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial

import mesa
import numpy as np
from mesa.discrete_space import OrthogonalMooreGrid

from landsim import carbon, limits
from landsim.agents import draw_farmers
from landsim.economics import gini
from landsim.landscape import generate_landscape, load_landscape
from landsim.market import PRODUCTS, UNITS, Market
from landsim.model.state import (
    COVER_NAMES,
    LOT_REFERENCE_HA,
    NO_OWNER,
    OPTION_NAMES,
    Cover,
    Landscape,
    Option,
)
from landsim.model.state import PROGRAMME_YEAR_KEYS as YEAR_KEYS
from landsim.provenance import describe_seed, resolve_seed
from landsim.scenario import Programme, Scenario, resolve_scenario

#: Property layers of the reference grid, with their dtypes (as in the Landscape).
LAYERS = {
    "cover": np.int8,
    "age": np.int16,
    "fertility": np.float64,
    "owner": np.int32,
    "protected": bool,
    "road": bool,
    "claim": np.int32,
    "biomass_tc_per_ha": np.float64,
    "soc_tc_per_ha": np.float64,
    "soc_rate_tc_per_ha": np.float64,
}

FOREST_COVERS = (Cover.PRIMARY_FOREST, Cover.SECONDARY_FOREST)
STAGE_2_OPTIONS = (Option.KEEP, Option.CLEAR, Option.COCOA_AGROFORESTRY, Option.SILVOPASTURE)
NEW_SYSTEMS = (
    (Option.COCOA_AGROFORESTRY, Cover.COCOA_AGROFORESTRY),
    (Option.SILVOPASTURE, Cover.SILVOPASTURE),
)


# =============================================================================== curves


def cocoa_yield_kg_per_ha(age: int, cocoa) -> float:
    """Cocoa yield (kg/ha/yr) of an agroforestry plot of ``age`` years (ODD 7.6).

    Zero before ``first_harvest_year``, rising linearly to the mature yield at
    ``full_yield_year``, constant after.
    """
    a1, a2 = cocoa.first_harvest_year, cocoa.full_yield_year
    if age < a1:
        return 0.0
    share = min(max((age - a1 + 1.0) / (a2 - a1 + 1.0), 0.0), 1.0)
    return cocoa.mature_yield_kg_per_ha * share


def beef_yield_kg_per_ha(age: int, silvopasture) -> float:
    """Beef yield (kg liveweight/ha/yr) of a silvopasture plot of ``age`` years."""
    if age >= silvopasture.first_income_year:
        return silvopasture.beef_yield_kg_per_ha
    return 0.0


def discount_factor(rate: float, years: int) -> float:
    """Present value of 1 USD received at the end of year ``years``: ``(1 + r)^-t``."""
    return (1.0 + rate) ** -years


def logit_choice(values: list[float], feasible: list[bool], scale: float, uniform: float):
    """Draw one option by multinomial logit over the feasible ones (ODD 7.9).

    ``P_j = exp(scale V_j) / sum_k exp(scale V_k)`` over feasible options, sampled
    by inverting the cumulative probabilities with ``uniform``.

    References
    ----------
    McFadden, D. (1974). Conditional logit analysis of qualitative choice
    behavior. In P. Zarembka (Ed.), Frontiers in Econometrics (pp. 105-142).
    """
    utilities = [scale * v if ok else -math.inf for v, ok in zip(values, feasible, strict=True)]
    top = max(utilities)
    weights = [math.exp(u - top) for u in utilities]
    total = 0.0
    for w in weights:
        total += w
    cumulative, running = [], 0.0
    for w in weights:
        running += w / total
        cumulative.append(running)
    target = uniform * cumulative[-1]
    # The first option whose cumulative probability exceeds the target.
    return sum(1 for c in cumulative if c <= target)


def sum_in_order(values) -> float:
    """Sum floats one after another (Python's ``sum`` compensates rounding, numpy's
    ``bincount`` does not; the reference sums a farm's cells the plain way)."""
    total = 0.0
    for v in values:
        total += v
    return total


# =============================================================================== farmers


@dataclass
class FarmSurvey:
    """What a farmer knows of its land at one moment of the year (ODD 7.5).

    Attributes
    ----------
    cells_by_cover : list of int
        Number of the farm's cells under each cover.
    monocrop : list of Cell
        Annual-crop cells whose cover may change, in raster order.
    exhausted : list of Cell
        Those of them whose fertility is below the exhaustion threshold.
    clearable : list of Cell
        Forest the farmer may clear (own or claimable), in raster order.
    monocrop_min_fertility : float
        The lowest fertility in ``monocrop`` (1 if none).
    exhausted_fertility : float
        The mean fertility of ``exhausted`` (0 if none).
    forest_fertility : float
        The mean fertility of ``clearable`` (1 if none).
    """

    cells_by_cover: list[int]
    monocrop: list
    exhausted: list
    clearable: list
    monocrop_min_fertility: float
    exhausted_fertility: float
    forest_fertility: float


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
        self.neighbours = [int(i) for i in attributes["neighbours"]]
        self.cells: list = []  # own cells, in raster order
        self.claimable: list = []  # unowned cells this farm may clear, in raster order
        self.revenue_usd = self.operating_cost_usd = self.net_income_usd = 0.0
        self.investment_usd = self.payments_usd = self.cocoa_kg = 0.0
        self.removals_tco2e = self.emissions_tco2e = 0.0
        self.deforested_ha = self.claimed_ha = self.cumulative_income_usd = 0.0
        self.last_option = Option.KEEP
        self.abandoned = False

    # ------------------------------------------------------------------ sensing

    def survey(self) -> FarmSurvey:
        """Look over the farm's cells (and the forest it may claim)."""
        model = self.model
        threshold = model.params.monocrop.exhaustion_fertility
        reclear = model.params.forest.reclear_fertility
        by_cover = [0] * len(Cover)
        monocrop, exhausted = [], []
        for cell in self.cells:
            by_cover[cell.cover] += 1
            if cell.cover == Cover.MONOCROP and model.may_change(cell):
                monocrop.append(cell)
                if cell.fertility < threshold:
                    exhausted.append(cell)

        def clearable(cell) -> bool:
            recovered = cell.cover == Cover.SECONDARY_FOREST and cell.fertility >= reclear
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
        )

    def has_any(self, survey: FarmSurvey, cover: Cover) -> bool:
        return survey.cells_by_cover[cover] > 0

    # ------------------------------------------------------------------ learning

    def adoption_shares(self, surveys: dict[int, FarmSurvey]) -> dict[str, float]:
        """Shares of neighbours with any cocoa agroforestry, silvopasture, either (7.8)."""
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

    def annual_crop_value(self, f0: float, price: float, stop_when_unprofitable: bool):
        """Present value of cropping a field from fertility ``f0``, and of its revenue."""
        sc = self.model.params
        m, horizon = sc.monocrop, sc.decision.planning_horizon_years
        value = revenue = 0.0
        for t in range(1, horizon + 1):
            fertility = f0 * (1.0 - m.fertility_depletion_rate) ** (t - 1)
            gross = m.yield_t_per_ha * fertility * price
            margin = gross - m.operating_cost_usd_per_ha
            if stop_when_unprofitable and margin <= 0:
                continue
            d = discount_factor(self.discount_rate, t)
            value += margin * d
            revenue += gross * d
        return value, revenue

    def value_options(self, survey: FarmSurvey, shares: dict, expected: dict) -> list[float]:
        """Value (USD/ha) of each option relative to keeping things as they are (7.6).

        References
        ----------
        Villamor, G. B., et al. (2014). Environmental Modelling & Software, 61,
        151-165. (NPV-based multinomial logit land-use choice.)
        Markowitz, H. (1952). Portfolio selection. Journal of Finance, 7, 77-91.
        """
        sc = self.model.params
        d, cocoa, sp = sc.decision, sc.cocoa_agroforestry, sc.silvopasture
        p_m, cv_m = expected["monocrop"]
        p_c, cv_c = expected["cocoa"]
        p_b, cv_b = expected["beef"]
        rho = self.risk_aversion
        new_field, new_field_revenue = self.annual_crop_value(survey.forest_fertility, p_m, True)
        kept, kept_revenue = self.annual_crop_value(survey.monocrop_min_fertility, p_m, True)
        exhausted, _ = self.annual_crop_value(survey.exhausted_fertility, p_m, False)
        forgone = kept - rho * cv_m * kept_revenue
        novice = d.technology_uncertainty * (1.0 - self.knowledge)
        cost_factor = 1.0 + d.knowledge_cost_premium * (1.0 - self.knowledge)

        cocoa_net = cocoa_revenue = sp_net = sp_revenue = 0.0
        for t in range(1, d.planning_horizon_years + 1):
            df = discount_factor(self.discount_rate, t)
            kg = cocoa_yield_kg_per_ha(t - 1, cocoa)  # a plot is of age t - 1 in year t
            cocoa_revenue += df * kg * p_c
            cocoa_net += df * kg * (p_c - cocoa.production_cost_usd_per_kg)
            beef = beef_yield_kg_per_ha(t - 1, sp)
            sp_revenue += df * beef * p_b
            sp_net += df * (beef * p_b - sp.operating_cost_usd_per_ha)

        values = [0.0] * len(Option)
        values[Option.CLEAR] = (
            new_field - rho * cv_m * new_field_revenue - sc.forest.clearing_cost_usd_per_ha
        )
        values[Option.COCOA_AGROFORESTRY] = (
            cocoa_net
            - rho * (cv_c + novice) * cocoa_revenue
            - cocoa.establishment_cost_usd_per_ha * cost_factor
            - forgone
            + d.imitation_weight_usd_per_ha * shares["cocoa_agroforestry"]
        )
        values[Option.SILVOPASTURE] = (
            sp_net
            - rho * (cv_b + novice) * sp_revenue
            - sp.establishment_cost_usd_per_ha * cost_factor
            - forgone
            + d.imitation_weight_usd_per_ha * shares["silvopasture"]
        )
        values[Option.ABANDON] = -exhausted
        return values

    def option_sizes(self, survey: FarmSurvey, upfront: dict | None = None) -> list[int]:
        """Cells the farmer could change this year under each option (7.7)."""
        sc, cell_ha = self.model.params, self.model.cell_size_ha
        days = self.model.labour_days_per_ha
        used_days = 0.0
        for cover, n in enumerate(survey.cells_by_cover):
            used_days += n * days[cover]
        free_days = max(self.labour_days_per_year - used_days * cell_ha, 0.0)
        by_labour = round(self.labour_ha_per_year / cell_ha)

        def by_free_days(extra_days_per_ha: float) -> float:
            if extra_days_per_ha <= 0:
                return math.inf
            return math.floor(free_days / (extra_days_per_ha * cell_ha))

        def by_savings(cost_usd_per_ha: float) -> float:
            if cost_usd_per_ha * cell_ha <= 0:
                return math.inf
            return math.floor(self.savings_usd / (cost_usd_per_ha * cell_ha))

        sizes = [0] * len(Option)
        sizes[Option.CLEAR] = min(
            by_labour, len(survey.clearable), by_free_days(days[Cover.MONOCROP])
        )
        for option, system in (
            (Option.COCOA_AGROFORESTRY, sc.cocoa_agroforestry),
            (Option.SILVOPASTURE, sc.silvopasture),
        ):
            share = (upfront or {}).get(option, 1.0)
            sizes[option] = min(
                by_labour,
                len(survey.monocrop),
                by_free_days(system.labour_days_per_ha - days[Cover.MONOCROP]),
                by_savings(system.establishment_cost_usd_per_ha * share),
            )
        sizes[Option.ABANDON] = len(survey.exhausted)
        return [int(s) for s in sizes]

    # ------------------------------------------------------------------ acting

    def abandon_exhausted_land(self, survey: FarmSurvey) -> int:
        """All exhausted annual-crop cells become secondary forest; returns how many."""
        for cell in survey.exhausted:
            self.model.change_cover(cell, Cover.SECONDARY_FOREST)
        return len(survey.exhausted)

    def produce(self, prices: dict[str, float]) -> None:
        """Revenue, operating cost, net income and cocoa of this year (7.11)."""
        sc, cell_ha = self.model.params, self.model.cell_size_ha
        revenue = cost = cocoa = 0.0
        for cell in self.cells:
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
        self.revenue_usd = revenue * cell_ha
        self.operating_cost_usd = cost * cell_ha
        self.net_income_usd = self.revenue_usd - self.operating_cost_usd
        self.cocoa_kg = cocoa * cell_ha

    def save(self) -> None:
        """Savings take the saved share of a profit, or absorb a loss, never below 0."""
        self.cumulative_income_usd += self.net_income_usd
        net = self.net_income_usd
        saved = self.model.params.farmers.savings_rate * net if net > 0 else net
        self.savings_usd = max(self.savings_usd + saved, 0.0)


# =============================================================================== programmes


@dataclass
class Contract:
    """One farmer's standing with one programme."""

    enrolled: bool = False
    ever_enrolled: bool = False
    expelled: bool = False
    enrolled_since: int = -1
    received_usd: float = 0.0
    loan_balance_usd: float = 0.0
    loan_instalment_usd: float = 0.0
    support_due_usd: float = 0.0


@dataclass
class ReferenceProgramme:
    """One incentive programme: its rules, its contracts (one per farmer), its money."""

    spec: Programme
    contracts: list[Contract]
    spent_usd: float = 0.0
    reforestation_ha: float = 0.0
    year: dict = field(default_factory=dict)  # this year's indicators
    compliant: dict = field(default_factory=dict)  # this year, by farm id

    def active(self, year: int) -> bool:
        return self.spec.start_year <= year <= self.spec.end_year


class ReferenceProgrammes:
    """The incentive programmes of a scenario (docs/schemes.md), farmer by farmer.

    References
    ----------
    Wunder, S. (2005). Payments for environmental services: some nuts and bolts.
    CIFOR Occasional Paper 42.
    """

    def __init__(self, specs, model: ReferenceModel, rng: np.random.Generator):
        self.model = model
        self._rng = rng
        self._year_rng = None
        n = len(model.farmers)
        self.programmes = [ReferenceProgramme(s, [Contract() for _ in range(n)]) for s in specs]

    # ------------------------------------------------------------------ helpers

    def enrolled_anywhere(self, farmer) -> bool:
        return any(p.contracts[farmer.farm_id].enrolled for p in self.programmes)

    def farm_areas_ha(self, farmer) -> tuple[float, float, float]:
        """Forest, sustainable-practice (agroforestry + silvopasture) and lot area (ha)."""
        counts = [0] * len(Cover)
        for cell in farmer.cells:
            counts[cell.cover] += 1
        cell_ha = self.model.cell_size_ha
        forest = (counts[Cover.PRIMARY_FOREST] + counts[Cover.SECONDARY_FOREST]) * cell_ha
        sustainable = (counts[Cover.COCOA_AGROFORESTRY] + counts[Cover.SILVOPASTURE]) * cell_ha
        return forest, sustainable, len(farmer.cells) * cell_ha

    def carbon_price(self, spec: Programme, year: int) -> float:
        cp = spec.carbon_payment
        if cp.usd_per_tco2e is not None:
            return cp.usd_per_tco2e
        return self.model.market.price("carbon", year)

    def clearing_emission_tco2e_per_ha(self) -> float:
        """Biomass emission of clearing 1 ha of primary forest for annual crops."""
        sc = self.model.params
        agb = sc.forest.primary_agb_tc_per_ha - sc.monocrop.agb_tc_per_ha
        return agb * (1.0 + sc.forest.root_shoot_ratio) * carbon.CO2_PER_C

    def years_left(self, spec: Programme, year: int) -> int:
        horizon = self.model.params.decision.planning_horizon_years
        return max(0, min(spec.end_year - year + 1, horizon))

    def annuity(self, farmer, years: int) -> float:
        """Present value of 1 USD a year for ``years`` years at the farmer's rate."""
        total = 0.0
        for t in range(1, years + 1):
            total += discount_factor(farmer.discount_rate, t)
        return total

    def expected_benefit(self, spec: Programme, year: int, farmer, forest_ha: float) -> float:
        """Yearly payments the farmer would expect if it joined (USD/yr)."""
        benefit = 0.0
        if spec.forest_payment is not None:
            benefit += spec.forest_payment.usd_per_ha_per_year * forest_ha
        if spec.carbon_payment is not None:
            cp = spec.carbon_payment
            price = self.carbon_price(spec, year) * cp.farmer_share
            if cp.pay_removals:
                benefit += price * farmer.removals_tco2e
            if cp.pay_avoided_emissions:
                benefit += (
                    price
                    * cp.baseline_clearing_ha_per_farm_per_year
                    * self.clearing_emission_tco2e_per_ha()
                )
        if spec.premium is not None:
            benefit += spec.premium.cocoa_usd_per_kg * farmer.cocoa_kg
        return benefit

    def restricted_clearing_ha(self, spec, clear_size: int, forest_ha: float, lot_ha: float):
        """Ha a year of clearing the obligations forbid (at most what could be cleared)."""
        ob = spec.obligations
        if ob is None:
            return 0.0
        if ob.no_clearing:
            return float(clear_size)
        allowance = max(forest_ha - ob.min_forest_share * lot_ha, 0.0)
        return max(clear_size - allowance, 0.0)

    # ------------------------------------------------------------------ enrolment

    def begin_year(self, year: int, clear_value: list[float], clear_size: list[int]) -> None:
        """Contracts past their last year end; volunteers enrol and are trained."""
        self._year_rng = self._rng.spawn(1)[0]
        farmers = self.model.farmers
        scale = self.model.params.decision.logit_scale
        for prog in self.programmes:
            prog.year = dict.fromkeys(YEAR_KEYS, 0.0)
        areas = {f.farm_id: self.farm_areas_ha(f) for f in farmers} if self.programmes else {}
        for prog in self.programmes:
            spec = prog.spec
            if year > spec.end_year:
                for contract in prog.contracts:
                    contract.enrolled = False
            if not prog.active(year) or prog.spent_usd >= spec.budget_usd:
                continue
            net_per_ha, applies = {}, {}
            for f in farmers:
                forest_ha, _, lot_ha = areas[f.farm_id]
                benefit = self.expected_benefit(spec, year, f, forest_ha)
                restricted = self.restricted_clearing_ha(
                    spec, clear_size[f.farm_id], forest_ha, lot_ha
                )
                forgone = max(clear_value[f.farm_id], 0.0) * restricted
                net_per_ha[f.farm_id] = (benefit - forgone) / max(lot_ha, 1e-9)
                c = prog.contracts[f.farm_id]
                eligible = not c.enrolled and not c.expelled and benefit > 0
                if spec.obligations is not None:
                    eligible &= forest_ha >= spec.obligations.min_forest_share * lot_ha
                z = min(max(scale * net_per_ha[f.farm_id], -50.0), 50.0)
                applies[f.farm_id] = (eligible, 1.0 / (1.0 + math.exp(-z)))
            uniforms = self._year_rng.random(len(farmers))
            applicants = [
                f
                for f in farmers
                if applies[f.farm_id][0] and uniforms[f.farm_id] < applies[f.farm_id][1]
            ]
            room = spec.enrolment_cap - sum(c.enrolled for c in prog.contracts)
            if room <= 0 or not applicants:
                continue
            ordered = self.targeting_order(spec, applicants, net_per_ha, clear_value, clear_size)
            chosen = ordered[:room]
            for f in chosen:
                c = prog.contracts[f.farm_id]
                c.enrolled = c.ever_enrolled = True
                c.enrolled_since = year
                if spec.training is not None:
                    f.knowledge += spec.training.knowledge_gain * (1 - f.knowledge)
            prog.year["newly_enrolled"] = float(len(chosen))

    def targeting_order(self, spec, applicants, net_per_ha, clear_value, clear_size) -> list:
        """Applicants in the order the programme takes them (stable sorts)."""
        if spec.targeting == "first_come":  # the keenest first
            return sorted(applicants, key=lambda f: -net_per_ha[f.farm_id])
        if spec.targeting == "random":
            return [applicants[i] for i in self._year_rng.permutation(len(applicants))]
        if spec.targeting == "highest_risk":  # the most clearing value at stake
            return sorted(
                applicants,
                key=lambda f: -(max(clear_value[f.farm_id], 0.0) * clear_size[f.farm_id]),
            )
        exposure = self.model.forest_edge_distance()  # nearest_edge
        return sorted(applicants, key=lambda f: exposure[f.farm_id])

    # ------------------------------------------------------------------ incentives

    def removal_curve_tco2e_per_ha(self, cover: Cover, years: int) -> list[float]:
        """Biomass removals in each of the first ``years`` years after establishment."""
        stock = [self.model.biomass_density(cover, age) for age in range(years + 1)]
        return [(stock[a + 1] - stock[a]) * carbon.CO2_PER_C for a in range(years)]

    def value_adjustments(self, year: int, clear_size: list[int]) -> list[list[float]]:
        """Change in each farmer's option values (USD/ha) from its contracts."""
        farmers = self.model.farmers
        adjustments = [[0.0] * len(Option) for _ in farmers]
        if not self.programmes:
            return adjustments
        for prog in self.programmes:
            spec = prog.spec
            if not prog.active(year):
                continue
            left = self.years_left(spec, year)
            for f in farmers:
                if not prog.contracts[f.farm_id].enrolled:
                    continue
                self.adjust_values(
                    prog, year, f, left, clear_size[f.farm_id], adjustments[f.farm_id]
                )
        return adjustments

    def adjust_values(self, prog, year: int, f, left: int, clear_size: int, a: list) -> None:
        """Add one enrolled farmer's incentive terms to ``a`` (docs/schemes.md)."""
        sc, spec = self.model.params, prog.spec
        forest_ha, sustainable_ha, lot_ha = self.farm_areas_ha(f)
        annuity = self.annuity(f, left)
        if spec.forest_payment is not None:
            a[Option.CLEAR] -= spec.forest_payment.usd_per_ha_per_year * annuity
        if spec.carbon_payment is not None:
            cp = spec.carbon_payment
            price = self.carbon_price(spec, year) * cp.farmer_share
            if cp.pay_avoided_emissions:
                a[Option.CLEAR] -= price * self.clearing_emission_tco2e_per_ha()
            if cp.pay_removals:
                for option, cover in (
                    *NEW_SYSTEMS,
                    (Option.ABANDON, Cover.SECONDARY_FOREST),
                ):
                    curve = self.removal_curve_tco2e_per_ha(cover, left)
                    pv = 0.0
                    for t, removal in enumerate(curve, start=1):
                        pv += discount_factor(f.discount_rate, t) * removal
                    a[option] += price * pv
        ob = spec.obligations
        if ob is not None and (ob.no_clearing or ob.min_forest_share > 0):
            breaks = self.restricted_clearing_ha(spec, clear_size, forest_ha, lot_ha) > 0
            yearly = self.expected_benefit(spec, year, f, forest_ha)
            at_stake = yearly * annuity if spec.expel_on_violation else yearly
            if spec.repay_on_violation:
                at_stake += prog.contracts[f.farm_id].received_usd
            if breaks:
                a[Option.CLEAR] -= spec.detection_probability * at_stake / max(clear_size, 1)
        if ob is not None and ob.min_sustainable_ha_per_40ha > 0:
            needed = ob.min_sustainable_ha_per_40ha * lot_ha / LOT_REFERENCE_HA
            shortfall = max(needed - sustainable_ha, 0.0)
            if shortfall > 0:
                at_stake = self.expected_benefit(spec, year, f, forest_ha) * annuity
                bonus = at_stake / max(shortfall, 1.0)
                a[Option.COCOA_AGROFORESTRY] += bonus
                a[Option.SILVOPASTURE] += bonus
        if spec.establishment_support is not None:
            es = spec.establishment_support
            for option, system in (
                (Option.COCOA_AGROFORESTRY, sc.cocoa_agroforestry),
                (Option.SILVOPASTURE, sc.silvopasture),
            ):
                support = es.share * system.establishment_cost_usd_per_ha
                if es.mode == "loan":  # worth the interest saved on the loan
                    support *= 1.0 - self.annuity(f, es.loan_years) / es.loan_years
                a[option] += support
        if spec.premium is not None and left > 0:
            pv = 0.0
            for t in range(1, left + 1):
                kg = cocoa_yield_kg_per_ha(t - 1, sc.cocoa_agroforestry)
                pv += discount_factor(f.discount_rate, t) * kg
            a[Option.COCOA_AGROFORESTRY] += spec.premium.cocoa_usd_per_kg * pv

    def upfront_share(self, year: int, farmer) -> dict[Option, float]:
        """Share of the establishment cost the farmer pays up front, by option."""
        shares = {Option.COCOA_AGROFORESTRY: 1.0, Option.SILVOPASTURE: 1.0}
        for prog in self.programmes:
            es = prog.spec.establishment_support
            if es is None or not prog.active(year):
                continue
            if prog.contracts[farmer.farm_id].enrolled:
                for option in shares:
                    shares[option] *= 1.0 - es.share
        return shares

    def record_establishment(self, year: int, converted: dict[int, dict[Option, int]]) -> None:
        """Support due for this year's conversions: ``converted[farm][option]`` cells."""
        sc, cell_ha = self.model.params, self.model.cell_size_ha
        for prog in self.programmes:
            for c in prog.contracts:
                c.support_due_usd = 0.0
            es = prog.spec.establishment_support
            if es is None or not prog.active(year):
                continue
            for option, system in (
                (Option.COCOA_AGROFORESTRY, sc.cocoa_agroforestry),
                (Option.SILVOPASTURE, sc.silvopasture),
            ):
                for farm_id, by_option in converted.items():
                    c = prog.contracts[farm_id]
                    if c.enrolled and by_option.get(option, 0):
                        ha = by_option[option] * cell_ha
                        c.support_due_usd += es.share * system.establishment_cost_usd_per_ha * ha

    # ------------------------------------------------------------------ settling

    def settle(self, year: int, cleared_ha: dict[int, float]) -> dict[int, float]:
        """Monitoring, sanctions and payments at the end of the year.

        Returns the payments to each farmer (USD) that count as its income.
        """
        farmers = self.model.farmers
        income = {f.farm_id: 0.0 for f in farmers}
        areas = {f.farm_id: self.farm_areas_ha(f) for f in farmers} if self.programmes else {}
        for prog in self.programmes:
            # Loans are repaid whatever the contract's state, from savings left.
            repaid = []
            for f in farmers:
                c = prog.contracts[f.farm_id]
                repay = min(c.loan_instalment_usd, c.loan_balance_usd, max(f.savings_usd, 0.0))
                c.loan_balance_usd -= repay
                f.savings_usd -= repay
                repaid.append(repay)
            prog.year["loan_repayments_usd"] = float(np.sum(repaid))
            if not prog.active(year):
                continue
            self.monitor(prog, year, areas, cleared_ha)
            to_farmer, collective, support = self.amounts_due(prog, year, areas)
            self.pay(prog, to_farmer, collective, support, income)
        return income

    def monitor(self, prog, year: int, areas: dict, cleared_ha: dict) -> None:
        """Detect violations; sanction them; note who is compliant this year."""
        spec, ob, farmers = prog.spec, prog.spec.obligations, self.model.farmers
        violated, compliant = {}, {}
        for f in farmers:
            c = prog.contracts[f.farm_id]
            forest_ha, sustainable_ha, lot_ha = areas[f.farm_id]
            cleared = cleared_ha[f.farm_id] > 0
            violated[f.farm_id] = False
            compliant[f.farm_id] = c.enrolled
            if ob is not None:
                if c.enrolled and cleared and ob.no_clearing:
                    violated[f.farm_id] = True
                if c.enrolled and cleared and forest_ha < ob.min_forest_share * lot_ha:
                    violated[f.farm_id] = True
                grace_over = year - c.enrolled_since >= ob.grace_years
                needed = ob.min_sustainable_ha_per_40ha * lot_ha / LOT_REFERENCE_HA
                if grace_over and sustainable_ha < needed:
                    compliant[f.farm_id] = False
        uniforms = self._year_rng.random(len(farmers))
        detected = {
            f.farm_id: violated[f.farm_id] and uniforms[f.farm_id] < spec.detection_probability
            for f in farmers
        }
        prog.year["violations_detected"] = float(sum(detected.values()))
        clawbacks = []
        for f in farmers:
            c = prog.contracts[f.farm_id]
            if detected[f.farm_id]:
                compliant[f.farm_id] = False
            clawback = 0.0
            if spec.repay_on_violation and detected[f.farm_id]:
                clawback = min(c.received_usd, f.savings_usd)
                f.savings_usd -= clawback
                c.received_usd -= clawback
            clawbacks.append(clawback)
            if spec.expel_on_violation and detected[f.farm_id]:
                c.enrolled = False
                c.expelled = True
        prog.year["compliant_farms"] = float(sum(compliant.values()))
        if spec.repay_on_violation:
            prog.year["repayments_usd"] = float(np.sum(clawbacks))
        prog.compliant = compliant

    def amounts_due(self, prog, year: int, areas: dict):
        """Payments due to each compliant farmer, collective spending, and support."""
        spec, farmers = prog.spec, self.model.farmers
        to_farmer, collective_by_farm = [], []
        for f in farmers:
            forest_ha = areas[f.farm_id][0]
            to, collective = 0.0, 0.0
            if spec.forest_payment is not None:
                to += spec.forest_payment.usd_per_ha_per_year * forest_ha
            if spec.carbon_payment is not None:
                cp = spec.carbon_payment
                credits = 0.0
                if cp.pay_removals:
                    credits += f.removals_tco2e
                if cp.pay_avoided_emissions:
                    baseline = (
                        cp.baseline_clearing_ha_per_farm_per_year
                        * self.clearing_emission_tco2e_per_ha()
                    )
                    credits += max(baseline - f.emissions_tco2e, 0.0)
                value = self.carbon_price(spec, year) * credits
                to += cp.farmer_share * value
                collective = (1.0 - cp.farmer_share) * value
            if spec.premium is not None:
                to += spec.premium.cocoa_usd_per_kg * f.cocoa_kg
            paid = prog.compliant[f.farm_id]
            to_farmer.append(to if paid else 0.0)
            collective_by_farm.append(collective if paid else 0.0)
        support = [prog.contracts[f.farm_id].support_due_usd for f in farmers]
        return np.array(to_farmer), float(np.sum(collective_by_farm)), np.array(support)

    def pay(self, prog, to_farmer, collective: float, support, income: dict) -> None:
        """Pay what is due, prorated so that neither budget is ever exceeded."""
        spec, farmers = prog.spec, self.model.farmers
        due = float(np.sum(to_farmer) + collective + np.sum(support))
        available = max(0.0, min(spec.budget_usd_per_year, spec.budget_usd - prog.spent_usd))
        factor = 1.0 if due <= available else (available / due if due > 0 else 0.0)
        to_farmer, collective, support = to_farmer * factor, collective * factor, support * factor
        prog.spent_usd += float(np.sum(to_farmer) + collective + np.sum(support))
        es = spec.establishment_support
        for f in farmers:
            c = prog.contracts[f.farm_id]
            c.received_usd += to_farmer[f.farm_id]
            income[f.farm_id] += to_farmer[f.farm_id]
            f.savings_usd += support[f.farm_id]  # a grant is kept; a loan is repaid
            if es is not None and es.mode == "loan":
                c.loan_balance_usd += support[f.farm_id]
                c.loan_instalment_usd += support[f.farm_id] / es.loan_years
        if spec.carbon_payment is not None:
            prog.reforestation_ha += collective / spec.carbon_payment.reforestation_cost_usd_per_ha
        prog.year["payments_to_farmers_usd"] = float(np.sum(to_farmer))
        prog.year["collective_spending_usd"] = collective
        prog.year["establishment_support_usd"] = float(np.sum(support))

    # ------------------------------------------------------------------ outputs

    def measure(self, year: int) -> dict:
        """The year's programme indicators, summed over programmes."""
        rec = dict.fromkeys(YEAR_KEYS, 0.0)
        for prog in self.programmes:
            for key in YEAR_KEYS:
                rec[key] += prog.year.get(key, 0.0)
        rec["programme_cost_usd"] = (
            rec["payments_to_farmers_usd"]
            + rec["collective_spending_usd"]
            + rec["establishment_support_usd"]
        )
        farmers = self.model.farmers
        rec["enrolled_farms"] = sum(self.enrolled_anywhere(f) for f in farmers)
        rec["expelled_farms"] = sum(
            any(p.contracts[f.farm_id].expelled for p in self.programmes) for f in farmers
        )
        rec["programme_spent_usd"] = float(sum(p.spent_usd for p in self.programmes))
        rec["budget_remaining_usd"] = float(
            sum(max(0.0, p.spec.budget_usd - p.spent_usd) for p in self.programmes)
        )
        rec["programme_active"] = any(p.active(year) for p in self.programmes)
        rec["reforestation_ha"] = float(sum(p.reforestation_ha for p in self.programmes))
        return rec


# =============================================================================== model


class ReferenceModel(mesa.Model):
    """The landsim model written per agent and per cell on a Mesa grid.

    Same scenario, same seed, same results as :class:`landsim.model.LandUseModel`
    (see the module docstring for what "same" means); about a hundred times
    slower or more. Programmes are included.

    Parameters
    ----------
    scenario : Scenario, path or None
        A validated scenario, a TOML file, or None for the embedded default.
    rng : int, numpy.random.SeedSequence, numpy.random.Generator or None
        Seed; None draws a fresh one (recorded in ``seed``), as
        :class:`landsim.model.LandUseModel` does.
    landscape : Landscape, optional
        Start from this landscape instead of generating (or loading) one.

    Attributes
    ----------
    grid : mesa.discrete_space.OrthogonalMooreGrid
        The landscape. Cell ``(x, y)`` is column ``x`` and row ``y`` (from the
        northern edge) of the landscape arrays; its property layers are
        :data:`LAYERS`.
    farmers : list of ReferenceFarmer
        In farm-id order.
    """

    def __init__(self, scenario=None, *, rng=None, landscape: Landscape | None = None):
        scenario = resolve_scenario(scenario)
        seed = resolve_seed(rng)  # None: fresh entropy, as LandUseModel
        super().__init__(rng=seed)
        self.params: Scenario = scenario
        self.seed = describe_seed(seed)
        land_rng, farmer_rng, market_rng, self._decision_rng, programme_rng = self.rng.spawn(5)

        if landscape is None:
            landscape = self._build_landscape(land_rng)
        self.cell_size_ha = landscape.cell_size_ha
        self.shape = landscape.shape
        self.road_distance_km = landscape.road_distance_km.copy()
        draws = draw_farmers(
            scenario.farmers, landscape.owner, scenario.decision.neighbours, farmer_rng
        )
        self.market = Market(
            scenario.markets, scenario.years, scenario.decision.price_memory_years, market_rng
        )
        self.labour_days_per_ha = [
            0.0,
            0.0,
            scenario.monocrop.labour_days_per_ha,
            scenario.cocoa_agroforestry.labour_days_per_ha,
            scenario.silvopasture.labour_days_per_ha,
        ]
        self._biomass_table: dict[int, np.ndarray] = {}
        self._build_grid(landscape)
        self.farmers = [
            ReferenceFarmer(
                self,
                i,
                {
                    **{
                        name: getattr(draws, name)[i]
                        for name in (
                            "discount_rate",
                            "risk_aversion",
                            "labour_ha_per_year",
                            "labour_days_per_year",
                            "savings_usd",
                            "knowledge",
                        )
                    },
                    "neighbours": draws.neighbours[i],
                },
            )
            for i in range(draws.n)
        ]
        for cell in self.cells:
            if cell.owner != NO_OWNER:
                self.farmers[cell.owner].cells.append(cell)
            elif cell.claim != NO_OWNER:
                self.farmers[cell.claim].claimable.append(cell)
        self.programmes = ReferenceProgrammes(scenario.programmes, self, programme_rng)
        for cell in self.cells:  # carbon at the start: biomass by age, soil at equilibrium
            cell.biomass_tc_per_ha = self.biomass_density(cell.cover, int(cell.age))
            cell.soc_tc_per_ha = self.soc_equilibrium(cell.cover)
            cell.soc_rate_tc_per_ha = 0.0

        self.year = 0
        self.cumulative_deforestation_ha = 0.0
        self.record = self.measure(transitions=None, fluxes=(0.0, 0.0, 0.0, 0.0))
        self.datacollector = mesa.DataCollector(
            model_reporters={key: partial(_read_record, key=key) for key in self.record}
        )
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ set-up

    def _build_landscape(self, rng) -> Landscape:
        params = self.params.landscape
        if params.source == "synthetic":
            limits.check_model_memory(self.params)
            return generate_landscape(params, rng, source=self.params.source)
        return load_landscape(params.source, params)

    def _build_grid(self, landscape: Landscape) -> None:
        height, width = landscape.shape
        self.grid = OrthogonalMooreGrid((width, height), torus=False, random=self.random)
        for name, dtype in LAYERS.items():
            layer = self.grid.create_property_layer(name, default_value=0, dtype=dtype)
            source = getattr(landscape, name, None)
            if source is not None:
                layer.data[:] = source.T
        #: All cells in raster order: row by row from the northern edge, west to east.
        self.cells = [self.grid[(x, y)] for y in range(height) for x in range(width)]

    def raster_index(self, cell) -> int:
        """Position of ``cell`` in raster order (the flat index of the landscape arrays)."""
        x, y = cell.coordinate
        return y * self.shape[1] + x

    def may_change(self, cell) -> bool:
        """Whether the cell's cover may change: not protected, unless allowed."""
        return self.params.landscape.protected_can_change or not cell.protected

    # ------------------------------------------------------------------ carbon

    def biomass_density(self, cover: int, age: int) -> float:
        """Biomass carbon (tC/ha, above + below ground) of a cover at an age (7.2).

        Primary forest and annual crops hold constant stocks; secondary forest,
        cocoa agroforestry and silvopasture follow Chapman-Richards curves in age,
        tabulated here by whole years.
        """
        table = self._biomass_table.get(int(cover))
        if table is None or age >= table.size:
            ages = np.arange(max(2 * age, 64) + 1)
            table = carbon.biomass_density(np.full(ages.shape, cover), ages, self.params)
            self._biomass_table[int(cover)] = table
        return float(table[age])

    def soc_equilibrium(self, cover: int) -> float:
        """Equilibrium soil organic carbon (tC/ha) of a cover (7.3)."""
        return self.params.soil.soc_reference_tc_per_ha * carbon.soc_factors(self.params)[cover]

    def change_cover(self, cell, new_cover: Cover) -> None:
        """New cover at age 0; soil carbon starts a linear move to its equilibrium."""
        cell.cover = new_cover
        cell.age = 0
        target = self.soc_equilibrium(new_cover)
        cell.soc_rate_tc_per_ha = (target - cell.soc_tc_per_ha) / self.params.soil.transition_years

    # ------------------------------------------------------------------ space

    def distance_to_fields(self) -> dict:
        """Chessboard distance (cells) from each forest cell to the nearest non-forest
        or road cell, by breadth-first search over Moore neighbourhoods (0 for the
        non-forest and road cells themselves; forest never reached is absent)."""
        frontier = [c for c in self.cells if c.cover not in FOREST_COVERS or c.road]
        distance = dict.fromkeys(frontier, 0)
        step = 0
        while frontier:
            step += 1
            reached = []
            for cell in frontier:
                for neighbour in cell.neighborhood:
                    if neighbour not in distance:
                        distance[neighbour] = step
                        reached.append(neighbour)
            frontier = reached
        return distance

    def forest_edge_distance(self) -> dict[int, float]:
        """Mean distance of each farm's forest to the nearest field or road (inf if none)."""
        distance = self.distance_to_fields()
        out = {}
        for f in self.farmers:
            own = [distance.get(c, -1) for c in f.cells]
            forest = [d for d in own if d > 0]
            out[f.farm_id] = sum_in_order(forest) / len(forest) if forest else math.inf
        return out

    # ------------------------------------------------------------------ the year

    def step(self) -> None:
        """Simulate one year (ODD section 3)."""
        self.year += 1
        sc, farmers, year = self.params, self.farmers, self.year
        year_rng = self._decision_rng.spawn(1)[0]
        expected = {p: self.expected_price(p) for p in PRODUCTS}
        surveys = {f.farm_id: f.survey() for f in farmers}
        shares = {f.farm_id: f.adoption_shares(surveys) for f in farmers}
        for f in farmers:
            f.learn(shares[f.farm_id])

        # Programmes: contracts end, volunteers enrol; enrolment changes values.
        values = {
            f.farm_id: f.value_options(surveys[f.farm_id], shares[f.farm_id], expected)
            for f in farmers
        }
        sizes = {f.farm_id: f.option_sizes(surveys[f.farm_id]) for f in farmers}
        self.programmes.begin_year(
            year,
            [values[f.farm_id][Option.CLEAR] for f in farmers],
            [sizes[f.farm_id][Option.CLEAR] for f in farmers],
        )
        incentives = self.programmes.value_adjustments(
            year, [sizes[f.farm_id][Option.CLEAR] for f in farmers]
        )

        # Stage 1: leave exhausted annual-crop land to regrow, or keep cropping it.
        uniforms = year_rng.random(len(farmers))
        abandoned_cells = 0
        for f in farmers:
            v = [
                values[f.farm_id][o] + incentives[f.farm_id][o]
                for o in (Option.KEEP, Option.ABANDON)
            ]
            feasible = [True, bool(surveys[f.farm_id].exhausted)]
            f.abandoned = (
                logit_choice(v, feasible, sc.decision.logit_scale, uniforms[f.farm_id]) == 1
            )
            if f.abandoned:
                abandoned_cells += f.abandon_exhausted_land(surveys[f.farm_id])
        transitions = {"abandoned_ha": float(abandoned_cells * self.cell_size_ha)}

        # Stage 2: one land-use change (keep, clear, agroforestry, silvopasture).
        surveys = {f.farm_id: f.survey() for f in farmers}
        uniforms = year_rng.random(len(farmers))
        choices, sizes = {}, {}
        for f in farmers:
            survey = surveys[f.farm_id]
            v = f.value_options(survey, shares[f.farm_id], expected)
            v = [v[o] + incentives[f.farm_id][o] for o in Option]
            size = f.option_sizes(survey, self.programmes.upfront_share(year, f))
            feasible = [o == Option.KEEP or (o != Option.ABANDON and size[o] > 0) for o in Option]
            f.last_option = Option(
                logit_choice(v, feasible, sc.decision.logit_scale, uniforms[f.farm_id])
            )
            choices[f.farm_id], sizes[f.farm_id] = f.last_option, size[f.last_option]
        transitions |= self.clear_forest(choices, sizes, surveys, year_rng)
        transitions |= self.establish_systems(choices, sizes, surveys, year_rng)
        self.cumulative_deforestation_ha += transitions["deforestation_ha"]

        prices = {p: self.market.price(p, year) for p in PRODUCTS}
        for f in farmers:
            f.produce(prices)
        fluxes = self.grow()
        payments = self.programmes.settle(year, transitions.pop("cleared_forest_ha"))
        for f in farmers:
            f.payments_usd = payments[f.farm_id]
            f.net_income_usd += f.payments_usd
            f.save()
        self.record = self.measure(transitions, fluxes)
        self.running = year < sc.years
        self.datacollector.collect(self)

    def expected_price(self, product: str) -> tuple[float, float]:
        """Mean and coefficient of variation of the last ``price_memory_years`` prices."""
        memory = self.params.decision.price_memory_years
        window = [self.market.price(product, t) for t in range(self.year - memory, self.year)]
        mean = float(np.mean(window))
        return mean, float(np.std(window) / mean)

    def clear_forest(self, choices, sizes, surveys, rng) -> dict:
        """Farmers who chose to clear convert their best forest cells to annual crops.

        A farm's candidate cells are taken own land first, then claimable land, each
        nearest existing fields and roads first, ties at random (ODD 7.10).
        """
        cell_ha = self.cell_size_ha
        clearing = [f for f in self.farmers if choices[f.farm_id] == Option.CLEAR]
        candidates = sorted(
            ((c, f) for f in clearing for c in surveys[f.farm_id].clearable),
            key=lambda pair: self.raster_index(pair[0]),
        )
        tie_break, distance = {}, {}
        if candidates:
            distance = self.distance_to_fields()
            uniforms = rng.random(len(candidates))
            for (cell, _), u in zip(candidates, uniforms, strict=True):
                tie_break[cell] = u
        out = dict.fromkeys(
            (
                "deforestation_ha",
                "secondary_cleared_ha",
                "claimed_ha",
                "deforestation_enrolled_ha",
                "deforestation_not_enrolled_ha",
                "deforestation_unowned_ha",
            ),
            0.0,
        )
        cleared_ha = {f.farm_id: 0.0 for f in self.farmers}
        primary_cells = secondary_cells = claimed_cells = 0
        enrolled_cells = not_enrolled_cells = unowned_cells = 0
        for f in clearing:
            ranked = sorted(
                surveys[f.farm_id].clearable,
                key=lambda c: (c.owner == NO_OWNER, distance.get(c, -1), tie_break[c]),
            )
            cells = ranked[: sizes[f.farm_id]]
            enrolled = self.programmes.enrolled_anywhere(f)
            n_primary = n_claimed = 0
            for cell in cells:
                primary = cell.cover == Cover.PRIMARY_FOREST
                claimed = cell.owner == NO_OWNER
                n_primary += primary
                n_claimed += claimed
                if primary and claimed:
                    unowned_cells += 1
                elif primary and enrolled:
                    enrolled_cells += 1
                elif primary:
                    not_enrolled_cells += 1
                if claimed:  # the claimed cell joins the farm
                    cell.owner = f.farm_id
                    cell.claim = NO_OWNER
                    f.claimable.remove(cell)
                    f.cells.append(cell)
                self.change_cover(cell, Cover.MONOCROP)
            f.cells.sort(key=self.raster_index)
            primary_cells += n_primary
            secondary_cells += len(cells) - n_primary
            claimed_cells += n_claimed
            f.deforested_ha += n_primary * cell_ha
            f.claimed_ha += n_claimed * cell_ha
            cleared_ha[f.farm_id] = len(cells) * cell_ha
        out["deforestation_ha"] = float(primary_cells * cell_ha)
        out["secondary_cleared_ha"] = (
            float((primary_cells + secondary_cells) * cell_ha) - out["deforestation_ha"]
        )
        out["claimed_ha"] = float(claimed_cells * cell_ha)
        out["deforestation_enrolled_ha"] = float(enrolled_cells * cell_ha)
        out["deforestation_not_enrolled_ha"] = float(not_enrolled_cells * cell_ha)
        out["deforestation_unowned_ha"] = float(unowned_cells * cell_ha)
        out["cleared_forest_ha"] = cleared_ha
        return out

    def establish_systems(self, choices, sizes, surveys, rng) -> dict:
        """Farmers who chose cocoa agroforestry or silvopasture convert their least
        fertile annual-crop cells (ties at random) and pay the establishment cost."""
        sc, cell_ha = self.params, self.cell_size_ha
        out = {}
        investment = {f.farm_id: 0.0 for f in self.farmers}
        converted: dict[int, dict] = {}
        to_change = []
        for option, new_cover in NEW_SYSTEMS:
            system = (
                sc.cocoa_agroforestry if option == Option.COCOA_AGROFORESTRY else sc.silvopasture
            )
            adopters = [f for f in self.farmers if choices[f.farm_id] == option]
            cells = sorted(
                (c for f in adopters for c in surveys[f.farm_id].monocrop), key=self.raster_index
            )
            tie_break = dict(zip(cells, rng.random(len(cells)), strict=True))
            n_converted = 0
            for f in adopters:
                ranked = sorted(
                    surveys[f.farm_id].monocrop, key=lambda c: (c.fertility, tie_break[c])
                )
                chosen = ranked[: sizes[f.farm_id]]
                to_change += [(c, new_cover) for c in chosen]
                investment[f.farm_id] += len(chosen) * (
                    system.establishment_cost_usd_per_ha * cell_ha
                )
                converted.setdefault(f.farm_id, {})[option] = len(chosen)
                n_converted += len(chosen)
            out[f"converted_{new_cover.name.lower()}_ha"] = float(n_converted * cell_ha)
        self.programmes.record_establishment(self.year, converted)
        for cell, new_cover in to_change:
            self.change_cover(cell, new_cover)
        for f in self.farmers:
            f.investment_usd = investment[f.farm_id]
            f.savings_usd -= f.investment_usd
        return out

    def grow(self) -> tuple[float, float, float, float]:
        """Every cell one year on: fertility, age, soil carbon, biomass (7.13, 7.3b).

        Returns biomass removals and emissions, soil removals and emissions (tCO2e);
        each farm's biomass removals and emissions are noted on the farmer.
        """
        sc, cell_ha = self.params, self.cell_size_ha
        recovery = {
            Cover.SECONDARY_FOREST: sc.forest.fertility_recovery_rate,
            Cover.COCOA_AGROFORESTRY: sc.cocoa_agroforestry.fertility_recovery_rate,
            Cover.SILVOPASTURE: sc.silvopasture.fertility_recovery_rate,
        }
        for f in self.farmers:
            f.removals_tco2e = f.emissions_tco2e = 0.0
        bio_gain = bio_loss = soc_gain = soc_loss = 0.0
        for cell in self.cells:
            cover = Cover(cell.cover)
            if cover == Cover.MONOCROP:
                cell.fertility = cell.fertility * (1.0 - sc.monocrop.fertility_depletion_rate)
            elif cover in recovery:
                cell.fertility = cell.fertility + recovery[cover] * (1.0 - cell.fertility)
            in_transition = cell.age < sc.soil.transition_years
            cell.age += 1
            old_soc = cell.soc_tc_per_ha
            if in_transition:
                cell.soc_tc_per_ha = max(cell.soc_tc_per_ha + cell.soc_rate_tc_per_ha, 0.0)
            old_biomass = cell.biomass_tc_per_ha
            cell.biomass_tc_per_ha = self.biomass_density(cover, int(cell.age))

            change = (cell.biomass_tc_per_ha - old_biomass) * cell_ha
            bio_gain += max(change, 0.0)
            bio_loss += max(-change, 0.0)
            change = (cell.soc_tc_per_ha - old_soc) * cell_ha
            soc_gain += max(change, 0.0)
            soc_loss += max(-change, 0.0)
            if cell.owner != NO_OWNER:
                farmer = self.farmers[cell.owner]
                d = (cell.biomass_tc_per_ha - old_biomass) * cell_ha * carbon.CO2_PER_C
                farmer.removals_tco2e += max(d, 0.0)
                farmer.emissions_tco2e += max(-d, 0.0)
        co2 = carbon.CO2_PER_C
        return bio_gain * co2, bio_loss * co2, soc_gain * co2, soc_loss * co2

    # ------------------------------------------------------------------ outputs

    def measure(self, transitions: dict | None, fluxes) -> dict:
        """The indicators of the current year (the columns of the yearly table)."""
        cell_ha, farmers = self.cell_size_ha, self.farmers
        t = transitions or {}
        rec: dict = {"year": self.year}
        counts = [0] * len(Cover)
        biomass = soil = 0.0
        for cell in self.cells:
            counts[cell.cover] += 1
            biomass += cell.biomass_tc_per_ha
            soil += cell.soc_tc_per_ha
        areas = [n * cell_ha for n in counts]
        for name, a in zip(COVER_NAMES, areas, strict=True):
            rec[f"area_{name}_ha"] = float(a)
        rec["forest_area_ha"] = float(areas[Cover.PRIMARY_FOREST] + areas[Cover.SECONDARY_FOREST])
        for key in (
            "deforestation_ha",
            "cumulative_deforestation_ha",
            "secondary_cleared_ha",
            "claimed_ha",
            "abandoned_ha",
        ):
            rec[key] = t.get(key, 0.0)
        rec["cumulative_deforestation_ha"] = self.cumulative_deforestation_ha
        rec["farms_abandoning"] = sum(f.abandoned for f in farmers)
        for name in ("cocoa_agroforestry", "silvopasture"):
            rec[f"converted_{name}_ha"] = t.get(f"converted_{name}_ha", 0.0)
        for group in ("enrolled", "not_enrolled", "unowned"):
            rec[f"deforestation_{group}_ha"] = t.get(f"deforestation_{group}_ha", 0.0)

        rec["carbon_stock_tc"] = biomass * cell_ha + soil * cell_ha
        rec["biomass_carbon_tc"] = biomass * cell_ha
        rec["soil_carbon_tc"] = soil * cell_ha
        bio_gain, bio_loss, soc_gain, soc_loss = fluxes
        rec["removals_tco2e"] = bio_gain + soc_gain
        rec["emissions_tco2e"] = bio_loss + soc_loss
        rec["net_emissions_tco2e"] = rec["emissions_tco2e"] - rec["removals_tco2e"]
        rec["biomass_emissions_tco2e"] = bio_loss
        rec["soil_emissions_tco2e"] = soc_loss

        income = np.array([f.net_income_usd for f in farmers])
        n = len(farmers)
        has_income = transitions is not None and n > 0
        nan = math.nan
        rec["income_mean_usd"] = float(np.mean(income)) if has_income else nan
        rec["income_median_usd"] = float(np.median(income)) if has_income else nan
        rec["income_p10_usd"] = float(np.percentile(income, 10)) if has_income else nan
        rec["income_gini"] = gini(income) if has_income else nan
        poorest = np.sort(income)[: max(1, math.ceil(0.2 * n))]
        rec["income_poorest20_usd"] = float(np.mean(poorest)) if has_income else nan
        rec["payments_mean_usd"] = float(np.mean([f.payments_usd for f in farmers])) if n else nan
        rec["savings_mean_usd"] = float(np.mean([f.savings_usd for f in farmers])) if n else nan
        rec["investment_usd"] = float(np.sum([f.investment_usd for f in farmers]))
        for name, cover in (
            ("cocoa_agroforestry", Cover.COCOA_AGROFORESTRY),
            ("silvopasture", Cover.SILVOPASTURE),
        ):
            rec[f"adopters_{name}"] = sum(any(c.cover == cover for c in f.cells) for f in farmers)
        rec["knowledge_mean"] = float(np.mean([f.knowledge for f in farmers])) if n else nan
        for option in STAGE_2_OPTIONS:
            rec[f"chose_{OPTION_NAMES[option]}"] = (
                sum(f.last_option == option for f in farmers) if transitions is not None else 0
            )
        for product in PRODUCTS:
            rec[f"{product}_price_{UNITS[product]}"] = self.market.price(product, self.year)
        programme = self.programmes.measure(self.year)
        rec |= programme
        degraded = float(sum_in_order(areas[1:]))
        restored = {
            "regrowth": float(areas[Cover.SECONDARY_FOREST]),
            "agroforestry": float(areas[Cover.COCOA_AGROFORESTRY]),
            "silvopasture": float(areas[Cover.SILVOPASTURE]),
            "reforestation": min(programme["reforestation_ha"], degraded),
        }
        for key, ha in restored.items():
            rec[f"restoration_{key}_ha"] = ha
        rec["degraded_land_ha"] = degraded
        total = sum(restored.values())
        rec["degraded_share_under_restoration"] = min(1.0, total / degraded) if degraded else 0.0
        return rec

    def yearly_table(self):
        """The yearly indicators as a pandas DataFrame (one row per year)."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def rasters(self) -> dict[str, np.ndarray]:
        """The layers as ``(height, width)`` arrays, like ``LandUseModel.rasters()``."""
        out = {name: np.array(getattr(self.grid, name).data.T) for name in LAYERS}
        out["road_distance_km"] = self.road_distance_km.copy()
        return out

    def farm_table(self):
        """One row per farm, like ``LandUseModel.farm_table()``."""
        import pandas as pd

        progs = self.programmes.programmes
        return pd.DataFrame(
            {
                "farm_id": [f.farm_id for f in self.farmers],
                "area_ha": [len(f.cells) * self.cell_size_ha for f in self.farmers],
                "deforested_ha": [f.deforested_ha for f in self.farmers],
                "claimed_ha": [f.claimed_ha for f in self.farmers],
                "cumulative_income_usd": [f.cumulative_income_usd for f in self.farmers],
                "savings_usd": [f.savings_usd for f in self.farmers],
                "ever_enrolled": [
                    any(p.contracts[f.farm_id].ever_enrolled for p in progs) for f in self.farmers
                ],
                "expelled": [
                    any(p.contracts[f.farm_id].expelled for p in progs) for f in self.farmers
                ],
            }
        )


def _read_record(model: ReferenceModel, key: str):
    """DataCollector model reporter (through ``functools.partial``, which pickles)."""
    return model.record[key]


def simulate_reference(scenario=None, *, rng=None, years: int | None = None) -> ReferenceModel:
    """Run a scenario with the reference model; return the model after the last year."""
    scenario = resolve_scenario(scenario)
    if years is not None:
        scenario = scenario.with_overrides({"years": years})
    model = ReferenceModel(scenario, rng=rng)
    model.run_for(scenario.years)
    return model
