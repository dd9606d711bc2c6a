"""Incentive programmes: enrolment, obligations, monitoring, payments and budgets.

A scenario's ``[[programmes]]`` each bundle any of: a payment per ha of standing
forest, a results-based carbon payment shared between farmers and collective
forest activities, establishment support (grant or loan), training, and a
deforestation-free cocoa premium, under obligations (no clearing, a minimum
forest share, a minimum area under sustainable practice), with a total and a
yearly budget, an enrolment cap and a targeting rule.

The model calls, each year: :meth:`Programmes.begin_year` (contracts end,
voluntary enrolment, training), :meth:`Programmes.value_adjustments` and
:meth:`Programmes.upfront_shares` (how enrolment changes each farmer's option
values and liquidity), :meth:`Programmes.settle` (monitoring, sanctions and all
payments, prorated so that money paid never exceeds a budget), and
:meth:`Programmes.measure` (the year's indicators).

Everything random (enrolment, targeting, detection) draws from the programmes'
own stream, so a programme that changes nothing leaves every other draw, and so
the whole run, identical to the counterfactual (common random numbers).

References
----------
Wunder, S. (2005). Payments for environmental services: some nuts and bolts.
CIFOR Occasional Paper 42. (Conditionality, monitoring and sanctions.)
Engel, S., Pagiola, S., & Wunder, S. (2008). Designing payments for environmental
services in theory and practice. Ecological Economics, 65, 663-674.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from landsim import carbon
from landsim.economics import Option, cocoa_yield, discount_factors
from landsim.landscape import Cover
from landsim.model.state import LOT_REFERENCE_HA, PERENNIALS, system_params
from landsim.model.state import PROGRAMME_YEAR_KEYS as YEAR_KEYS
from landsim.scenario import Programme


@dataclass
class ProgrammeAccounts:
    """The state of one programme: per-farm arrays and its budget."""

    enrolled: np.ndarray
    ever_enrolled: np.ndarray
    expelled: np.ndarray
    enrolled_since: np.ndarray
    received_usd: np.ndarray
    loan_balance_usd: np.ndarray
    loan_instalment_usd: np.ndarray
    spent_usd: float = 0.0
    reforestation_ha: float = 0.0
    year: dict = field(default_factory=dict)

    @classmethod
    def empty(cls, n: int) -> ProgrammeAccounts:
        return cls(
            enrolled=np.zeros(n, dtype=bool),
            ever_enrolled=np.zeros(n, dtype=bool),
            expelled=np.zeros(n, dtype=bool),
            enrolled_since=np.full(n, -1),
            received_usd=np.zeros(n),
            loan_balance_usd=np.zeros(n),
            loan_instalment_usd=np.zeros(n),
        )


class Programmes:
    """All programmes of a scenario, over the model's farmers.

    Parameters
    ----------
    specs : list of Programme
    state : landsim.model.state.ModelState
        The state the programmes read and act on (scenario, landscape, farmers,
        market); they never see the model.
    rng : numpy.random.Generator
        The programmes' own stream; one child is spawned each year.
    """

    def __init__(self, specs: list[Programme], state, rng: np.random.Generator):
        self.specs = list(specs)
        self.state = state
        self._rng = rng
        n = state.farmers.n
        self.accounts = [ProgrammeAccounts.empty(n) for _ in self.specs]
        self._year_rng = None
        self._support_due = [np.zeros(n) for _ in self.specs]
        # Farm areas at the start of the year (begin_year), reused by
        # value_adjustments: nothing changes the land in between.
        self._start_areas: tuple[int, tuple] | None = None
        self._empty_record: dict | None = None  # measure() without programmes

    # ------------------------------------------------------------------ helpers

    def __bool__(self) -> bool:
        return bool(self.specs)

    def active(self, spec: Programme, year: int) -> bool:
        return spec.start_year <= year <= spec.end_year

    def enrolled_any(self) -> np.ndarray:
        out = np.zeros(self.state.farmers.n, dtype=bool)
        for acc in self.accounts:
            out |= acc.enrolled
        return out

    def ever_enrolled_any(self) -> np.ndarray:
        out = np.zeros(self.state.farmers.n, dtype=bool)
        for acc in self.accounts:
            out |= acc.ever_enrolled
        return out

    def expelled_any(self) -> np.ndarray:
        out = np.zeros(self.state.farmers.n, dtype=bool)
        for acc in self.accounts:
            out |= acc.expelled
        return out

    def _carbon_price(self, spec: Programme, year: int) -> float:
        cp = spec.carbon_payment
        if cp.usd_per_tco2e is not None:
            return cp.usd_per_tco2e
        return self.state.market.price("carbon", year)

    def _contract_annuity(self, spec: Programme, year: int) -> np.ndarray:
        """Present value of 1 USD a year over the contract years left (within the
        planning horizon), at each farmer's discount rate."""
        horizon = self.state.params.decision.planning_horizon_years
        left = max(0, min(spec.end_year - year + 1, horizon))
        if left == 0:
            return np.zeros(self.state.farmers.n)
        return discount_factors(self.state.farmers.discount_rate, left).sum(axis=1)

    def _clearing_emission_tco2e_per_ha(self) -> float:
        """Biomass emission of clearing 1 ha of primary forest for annual crops."""
        sc = self.state.params
        agb = sc.forest.primary_agb_tc_per_ha - sc.monocrop.agb_tc_per_ha
        return agb * (1.0 + sc.forest.root_shoot_ratio) * carbon.CO2_PER_C

    def _farm_forest_ha(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forest area, sustainable-practice area and lot area of each farm (ha)."""
        ls, n = self.state.landscape, self.state.farmers.n
        owner, cover = ls.owner.ravel(), ls.cover.ravel()
        owned = owner >= 0
        o, c = owner[owned], cover[owned]
        area = np.bincount(o * len(Cover) + c, minlength=n * len(Cover)).reshape(n, len(Cover))
        cell = ls.cell_size_ha
        forest = (area[:, Cover.PRIMARY_FOREST] + area[:, Cover.SECONDARY_FOREST]) * cell
        sustainable = (area[:, Cover.COCOA_AGROFORESTRY] + area[:, Cover.SILVOPASTURE]) * cell
        return forest, sustainable, area.sum(axis=1) * cell

    # ------------------------------------------------------------------ the year

    def begin_year(self, year: int, clear_value: np.ndarray, clear_size: np.ndarray) -> None:
        """End contracts past their last year; enrol volunteers; train them.

        A farmer joins when a logit draw on the net benefit per ha (expected yearly
        payments minus the clearing value it gives up, divided by its lot area)
        says so; only farms that could be paid (positive benefit) and meet the
        forest-share obligation at entry apply. Applicants are taken in the
        targeting order up to the enrolment cap, while budget remains.
        """
        if not self:
            return  # (no stream to spawn: nothing draws from it)
        self._year_rng = self._rng.spawn(1)[0]
        for acc in self.accounts:
            for key in YEAR_KEYS:
                acc.year[key] = 0.0
        fs = self.state.farmers
        self._start_areas = (year, self._farm_forest_ha())
        forest_ha, _, lot_ha = self._start_areas[1]
        scale = self.state.params.decision.logit_scale
        for spec, acc in zip(self.specs, self.accounts, strict=True):
            if year > spec.end_year:
                acc.enrolled[:] = False
            if not self.active(spec, year) or acc.spent_usd >= spec.budget_usd:
                continue
            benefit = self._expected_benefit(spec, year, forest_ha)
            forgone = np.maximum(clear_value, 0.0) * self._restricted_clearing(
                spec, clear_size, forest_ha, lot_ha
            )
            net_per_ha = (benefit - forgone) / np.maximum(lot_ha, 1e-9)
            eligible = ~acc.enrolled & ~acc.expelled & (benefit > 0)
            if spec.obligations is not None:
                eligible &= forest_ha >= spec.obligations.min_forest_share * lot_ha
            p_join = 1.0 / (1.0 + np.exp(-np.clip(scale * net_per_ha, -50, 50)))
            u = self._year_rng.random(fs.n)
            applicants = np.flatnonzero(eligible & (u < p_join))
            room = spec.enrolment_cap - int(acc.enrolled.sum())
            if room <= 0 or applicants.size == 0:
                continue
            order = self._targeting_order(spec, applicants, net_per_ha, clear_value, clear_size)
            chosen = applicants[order][:room]
            acc.enrolled[chosen] = True
            acc.ever_enrolled[chosen] = True
            acc.enrolled_since[chosen] = year
            acc.year["newly_enrolled"] = float(chosen.size)
            if spec.training is not None:
                fs.knowledge[chosen] += spec.training.knowledge_gain * (1 - fs.knowledge[chosen])

    def _expected_benefit(self, spec: Programme, year: int, forest_ha: np.ndarray):
        """Expected yearly payments to each farm if it joined (USD/yr)."""
        fs = self.state.farmers
        benefit = np.zeros(fs.n)
        if spec.forest_payment is not None:
            benefit += spec.forest_payment.usd_per_ha_per_year * forest_ha
        if spec.carbon_payment is not None:
            cp = spec.carbon_payment
            price = self._carbon_price(spec, year) * cp.farmer_share
            if cp.pay_removals:
                benefit += price * fs.removals_tco2e
            if cp.pay_avoided_emissions:
                benefit += (
                    price
                    * cp.baseline_clearing_ha_per_farm_per_year
                    * self._clearing_emission_tco2e_per_ha()
                )
        if spec.premium is not None:
            benefit += spec.premium.cocoa_usd_per_kg * fs.cocoa_kg
        return benefit

    def _restricted_clearing(self, spec, clear_size, forest_ha, lot_ha) -> np.ndarray:
        """Ha a year of clearing the obligations forbid (at most what the farmer
        could clear)."""
        ob = spec.obligations
        if ob is None:
            return np.zeros_like(forest_ha)
        if ob.no_clearing:
            return clear_size.astype(float)
        allowance = np.maximum(forest_ha - ob.min_forest_share * lot_ha, 0.0)
        return np.maximum(clear_size - allowance, 0.0)

    def _targeting_order(self, spec, applicants, net_per_ha, clear_value, clear_size):
        if spec.targeting == "first_come":  # the keenest apply first
            return np.argsort(-net_per_ha[applicants], kind="stable")
        if spec.targeting == "random":
            return self._year_rng.permutation(applicants.size)
        if spec.targeting == "highest_risk":  # the most clearing value at stake
            risk = np.maximum(clear_value, 0.0) * clear_size
            return np.argsort(-risk[applicants], kind="stable")
        # nearest_edge: farms whose forest lies closest to fields and roads
        from landsim.model.processes.land_change import forest_edge_distance

        exposure = forest_edge_distance(self.state.landscape, self.state.farmers.n)
        return np.argsort(exposure[applicants], kind="stable")

    def value_adjustments(self, year: int, clear_size: np.ndarray) -> np.ndarray:
        """Change in each enrolled farmer's option values (USD/ha), shape (n, 5).

        - clear: the forest payment lost on the cleared ha over the contract years
          left, the avoided-emission credit lost, and, where clearing breaks an
          obligation, the expected sanction per ha (detection probability x the
          payments at stake, and repayment if the programme claws back);
        - cocoa agroforestry / silvopasture: the establishment support (a grant, or
          the interest saved on a loan), the farmer's share of removal payments
          over the contract years left, the cocoa premium, and, while the farm
          falls short of its sustainable-practice obligation, the payments that
          meeting it would restore (per ha of shortfall);
        - abandon: the farmer's share of removal payments for regrowth.
        """
        sc, fs = self.state.params, self.state.farmers
        adj = np.zeros((fs.n, len(Option)))
        if not self:
            return adj
        if self._start_areas is not None and self._start_areas[0] == year:
            forest_ha, sustainable_ha, lot_ha = self._start_areas[1]
        else:
            forest_ha, sustainable_ha, lot_ha = self._farm_forest_ha()
        horizon = sc.decision.planning_horizon_years
        for spec, acc in zip(self.specs, self.accounts, strict=True):
            e = acc.enrolled
            if not self.active(spec, year) or not e.any():
                continue
            annuity = self._contract_annuity(spec, year)
            left = max(0, min(spec.end_year - year + 1, horizon))
            disc = discount_factors(fs.discount_rate[e], max(left, 1))[:, :left]
            a = adj[e]
            if spec.forest_payment is not None:
                a[:, Option.CLEAR] -= spec.forest_payment.usd_per_ha_per_year * annuity[e]
            if spec.carbon_payment is not None:
                cp = spec.carbon_payment
                price = self._carbon_price(spec, year) * cp.farmer_share
                if cp.pay_avoided_emissions:
                    a[:, Option.CLEAR] -= price * self._clearing_emission_tco2e_per_ha()
                if cp.pay_removals:
                    for option, curve in self._removal_curves(left).items():
                        a[:, option] += price * disc @ curve
            if spec.obligations is not None and (
                spec.obligations.no_clearing or spec.obligations.min_forest_share > 0
            ):
                breaks = self._restricted_clearing(spec, clear_size, forest_ha, lot_ha)[e] > 0
                # Expulsion forfeits the payments of the contract years left;
                # otherwise only this year's. Clawback adds what was received.
                yearly = self._expected_benefit(spec, year, forest_ha)[e]
                at_stake = yearly * annuity[e] if spec.expel_on_violation else yearly
                if spec.repay_on_violation:
                    at_stake = at_stake + acc.received_usd[e]
                penalty = spec.detection_probability * at_stake / np.maximum(clear_size[e], 1)
                a[:, Option.CLEAR] -= np.where(breaks, penalty, 0.0)
            if spec.obligations is not None and spec.obligations.min_sustainable_ha_per_40ha > 0:
                # Payments stop while the sustainable-practice area falls short:
                # converting land to agroforestry or silvopasture restores them.
                needed = (
                    spec.obligations.min_sustainable_ha_per_40ha * lot_ha[e] / LOT_REFERENCE_HA
                )
                shortfall = np.maximum(needed - sustainable_ha[e], 0.0)
                at_stake = self._expected_benefit(spec, year, forest_ha)[e] * annuity[e]
                bonus = np.where(shortfall > 0, at_stake / np.maximum(shortfall, 1.0), 0.0)
                a[:, Option.COCOA_AGROFORESTRY] += bonus
                a[:, Option.SILVOPASTURE] += bonus
            if spec.establishment_support is not None:
                es = spec.establishment_support
                for system in PERENNIALS:
                    option = system.option
                    cost = system_params(system, sc).establishment_cost_usd_per_ha
                    support = es.share * cost
                    if es.mode == "loan":
                        repay = discount_factors(fs.discount_rate[e], es.loan_years).sum(axis=1)
                        support = support * (1.0 - repay / es.loan_years)
                    a[:, option] += support
            if spec.premium is not None and left > 0:
                kg = cocoa_yield(np.arange(left), sc.cocoa_agroforestry)
                a[:, Option.COCOA_AGROFORESTRY] += spec.premium.cocoa_usd_per_kg * disc @ kg
            adj[e] = a
        return adj

    def _removal_curves(self, years: int) -> dict[Option, np.ndarray]:
        """Biomass removals (tCO2e/ha) in each of the first ``years`` years after
        establishing each system (regrowth for abandonment)."""
        sc = self.state.params
        ages = np.arange(years + 1)
        out = {}
        systems = [(s.option, s.cover) for s in PERENNIALS]
        for option, code in [*systems, (Option.ABANDON, Cover.SECONDARY_FOREST)]:
            stock = carbon.biomass_density(np.full(ages.shape, code), ages, sc)
            out[option] = np.diff(stock) * carbon.CO2_PER_C
        return out

    def upfront_shares(self, year: int) -> dict[Option, np.ndarray]:
        """Share of the establishment cost each farmer pays up front, by option."""
        n = self.state.farmers.n
        shares = {system.option: np.ones(n) for system in PERENNIALS}
        for spec, acc in zip(self.specs, self.accounts, strict=True):
            if spec.establishment_support is None or not self.active(spec, year):
                continue
            for option in shares:
                shares[option][acc.enrolled] *= 1.0 - spec.establishment_support.share
        return shares

    def record_establishment(self, year: int, cells_by_option: dict) -> None:
        """Note the support due for this year's conversions by enrolled farms."""
        sc, fs = self.state.params, self.state.farmers
        cell = self.state.landscape.cell_size_ha
        for spec, acc, due in zip(self.specs, self.accounts, self._support_due, strict=True):
            due[:] = 0.0
            es = spec.establishment_support
            if es is None or not self.active(spec, year):
                continue
            for system in PERENNIALS:
                farms = cells_by_option.get(system.option)
                if farms is None or farms.size == 0:
                    continue
                ha = np.bincount(farms, minlength=fs.n) * cell
                cost = system_params(system, sc).establishment_cost_usd_per_ha
                due += np.where(acc.enrolled, es.share * cost * ha, 0)

    def settle(self, year: int, cleared_ha: np.ndarray, farm_carbon: dict) -> np.ndarray:
        """Monitoring, sanctions and payments at the end of the year.

        Parameters
        ----------
        cleared_ha : ndarray
            Forest (primary or secondary) each farm cleared this year (ha).
        farm_carbon : dict
            ``removals_tco2e`` and ``emissions_tco2e`` of each farm's biomass this year.

        Returns
        -------
        ndarray
            Payments to each farmer that count as income this year (USD).
        """
        fs = self.state.farmers
        income = np.zeros(fs.n)
        if not self:
            return income
        forest_ha, sustainable_ha, lot_ha = self._farm_forest_ha()
        for spec, acc, support_due in zip(
            self.specs, self.accounts, self._support_due, strict=True
        ):
            # Loans are repaid whatever the contract's state.
            repay = np.minimum(acc.loan_instalment_usd, acc.loan_balance_usd)
            # Savings can be below zero here (establishment was paid this year and
            # its support is settled below): repay only from what is there.
            repay = np.minimum(repay, np.maximum(fs.savings_usd, 0.0))
            acc.loan_balance_usd -= repay
            fs.savings_usd -= repay
            acc.year["loan_repayments_usd"] = float(repay.sum())
            if not self.active(spec, year):
                continue
            e = acc.enrolled.copy()
            ob = spec.obligations
            violated = np.zeros(fs.n, dtype=bool)
            compliant = e.copy()
            if ob is not None:
                if ob.no_clearing:
                    violated |= e & (cleared_ha > 0)
                violated |= e & (cleared_ha > 0) & (forest_ha < ob.min_forest_share * lot_ha)
                grace_over = year - acc.enrolled_since >= ob.grace_years
                needed = ob.min_sustainable_ha_per_40ha * lot_ha / LOT_REFERENCE_HA
                compliant &= ~(grace_over & (sustainable_ha < needed))
            detected = violated & (self._year_rng.random(fs.n) < spec.detection_probability)
            acc.year["violations_detected"] = float(detected.sum())
            compliant &= ~detected
            acc.year["compliant_farms"] = float(compliant.sum())
            if spec.repay_on_violation:
                clawback = np.where(detected, np.minimum(acc.received_usd, fs.savings_usd), 0.0)
                fs.savings_usd -= clawback
                acc.received_usd -= clawback
                acc.year["repayments_usd"] = float(clawback.sum())
            if spec.expel_on_violation:
                acc.enrolled[detected] = False
                acc.expelled[detected] = True

            # What is due this year.
            to_farmer = np.zeros(fs.n)
            if spec.forest_payment is not None:
                to_farmer += spec.forest_payment.usd_per_ha_per_year * forest_ha
            if spec.carbon_payment is not None:
                cp = spec.carbon_payment
                credits = np.zeros(fs.n)
                if cp.pay_removals:
                    credits += farm_carbon["removals_tco2e"]
                if cp.pay_avoided_emissions:
                    baseline = (
                        cp.baseline_clearing_ha_per_farm_per_year
                        * self._clearing_emission_tco2e_per_ha()
                    )
                    credits += np.maximum(baseline - farm_carbon["emissions_tco2e"], 0.0)
                value = self._carbon_price(spec, year) * credits
                to_farmer += cp.farmer_share * value
                collective_by_farm = (1.0 - cp.farmer_share) * value
            else:
                collective_by_farm = np.zeros(fs.n)
            if spec.premium is not None:
                to_farmer += spec.premium.cocoa_usd_per_kg * fs.cocoa_kg
            to_farmer = np.where(compliant, to_farmer, 0.0)
            collective = float(np.where(compliant, collective_by_farm, 0.0).sum())
            support = support_due

            # Prorate to the budget left (yearly and total): never pay more.
            due = float(to_farmer.sum() + collective + support.sum())
            available = max(0.0, min(spec.budget_usd_per_year, spec.budget_usd - acc.spent_usd))
            factor = 1.0 if due <= available else (available / due if due > 0 else 0.0)
            to_farmer, collective, support = (
                to_farmer * factor,
                collective * factor,
                support * factor,
            )
            paid = float(to_farmer.sum() + collective + support.sum())
            acc.spent_usd += paid
            acc.received_usd += to_farmer
            income += to_farmer
            if spec.carbon_payment is not None:
                acc.reforestation_ha += (
                    collective / spec.carbon_payment.reforestation_cost_usd_per_ha
                )
            # Establishment support: a grant is kept; a loan is repaid in instalments.
            fs.savings_usd += support
            es = spec.establishment_support
            if es is not None and es.mode == "loan":
                acc.loan_balance_usd += support
                acc.loan_instalment_usd += support / es.loan_years
            acc.year["payments_to_farmers_usd"] = float(to_farmer.sum())
            acc.year["collective_spending_usd"] = collective
            acc.year["establishment_support_usd"] = float(support.sum())
        return income

    def measure(self, year: int) -> dict:
        """The year's programme indicators, summed over programmes."""
        if not self and self._empty_record is not None:
            return dict(self._empty_record)  # the same every year
        rec = {key: 0.0 for key in YEAR_KEYS}
        for acc in self.accounts:
            for key in YEAR_KEYS:
                rec[key] += acc.year.get(key, 0.0)
        rec["programme_cost_usd"] = (
            rec["payments_to_farmers_usd"]
            + rec["collective_spending_usd"]
            + rec["establishment_support_usd"]
        )
        rec["enrolled_farms"] = int(self.enrolled_any().sum())
        rec["expelled_farms"] = int(self.expelled_any().sum())
        rec["programme_spent_usd"] = float(sum(acc.spent_usd for acc in self.accounts))
        rec["budget_remaining_usd"] = float(
            sum(
                max(0.0, s.budget_usd - a.spent_usd)
                for s, a in zip(self.specs, self.accounts, strict=True)
            )
        )
        rec["programme_active"] = any(self.active(s, year) for s in self.specs)
        rec["reforestation_ha"] = float(sum(acc.reforestation_ha for acc in self.accounts))
        if not self:
            self._empty_record = dict(rec)
        return rec
