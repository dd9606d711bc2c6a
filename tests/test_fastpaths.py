"""Fast paths of the yearly step agree with the plain numpy operations they replace."""

from __future__ import annotations

import numpy as np
import pytest

from landsim.landscape import lexsort_groups
from landsim.model import LandUseModel, argsort_stable


@pytest.mark.parametrize("ties", [False, True])
def test_argsort_stable_equals_numpy_stable_sort(ties):
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(0, 60))
        values = rng.integers(0, 5, n).astype(float) if ties else rng.random(n)
        if ties and n:
            values[rng.integers(0, n)] = np.nan
        np.testing.assert_array_equal(argsort_stable(values), np.argsort(values, kind="stable"))


def test_lexsort_groups_equals_lexsort():
    rng = np.random.default_rng(4)
    for _ in range(200):
        n = int(rng.integers(1, 80))
        groups = rng.integers(0, 6, n)
        key = rng.integers(0, 4, n).astype(float)
        uniforms = rng.random(n)
        if rng.random() < 0.3:  # force equal folded keys now and then
            uniforms[: n // 2] = uniforms[0]
        np.testing.assert_array_equal(
            lexsort_groups(groups, key, uniforms), np.lexsort((uniforms, key, groups))
        )


@pytest.mark.parametrize("margin", [12, 0])
def test_windowed_distance_equals_the_whole_raster_transform(small_scenario, margin, monkeypatch):
    """margin 0 makes the window too small for some cells: the fallback must agree."""
    monkeypatch.setattr(LandUseModel, "FIELD_DISTANCE_MARGIN", margin)
    model = LandUseModel(small_scenario, rng=5)
    rng = np.random.default_rng(0)
    for _ in range(3):
        model.step()
        full = model._distance_to_fields()
        forest = np.flatnonzero(full > 0)
        for size in (1, 10, forest.size):
            cells = np.sort(rng.choice(forest, size=min(size, forest.size), replace=False))
            np.testing.assert_array_equal(model._field_distance(cells), full[cells])
