"""Unit tests of the process functions against closed forms.

carbon (Chapman-Richards growth, biomass and soil densities, flux split),
economics (discounting, yield curves, logit choice, sampling, Gini, option values),
market (price paths, expectations) and landscape.rank_within_groups.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats

from landsim import carbon
from landsim.economics import (
    Option,
    cocoa_yield,
    discount_factors,
    draw_choices,
    gini,
    logit_probabilities,
    monocrop_fertility_path,
    monocrop_margin,
    value_options,
)
from landsim.landscape import Cover, rank_within_groups
from landsim.market import PRODUCTS, Market, simulate_price_path
from landsim.scenario import CocoaParams, PriceProcess

FAST = settings(max_examples=50, deadline=None)

# --------------------------------------------------------------------------- carbon


class TestChapmanRichards:
    @pytest.mark.parametrize(("a_max", "k", "p"), [(125.0, 0.036, 1.07), (25.0, 0.08, 1.0)])
    @pytest.mark.parametrize("age", [1.0, 5.0, 20.0, 60.0])
    def test_value_at_known_ages(self, a_max, k, p, age):
        expected = a_max * (1.0 - math.exp(-k * age)) ** p
        assert carbon.chapman_richards(age, a_max, k, p) == pytest.approx(expected, rel=1e-12)

    def test_half_asymptote_at_ln2_over_k_when_p_is_one(self):
        k = 0.08
        assert carbon.chapman_richards(math.log(2) / k, 40.0, k, 1.0) == pytest.approx(20.0)

    def test_zero_at_age_zero(self):
        assert carbon.chapman_richards(0, 125.0, 0.036, 1.07) == 0.0
        assert carbon.chapman_richards(np.zeros(3), 15.0, 0.1, 1.5).tolist() == [0.0] * 3

    def test_asymptote(self):
        a_max = 125.0
        assert carbon.chapman_richards(5000.0, a_max, 0.036, 1.07) == pytest.approx(a_max)
        ages = np.arange(0, 500)
        assert np.all(carbon.chapman_richards(ages, a_max, 0.036, 1.07) <= a_max)

    @FAST
    @given(
        a_max=st.floats(0.1, 500.0),
        k=st.floats(0.005, 1.0),
        p=st.floats(0.5, 3.0),
    )
    def test_monotone_in_age(self, a_max, k, p):
        ages = np.arange(0, 300, dtype=np.float64)
        y = carbon.chapman_richards(ages, a_max, k, p)
        assert np.all(np.diff(y) >= 0)
        assert y[1] > y[0] == 0.0
        assert np.all((y >= 0) & (y <= a_max * (1 + 1e-12)))

    def test_array_shape_is_kept(self):
        ages = np.arange(12).reshape(3, 4)
        assert carbon.chapman_richards(ages, 1.0, 0.1, 1.0).shape == (3, 4)


def test_biomass_density_by_cover(small_scenario):
    sc = small_scenario
    cover = np.array([[c.value for c in Cover]], dtype=np.int8).repeat(2, axis=0)
    age = np.array([[0] * len(Cover), [7] * len(Cover)], dtype=np.int16)
    sc = sc.with_overrides({"pasture.root_shoot_ratio": 1.6, "monocrop.root_shoot_ratio": 0.1})
    rs = 1.0 + np.array(
        [
            sc.forest.root_shoot_ratio,
            sc.forest.root_shoot_ratio,
            0.1,
            sc.cocoa_agroforestry.root_shoot_ratio,
            sc.silvopasture.root_shoot_ratio,
            1.6,
        ]
    )
    got = carbon.biomass_density(cover, age, sc)
    f, af, sp = sc.forest, sc.cocoa_agroforestry, sc.silvopasture
    for row, a in enumerate((0, 7)):
        expected = [
            f.primary_agb_tc_per_ha,
            f.secondary_agb_max_tc_per_ha
            * (1 - math.exp(-f.secondary_growth_rate * a)) ** f.secondary_shape,
            sc.monocrop.agb_tc_per_ha,
            af.agb_max_tc_per_ha * (1 - math.exp(-af.agb_growth_rate * a)) ** af.agb_shape,
            sp.agb_max_tc_per_ha * (1 - math.exp(-sp.agb_growth_rate * a)) ** sp.agb_shape,
            sc.pasture.agb_tc_per_ha,
        ]
        assert got[row] == pytest.approx(np.array(expected) * rs, rel=1e-12)


def test_soc_equilibrium_is_the_ipcc_tier_1_product(small_scenario):
    """SOC_eq = SOC_ref x F_LU x F_MG x F_I, worked by hand for the defaults:
    60 x 0.48 x 1.0 x 0.92 = 26.496 tC/ha for annual crops, 60 x 1.0 for cocoa
    agroforestry, 60 x 1.17 for silvopasture, 60 x 0.82 for fallow, 60 for
    nominally managed pasture."""
    cover = np.arange(6, dtype=np.int8)
    expected = [60.0, 60 * 0.82, 26.496, 60.0, 70.2, 60.0]
    assert carbon.soc_equilibrium(cover, small_scenario) == pytest.approx(expected, rel=1e-12)
    # Agroforestry on annual cropland raises its soil carbon (issue: inverted factors).
    assert expected[Cover.COCOA_AGROFORESTRY] > expected[Cover.MONOCROP]


def test_soil_carbon_approaches_its_equilibrium_at_a_first_order_rate(small_scenario):
    """A cell converted from forest (60 tC/ha) to annual crops (26.496 tC/ha):
    after t years its stock is eq + (60 - eq) exp(-0.15 t), to rounding, until the
    gap falls below the tolerance, when it sits at the equilibrium."""
    from landsim.model import LandUseModel
    from landsim.model.processes import soil
    from landsim.model.state import SOC_TOLERANCE_TC_PER_HA

    model = LandUseModel(small_scenario, rng=0)
    ls = model.landscape
    ls.cover[:] = Cover.MONOCROP
    ls.soc_tc_per_ha[:] = 60.0
    eq = model._soc_equilibria
    retention = soil.soc_retention(small_scenario)
    assert retention == pytest.approx(math.exp(-0.15))
    stock, year = 60.0, 0
    while stock != eq[Cover.MONOCROP]:
        soil.advance_soil(ls, eq, retention)
        year += 1
        stock = float(ls.soc_tc_per_ha[0, 0])
        closed_form = 26.496 + (60 - 26.496) * math.exp(-0.15 * year)
        if abs(closed_form - 26.496) >= 2 * SOC_TOLERANCE_TC_PER_HA:
            assert stock == pytest.approx(closed_form, rel=1e-12)
    # ln(33.504 / 0.001) / 0.15 = 69.4 years to close the gap to the tolerance
    assert year == 70
    assert np.all(ls.soc_tc_per_ha == eq[Cover.MONOCROP])
    # 95 % of the change within the IPCC default 20 years
    assert math.exp(-0.15 * 20) < 0.05


@FAST
@given(
    old=st.lists(st.floats(0, 300), min_size=1, max_size=30),
    seed=st.integers(0, 2**32 - 1),
    cell=st.sampled_from([0.25, 1.0, 4.0]),
)
def test_split_change_balances(old, seed, cell):
    old = np.array(old)
    new = np.random.default_rng(seed).uniform(0, 300, old.size)
    removals, emissions = carbon.split_change(old, new, cell)
    assert removals >= 0 and emissions >= 0
    net = (new - old).sum() * cell * carbon.CO2_PER_C
    assert removals - emissions == pytest.approx(net, rel=1e-9, abs=1e-6)
    # Pure gains or pure losses go entirely to one side.
    assert carbon.split_change(old, old + 1.0, cell)[1] == 0.0
    assert carbon.split_change(old + 1.0, old, cell)[0] == 0.0


# --------------------------------------------------------------------------- discounting


class TestDiscounting:
    def test_factors_closed_form(self):
        rates = np.array([0.0, 0.05, 0.15, 0.4])
        d = discount_factors(rates, 12)
        assert d.shape == (4, 12)
        for i, r in enumerate(rates):
            for t in range(1, 13):
                assert d[i, t - 1] == pytest.approx((1 + r) ** -t, rel=1e-14)

    def test_zero_rate_gives_ones(self):
        assert np.all(discount_factors(np.zeros(2), 7) == 1.0)

    @pytest.mark.parametrize("rate", [0.01, 0.08, 0.15, 0.25, 0.6])
    @pytest.mark.parametrize("horizon", [1, 5, 15, 30])
    def test_npv_of_annuity(self, rate, horizon):
        payment = 250.0
        npv = (payment * discount_factors(np.array([rate]), horizon)).sum()
        annuity = payment * (1 - (1 + rate) ** -horizon) / rate
        assert npv == pytest.approx(annuity, rel=1e-12)

    def test_factors_decrease_with_time_and_rate(self):
        d = discount_factors(np.array([0.05, 0.1, 0.2]), 10)
        assert np.all(np.diff(d, axis=1) < 0)
        assert np.all(np.diff(d, axis=0) < 0)


def test_monocrop_fertility_path_closed_form():
    f0 = np.array([1.0, 0.6])
    path = monocrop_fertility_path(f0, 0.2, 5)
    expected = f0[:, None] * 0.8 ** np.arange(5)[None, :]
    assert path == pytest.approx(expected)
    assert path[:, 0] == pytest.approx(f0)  # year 1 is cropped at the starting fertility


def test_monocrop_margin_zero_at_breakeven(small_scenario):
    m = small_scenario.monocrop
    price = 60.0
    breakeven = m.operating_cost_usd_per_ha / (m.yield_t_per_ha * price)
    assert monocrop_margin(breakeven, price, m) == pytest.approx(0.0, abs=1e-9)
    assert monocrop_margin(1.0, price, m) == pytest.approx(
        m.yield_t_per_ha * price - m.operating_cost_usd_per_ha
    )


# --------------------------------------------------------------------------- cocoa yield


def _cocoa(base: CocoaParams, **changes) -> CocoaParams:
    return CocoaParams(**{**base.model_dump(), **changes})


class TestCocoaYield:
    @pytest.mark.parametrize(("a1", "a2"), [(2, 6), (0, 3), (3, 3), (2, 8), (0, 0)])
    def test_piecewise_closed_form(self, small_scenario, a1, a2):
        params = _cocoa(
            small_scenario.cocoa_agroforestry, first_harvest_year=a1, full_yield_year=a2
        )
        mature = params.mature_yield_kg_per_ha
        ages = np.arange(0, 30)
        y = cocoa_yield(ages, params)
        assert np.all(y[ages < a1] == 0.0)
        assert np.all(y[ages >= a2] == pytest.approx(mature))
        ramp = (ages >= a1) & (ages <= a2)
        expected = mature * (ages[ramp] - a1 + 1) / (a2 - a1 + 1)
        assert y[ramp] == pytest.approx(expected)
        if a2 > a1:
            assert 0 < y[a1] < mature
            assert np.allclose(np.diff(y[ramp]), mature / (a2 - a1 + 1))  # linear

    def test_default_first_harvest_and_full_yield(self, small_scenario):
        params = small_scenario.cocoa_agroforestry
        a1, a2 = params.first_harvest_year, params.full_yield_year
        assert cocoa_yield(a1 - 1, params) == 0.0
        assert cocoa_yield(a1, params) > 0.0
        assert cocoa_yield(a2, params) == pytest.approx(params.mature_yield_kg_per_ha)
        assert cocoa_yield(a2 + 40, params) == pytest.approx(params.mature_yield_kg_per_ha)

    def test_monotone_non_decreasing(self, small_scenario):
        y = cocoa_yield(np.arange(50), small_scenario.cocoa_agroforestry)
        assert np.all(np.diff(y) >= 0)


# --------------------------------------------------------------------------- logit choice


def _softmax(values, scale, feasible):
    out = np.zeros(len(values))
    idx = [j for j, ok in enumerate(feasible) if ok]
    w = [math.exp(scale * values[j]) for j in idx]
    total = sum(w)
    for j, wj in zip(idx, w, strict=True):
        out[j] = wj / total
    return out


class TestLogit:
    def test_hand_computed_softmax(self):
        values = np.array([[100.0, -50.0, 20.0, 0.0, 75.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
        feasible = np.array([[True] * 5, [True, False, True, True, False]])
        p = logit_probabilities(values, 0.01, feasible)
        for i in range(2):
            assert p[i] == pytest.approx(_softmax(values[i], 0.01, feasible[i]), rel=1e-12)
        # By hand for row 1: exp(0.01), exp(0.03), exp(0.04) normalised.
        e = np.exp([0.01, 0.03, 0.04])
        assert p[1, [0, 2, 3]] == pytest.approx(e / e.sum())

    @FAST
    @given(
        seed=st.integers(0, 2**32 - 1),
        n=st.integers(1, 20),
        scale=st.sampled_from([0.0, 1e-3, 0.01, 0.1, 1.0, 50.0]),
    )
    def test_rows_sum_to_one_and_infeasible_get_zero(self, seed, n, scale):
        rng = np.random.default_rng(seed)
        values = rng.normal(0, 2000, (n, 5))
        feasible = rng.random((n, 5)) < 0.6
        feasible[np.arange(n), rng.integers(0, 5, n)] = True  # at least one per row
        p = logit_probabilities(values, scale, feasible)
        assert np.all(np.isfinite(p))
        assert p.sum(axis=1) == pytest.approx(np.ones(n), rel=1e-12)
        assert np.all(p[~feasible] == 0.0)
        assert np.all(p >= 0)

    def test_scale_zero_is_uniform_over_feasible(self):
        values = np.array([[5.0, -300.0, 1e4, 2.0], [0.0, 1.0, 2.0, 3.0]])
        feasible = np.array([[True, True, False, True], [False, True, False, False]])
        p = logit_probabilities(values, 0.0, feasible)
        assert p[0] == pytest.approx([1 / 3, 1 / 3, 0.0, 1 / 3])
        assert p[1] == pytest.approx([0.0, 1.0, 0.0, 0.0])

    def test_large_scale_picks_the_maximum(self):
        values = np.array([[10.0, 30.0, 20.0, 29.0], [10.0, 30.0, 20.0, 29.0]])
        feasible = np.array([[True] * 4, [True, False, True, True]])
        p = logit_probabilities(values, 1e3, feasible)
        assert p[0] == pytest.approx([0, 1, 0, 0], abs=1e-12)
        assert p[1] == pytest.approx([0, 0, 0, 1], abs=1e-12)  # best feasible option

    def test_no_overflow_with_large_values(self):
        values = np.array([[1e6, 1e6 + 1.0, -1e6]])
        p = logit_probabilities(values, 1.0, np.ones((1, 3), dtype=bool))
        assert np.all(np.isfinite(p))
        e = 1.0 / (1.0 + math.e)
        assert p[0] == pytest.approx([e, 1 - e, 0.0])

    @FAST
    @given(seed=st.integers(0, 2**32 - 1), shift=st.floats(-1e4, 1e4))
    def test_invariant_to_adding_a_constant(self, seed, shift):
        rng = np.random.default_rng(seed)
        values = rng.normal(0, 300, (4, 5))
        feasible = np.ones((4, 5), dtype=bool)
        feasible[:, 2] = False
        p = logit_probabilities(values, 0.01, feasible)
        q = logit_probabilities(values + shift, 0.01, feasible)
        assert q == pytest.approx(p, rel=1e-9, abs=1e-15)


class TestDrawChoices:
    EDGE_UNIFORMS = (0.0, 1e-300, 0.25, 0.5, 0.75, 1 - 1e-16, np.nextafter(1.0, 0.0))

    @pytest.mark.parametrize(
        "probs",
        [
            [0.0, 0.5, 0.0, 0.5, 0.0],
            [1.0, 0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 1.0],
            [0.0, 0.0, 1.0, 0.0, 0.0],
            [0.1, 0.2, 0.0, 0.3, 0.4],
            [1e-300, 0.0, 1.0, 0.0, 0.0],
            [0.0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0.0],
        ],
    )
    def test_never_picks_zero_probability_at_edge_uniforms(self, probs):
        p = np.tile(np.array(probs), (len(self.EDGE_UNIFORMS), 1))
        choice = draw_choices(p, np.array(self.EDGE_UNIFORMS))
        assert np.all((choice >= 0) & (choice < p.shape[1]))
        assert np.all(p[np.arange(len(choice)), choice] > 0)

    @FAST
    @given(
        seed=st.integers(0, 2**32 - 1),
        n=st.integers(1, 30),
        edge=st.sampled_from([None, 0.0, 1 - 1e-16, float(np.nextafter(1.0, 0.0))]),
    )
    def test_never_picks_zero_probability(self, seed, n, edge):
        rng = np.random.default_rng(seed)
        values = rng.normal(0, 500, (n, 5))
        feasible = rng.random((n, 5)) < 0.5
        feasible[np.arange(n), rng.integers(0, 5, n)] = True
        p = logit_probabilities(values, rng.choice([0.0, 0.01, 1.0]), feasible)
        u = rng.random(n) if edge is None else np.full(n, edge)
        choice = draw_choices(p, u)
        assert np.all(p[np.arange(n), choice] > 0)
        assert np.all(feasible[np.arange(n), choice])

    def test_uniform_zero_picks_first_positive_and_near_one_picks_last_positive(self):
        p = np.array([[0.0, 0.3, 0.0, 0.7, 0.0]] * 2)
        choice = draw_choices(p, np.array([0.0, np.nextafter(1.0, 0.0)]))
        assert choice.tolist() == [1, 3]

    def test_empirical_frequencies_match_probabilities(self):
        probs = np.array([0.1, 0.0, 0.25, 0.05, 0.6])
        n = 200_000
        rng = np.random.default_rng(20240601)
        choice = draw_choices(np.tile(probs, (n, 1)), rng.random(n))
        counts = np.bincount(choice, minlength=probs.size)
        assert counts[probs == 0].sum() == 0
        positive = probs > 0
        result = stats.chisquare(counts[positive], n * probs[positive])
        assert result.pvalue > 1e-3
        assert counts / n == pytest.approx(probs, abs=0.005)


class TestGini:
    @pytest.mark.parametrize("n", [1, 2, 7, 100])
    def test_equal_incomes_give_zero(self, n):
        assert gini(np.full(n, 1234.5)) == pytest.approx(0.0, abs=1e-12)

    @pytest.mark.parametrize("n", [2, 3, 10, 351])
    def test_one_has_all(self, n):
        x = np.zeros(n)
        x[n // 2] = 500.0
        assert gini(x) == pytest.approx((n - 1) / n)

    def test_known_small_example(self):
        # Mean absolute difference over all ordered pairs / (2 * mean):
        # for (1, 2, 3, 4): sum |xi - xj| = 20, n^2 = 16, mean = 2.5 -> 20 / (2 * 16 * 2.5).
        assert gini(np.array([4.0, 1.0, 3.0, 2.0])) == pytest.approx(0.25)

    @FAST
    # Subnormal incomes (< 2.2e-308 USD) are excluded: the sums lose their relative
    # precision there, and no income is that small.
    @given(x=st.lists(st.floats(0, 1e6, allow_subnormal=False), min_size=1, max_size=40))
    @example(x=[0.0, 5e-324])  # a mean that underflows to 0 once broke the expected value
    def test_matches_mean_absolute_difference(self, x):
        x = np.array(x)
        if x.sum() <= 0:
            assert gini(x) == 0.0
            return
        # The Gini coefficient is scale-free: compute the expected value on x / max(x),
        # so that subnormal inputs (whose mean can underflow to 0) do not divide by zero.
        y = x / x.max()
        expected = np.abs(y[:, None] - y[None, :]).sum() / (2 * y.size**2 * y.mean())
        assert gini(x) == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert -1e-12 <= gini(x) < 1.0  # rounding can give -2e-16 for equal incomes

    def test_losses_count_as_zero_and_empty_is_zero(self):
        assert gini(np.array([-100.0, 0.0, 50.0])) == pytest.approx(gini(np.array([0, 0, 50.0])))
        assert gini(np.array([])) == 0.0
        assert gini(np.array([-1.0, -2.0])) == 0.0

    def test_scale_invariant(self):
        x = np.array([10.0, 20.0, 30.0, 100.0])
        assert gini(3.7 * x) == pytest.approx(gini(x))


# --------------------------------------------------------------------------- option values


def _values(sc, **over):
    n = 1
    kwargs = dict(
        discount_rate=np.full(n, 0.15),
        risk_aversion=np.zeros(n),
        knowledge=np.ones(n),
        horizon=15,
        prices={"monocrop": (60.0, 0.0), "cocoa": (2.0, 0.0), "beef": (1.2, 0.0)},
        forest_fertility=np.ones(n),
        monocrop_fertility=np.full(n, 0.6),
        exhausted_fertility=np.full(n, 0.4),
        share_adopting={"cocoa_agroforestry": np.zeros(n), "silvopasture": np.zeros(n)},
        monocrop=sc.monocrop,
        cocoa=sc.cocoa_agroforestry,
        silvopasture=sc.silvopasture,
        pasture=sc.pasture,
        pasture_fertility=np.full(n, 0.7),
        clearing_cost_usd_per_ha=sc.forest.clearing_cost_usd_per_ha,
        fallow_recovery_rate=0.1,
        reclear_fertility=0.8,
        imitation_weight_usd_per_ha=sc.decision.imitation_weight_usd_per_ha,
        knowledge_cost_premium=sc.decision.knowledge_cost_premium,
        technology_uncertainty=sc.decision.technology_uncertainty,
    )
    kwargs.update(over)
    return value_options(**kwargs)[0]


class TestValueOptions:
    def test_clear_and_abandon_closed_forms(self, small_scenario):
        """Clearing gives a field at fertility 1; abandoning land of fertility 0.4
        gives a fallow that recovers ``f + 0.1 (1 - f)`` a year, reaches the
        re-clearing fertility 0.8 after 11 years (1 - 0.6 x 0.9^11 = 0.812) and is
        then worth a new field at that fertility, discounted 11 years."""
        sc = small_scenario
        m = sc.monocrop
        r, h, p = 0.15, 15, 60.0
        v = _values(sc)
        assert v[Option.KEEP] == 0.0

        def field(f0):
            value = -sc.forest.clearing_cost_usd_per_ha
            for t in range(1, h + 1):
                gross = m.yield_t_per_ha * f0 * (1 - m.fertility_depletion_rate) ** (t - 1) * p
                value += max(gross - m.operating_cost_usd_per_ha, 0.0) * (1 + r) ** -t
            return value

        assert v[Option.CLEAR] == pytest.approx(field(1.0), rel=1e-12)
        recovered = 1 - 0.6 * 0.9**11
        assert 1 - 0.6 * 0.9**10 < 0.8 <= recovered  # 11 years, not 10
        assert field(recovered) > 0
        abandon = (1 + r) ** -11 * field(recovered)
        assert v[Option.ABANDON] == pytest.approx(abandon, rel=1e-12)

    def test_a_fallow_that_recovers_after_the_horizon_is_worth_nothing(self, small_scenario):
        """From fertility 0.4 to 0.95 at 0.1 a year takes 24 years, beyond the
        15-year horizon; faster recovery makes the fallow worth more."""
        sc = small_scenario
        assert _values(sc, reclear_fertility=0.95)[Option.ABANDON] == 0.0
        slow = _values(sc, fallow_recovery_rate=0.1)[Option.ABANDON]
        fast = _values(sc, fallow_recovery_rate=0.2)[Option.ABANDON]
        assert fast > slow > 0

    def test_pasture_and_silvopasture_closed_forms(self, small_scenario):
        """New pasture is grazed from its first income year at a productivity that
        falls with fertility; silvopasture gives up the least fertile pasture
        (fertility 0.7 here), which is already grazed, until it degrades (below
        0.5 from its 13th year: 0.7 x 0.97^12 = 0.486)."""
        sc = small_scenario.with_overrides({"pasture.degraded_fertility": 0.5})
        pa, sp = sc.pasture, sc.silvopasture
        r, h, p = 0.15, 15, 1.2
        v = _values(sc)
        new = -sc.forest.clearing_cost_usd_per_ha - pa.establishment_cost_usd_per_ha
        kept = sp_net = 0.0
        for t in range(1, h + 1):  # new pasture: over the planning horizon
            df = (1 + r) ** -t
            fertility = (1 - pa.fertility_depletion_rate) ** (t - 1)
            grazed = t - 1 >= pa.first_income_year
            beef_new = pa.beef_yield_kg_per_ha * fertility * p if grazed else 0.0
            new += (beef_new - pa.operating_cost_usd_per_ha) * df
        for t in range(1, sp.productive_life_years + 1):  # silvopasture: its life
            df = (1 + r) ** -t
            fertility = (1 - pa.fertility_depletion_rate) ** (t - 1)
            if 0.7 * fertility >= pa.degraded_fertility:  # degraded pasture is not grazed
                kept += (
                    pa.beef_yield_kg_per_ha * 0.7 * fertility * p - pa.operating_cost_usd_per_ha
                ) * df
            beef_sp = sp.beef_yield_kg_per_ha if t - 1 >= sp.first_income_year else 0.0
            sp_net += (beef_sp * p - sp.operating_cost_usd_per_ha) * df
        assert v[Option.PASTURE] == pytest.approx(new, rel=1e-12)
        # Knowledge 1: no perceived premium; no risk aversion; no neighbours.
        expected_sp = sp_net - sp.establishment_cost_usd_per_ha - kept
        assert v[Option.SILVOPASTURE] == pytest.approx(expected_sp, rel=1e-12)

    def test_restoring_pasture_closed_form(self, small_scenario):
        """Restoring the least fertile pasture (0.7 here) is worth a new pasture at
        the restored fertility (grazed from its first income year) less the
        restoration cost and the kept pasture; a pasture already below the
        degraded fertility is kept at no value."""
        sc = small_scenario
        pa = sc.pasture
        r, h, p = 0.15, 15, 1.2

        def npv(f0, new):
            value = 0.0
            for t in range(1, h + 1):
                f = f0 * (1 - pa.fertility_depletion_rate) ** (t - 1)
                if f < pa.degraded_fertility:
                    continue
                beef = (
                    pa.beef_yield_kg_per_ha * f * p
                    if (t - 1 >= pa.first_income_year or not new)
                    else 0
                )
                value += (beef - pa.operating_cost_usd_per_ha) * (1 + r) ** -t
            return value

        v = _values(sc)
        renewed = npv(pa.restored_fertility, True) - pa.restoration_cost_usd_per_ha
        assert v[Option.RESTORE_PASTURE] == pytest.approx(renewed - npv(0.7, False), rel=1e-12)
        idle = _values(sc, pasture_fertility=np.full(1, pa.degraded_fertility / 2))
        assert idle[Option.RESTORE_PASTURE] == pytest.approx(renewed, rel=1e-12)

    def test_cocoa_on_cleared_land_pays_the_clearing_instead_of_a_field(self, small_scenario):
        """Cocoa planted on cleared forest differs from cocoa on annual cropland by
        the field given up there and the clearing cost here (knowledge 1, no
        risk aversion: the field's value is its plain net present value)."""
        sc = small_scenario
        v = _values(sc)
        m, r = sc.monocrop, 0.15
        field = sum(
            max(m.yield_t_per_ha * 0.6 * 0.8 ** (t - 1) * 60.0 - m.operating_cost_usd_per_ha, 0.0)
            * (1 + r) ** -t
            for t in range(1, 16)
        )
        difference = v[Option.COCOA_ON_CLEARED] - v[Option.COCOA_AGROFORESTRY]
        assert difference == pytest.approx(field - sc.forest.clearing_cost_usd_per_ha, rel=1e-9)

    def test_labour_at_the_marginal_wage_lowers_each_value_by_its_days(self, small_scenario):
        """A wage w takes w x days x annuity from the value of pasture and cocoa
        (whose forgone field is worth nothing here), and w x the days silvopasture
        adds to pasture's (while the pasture it replaces is grazed: until it
        degrades below 0.5)."""
        sc = small_scenario.with_overrides({"pasture.degraded_fertility": 0.5})
        prices = {"monocrop": (90.0, 0.0), "cocoa": (3.0, 0.0), "beef": (1.2, 0.0)}
        # Annual crops on land of fertility 0 never pay: the field cocoa replaces is
        # worth nothing with or without a wage.
        barren = {"prices": prices, "monocrop_fertility": np.zeros(1)}
        free = _values(sc, **barren)
        wage = 2.0
        paid = _values(sc, **barren, wage_usd_per_day=np.full(1, wage))

        def annuity(years):
            return sum((1.15) ** -t for t in range(1, years + 1))

        # Perennial systems over their productive life, new pasture over the horizon.
        days = {
            Option.COCOA_AGROFORESTRY: (
                sc.cocoa_agroforestry.labour_days_per_ha,
                sc.cocoa_agroforestry.productive_life_years,
            ),
            Option.SILVOPASTURE: (
                sc.silvopasture.labour_days_per_ha - sc.pasture.labour_days_per_ha,
                sc.silvopasture.productive_life_years,
            ),
            Option.PASTURE: (sc.pasture.labour_days_per_ha, 15),
        }
        for option, (d, years) in days.items():
            expected = wage * d * annuity(years)
            if option == Option.SILVOPASTURE:
                # The pasture given up (fertility 0.7) is grazed, and needs its
                # labour, for 12 years only: then it is degraded.
                pasture_days = sc.pasture.labour_days_per_ha
                expected = wage * (
                    sc.silvopasture.labour_days_per_ha * annuity(years)
                    - pasture_days * annuity(12)
                )
            assert free[option] - paid[option] == pytest.approx(expected, rel=1e-9)

    def test_imitation_adds_weight_times_share(self, small_scenario):
        sc = small_scenario
        w = sc.decision.imitation_weight_usd_per_ha
        base = _values(sc)
        shares = {"cocoa_agroforestry": np.array([0.5]), "silvopasture": np.array([0.25])}
        v = _values(sc, share_adopting=shares)
        assert v[Option.COCOA_AGROFORESTRY] - base[Option.COCOA_AGROFORESTRY] == pytest.approx(
            0.5 * w
        )
        assert v[Option.SILVOPASTURE] - base[Option.SILVOPASTURE] == pytest.approx(0.25 * w)
        assert v[Option.CLEAR] == base[Option.CLEAR]

    def test_cocoa_value_rises_with_price_and_knowledge_and_falls_with_risk(self, small_scenario):
        sc = small_scenario
        low = _values(
            sc, prices={"monocrop": (60.0, 0.2), "cocoa": (1.5, 0.2), "beef": (1.2, 0.2)}
        )
        high = _values(
            sc, prices={"monocrop": (60.0, 0.2), "cocoa": (3.0, 0.2), "beef": (1.2, 0.2)}
        )
        assert high[Option.COCOA_AGROFORESTRY] > low[Option.COCOA_AGROFORESTRY]
        prices = {"monocrop": (60.0, 0.2), "cocoa": (2.0, 0.2), "beef": (1.2, 0.2)}
        novice = _values(sc, prices=prices, knowledge=np.zeros(1))
        expert = _values(sc, prices=prices, knowledge=np.ones(1))
        assert expert[Option.COCOA_AGROFORESTRY] > novice[Option.COCOA_AGROFORESTRY]
        averse = _values(sc, prices=prices, risk_aversion=np.ones(1))
        neutral = _values(sc, prices=prices, risk_aversion=np.zeros(1))
        for option in (
            Option.CLEAR,
            Option.COCOA_AGROFORESTRY,
            Option.SILVOPASTURE,
            Option.PASTURE,
            Option.COCOA_ON_CLEARED,
        ):
            assert averse[option] <= neutral[option]


# --------------------------------------------------------------------------- markets


def _process(**kw) -> PriceProcess:
    base = dict(process="ou", initial=2.0, mean=3.0, sigma=0.3, reversion=0.5, values=[])
    return PriceProcess(**{**base, **kw})


class TestPricePaths:
    def test_path_holds_first_value_before_and_last_after(self):
        values = [3.0, 5.0, 7.0]
        history, years = 4, 9
        path = simulate_price_path(
            _process(process="path", values=values), years, history, np.random.default_rng(0)
        )
        assert path.shape == (history + years + 1,)
        assert np.all(path[: history + 1] == values[0])
        assert path[history : history + 3].tolist() == values
        assert np.all(path[history + 2 :] == values[-1])

    def test_path_longer_than_run_is_truncated(self):
        values = list(np.arange(1.0, 21.0))
        path = simulate_price_path(
            _process(process="path", values=values), 5, 2, np.random.default_rng(0)
        )
        assert path.tolist() == [1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]

    def test_path_does_not_use_the_rng(self):
        rng = np.random.default_rng(3)
        state = rng.bit_generator.state
        simulate_price_path(_process(process="path", values=[1.0]), 10, 5, rng)
        assert rng.bit_generator.state == state

    def test_ou_without_noise_follows_deterministic_decay(self):
        proc = _process(sigma=0.0, initial=1.0, mean=4.0, reversion=0.3)
        history, years = 3, 60
        path = simulate_price_path(proc, years, history, np.random.default_rng(1))
        t = np.arange(history + years + 1)
        expected = np.exp(np.log(4.0) + (np.log(1.0) - np.log(4.0)) * np.exp(-0.3 * t))
        assert path == pytest.approx(expected, rel=1e-12)
        assert path[-1] == pytest.approx(4.0, rel=1e-6)  # converges to the mean
        assert np.all(np.diff(path) > 0)  # monotone approach from below

    def test_ou_without_noise_or_reversion_is_constant(self):
        path = simulate_price_path(
            _process(sigma=0.0, reversion=0.0, initial=2.5), 20, 5, np.random.default_rng(1)
        )
        assert np.all(path == pytest.approx(2.5))

    @FAST
    @given(
        seed=st.integers(0, 2**32 - 1),
        sigma=st.floats(0.0, 2.0),
        reversion=st.floats(0.0, 2.0),
    )
    def test_ou_positive_and_seeded(self, seed, sigma, reversion):
        proc = _process(sigma=sigma, reversion=reversion)
        a = simulate_price_path(proc, 30, 5, np.random.default_rng(seed))
        b = simulate_price_path(proc, 30, 5, np.random.default_rng(seed))
        assert a.shape == (36,)
        assert np.all(a > 0)
        assert np.array_equal(a, b)
        assert a[0] == pytest.approx(proc.initial)

    def test_ou_different_seeds_differ(self):
        proc = _process()
        a = simulate_price_path(proc, 30, 5, np.random.default_rng(1))
        b = simulate_price_path(proc, 30, 5, np.random.default_rng(2))
        assert not np.array_equal(a, b)

    def test_ou_stationary_moments_of_log_price(self):
        sigma, theta, mean = 0.35, 0.5, 2.0
        proc = _process(sigma=sigma, reversion=theta, initial=mean, mean=mean)
        x = np.log(simulate_price_path(proc, 40_000, 0, np.random.default_rng(11)))
        assert x.mean() == pytest.approx(np.log(mean), abs=0.03)
        assert x.std() == pytest.approx(sigma / np.sqrt(2 * theta), rel=0.05)


def test_market_price_and_expectation(small_scenario):
    values = [1.0, 2.0, 4.0, 8.0, 16.0]
    params = small_scenario.markets.model_copy(
        update={"cocoa": _process(process="path", values=values)}
    )
    memory = 2
    market = Market(params, n_years=6, memory=memory, rng=np.random.default_rng(0))
    assert set(market.paths) == set(PRODUCTS)
    for year in range(7):
        assert market.price("cocoa", year) == values[min(year, len(values) - 1)]
    # Before year 1 the window is years -1 and 0: both the first value.
    assert market.expectation("cocoa", 1) == (1.0, 0.0)
    # Before year 3: years 1 and 2.
    mean, cv = market.expectation("cocoa", 3)
    assert mean == pytest.approx(3.0)
    assert cv == pytest.approx(np.std([2.0, 4.0]) / 3.0)


# --------------------------------------------------------------------------- ranks


class TestRankWithinGroups:
    def test_examples(self):
        assert rank_within_groups(np.array([0, 0, 1, 1, 1, 2])).tolist() == [0, 1, 0, 1, 2, 0]
        assert rank_within_groups(np.array([5])).tolist() == [0]
        assert rank_within_groups(np.array([3, 3, 3])).tolist() == [0, 1, 2]
        assert rank_within_groups(np.array([2, 2, 0, 0, 1])).tolist() == [0, 1, 0, 1, 0]

    def test_empty(self):
        out = rank_within_groups(np.array([], dtype=np.int64))
        assert out.size == 0

    @FAST
    @given(st.lists(st.integers(-3, 6), max_size=60))
    def test_counts_earlier_members_of_the_same_run(self, groups):
        g = np.sort(np.array(groups, dtype=np.int64))
        ranks = rank_within_groups(g)
        expected = [int((g[:i] == g[i]).sum()) for i in range(g.size)]
        assert ranks.tolist() == expected


def test_regrowth_slows_with_each_reclearing_to_a_cap(default_scenario):
    """Defaults: 10 % slower per clearing after the first, at most 55 % (Heinrich
    et al. 2021): cleared 1, 2, 3, 7 and 20 times -> 1.0, 0.9, 0.8, 0.45, 0.45."""
    got = carbon.regrowth_factor(np.array([0, 1, 2, 3, 7, 20]), default_scenario)
    assert got == pytest.approx([1.0, 1.0, 0.9, 0.8, 0.45, 0.45], rel=1e-12)
    f = default_scenario.forest
    age = np.array([10])
    cover = np.array([Cover.SECONDARY_FOREST])
    slow = carbon.biomass_density(cover, age, default_scenario, np.array([3]))
    k = f.secondary_growth_rate * 0.8
    by_hand = f.secondary_agb_max_tc_per_ha * (1 - math.exp(-k * 10)) ** f.secondary_shape
    assert slow[0] == pytest.approx(by_hand * (1 + f.root_shoot_ratio), rel=1e-12)
    assert slow[0] < carbon.biomass_density(cover, age, default_scenario)[0]


@FAST
@given(seed=st.integers(0, 2**32 - 1), loss=st.floats(0.0, 0.3), cap=st.floats(0.0, 0.9))
def test_the_biomass_table_equals_the_curves_for_any_clearing_history(seed, loss, cap):
    from landsim.model.processes.biomass import BiomassTable
    from landsim.scenario import load_scenario

    sc = load_scenario(None).with_overrides(
        {"forest.regrowth_loss_per_reclearing": loss, "forest.regrowth_loss_max": cap}
    )
    rng = np.random.default_rng(seed)
    cover = rng.integers(0, 5, (20, 20)).astype(np.int8)
    age = rng.integers(0, 300, (20, 20)).astype(np.int16)
    clearings = rng.integers(0, 40, (20, 20)).astype(np.int16)
    table = BiomassTable(sc)(cover, age, clearings)
    np.testing.assert_array_equal(table, carbon.biomass_density(cover, age, sc, clearings))


# --------------------------------------------------------------------------- expectations


def test_each_farmer_weighs_the_recent_mean_against_last_years_price(small_scenario):
    """Weight 0: the recent mean (adaptive); 1: last year's price (naive); 0.5:
    half way. The perceived risk is the same for all."""
    from landsim.model import LandUseModel
    from landsim.model.processes import prices

    market = LandUseModel(small_scenario, rng=4).market
    farmers = SimpleNamespace(price_extrapolation=np.array([0.0, 0.5, 1.0]))
    state = SimpleNamespace(market=market, year=3, farmers=farmers)
    expected = prices.form_expectations(state)
    for product, (p, cv) in expected.items():
        mean, cv_market = market.expectation(product, 3)
        last = market.price(product, 2)
        assert p.tolist() == [mean, mean + 0.5 * (last - mean), last]
        assert cv == cv_market


def test_expectations_that_differ_change_the_choices(small_scenario):
    from landsim.model import LandUseModel

    same = small_scenario.with_overrides({"farmers.price_extrapolation": 0.0})
    differ = small_scenario.with_overrides(
        {"farmers.price_extrapolation": {"dist": "uniform", "low": 0.0, "high": 1.0}}
    )
    a, b = LandUseModel(same, rng=2), LandUseModel(differ, rng=2)
    a.run_for(10)
    b.run_for(10)
    assert not np.array_equal(a.landscape.cover, b.landscape.cover)


def test_each_farmer_changes_its_share_of_what_the_constraints_allow(small_scenario):
    """Sizes are the constraint-bound sizes times ``farmers.change_share``, rounded
    to whole cells: a farmer that may change anything changes at least a cell;
    abandonment still takes all exhausted land."""
    from landsim.model import LandUseModel
    from landsim.model.state import CHANGES

    model = LandUseModel(small_scenario, rng=2)
    fs, farms = model.farmers, model._survey()
    share = fs.change_share.copy()
    assert ((share >= 0.5) & (share <= 1.0)).all() and share.std() > 0
    chosen = model._sizes(farms)
    fs.change_share[:] = 1.0
    largest = model._sizes(farms)
    expected = np.maximum(np.floor(share[:, None] * largest[:, CHANGES] + 0.5), 1)
    expected[largest[:, CHANGES] == 0] = 0
    np.testing.assert_array_equal(chosen[:, CHANGES], expected)
    np.testing.assert_array_equal(chosen[:, CHANGES] > 0, largest[:, CHANGES] > 0)
    np.testing.assert_array_equal(chosen[:, Option.ABANDON], largest[:, Option.ABANDON])
    assert (chosen[:, CHANGES] < largest[:, CHANGES]).any()


class TestSupplyResponse:
    """Prices that respond to the landscape's supply (``supply_flexibility``) and
    prices fixed to a realised path (``realised_prices``)."""

    @staticmethod
    def market(default_scenario, **monocrop):
        markets = default_scenario.with_overrides(
            {f"markets.monocrop.{k}": v for k, v in monocrop.items()}
        ).markets
        return Market(markets, 10, 3, np.random.default_rng(5))

    def test_exogenous_prices_keep_their_precomputed_expectations(self, default_scenario):
        from landsim.market import expectations

        m = self.market(default_scenario)
        assert not m.responds_to_supply and m.realised == {}
        mean, cv = expectations(m.paths["monocrop"], 3)
        assert m.expectation("monocrop", 4) == (float(mean[4]), float(cv[4]))

    def test_price_falls_with_supply(self, default_scenario):
        m = self.market(default_scenario, supply_flexibility=1.0)
        path = m.paths["monocrop"]
        m.set_supply(1, {"monocrop": 100.0, "beef": 1.0})
        m.set_supply(2, {"monocrop": 50.0, "beef": 1.0})  # half the supply: twice the price
        assert m.price("monocrop", 1) == path[3 + 1]
        assert m.price("monocrop", 2) == path[3 + 2] * 2.0
        assert m.price("beef", 2) == m.paths["beef"][3 + 2]  # flexibility 0: exogenous
        window = np.array([path[3], path[4], path[5] * 2.0])
        assert m.expectation("monocrop", 3) == (
            float(window.mean()),
            float(window.std() / window.mean()),
        )

    def test_realised_prices_replace_the_process(self, default_scenario):
        m = self.market(default_scenario, supply_flexibility=1.0, realised_prices=[70.0, 80.0])
        assert not m.responds_to_supply  # fixed prices do not respond
        path = m.paths["monocrop"]
        assert m.price("monocrop", 0) == path[3]  # history and year 0: the process's
        assert [m.price("monocrop", t) for t in (1, 2, 10)] == [70.0, 80.0, 80.0]
