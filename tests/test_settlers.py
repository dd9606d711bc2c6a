"""Settlers (ODD 7.0): the arrival rate, the lots they claim (hand-worked), that they
never claim protected or owned land, and the reference's equal results."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SETTLERS
from landsim.landscape import NO_OWNER, Cover, Landscape
from landsim.model import LandUseModel
from landsim.model.processes import settlers
from landsim.model.state import Option
from landsim.reference import ReferenceModel
from test_reference import assert_same_run


def params(small_scenario, **changes):
    return small_scenario.settlers.model_copy(update=changes)


def test_the_arrival_rate(small_scenario):
    p = params(
        small_scenario,
        arrivals_per_farm_per_year=0.02,
        reference_rent_usd_per_ha=200.0,
        rent_elasticity=2.0,
    )
    # 0.02 x 100 farms x (300 / 200) ** 2 = 4.5; the first year has no rent yet.
    assert settlers.expected_arrivals(300.0, 100, p) == pytest.approx(4.5)
    assert settlers.expected_arrivals(None, 100, p) == pytest.approx(2.0)
    assert settlers.expected_arrivals(-50.0, 100, p) == 0.0


def test_land_rent_is_the_mean_best_clearing_value_where_positive():
    values = np.zeros((3, len(Option)))
    values[0, [Option.CLEAR, Option.PASTURE]] = [100.0, 300.0]
    values[1, Option.COCOA_ON_CLEARED] = 600.0
    values[1, Option.COCOA_AGROFORESTRY] = 5000.0  # not a clearing option
    values[2, [Option.CLEAR, Option.PASTURE, Option.COCOA_ON_CLEARED]] = -10.0
    assert settlers.land_rent(values) == pytest.approx((300.0 + 600.0 + 0.0) / 3)


def tiny_landscape() -> Landscape:
    """5 x 5 cells of 1 ha: farm 0 owns the left column, a road fronts row 2,
    cell (0, 4) is protected and (4, 4) claimable by farm 0."""
    shape = (5, 5)
    owner = np.full(shape, NO_OWNER, dtype=np.int32)
    owner[:, 0] = 0
    road = np.zeros(shape, dtype=bool)
    road[2, :] = True
    protected = np.zeros(shape, dtype=bool)
    protected[0, 4] = True
    claim = np.full(shape, NO_OWNER, dtype=np.int32)
    claim[4, 4] = 0
    return Landscape(
        cover=np.zeros(shape, dtype=np.int8),
        age=np.zeros(shape, dtype=np.int16),
        fertility=np.ones(shape),
        owner=owner,
        protected=protected,
        road=road,
        road_distance_km=np.zeros(shape, dtype=np.float32),
        claim=claim,
        cell_size_ha=1.0,
    )


def test_a_lot_worked_by_hand(small_scenario):
    """Road cells (2, 1)-(2, 4) are open; the seed drawn is the third, (2, 3). The 4
    open cells nearest it: (2, 3) itself, then at distance 1 (1, 3), (2, 2), (2, 4)
    (raster order), then (3, 3) at distance 1 is fifth and not taken."""
    ls = tiny_landscape()
    p = params(small_scenario, lot_size_ha=4.0)

    class Draws:
        def integers(self, n):
            assert n == 4
            return 2

    (lot,) = settlers.lay_out_lots(ls, 1, p, False, Draws())
    width = ls.shape[1]
    assert [divmod(int(c), width) for c in lot] == [(1, 3), (2, 2), (2, 3), (2, 4)]


def test_settlers_never_claim_owned_claimed_or_protected_land(small_scenario):
    ls = tiny_landscape()
    ls.cover[1, 1] = Cover.SECONDARY_FOREST
    p = params(small_scenario, lot_size_ha=30.0)  # more than there is
    lots = settlers.lay_out_lots(ls, 3, p, False, np.random.default_rng(0))
    taken = np.concatenate(lots)
    assert len(lots) == 1 and taken.size == 25 - 5 - 1 - 1 - 1
    flat = {name: getattr(ls, name).ravel() for name in ("owner", "claim", "protected", "cover")}
    assert (flat["owner"][taken] == NO_OWNER).all() and (flat["claim"][taken] == NO_OWNER).all()
    assert not flat["protected"][taken].any()
    assert (flat["cover"][taken] == Cover.PRIMARY_FOREST).all()
    # Where protected land may change, the reserve cell is open too.
    lots = settlers.lay_out_lots(ls, 1, p, True, np.random.default_rng(0))
    assert 4 in lots[0]


def test_no_arrivals_when_the_rate_is_zero(small_scenario):
    model = LandUseModel(small_scenario, rng=2)
    model.run_for(small_scenario.years)
    assert model.farmers.n == 20 and model.yearly_table()["settlers_arrived"].sum() == 0


@pytest.mark.parametrize("seed", [1, 6])
def test_settlers_match_the_reference(small_scenario, seed):
    scenario = small_scenario.with_overrides({**SETTLERS, "years": 8})
    fast = LandUseModel(scenario, rng=seed)
    fast.run_for(scenario.years)
    reference = ReferenceModel(scenario, rng=seed)
    reference.run_for(scenario.years)
    assert fast.yearly_table()["settlers_arrived"].sum() > 0
    assert len(fast.agents) == fast.farmers.n == len(reference.farmers)
    assert_same_run(fast, reference)


def test_settlers_with_a_programme_match_the_reference(small_scenario):
    from test_reference import programme

    scenario = small_scenario.with_overrides(
        {**SETTLERS, "programmes": [programme()], "settlers.tenure_value_usd_per_ha": 150.0}
    )
    fast = LandUseModel(scenario, rng=3)
    fast.run_for(scenario.years)
    reference = ReferenceModel(scenario, rng=3)
    reference.run_for(scenario.years)
    assert fast.yearly_table()["settlers_arrived"].sum() > 0
    assert_same_run(fast, reference)
