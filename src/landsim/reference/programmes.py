"""The reference's incentive programmes: contracts, enrolment and the programmes'
year, farmer by farmer (docs/schemes.md).

The terms of a contract and the incentives in the option values are in
:mod:`landsim.reference.incentives`; monitoring and payments in
:mod:`landsim.reference.settlement`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from landsim.model.state import PROGRAMME_YEAR_KEYS as YEAR_KEYS
from landsim.model.state import Option
from landsim.reference.incentives import (
    adjust_values,
    annuity,
    claimable_cells,
    expected_benefit,
    farm_areas_ha,
    protected_forest_ha,
    restricted_clearing_ha,
    shifts_to_claims,
    years_left,
)
from landsim.reference.land import forest_edge_distance
from landsim.reference.planting import plant
from landsim.reference.settlement import (
    amounts_due,
    funds_arrived,
    monitor,
    pay,
    pay_buyer_premium,
    repay_finance,
    repay_loans,
)
from landsim.scenario import Programme

if TYPE_CHECKING:
    from landsim.reference.model import ReferenceModel


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
    warnings: int = 0  # detected violations it was warned of


@dataclass
class ReferenceProgramme:
    """One incentive programme: its rules, its contracts (one per farmer), its money."""

    spec: Programme
    contracts: list[Contract]
    spent_usd: float = 0.0
    funds_usd: float = math.inf  # money arrived so far (the budget, or its tranches)
    paid_share: float = 1.0  # of what was due, paid the last year anything was
    reforestation_ha: float = 0.0  # paid for (collective money / cost per ha)
    planted_ha: float = 0.0  # planted on the map (7.17)
    planting_fund_usd: float = 0.0  # collective money not yet spent on planting
    year: dict = field(default_factory=dict)  # this year's indicators
    compliant: dict = field(default_factory=dict)  # this year, by farm id

    def active(self, year: int) -> bool:
        """Whether ``year`` is within the programme's years."""
        return self.spec.start_year <= year <= self.spec.end_year


class ReferenceProgrammes:
    """The incentive programmes of a scenario (docs/schemes.md), farmer by farmer.

    Parameters
    ----------
    specs : list of Programme
        The scenario's programmes.
    model : ReferenceModel
    rng : numpy.random.Generator
        The programme stream; each year draws from one child of it.

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
        self.labour_pay: dict[int, float] = {}  # this year's planting labour, by farm id

    def enrolled_anywhere(self, farmer) -> bool:
        """Whether the farmer is enrolled in any programme."""
        return any(p.contracts[farmer.farm_id].enrolled for p in self.programmes)

    def clears_claims_first(self, farmer, year: int) -> bool:
        """Whether the farmer clears its claimable forest before its own this year:
        it is enrolled in an active programme whose contract covers only the land
        it holds."""
        return any(
            p.active(year) and shifts_to_claims(p.spec) and p.contracts[farmer.farm_id].enrolled
            for p in self.programmes
        )

    # ------------------------------------------------------------------ enrolment

    def begin_year(self, year: int, clear_value: list[float], clear_size: list[int]) -> None:
        """Contracts past their last year end; volunteers enrol and are trained.

        Parameters
        ----------
        year : int
        clear_value : list of float
            Each farmer's value of clearing (USD/ha), by farm id.
        clear_size : list of int
            The cells each farmer could clear, by farm id.
        """
        self._year_rng = self._rng.spawn(1)[0]
        farmers = self.model.farmers
        for prog in self.programmes:
            prog.year = dict.fromkeys(YEAR_KEYS, 0.0)
        areas = (
            {f.farm_id: farm_areas_ha(self.model, f) for f in farmers} if self.programmes else {}
        )
        for prog in self.programmes:
            if year > prog.spec.end_year:
                for contract in prog.contracts:
                    contract.enrolled = False
            if not prog.active(year) or prog.spent_usd >= prog.spec.budget_usd:
                continue
            self.enrol(prog, year, areas, clear_value, clear_size)

    def enrol(self, prog, year: int, areas: dict, clear_value, clear_size) -> None:
        """Farmers apply with a logit probability of their net benefit; the programme
        takes applicants in its targeting order while it has room."""
        spec, farmers = prog.spec, self.model.farmers
        scale = self.model.params.decision.logit_scale
        net_per_ha, applies = {}, {}
        for f in farmers:
            forest_ha, _, lot_ha, _, cocoa_ha = areas[f.farm_id]
            benefit = expected_benefit(self.model, spec, year, f, forest_ha)
            claimable = claimable_cells(self.model, f) if shifts_to_claims(spec) else 0
            restricted = restricted_clearing_ha(
                spec, clear_size[f.farm_id], areas[f.farm_id], claimable
            )
            forgone = max(clear_value[f.farm_id], 0.0) * restricted
            net = benefit - forgone
            c = prog.contracts[f.farm_id]
            # A programme that offers support or training is open to farms it would
            # not pay.
            offers = spec.establishment_support is not None or spec.training is not None
            eligible = not c.enrolled and not c.expelled and (benefit > 0 or offers)
            if spec.participation is not None:  # a one-off cost over the years left
                cost = spec.participation.transaction_cost_usd
                net = net - cost / max(annuity(f, years_left(self.model, spec, year)), 1e-9)
                eligible &= f.savings_usd >= cost
                if spec.participation.eligible == "cocoa_growers":
                    eligible &= cocoa_ha > 0
            net_per_ha[f.farm_id] = net / max(lot_ha, 1e-9)
            if spec.obligations is not None:
                protected = protected_forest_ha(spec, areas[f.farm_id])
                eligible &= protected >= spec.obligations.min_forest_share * lot_ha
            z = min(max(scale * net_per_ha[f.farm_id], -50.0), 50.0)
            applies[f.farm_id] = (eligible, 1.0 / (1.0 + math.exp(-z)))
        uniforms = self._year_rng.random(len(farmers))
        applicants = [
            f
            for f in farmers
            if applies[f.farm_id][0] and uniforms[f.farm_id] < applies[f.farm_id][1]
        ]
        cap = spec.enrolment_cap  # one number, or one per programme year
        if isinstance(cap, list):
            cap = cap[min(max(year - spec.start_year, 0), len(cap) - 1)]
        room = cap - sum(c.enrolled for c in prog.contracts)
        if room <= 0 or not applicants:
            return
        ordered = self.targeting_order(spec, applicants, net_per_ha, clear_value, clear_size)
        chosen = ordered[:room]
        for f in chosen:
            c = prog.contracts[f.farm_id]
            c.enrolled = c.ever_enrolled = True
            c.enrolled_since = year
            if spec.participation is not None:
                f.savings_usd -= spec.participation.transaction_cost_usd
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
        exposure = forest_edge_distance(self.model)  # nearest_edge
        return sorted(applicants, key=lambda f: exposure[f.farm_id])

    # ------------------------------------------------------------------ incentives

    def value_adjustments(self, year: int, clear_size: list[int]) -> list[list[float]]:
        """Change in each farmer's option values (USD/ha) from its contracts.

        Parameters
        ----------
        year : int
        clear_size : list of int
            The cells each farmer could clear, by farm id.

        Returns
        -------
        list of list of float
            By farm id, then by option.
        """
        adjustments = [[0.0] * len(Option) for _ in self.model.farmers]
        for prog in self.programmes:
            if not prog.active(year):
                continue
            for f in self.model.farmers:
                if prog.contracts[f.farm_id].enrolled:
                    terms = [0.0] * len(Option)
                    adjust_values(self.model, prog, year, f, clear_size[f.farm_id], terms)
                    a = adjustments[f.farm_id]
                    for o in Option:  # trusted as far as the programme kept them
                        a[o] += prog.paid_share * terms[o]
        for a in adjustments:  # clearing for pasture or cocoa is clearing
            a[Option.PASTURE] = a[Option.CLEAR]
            a[Option.COCOA_ON_CLEARED] = a[Option.CLEAR] + a[Option.COCOA_AGROFORESTRY]
        return adjustments

    def add_farms(self, count: int) -> None:
        """An open contract (not enrolled) with every programme for each of
        ``count`` new farmers."""
        for prog in self.programmes:
            prog.contracts.extend(Contract() for _ in range(count))

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

    def settle(
        self, year: int, cleared: dict[int, tuple[float, float, float, float]]
    ) -> dict[int, float]:
        """Loans, monitoring, sanctions and payments at the end of the year.

        Parameters
        ----------
        year : int
        cleared : dict
            Farm id -> the forest it cleared this year: all of it, its primary
            forest, the part on claimed land and the primary forest among that (ha).

        Returns
        -------
        dict
            Farm id -> payments to the farmer (USD), which count as its income.
        """
        farmers = self.model.farmers
        income = {f.farm_id: 0.0 for f in farmers}
        areas = (
            {f.farm_id: farm_areas_ha(self.model, f) for f in farmers} if self.programmes else {}
        )
        for prog in self.programmes:
            repay_loans(self.model, prog)
            if not prog.active(year):
                continue
            monitor(self.model, prog, year, areas, cleared, self._year_rng)
            to_farmer, collective, support, credits = amounts_due(self.model, prog, year, areas)
            collective = repay_finance(prog, collective)
            prog.funds_usd = funds_arrived(prog.spec, year)
            pay(self.model, prog, to_farmer, collective, support, income, credits)
            pay_buyer_premium(self.model, prog, income)
        for f in farmers:  # the planters' pay (``plant``)
            income[f.farm_id] += self.labour_pay.get(f.farm_id, 0.0)
        self.labour_pay = {}
        return income

    def plant(self, year: int) -> None:
        """Every active programme with a carbon payment plants what its fund pays
        for (:func:`landsim.reference.planting.plant`, 7.17); the planters are
        paid at the settlement.

        Parameters
        ----------
        year : int
        """
        self.labour_pay = {f.farm_id: 0.0 for f in self.model.farmers}
        for prog in self.programmes:
            if prog.spec.carbon_payment is not None and prog.active(year):
                plant(self.model, prog, self.labour_pay)

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
        rec["cumulative_planted_ha"] = float(sum(p.planted_ha for p in self.programmes))
        rec["planting_fund_usd"] = float(sum(p.planting_fund_usd for p in self.programmes))
        return rec
