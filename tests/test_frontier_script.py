"""benchmarks/frontier.py measures what it says, on the small test landscape."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "frontier.py"
SEEDS, YEARS = 2, 5


def load_script():
    spec = importlib.util.spec_from_file_location("frontier_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


frontier = load_script()


@pytest.fixture(scope="module")
def runs(small_scenario):
    return frontier.run_replicates(small_scenario, SEEDS, YEARS)


def hand_counted_frontier_rate(scenario, rng) -> float:
    """The frontier rate counted cell by cell in plain Python, from the layers of a
    fresh run of the same replicate."""
    from landsim.model import LandUseModel

    model = LandUseModel(scenario, rng=rng)
    ls = model.landscape
    frontier_cells = [
        (y, x)
        for y in range(ls.shape[0])
        for x in range(ls.shape[1])
        if (ls.owner[y, x] >= 0 or ls.claim[y, x] >= 0) and not ls.protected[y, x]
    ]
    rates = []
    for _ in range(YEARS):
        before = model.landscape.cover.copy()
        model.step()
        after = model.landscape.cover
        primary = [c for c in frontier_cells if before[c] == 0]
        lost = [c for c in primary if after[c] != 0]
        if primary:
            rates.append(len(lost) / len(primary))
    return 100 * sum(rates) / len(rates)


def test_frontier_rate_matches_a_count_cell_by_cell(small_scenario, runs):
    rate = frontier.loss_rate(runs[1].forest_start["frontier"], runs[1].forest_lost["frontier"])
    assert 0 <= rate <= 100
    stream = frontier.replicate_streams(small_scenario.seed, SEEDS)[1]
    assert rate == pytest.approx(hand_counted_frontier_rate(small_scenario, stream), abs=1e-12)
    # Clearing happens on these 5 years of the small landscape: the test measures something.
    assert sum(r.forest_lost["frontier"].sum() for r in runs) > 0


def test_landscape_rate_agrees_with_the_yearly_table(runs):
    for run in runs:
        table = run.yearly
        start = table["area_primary_forest_ha"].to_numpy()[:-1]
        cleared = table["deforestation_ha"].to_numpy()[1:]
        by_table = 100 * np.mean(cleared / start)
        by_layers = frontier.loss_rate(run.forest_start["landscape"], run.forest_lost["landscape"])
        assert by_layers == pytest.approx(by_table, rel=1e-12)
        # Frontier cells are a subset of the landscape.
        assert (run.forest_lost["frontier"] <= run.forest_lost["landscape"]).all()


def test_cover_at_the_end_adds_up_to_the_landscape(small_scenario, runs):
    cover = frontier.measure_cover(runs)
    area = small_scenario.landscape.width * small_scenario.landscape.height
    assert cover["landscape_ha"] == pytest.approx(area * small_scenario.landscape.cell_size_ha)
    assert cover["total"].low == pytest.approx(cover["landscape_ha"])
    assert cover["total"].high == pytest.approx(cover["landscape_ha"])
    assert sum(cover["largest"].values()) == SEEDS
    assert all(name not in ("primary_forest", "secondary_forest") for name in cover["largest"])


def test_a_variant_the_schema_rejects_is_skipped_with_a_note(small_scenario, capsys):
    built, skipped = frontier.build_variants(
        small_scenario,
        [("no such key", {"labour_market.enabled": False}), ("ok", {"markets.cocoa.mean": 3.0})],
    )
    assert list(built) == ["ok"]
    assert built["ok"].markets.cocoa.mean == 3.0
    assert len(skipped) == 1 and "labour_market" in skipped[0]
    assert "skipped" in capsys.readouterr().err


def test_the_same_variant_twice_differs_by_nothing(small_scenario, runs):
    """Common random numbers: a variant equal to the base runs exactly the same."""
    again = frontier.run_replicates(small_scenario.with_overrides({}), SEEDS, YEARS)
    effect = frontier.measure_price_effect({"a": runs, "b": again}, contrast=("a", "b"))
    assert effect["difference"].mean == 0 and effect["difference"].high == 0


def test_the_section_is_written_between_its_markers(small_scenario, tmp_path):
    results = frontier.measure(SEEDS, YEARS, early=2, scenarios={"default": small_scenario})
    text = frontier.render(results, "python benchmarks/frontier.py --test")
    assert "| quantity | observed (source) | landsim (mean [2.5-97.5 %]) | inside band? |" in text
    assert "primary-forest loss on frontier cells" in text
    sys.path.insert(0, str(SCRIPT.parent))
    from docsections import replace_section

    out = tmp_path / "validation.md"
    out.write_text("# Validation\n\nhand-written text\n", encoding="utf-8")
    replace_section(out, frontier.SECTION, text)
    replace_section(out, frontier.SECTION, text)  # rewriting keeps one section
    written = out.read_text(encoding="utf-8")
    assert written.count("<!-- section:frontier:start -->") == 1
    assert "hand-written text" in written
