"""Permanence accounting of a programme against its counterfactual: additional
carbon by pool, the reversal of the avoided loss of primary forest, tonne-years,
and the buffer a crediting programme would need to cover the reversals observed
(documented in ``docs/evaluation.md``, "Permanence").

A programme's additional carbon is not one thing: avoided clearing keeps primary
forest biomass, banned re-clearing of fallow keeps secondary regrowth standing for
a while, planted trees grow on land a programme reforested, agroforestry and
silvopasture store carbon in their trees, and every land use moves the soil's
stock. Each pool reverses differently once payments end, so
each is reported on its own (:data:`POOLS`).
"""

from __future__ import annotations

import math

import pandas as pd

from landsim.carbon import CO2_PER_C
from landsim.model.state import SYSTEMS

#: The carbon pools (yearly columns, tC, summed): the biomass of primary forest,
#: of secondary forest (regrowth), of planting (reforestation a programme paid
#: for, secondary forest on its own curve, apart from regrowth), of the perennial
#: systems (agroforestry and silvopasture), of the other farmland (annual crops
#: and pasture), and soil organic carbon. Their sum is the carbon stock.
POOLS: dict[str, tuple[str, ...]] = {
    "primary_forest": ("biomass_primary_forest_tc",),
    "secondary_forest": ("biomass_secondary_forest_tc",),
    "planting": ("biomass_planting_tc",),
    "perennial_systems": tuple(f"biomass_{s.name}_tc" for s in SYSTEMS if s.perennial),
    "farmland": tuple(f"biomass_{s.name}_tc" for s in SYSTEMS if not s.perennial and not s.forest),
    "soil": ("soil_carbon_tc",),
}

#: Tonne-years that count as one permanent tonne (years): a convention, the
#: 100-year horizon of GWP100, not a standard; the tonne-years themselves are
#: reported too, so that any other equivalence time can be applied to them.
EQUIVALENCE_YEARS = 100.0

#: Permanence metrics: name -> (label, unit).
PERMANENCE_METRICS: dict[str, tuple[str, str]] = {
    **{
        f"additional_{pool}_tco2e": (f"additional carbon, {pool.replace('_', ' ')}", "tCO2e")
        for pool in POOLS
    },
    **{
        f"additional_{pool}_programme_end_tco2e": (
            f"additional carbon, {pool.replace('_', ' ')}, programme end",
            "tCO2e",
        )
        for pool in POOLS
    },
    "primary_forest_carbon_reversal_share": ("reversal share, primary-forest carbon", "-"),
    "additional_tco2e_years": ("additional carbon, tonne-years", "tCO2e yr"),
    "equivalent_permanent_tco2e": ("equivalent permanent tCO2e (100 tonne-years = 1)", "tCO2e"),
    "buffer_share": ("buffer share to cover reversals", "-"),
}


def pool_stock_tc(yearly: pd.DataFrame, pool: str) -> pd.Series | None:
    """The yearly carbon of ``pool`` (tC), indexed by year; None if a column is
    missing."""
    columns = POOLS[pool]
    if not all(c in yearly.columns for c in columns):
        return None
    return yearly.set_index("year")[list(columns)].sum(axis=1)


def additional_by_year(
    yearly: pd.DataFrame, counterfactual: pd.DataFrame, column: str = "carbon_stock_tc"
) -> pd.Series | None:
    """Scenario minus counterfactual of a yearly stock column (tC), in tCO2e by year
    (the years both tables hold); None if the column is missing from either."""
    if column not in yearly.columns or column not in counterfactual.columns:
        return None
    a = yearly.set_index("year")[column]
    b = counterfactual.set_index("year")[column]
    return ((a - b) * CO2_PER_C).dropna()


def tonne_years(additional: pd.Series) -> float:
    """Tonne-years (tCO2e yr): the additional carbon of years 1, 2, ... summed, each
    year's stock held for one year."""
    return float(additional[additional.index >= 1].sum())


def buffer_share(additional: pd.Series, programme_end: int | None) -> float:
    """The share of the additional carbon at programme end that a buffer pool would
    need to cover the reversals observed after it: the largest fall below it in
    any later year, as a share of it (0 if it never falls); NaN without a gain at
    programme end or without later years."""
    if programme_end is None or programme_end not in additional.index:
        return math.nan
    at_end = float(additional.loc[programme_end])
    later = additional[additional.index > programme_end]
    if not at_end > 0 or later.empty:
        return math.nan
    return max(0.0, (at_end - float(later.min())) / at_end)


def permanence_metrics(
    yearly: pd.DataFrame,
    counterfactual: pd.DataFrame,
    programme_end: int | None,
) -> dict[str, float]:
    """The :data:`PERMANENCE_METRICS` of one replicate (NaN where a column or the
    programme end is missing)."""
    last = int(yearly["year"].max())
    m = dict.fromkeys(PERMANENCE_METRICS, math.nan)
    for pool in POOLS:
        a, b = pool_stock_tc(yearly, pool), pool_stock_tc(counterfactual, pool)
        if a is None or b is None:
            continue
        gain = (a - b) * CO2_PER_C
        m[f"additional_{pool}_tco2e"] = float(gain.get(last, math.nan))
        if programme_end is not None:
            m[f"additional_{pool}_programme_end_tco2e"] = float(gain.get(programme_end, math.nan))
    at_end = m["additional_primary_forest_programme_end_tco2e"]
    if programme_end is not None and last > programme_end and at_end > 0:
        m["primary_forest_carbon_reversal_share"] = (
            1.0 - m["additional_primary_forest_tco2e"] / at_end
        )
    total = additional_by_year(yearly, counterfactual)
    if total is not None:
        m["additional_tco2e_years"] = tonne_years(total)
        m["equivalent_permanent_tco2e"] = m["additional_tco2e_years"] / EQUIVALENCE_YEARS
        m["buffer_share"] = buffer_share(total, programme_end)
    return m
