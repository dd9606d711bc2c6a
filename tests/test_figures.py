"""Figures and printed tables: many series told apart, readable sensitivity figures,
tables that fit a terminal (landsim.display, report, landsim.plot)."""

from __future__ import annotations

import itertools
import re
import warnings

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from landsim.batch import run_batch
from landsim.display import (
    MAX_SERIES,
    fmt,
    fmt_column,
    indicator_label,
    series_styles,
    spread_positions,
)
from landsim.experiment import Experiment
from landsim.report import summarize_batch
from landsim.sensitivity import SensitivityAnalysis

matplotlib.use("Agg")


@pytest.fixture
def saved_figures(monkeypatch):
    """The figures saved while the test runs (Figure.savefig still writes)."""
    figures: list[Figure] = []
    original = Figure.savefig

    def savefig(self, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return figures


def line_styles(ax) -> list[tuple]:
    """(colour, dash pattern, marker) of each line of an axes, the 1:1 guides left out."""
    return [
        (
            matplotlib.colors.to_hex(line.get_color()),
            line.get_linestyle(),
            line.get_marker() if line.get_marker() not in (None, "None", "") else None,
        )
        for line in ax.get_lines()
        if line.get_label() and not line.get_label().startswith("_")
    ]


def overlapping(boxes) -> list[tuple[int, int]]:
    pairs = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            if boxes[i].overlaps(boxes[j]):
                pairs.append((i, j))
    return pairs


# --------------------------------------------------------------------------- display rules


@pytest.mark.parametrize("n", [1, 10, 12, 18, 41, MAX_SERIES])
def test_series_styles_are_distinct(n):
    styles = series_styles(n)
    keys = {(s["color"], s["linestyle"], s["marker"]) for s in styles}
    assert len(keys) == n
    if n <= 10:  # few series: colour alone, solid lines
        assert {s["linestyle"] for s in styles} == {"-"}


def test_series_styles_refuse_more_than_can_be_told_apart():
    with pytest.raises(ValueError, match="cannot be told apart"):
        series_styles(MAX_SERIES + 1)


def test_spread_positions_keep_order_and_gap():
    values = [0.50, 0.51, 0.49, 0.9, 0.0, 0.505]
    placed = spread_positions(values, gap=0.1, low=0.0, high=1.0)
    order = sorted(range(len(values)), key=lambda i: values[i])
    ys = [placed[i] for i in order]
    assert all(b - a >= 0.1 - 1e-12 for a, b in itertools.pairwise(ys))
    assert min(placed) >= 0.0 and max(placed) <= 1.0
    # Already spread values do not move.
    assert spread_positions([0.0, 0.5, 1.0], gap=0.1) == [0.0, 0.5, 1.0]


def test_numbers_print_alike():
    assert fmt(float("nan")) == fmt(None) == "n/a"
    assert fmt(0.0) == "0"
    assert fmt(1234567.8) == "1,234,568"
    assert fmt_column([42.0, 3.88, 130.5], like=[42.0]) == ["42.00", "3.88", "130.50"]
    assert fmt_column([1500.0, float("nan"), 0.0]) == ["1,500", "n/a", "0"]


def test_indicator_labels_carry_units():
    assert indicator_label("carbon_stock_tc") == "carbon stock (tC)"
    assert indicator_label("income_mean_usd@mean") == (
        "mean farm income (USD/farm/yr), mean over years"
    )
    assert indicator_label("net_emissions_tco2e@sum") == "net emissions (tCO2e), sum over years"
    assert indicator_label("forest_area_ha@10") == "forest area, primary + secondary (ha), year 10"
    assert indicator_label("something_new_usd") == "something new (USD)"


# --------------------------------------------------------------------------- summarize


@pytest.fixture(scope="module")
def batch12(tmp_path_factory, default_scenario):
    """A batch of 12 groups (a 3 x 4 grid), one replicate each, 3 years."""
    small = default_scenario.with_overrides(
        {
            "landscape.width": 40,
            "landscape.height": 40,
            "landscape.n_farms": 8,
            "landscape.lot_depth_km": 0.5,
            "years": 3,
        }
    )
    points = [
        {"markets.cocoa.mean": c, "farmers.savings_rate": s}
        for c in (1.5, 2.0, 3.0)
        for s in (0.1, 0.2, 0.3, 0.4)
    ]
    experiment = Experiment.from_dict(
        {
            "name": "grid12",
            "seed": 5,
            "replicates": 2,
            "scenarios": {"small": small},
            "points": points,
            "outputs": {
                "scalars": [
                    "forest_area_ha",
                    "cumulative_deforestation_ha",
                    "carbon_stock_tc",
                    "income_mean_usd@mean",
                    "income_gini",
                    "net_emissions_tco2e@sum",
                ]
            },
        }
    )
    out = tmp_path_factory.mktemp("batch") / "b"
    run_batch(experiment, out=out, workers=1)
    return summarize_batch(out)


def test_summarize_trajectories_tell_twelve_groups_apart(batch12, saved_figures, tmp_path):
    assert len(batch12.groups) == 12
    batch12.plot_trajectories(tmp_path / "t.png")
    (fig,) = saved_figures
    for ax in (a for a in fig.axes if a.get_visible() and a.get_lines()):
        styles = line_styles(ax)
        assert len(styles) == 12
        assert len(set(styles)) == 12, "two groups share colour and line style"
        assert ax.get_ylabel() and ax.get_xlabel() == "year"
    # The legend shows each group once, with its style.
    (legend,) = fig.legends
    assert len(legend.get_lines()) == 12


def test_summarize_table_fits_a_terminal_and_keeps_every_value(batch12):
    text = batch12.format()
    assert max(len(line) for line in text.splitlines()) <= 100
    final = batch12.final
    for group in batch12.groups["group"]:
        assert group in text
    for variable in set(final["variable"]):
        assert indicator_label(variable) in text
    # Every mean is printed (in the decimals of its block).
    assert len(re.findall(r"\bn=2\b", text)) == len(final)
    assert "nan" not in text.lower().replace("n/a", "")


def test_summarize_names_groups_by_key_when_their_labels_are_too_long(batch12):
    text = batch12.format(width=60)
    assert "groups:" in text and "  G12  " in text
    assert max(len(line) for line in text.splitlines()) <= 60


# --------------------------------------------------------------------------- sensitivity

#: 18 factors with the names of real scenario keys (a function stands in for the model).
FACTORS18 = [
    "monocrop.yield_t_per_ha",
    "markets.cocoa.mean",
    "markets.cocoa.sigma",
    "markets.carbon.values.0",
    "farmers.discount_rate.high",
    "cocoa_agroforestry.mature_yield_kg_per_ha",
    "cocoa_agroforestry.establishment_cost_usd_per_ha",
    "programmes.0.end_year",
    "monocrop.fertility_depletion_rate",
    "decision.planning_horizon_years",
    "decision.logit_scale",
    "farmers.savings_usd.mean",
    "forest.clearing_cost_usd_per_ha",
    "forest.secondary_growth_rate",
    "silvopasture.establishment_cost_usd_per_ha",
    "programmes.0.detection_probability",
    "programmes.0.carbon_payment.farmer_share",
    "decision.imitation_weight",
]
OUTPUTS = ["cumulative_deforestation_ha", "carbon_stock_tc@mean"]


def model18(p):
    x = np.array([p[n] for n in FACTORS18])
    w = np.linspace(2, 0.05, len(FACTORS18))
    y = float((w * x).sum() + 0.8 * x[0] * x[1])
    return {OUTPUTS[0]: 1000 * y, OUTPUTS[1]: 5e6 + 1e5 * float((w[::-1] * x**2).sum())}


def analysis18(method: str, n: int) -> SensitivityAnalysis:
    sa = SensitivityAnalysis(
        {k: [0.0, 1.0] for k in FACTORS18}, method, n, OUTPUTS, seed=4, model=model18, name="f18"
    )
    with warnings.catch_warnings():  # a small n is warned about (see test_sensitivity)
        warnings.simplefilter("ignore")
        sa.sample().evaluate(workers=1).analyze()
    return sa


@pytest.fixture(scope="module")
def sobol18():
    return analysis18("sobol", 64)


@pytest.fixture(scope="module")
def morris18():
    return analysis18("morris", 6)


def test_convergence_plot_tells_eighteen_factors_apart(sobol18, saved_figures, tmp_path):
    from landsim.plot.sensitivity import plot_convergence

    plot_convergence(sobol18, tmp_path / "c.png")
    (fig,) = saved_figures
    panels = [a for a in fig.axes if a.get_visible()]
    assert len(panels) == len(OUTPUTS)
    for ax in panels:
        styles = line_styles(ax)
        assert len(styles) == 18
        assert len(set(styles)) == 18, "two factors share colour and line style"
    # A factor keeps its style from panel to panel.
    assert line_styles(panels[0]) == line_styles(panels[1])
    # The x axis names the sample sizes themselves.
    labels = [t.get_text() for t in panels[0].get_xticklabels()]
    assert labels == ["16", "32", "64"]
    assert panels[0].get_xlabel() == "base samples (N)"


def rendered(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def test_index_figure_has_readable_titles_labels_and_ticks(sobol18, saved_figures, tmp_path):
    from landsim.plot.sensitivity import plot_indices

    plot_indices(sobol18, tmp_path / "i.png")
    (fig,) = saved_figures
    renderer = rendered(fig)
    panels = [a for a in fig.axes if a.get_visible()]
    titles = [a.get_title() for a in panels]
    assert titles == [
        "cumulative clearing of primary forest (ha)",
        "carbon stock (tC), mean over years",
    ]
    for ax in panels:
        assert ax.get_xlabel()
        for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
            boxes = [t.get_window_extent(renderer) for t in ticks if t.get_text()]
            assert not overlapping(boxes), "tick labels collide"
    # No panel's tick labels run into another panel.
    boxes = [ax.get_tightbbox(renderer) for ax in panels]
    assert not overlapping(boxes)


def test_morris_labels_do_not_overlap(morris18, saved_figures, tmp_path):
    from landsim.plot import sensitivity as sensitivity_plots

    most = getattr(sensitivity_plots, "MORRIS_LABELS", 8)

    sensitivity_plots.plot_morris(morris18, tmp_path / "m.png")
    (fig,) = saved_figures
    renderer = rendered(fig)
    for ax in (a for a in fig.axes if a.get_visible()):
        texts = [t for t in ax.texts if t.get_text()]
        assert 0 < len(texts) <= most
        # The text itself (an annotation's own extent includes its leader line).
        boxes = [Text.get_window_extent(t, renderer) for t in texts]
        assert not overlapping(boxes), "Morris labels overlap"
        assert "(tC)" in ax.get_title() or "(ha)" in ax.get_title()
        assert ax.get_xlabel().startswith("mu*") and ax.get_ylabel().startswith("sigma")
        # Value ticks in a compact format (5,000,000 tC would collide).
        for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
            boxes = [t.get_window_extent(renderer) for t in ticks if t.get_text()]
            assert not overlapping(boxes)


def test_a_small_sample_is_flagged_on_the_index_figure(saved_figures, tmp_path):
    from landsim.plot.sensitivity import plot_indices

    def model(p):
        return {OUTPUTS[0]: p["a"] + 2 * p["b"] * p["c"], OUTPUTS[1]: p["a"] ** 2}

    sa = SensitivityAnalysis(
        {k: [0.0, 1.0] for k in "abc"}, "sobol", 8, OUTPUTS, seed=4, model=model
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sa.sample().evaluate(workers=1).analyze()
    plot_indices(sa, tmp_path / "i.png")
    (fig,) = saved_figures
    title = fig.get_suptitle()
    assert "warning: N = 8 is too small" in title and "warnings.txt" in title
