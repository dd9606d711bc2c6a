"""The faster paths of the yearly step give what the plain computations give."""

from __future__ import annotations

import numpy as np
import pytest

from landsim.model import LandUseModel
from landsim.model.ownership import Ownership
from landsim.model.processes import labour

INDEX = ("changeable", "farm_of", "may_clear", "owned", "owned_farm")


def assert_same_index(kept: Ownership, fresh: Ownership) -> None:
    for name in INDEX:
        a, b = getattr(kept, name), getattr(fresh, name)
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert a.dtype == b.dtype, name
    if fresh.owned_changeable is None:
        assert kept.owned_changeable is None
    else:
        np.testing.assert_array_equal(kept.owned_changeable, fresh.owned_changeable)


@pytest.mark.parametrize("seed", [0, 3])
def test_the_kept_ownership_index_takes_settlers_lots_as_a_fresh_one(default_scenario, seed):
    """Settlers arrive almost every year of the default scenario: the index kept
    across years equals one built from the layers, every year."""
    model = LandUseModel(default_scenario, rng=seed)
    before, index = model.farmers.n, model._ownership
    for _ in range(12):
        model.step()
        ls, can_change = model.landscape, model.params.landscape.protected_can_change
        assert model._ownership.matches(ls, can_change)
        assert_same_index(model._ownership, Ownership(ls, can_change))
    assert model.farmers.n > before
    assert model._ownership is index  # kept, not rebuilt when settlers arrived


def test_an_ownership_edit_other_than_new_lots_rebuilds_the_index(small_scenario):
    model = LandUseModel(small_scenario, rng=1)
    model.step()
    ls = model.landscape
    kept = model._ownership
    owned = np.flatnonzero(ls.owner.ravel() >= 0)
    ls.owner.ravel()[owned[:3]] = 0 if ls.owner.ravel()[owned[0]] != 0 else 1  # a transfer
    assert not kept.matches(ls, model.params.landscape.protected_can_change)
    model.step()
    assert model._ownership is not kept


def test_labour_cap_with_one_cost_equals_the_cap_with_a_cost_per_farm():
    rng = np.random.default_rng(2)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        balance = labour.LabourBalance(
            free_days=rng.choice([0.0, 5.0, 120.0], n) * rng.random(n),
            hireable_days=rng.random(n) * rng.choice([0.0, 100.0]),
            cash_usd=rng.random(n) * rng.choice([0.0, 50.0, 5000.0]),
        )
        extra = float(rng.choice([-3.0, 0.0, 0.5, 12.0, 80.0]))
        cost = float(rng.choice([-10.0, 0.0, 35.0, 900.0]))
        wage = float(rng.choice([0.0, 10.0]))
        scalar = labour.labour_cap(extra, cost, balance, wage)
        per_farm = labour.labour_cap(extra, np.full(n, cost), balance, wage)
        np.testing.assert_array_equal(scalar, per_farm)
        assert scalar.dtype == per_farm.dtype


@pytest.mark.parametrize("seed", range(6))
def test_the_window_search_finds_the_lot_a_whole_raster_scan_finds(seed):
    """The nearest open cells to a seed, ties in raster order, found in a growing
    window around it are those a stable sort of every open cell's distance gives."""
    from landsim.model.processes.settlers import _nearest_open

    rng = np.random.default_rng(seed)
    height, width = rng.integers(5, 60, size=2)
    free = rng.random((height, width)) < rng.uniform(0.05, 0.9)
    free.ravel()[rng.integers(free.size)] = True
    seed_cell = int(rng.choice(np.flatnonzero(free)))
    for size in (1, 4, 40, free.size):
        cells, d2 = _nearest_open(free, seed_cell, size)
        window = np.sort(cells[np.argsort(d2, kind="stable")[:size]])
        everything = np.flatnonzero(free)
        dy = everything // width - seed_cell // width
        dx = everything % width - seed_cell % width
        scan = np.sort(everything[np.argsort(dy * dy + dx * dx, kind="stable")[:size]])
        np.testing.assert_array_equal(window, scan)


def test_neighbours_of_new_farms_alone_are_their_rows_of_everyones():
    from landsim.agents import find_neighbours

    rng = np.random.default_rng(1)
    owner = rng.integers(-1, 30, size=(40, 40))
    everyone = find_neighbours(owner, 30, 6)
    np.testing.assert_array_equal(find_neighbours(owner, 30, 6, first=24), everyone[24:])
