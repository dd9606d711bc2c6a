"""The labour rules (ODD 7.7, 7.11): hand-worked cases, the rule without a labour
market, hired labour within what savings pay for, and the reference's scalar
rules against the vectorised ones."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landsim.model import LandUseModel
from landsim.model.processes import labour
from landsim.reference import labour as reference_labour
from landsim.scenario import LabourParams

MARKET = LabourParams(
    hired_wage_usd_per_day=10.0,
    max_hired_days_per_year=250.0,
    off_farm_wage_usd_per_day=8.0,
    off_farm_days_per_year=200.0,
)
NO_MARKET = MARKET.model_copy(update={"max_hired_days_per_year": 0.0})


def one(x: float) -> np.ndarray:
    return np.array([x], dtype=np.float64)


def test_a_cap_worked_by_hand():
    # 100 spare days, 80 more days and 500 USD per cell, 2,000 USD of savings:
    # one cell on family labour; two cost 1,000 + (160 - 100) x 10 = 1,600 USD;
    # three would cost 1,500 + 140 x 10 = 2,900 USD.
    balance = labour.balance(one(500.0), one(600.0), one(2000.0), MARKET)
    assert balance.free_days[0] == 100.0 and balance.cash_usd[0] == 2000.0
    assert labour.labour_cap(80.0, 500.0, balance, 10.0)[0] == 2
    # With no labour market, the spare days are a hard limit.
    balance = labour.balance(one(500.0), one(600.0), one(2000.0), NO_MARKET)
    assert labour.labour_cap(80.0, 500.0, balance, 10.0)[0] == 1


def test_land_that_already_needs_hired_labour_pays_for_it_first():
    # The land needs 700 of the household's 600 days: 100 days hired (1,000 USD)
    # come out of the 2,000 USD before anything new; 150 more days may be hired.
    balance = labour.balance(one(700.0), one(600.0), one(2000.0), MARKET)
    assert balance.free_days[0] == 0.0
    assert balance.hireable_days[0] == 150.0
    assert balance.cash_usd[0] == 1000.0
    # Cells of 80 days and no cost: 1,000 USD hires 100 days (1 cell); 150 days
    # would allow 1 as well.
    assert labour.labour_cap(80.0, 0.0, balance, 10.0)[0] == 1


@pytest.mark.parametrize(
    ("free_days", "wage"), [(300.0, 0.0), (200.0, 8.0), (50.0, 8.0), (0.0, 10.0)]
)
def test_the_marginal_wage(free_days, wage):
    assert labour.marginal_wage(one(free_days), MARKET)[0] == wage
    assert reference_labour.marginal_wage(free_days, MARKET) == wage


days = st.floats(0.0, 2000.0, allow_nan=False, allow_subnormal=False)
money = st.floats(0.0, 20000.0, allow_nan=False, allow_subnormal=False)


@settings(max_examples=200, deadline=None)
@given(
    needed=days,
    family=days,
    savings=money,
    extra=st.floats(-50.0, 150.0, allow_subnormal=False),
    cost=money,
)
def test_without_a_labour_market_the_cap_is_the_former_rule(needed, family, savings, extra, cost):
    balance = labour.balance(one(needed), one(family), one(savings), NO_MARKET)
    cap = labour.labour_cap(extra, cost, balance, NO_MARKET.hired_wage_usd_per_day)[0]
    free = max(family - needed, 0.0)
    by_days = reference_labour.whole(free / extra) if extra > 0 else math.inf
    by_savings = reference_labour.whole(savings / cost) if cost > 0 else math.inf
    assert cap == min(by_days, by_savings)


@settings(max_examples=300, deadline=None)
@given(
    needed=days,
    family=days,
    savings=money,
    extra=st.floats(-50.0, 150.0, allow_subnormal=False),
    cost=money,
    wage=st.floats(0.0, 30.0, allow_subnormal=False),
    cap=st.floats(0.0, 500.0, allow_subnormal=False),
)
def test_what_a_cap_allows_is_affordable_and_the_reference_agrees(
    needed, family, savings, extra, cost, wage, cap
):
    params = MARKET.model_copy(
        update={"hired_wage_usd_per_day": wage, "max_hired_days_per_year": cap}
    )
    balance = labour.balance(one(needed), one(family), one(savings), params)
    k = labour.labour_cap(extra, cost, balance, wage)[0]
    assert k == reference_labour.cells_within_labour(extra, cost, needed, family, savings, params)
    if math.isinf(k) or k == 0:
        return
    already_hired = min(max(needed - family, 0.0), cap)
    hired = max(k * extra - balance.free_days[0], 0.0) if extra > 0 else 0.0
    # Within the days that may be hired, and paid for, with the cost, from savings.
    assert already_hired + hired <= cap + 1e-9
    assert k * cost + wage * (already_hired + hired) <= savings * (1 + 1e-12) + 1e-9


@settings(max_examples=300, deadline=None)
@given(needed=days, family=days, savings=money, wage=st.floats(0.0, 30.0, allow_subnormal=False))
def test_a_year_of_work(needed, family, savings, wage):
    params = MARKET.model_copy(update={"hired_wage_usd_per_day": wage})
    w = labour.work(one(needed), one(family), one(savings), params)
    hired, off_farm, worked = w.hired_days[0], w.off_farm_days[0], w.worked_share[0]
    assert (hired, off_farm, worked) == reference_labour.work(needed, family, savings, params)
    assert 0.0 <= hired <= params.max_hired_days_per_year
    assert hired * wage <= savings * (1 + 1e-12)
    assert off_farm <= min(max(family - needed, 0.0), params.off_farm_days_per_year)
    assert hired == 0.0 or off_farm == 0.0  # a household short of labour does not leave
    assert 0.0 <= worked <= 1.0
    if worked < 1.0:
        assert worked * needed == pytest.approx(family + hired)


def test_in_the_model_hired_labour_never_exceeds_what_savings_pay_for(small_scenario):
    model = LandUseModel(small_scenario, rng=3)
    fs, wage = model.farmers, small_scenario.labour.hired_wage_usd_per_day
    hired_any = False
    for _ in range(small_scenario.years):
        before = fs.savings_usd.copy()
        model.step()
        # Hired labour is paid from what the year's investment leaves of savings.
        assert np.all(fs.hired_labour_usd <= before - fs.investment_usd + 1e-9)
        assert np.all(fs.hired_days <= small_scenario.labour.max_hired_days_per_year)
        np.testing.assert_array_equal(fs.hired_labour_usd, fs.hired_days * wage)
        hired_any |= bool(fs.hired_days.any())
    assert hired_any


def test_without_off_farm_jobs_or_hiring_there_is_neither(small_scenario):
    scenario = small_scenario.with_overrides(
        {"labour.max_hired_days_per_year": 0.0, "labour.off_farm_days_per_year": 0.0}
    )
    model = LandUseModel(scenario, rng=3)
    model.run_for(scenario.years)
    y = model.yearly_table()
    assert (y["hired_days_mean"] == 0).all() and (y["off_farm_income_mean_usd"] == 0).all()


def test_exhausted_cropland_lies_idle_it_yields_costs_and_needs_nothing(small_scenario):
    """Annual-crop land below the exhaustion fertility is not cropped: a farm
    produces, pays and works exactly as if that land were fallow, and the idle
    land keeps its fertility while cropped land depletes."""
    from landsim.model.processes import soil
    from landsim.model.state import Cover

    model = LandUseModel(small_scenario, rng=3)
    ls = model.landscape
    crop = np.flatnonzero((ls.cover.ravel() == Cover.MONOCROP) & (ls.owner.ravel() >= 0))
    idle, cropped = crop[::2], crop[1::2]
    assert idle.size and cropped.size
    ls.fertility.ravel()[idle] = 0.3
    ls.fertility.ravel()[cropped] = 0.6
    model._produce()
    fs = model.farmers
    seen = {k: getattr(fs, k).copy() for k in ("revenue_usd", "operating_cost_usd", "hired_days")}
    seen["off_farm_days"] = fs.off_farm_days.copy()

    fallow = LandUseModel(small_scenario, rng=3)
    fallow.landscape.fertility.ravel()[cropped] = 0.6
    fallow.landscape.cover.ravel()[idle] = Cover.SECONDARY_FOREST
    fallow._refresh_ownership()
    fallow._produce()
    for key, value in seen.items():
        np.testing.assert_array_equal(value, getattr(fallow.farmers, key), err_msg=key)

    soil.update_fertility(ls, soil.FertilityRates.for_scenario(small_scenario))
    np.testing.assert_array_equal(ls.fertility.ravel()[idle], 0.3)
    depletion = small_scenario.monocrop.fertility_depletion_rate
    np.testing.assert_allclose(ls.fertility.ravel()[cropped], 0.6 * (1 - depletion))
