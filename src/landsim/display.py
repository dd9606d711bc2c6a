"""How landsim shows numbers, indicators and many series (one home for each rule).

* :func:`fmt` prints a number the same way in every table (``n/a`` for a missing
  value, thousands separators, no ``0.00``).
* :func:`indicator_label` turns an output column (``"carbon_stock_tc@mean"``) into
  a title with its unit (``"carbon stock (tC), mean over years"``).
* :func:`series_styles` gives each of ``n`` series of one figure a distinct
  colour and line style (matplotlib's cycle repeats its 10 colours), and
  :func:`spread_positions` moves labels apart so they do not overlap.

Nothing here imports matplotlib.
"""

from __future__ import annotations

import math

#: Known output columns: label and unit (docs/ODD.md, "Outputs").
INDICATORS: dict[str, tuple[str, str]] = {
    "area_primary_forest_ha": ("primary forest", "ha"),
    "area_secondary_forest_ha": ("secondary forest (regrowth)", "ha"),
    "area_monocrop_ha": ("annual crops", "ha"),
    "area_cocoa_agroforestry_ha": ("cocoa agroforestry", "ha"),
    "area_silvopasture_ha": ("silvopasture", "ha"),
    "forest_area_ha": ("forest area, primary + secondary", "ha"),
    "deforestation_ha": ("primary forest cleared", "ha/yr"),
    "cumulative_deforestation_ha": ("cumulative clearing of primary forest", "ha"),
    "carbon_stock_tc": ("carbon stock", "tC"),
    "biomass_carbon_tc": ("biomass carbon", "tC"),
    "soil_carbon_tc": ("soil carbon", "tC"),
    "removals_tco2e": ("removals", "tCO2e/yr"),
    "emissions_tco2e": ("emissions", "tCO2e/yr"),
    "net_emissions_tco2e": ("net emissions", "tCO2e/yr"),
    "income_mean_usd": ("mean farm income", "USD/farm/yr"),
    "income_median_usd": ("median farm income", "USD/farm/yr"),
    "income_p10_usd": ("farm income, 10th percentile", "USD/farm/yr"),
    "income_poorest20_usd": ("mean income of the poorest 20 %", "USD/farm/yr"),
    "income_gini": ("income Gini", "0-1"),
    "savings_mean_usd": ("mean savings", "USD/farm"),
    "knowledge_mean": ("mean knowledge of the new systems", "0-1"),
    "enrolled_farms": ("farms enrolled", "farms"),
    "payments_to_farmers_usd": ("payments to farmers", "USD/yr"),
    "programme_cost_usd": ("programme cost", "USD/yr"),
    "programme_spent_usd": ("programme spending, cumulative", "USD"),
    "budget_remaining_usd": ("programme budget remaining", "USD"),
    # outputs of a sensitivity analysis against a counterfactual
    "avoided_deforestation_ha": ("avoided deforestation", "ha"),
    "additional_carbon_tco2e": ("additional carbon", "tCO2e"),
    "cost_per_tco2e": ("cost per additional tCO2e", "USD/tCO2e"),
}

#: Units read from a column's suffix when it is not in :data:`INDICATORS`.
SUFFIX_UNITS = {
    "_ha": "ha",
    "_tc": "tC",
    "_tco2e": "tCO2e",
    "_usd": "USD",
    "_usd_per_kg": "USD/kg",
    "_usd_per_t": "USD/t",
    "_usd_per_tco2e": "USD/tCO2e",
}

#: What ``column@stat`` means (see landsim.experiment.parse_scalar).
STATS = {
    "final": "at the end",
    "sum": "sum over years",
    "mean": "mean over years",
    "min": "minimum over years",
    "max": "maximum over years",
}


def indicator_label(name: str, unit: bool = True) -> str:
    """A readable title for an output column, with its unit in brackets."""
    column, _, stat = name.partition("@")
    if column in INDICATORS:
        label, units = INDICATORS[column]
    else:
        label, units = column, ""
        for suffix in sorted(SUFFIX_UNITS, key=len, reverse=True):
            if column.endswith(suffix):
                label, units = column.removesuffix(suffix), SUFFIX_UNITS[suffix]
                break
        label = label.replace("_", " ")
    if stat == "sum":  # a sum over years of a yearly rate is an amount
        units = units.removesuffix("/yr")
    text = f"{label} ({units})" if unit and units else label
    if stat:
        text += ", " + (STATS.get(stat) or f"year {stat}")
    return text


def label_and_unit(name: str) -> tuple[str, str]:
    """An output column's label and unit apart (for a panel title and its y axis)."""
    text = indicator_label(name.partition("@")[0])
    if text.endswith(")") and " (" in text:
        label, _, unit = text.rpartition(" (")
        return label, unit[:-1]
    return text, ""


def thousands(axis) -> None:
    """Tick labels with thousands separators (7,500,000, not 7.5 with a 1e6 offset)."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(
        FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:g}")
    )


def fmt(value, digits: int | None = None) -> str:
    """One number for a table: ``n/a`` if missing, ``0`` for zero, thousands
    separators from 100 up, 2 decimals from 1 and 3 significant digits below (or
    ``digits`` decimals when given)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(v):
        return "n/a"
    if digits is not None:
        return f"{v:,.{digits}f}"
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:,.2f}"
    return f"{v:.3g}"


def decimals_for(values) -> int:
    """Decimals that print a column of numbers alike: 0 when the largest magnitude
    is at least 100, 2 from 1, else enough for 3 significant digits of it."""
    finite = [abs(float(v)) for v in values if v is not None and math.isfinite(float(v))]
    top = max(finite, default=0.0)
    if top >= 100 or top == 0:
        return 0
    if top >= 1:
        return 2
    return min(6, 2 - math.floor(math.log10(top)))


def fmt_column(values, like=None) -> list[str]:
    """:func:`fmt` with one number of decimals for the whole column (see
    :func:`decimals_for`; decided by ``like`` when given, e.g. the means of a
    column of intervals); zero stays ``0`` and missing values ``n/a``."""
    values = list(values)
    digits = decimals_for(values if like is None else list(like))
    return ["0" if _is_zero(v) else fmt(v, digits) for v in values]


def _is_zero(value) -> bool:
    try:
        return float(value) == 0
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- many series

#: Colours of the series: matplotlib's default cycle ("tab10").
COLOURS = tuple(f"C{i}" for i in range(10))
#: Line styles, used in turn once the colours run out.
LINESTYLES = ("-", "--", ":", "-.")
#: Markers, used in turn once colour x line style runs out.
MARKERS = ("o", "s", "^", "v", "D", "x", "+")
#: Most series a figure may draw: every one has a distinct (colour, style, marker).
MAX_SERIES = len(COLOURS) * len(LINESTYLES) * (len(MARKERS) + 1)


def series_styles(n: int) -> list[dict]:
    """Distinct matplotlib line styles for ``n`` series of one figure.

    Up to 10 series differ by colour alone (solid lines); beyond, series ``i``
    takes colour ``i % 10`` and line style ``i // 10`` (solid, dashed, dotted,
    dash-dot), so no two share colour and style; beyond 40, markers as well. Each
    entry holds ``color``, ``linestyle`` and ``marker`` (None when unused).

    Raises
    ------
    ValueError
        For more than :data:`MAX_SERIES` series: facet the figure instead.
    """
    if n > MAX_SERIES:
        raise ValueError(f"{n} series cannot be told apart in one figure (at most {MAX_SERIES})")
    per = len(COLOURS) * len(LINESTYLES)
    styles = []
    for i in range(n):
        marker = None if i < per else MARKERS[i // per - 1]
        styles.append(
            {
                "color": COLOURS[i % len(COLOURS)],
                "linestyle": LINESTYLES[(i // len(COLOURS)) % len(LINESTYLES)],
                "marker": marker,
            }
        )
    return styles


def spread_positions(
    values, gap: float, low: float | None = None, high: float | None = None, keys=None
):
    """Move ``values`` (label positions along one axis) the least so that any two
    are at least ``gap`` apart, keeping their order (or the order of ``keys``, e.g.
    to uncross leader lines), within [low, high] when given. Returns a list in the
    order of ``values``."""
    values = [float(v) for v in values]
    if not values:
        return []
    keys = values if keys is None else [float(k) for k in keys]
    order = sorted(range(len(values)), key=lambda i: keys[i])
    pos = [values[i] for i in order]
    if low is not None:
        pos[0] = max(pos[0], low)
    for k in range(1, len(pos)):  # push up
        pos[k] = max(pos[k], pos[k - 1] + gap)
    if high is not None and pos[-1] > high:  # then push down from the top
        pos[-1] = high
        for k in range(len(pos) - 2, -1, -1):
            pos[k] = min(pos[k], pos[k + 1] - gap)
    out = [0.0] * len(values)
    for k, i in enumerate(order):
        out[i] = pos[k]
    return out
