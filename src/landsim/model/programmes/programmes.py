"""All programmes of a scenario: the yearly calls the model makes, each handing
the state a programme needs to the function in :mod:`enrolment`,
:mod:`incentives` or :mod:`settlement` that acts on it."""

from __future__ import annotations

import numpy as np

import landsim.model.programmes.enrolment as enrolment
import landsim.model.programmes.incentives as incentives
import landsim.model.programmes.settlement as settlement
from landsim.economics import Option
from landsim.model.processes import planting
from landsim.model.processes.land_change import FarmClearing
from landsim.model.programmes.terms import (
    FarmAreas,
    ProgrammeAccounts,
    funds_arrived,
    is_active,
    measure_farm_areas,
    shifts_to_claims,
)
from landsim.model.state import PROGRAMME_YEAR_KEYS, ModelState
from landsim.scenario import Programme


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

    def __init__(self, specs: list[Programme], state: ModelState, rng: np.random.Generator):
        self.specs = list(specs)
        self.state = state
        self._rng = rng
        n = state.farmers.n
        self.accounts = [ProgrammeAccounts.empty(n) for _ in self.specs]
        self._year_rng = None
        self._support_due = [np.zeros(n) for _ in self.specs]
        # Farm areas at the start of the year (begin_year), reused by
        # value_adjustments: nothing changes the land in between.
        self._start_areas: tuple[int, FarmAreas] | None = None
        self._empty_record: dict | None = None  # measure() without programmes
        self._labour_pay: np.ndarray | None = None  # this year's planting labour

    def __bool__(self) -> bool:
        return bool(self.specs)

    def active(self, spec: Programme, year: int) -> bool:
        """Whether ``spec`` runs in ``year``."""
        return is_active(spec, year)

    def _any(self, flag: str) -> np.ndarray:
        out = np.zeros(self.state.farmers.n, dtype=bool)
        for acc in self.accounts:
            out |= getattr(acc, flag)
        return out

    def enrolled_any(self) -> np.ndarray:
        """Farms enrolled in any programme."""
        return self._any("enrolled")

    def ever_enrolled_any(self) -> np.ndarray:
        """Farms ever enrolled in any programme."""
        return self._any("ever_enrolled")

    def expelled_any(self) -> np.ndarray:
        """Farms expelled from any programme."""
        return self._any("expelled")

    def land_changed(self) -> None:
        """Forget the farm areas measured at the start of the year: the land has
        changed since (stage 1's abandonment), so incentives are computed on the
        land as it is now."""
        self._start_areas = None

    def _areas(self, year: int) -> FarmAreas:
        if self._start_areas is not None and self._start_areas[0] == year:
            return self._start_areas[1]
        return measure_farm_areas(self.state)

    def begin_year(self, year: int, clear_value: np.ndarray, clear_size: np.ndarray) -> None:
        """End contracts past their last year; enrol volunteers; train them
        (:func:`enrolment.enrol`)."""
        if not self:
            return  # (no stream to spawn: nothing draws from it)
        self._year_rng = self._rng.spawn(1)[0]
        for acc in self.accounts:
            for key in PROGRAMME_YEAR_KEYS:
                acc.year[key] = 0.0
        self._start_areas = (year, measure_farm_areas(self.state))
        for spec, acc in zip(self.specs, self.accounts, strict=True):
            if year > spec.end_year:
                acc.enrolled[:] = False
            if not is_active(spec, year) or acc.spent_usd >= spec.budget_usd:
                continue
            areas = self._areas(year)
            chosen = enrolment.enrol(
                spec, acc, self.state, year, areas, clear_value, clear_size, self._year_rng
            )
            enrolment.train(spec, self.state, chosen)

    def value_adjustments(self, year: int, clear_size: np.ndarray) -> np.ndarray:
        """Change in each enrolled farmer's option values (USD/ha), shape (n, options)
        (:func:`incentives.adjust_values`)."""
        adj = np.zeros((self.state.farmers.n, len(Option)))
        if not self:
            return adj
        areas = self._areas(year)
        for spec, acc in zip(self.specs, self.accounts, strict=True):
            e = acc.enrolled
            if not is_active(spec, year) or not e.any():
                continue
            a = np.zeros((int(e.sum()), len(Option)))
            incentives.adjust_values(spec, acc, self.state, year, areas, clear_size, a)
            # Farmers trust the terms as far as the programme kept them last time.
            adj[e] += acc.paid_share * a
        # Clearing for pasture is clearing: it meets the same incentives; planting
        # cocoa on cleared land meets those of clearing and of cocoa.
        adj[:, Option.PASTURE] = adj[:, Option.CLEAR]
        adj[:, Option.COCOA_ON_CLEARED] = adj[:, Option.CLEAR] + adj[:, Option.COCOA_AGROFORESTRY]
        return adj

    def add_farms(self, count: int) -> None:
        """Open accounts (not enrolled, nothing received) for ``count`` new farms."""
        for acc in self.accounts:
            acc.extend(ProgrammeAccounts.empty(count))
        self._support_due = [np.concatenate([d, np.zeros(count)]) for d in self._support_due]

    def upfront_shares(self, year: int) -> dict[Option, np.ndarray]:
        """Share of the establishment cost each farmer pays up front, by option."""
        return incentives.upfront_shares(self.specs, self.accounts, self.state.farmers.n, year)

    def record_establishment(self, year: int, cells_by_option: dict) -> None:
        """Note the support due for this year's conversions by enrolled farms."""
        for i, (spec, acc) in enumerate(zip(self.specs, self.accounts, strict=True)):
            if spec.establishment_support is None or not is_active(spec, year):
                self._support_due[i] = np.zeros(self.state.farmers.n)
            else:
                self._support_due[i] = incentives.support_due(
                    spec, acc, self.state, cells_by_option
                )

    def claims_first(self, year: int) -> np.ndarray | None:
        """Farms that clear their claimable forest before their own this year: those
        enrolled in an active programme whose contract covers only the land they
        hold (:func:`terms.shifts_to_claims`); None if there are none."""
        out = None
        for spec, acc in zip(self.specs, self.accounts, strict=True):
            if is_active(spec, year) and shifts_to_claims(spec) and acc.enrolled.any():
                out = acc.enrolled.copy() if out is None else out | acc.enrolled
        return out

    def settle(self, year: int, cleared: FarmClearing, farm_carbon: dict) -> np.ndarray:
        """Monitoring, sanctions and payments at the end of the year
        (:mod:`settlement`).

        Parameters
        ----------
        cleared : FarmClearing
            The forest each farm cleared this year, by kind and land (ha).
        farm_carbon : dict
            ``removals_tco2e`` and ``emissions_tco2e`` of each farm's biomass this year.

        Returns
        -------
        ndarray
            Payments to each farmer that count as income this year (USD).
        """
        savings = self.state.farmers.savings_usd
        income = np.zeros(self.state.farmers.n)
        if not self:
            return income
        areas = measure_farm_areas(self.state)
        for spec, acc, support in zip(self.specs, self.accounts, self._support_due, strict=True):
            settlement.repay_loans(acc, savings)
            if not is_active(spec, year):
                continue
            detected, compliant = settlement.monitor(
                spec, acc, year, areas, cleared, self._year_rng
            )
            settlement.sanction(spec, acc, detected, savings)
            to_farmer, collective, credits = settlement.payments_due(
                spec, self.state, year, areas.forest_ha, compliant, farm_carbon
            )
            collective = settlement.repay_finance(spec, acc, collective)
            acc.funds_usd = funds_arrived(spec, year)
            income += settlement.pay(spec, acc, to_farmer, collective, support, savings, credits)
            income += settlement.pay_buyer_premium(spec, acc, self.state, compliant)
        if self._labour_pay is not None:
            income += self._labour_pay  # the planters' pay (``plant``)
            self._labour_pay = None
        return income

    def plant(self, year: int) -> None:
        """Each active programme with a carbon payment plants what its fund pays
        for (:func:`planting.plant`); the planters' pay counts as income at the
        settlement."""
        pay = np.zeros(self.state.farmers.n)
        for spec, acc in zip(self.specs, self.accounts, strict=True):
            if spec.carbon_payment is not None and is_active(spec, year):
                pay += planting.plant(spec, acc, self.state)
        self._labour_pay = pay if self else None

    def kept_cells(self, year: int) -> np.ndarray | None:
        """The cells no farmer may clear this year (:func:`planting.kept_cells`)."""
        return planting.kept_cells(self.state.landscape, self.specs, year)

    def measure(self, year: int) -> dict:
        """The year's programme indicators, summed over programmes."""
        if not self and self._empty_record is not None:
            return dict(self._empty_record)  # the same every year
        rec = dict.fromkeys(PROGRAMME_YEAR_KEYS, 0.0)
        for acc in self.accounts:
            for key in PROGRAMME_YEAR_KEYS:
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
        rec["programme_active"] = any(is_active(s, year) for s in self.specs)
        rec["reforestation_ha"] = float(sum(acc.reforestation_ha for acc in self.accounts))
        rec["cumulative_planted_ha"] = float(sum(acc.planted_ha for acc in self.accounts))
        rec["planting_fund_usd"] = float(sum(acc.planting_fund_usd for acc in self.accounts))
        if not self:
            self._empty_record = dict(rec)
        return rec
