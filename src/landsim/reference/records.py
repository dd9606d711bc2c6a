"""The reference's yearly indicators and farm table, counted cell by cell and
farmer by farmer (the columns of the yearly table, ODD Outputs)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from landsim.market import PRODUCTS, UNITS
from landsim.model.state import COVER_NAMES, OPTION_NAMES, PLANTING, Cover, Option
from landsim.reference.carbon import CO2_PER_C
from landsim.reference.curves import sum_in_order
from landsim.reference.restoration import restoration_areas_ha

if TYPE_CHECKING:
    from landsim.reference.model import ReferenceModel

#: The options whose choice is counted (stage 2 of the decision).
STAGE_2_OPTIONS = (
    Option.KEEP,
    Option.CLEAR,
    Option.COCOA_AGROFORESTRY,
    Option.SILVOPASTURE,
    Option.PASTURE,
    Option.COCOA_ON_CLEARED,
    Option.RESTORE_PASTURE,
)
#: Yearly land-use changes, ha, as the year's transitions give them.
TRANSITIONS = (
    "deforestation_ha",
    "cumulative_deforestation_ha",
    "secondary_cleared_ha",
    "claimed_ha",
    "abandoned_ha",
    "abandoned_pasture_ha",
    "restored_pasture_ha",
    "cleared_to_pasture_ha",
    "cleared_to_cocoa_ha",
)


def gini(incomes) -> float:
    """Gini coefficient of the farmers' net incomes (0 = equal, towards 1 = concentrated).

    With the incomes sorted in ascending order, losses counted as zero income,
    ``G = 2 sum_i i x_i / (n sum_i x_i) - (n + 1) / n`` for ``i = 1..n``.

    Parameters
    ----------
    incomes : sequence of float

    Returns
    -------
    float
        0 if no income is positive.
    """
    x = [max(v, 0.0) for v in sorted(incomes)]
    n = len(x)
    # The two sums are taken with numpy (pairwise summation), as the vectorised
    # model takes them, so that the coefficient agrees to the last bit; a plain loop
    # rounds differently once there are 8 farmers or more.
    total = float(np.sum(x))
    if n == 0 or total <= 0:
        return 0.0
    weighted = float(np.sum([i * v for i, v in enumerate(x, start=1)]))
    return max(0.0, 2.0 * weighted / (n * total) - (n + 1.0) / n)


def cover_areas_ha(model: ReferenceModel) -> list[float]:
    """The area (ha) under each cover, by cover code."""
    counts = [0] * len(Cover)
    for cell in model.cells:
        counts[cell.cover] += 1
    return [n * model.cell_size_ha for n in counts]


def record_land(model: ReferenceModel, transitions: dict | None, areas: list) -> dict:
    """Areas under each cover, and the year's clearing, abandonment and conversion."""
    t = transitions or {}
    rec = {f"area_{name}_ha": float(a) for name, a in zip(COVER_NAMES, areas, strict=True)}
    rec["forest_area_ha"] = float(areas[Cover.PRIMARY_FOREST] + areas[Cover.SECONDARY_FOREST])
    for key in TRANSITIONS:
        rec[key] = t.get(key, 0.0)
    rec["cumulative_deforestation_ha"] = model.cumulative_deforestation_ha
    rec["farms_abandoning"] = sum(f.abandoned for f in model.farmers)
    rec["settlers_arrived"] = model.settlers_arrived
    rec["n_farms"] = len(model.farmers)
    for name in ("cocoa_agroforestry", "silvopasture"):
        rec[f"converted_{name}_ha"] = t.get(f"converted_{name}_ha", 0.0)
    for group in ("enrolled", "not_enrolled", "unowned"):
        rec[f"deforestation_{group}_ha"] = t.get(f"deforestation_{group}_ha", 0.0)
    return rec


def record_carbon(model: ReferenceModel, fluxes) -> dict:
    """Carbon stocks (tC), summed cell by cell, and the year's fluxes (tCO2e).

    Parameters
    ----------
    model : ReferenceModel
    fluxes : tuple of float
        Biomass removals and emissions, soil removals and emissions, and the
        removals of planted cells (tCO2e).

    Returns
    -------
    dict
    """
    cell_ha = model.cell_size_ha
    biomass = soil = 0.0
    by_pool = [0.0] * (len(Cover) + 1)  # each cover's, then planting's (7.17)
    for cell in model.cells:
        biomass += cell.biomass_tc_per_ha
        soil += cell.soc_tc_per_ha
        pool = len(Cover) if cell.restoration == PLANTING else cell.cover
        by_pool[pool] += cell.biomass_tc_per_ha
    rec = {
        "carbon_stock_tc": biomass * cell_ha + soil * cell_ha,
        "biomass_carbon_tc": biomass * cell_ha,
        "soil_carbon_tc": soil * cell_ha,
    }
    for name, total in zip((*COVER_NAMES, "planting"), by_pool, strict=True):  # pools (tC)
        rec[f"biomass_{name}_tc"] = total * cell_ha
    bio_gain, bio_loss, soc_gain, soc_loss, planted_gain = fluxes
    rec["planting_removals_tco2e"] = planted_gain
    rec["removals_tco2e"] = bio_gain + soc_gain
    rec["emissions_tco2e"] = bio_loss + soc_loss
    rec["net_emissions_tco2e"] = rec["emissions_tco2e"] - rec["removals_tco2e"]
    rec["biomass_emissions_tco2e"] = bio_loss
    rec["soil_emissions_tco2e"] = soc_loss
    return rec


def record_income(model: ReferenceModel, has_income: bool) -> dict:
    """The distribution of the farmers' net incomes, payments, savings, investment.

    Parameters
    ----------
    model : ReferenceModel
    has_income : bool
        False in year 0 (before any income): the income statistics are NaN.

    Returns
    -------
    dict
    """
    farmers, nan = model.farmers, math.nan
    income = np.array([f.net_income_usd for f in farmers])
    n = len(farmers)
    has_income = has_income and n > 0
    poorest = np.sort(income)[: max(1, math.ceil(0.2 * n))]
    return {
        "income_mean_usd": float(np.mean(income)) if has_income else nan,
        "income_median_usd": float(np.median(income)) if has_income else nan,
        "income_p10_usd": float(np.percentile(income, 10)) if has_income else nan,
        "income_gini": gini(income) if has_income else nan,
        "income_poorest20_usd": float(np.mean(poorest)) if has_income else nan,
        "payments_mean_usd": float(np.mean([f.payments_usd for f in farmers])) if n else nan,
        "savings_mean_usd": float(np.mean([f.savings_usd for f in farmers])) if n else nan,
        "investment_usd": float(np.sum([f.investment_usd for f in farmers])),
        "hired_days_mean": float(np.mean([f.hired_days for f in farmers])) if n else nan,
        "off_farm_income_mean_usd": (
            float(np.mean([f.off_farm_income_usd for f in farmers])) if n else nan
        ),
    }


def record_choices(model: ReferenceModel, chosen: bool) -> dict:
    """Adopters of each perennial system, mean knowledge, and the farmers' choices.

    Parameters
    ----------
    model : ReferenceModel
    chosen : bool
        False in year 0 (before any choice): every count of choices is 0.

    Returns
    -------
    dict
    """
    farmers = model.farmers
    rec = {}
    for name, cover in (
        ("cocoa_agroforestry", Cover.COCOA_AGROFORESTRY),
        ("silvopasture", Cover.SILVOPASTURE),
    ):
        rec[f"adopters_{name}"] = sum(any(c.cover == cover for c in f.cells) for f in farmers)
    rec["knowledge_mean"] = float(np.mean([f.knowledge for f in farmers])) if farmers else math.nan
    for option in STAGE_2_OPTIONS:
        rec[f"chose_{OPTION_NAMES[option]}"] = (
            sum(f.last_option == option for f in farmers) if chosen else 0
        )
    return rec


def record_restoration(model: ReferenceModel, areas: list, programme: dict) -> dict:
    """Degraded land (all but primary forest), the area under each restoration
    intervention on the map, and the reforestation the programmes funded."""
    degraded = float(sum_in_order(areas[1:]))
    placed = restoration_areas_ha(model)
    rec = {f"restoration_{name}_ha": ha for name, ha in placed.items()}
    rec["reforestation_funded_ha"] = programme["reforestation_ha"]
    rec["degraded_land_ha"] = degraded
    total = sum(cell.restoration > 0 for cell in model.cells) * model.cell_size_ha
    rec["degraded_share_under_restoration"] = total / degraded if degraded else 0.0
    return rec


def soc_change_per_mille(rec: dict, fluxes) -> float:
    """The year's change of soil organic carbon relative to the stock a year
    before, per mille ("4 per 1000"): soil removals less emissions, over the stock
    before them."""
    _, _, soc_gain, soc_loss, _ = fluxes
    change_tc = (soc_gain - soc_loss) / CO2_PER_C
    before = rec["soil_carbon_tc"] - change_tc
    return 1000.0 * change_tc / before if before > 0 else math.nan


def measure(model: ReferenceModel, transitions: dict | None, fluxes) -> dict:
    """The indicators of the current year (the columns of the yearly table).

    Parameters
    ----------
    model : ReferenceModel
    transitions : dict or None
        The year's land-use changes; None in year 0.
    fluxes : tuple of float
        Biomass removals and emissions, soil removals and emissions, and the
        removals of planted cells (tCO2e).

    Returns
    -------
    dict
        Indicator -> value, in the order of the yearly table's columns.
    """
    areas = cover_areas_ha(model)
    rec: dict = {"year": model.year}
    rec |= record_land(model, transitions, areas)
    rec |= record_carbon(model, fluxes)
    rec["soc_change_per_mille"] = soc_change_per_mille(rec, fluxes) if transitions else math.nan
    rec |= record_income(model, transitions is not None)
    rec |= record_choices(model, transitions is not None)
    for product in PRODUCTS:
        rec[f"{product}_price_{UNITS[product]}"] = model.market.price(product, model.year)
    programme = model.programmes.measure(model.year)
    rec |= programme
    rec |= record_restoration(model, areas, programme)
    return rec


def farm_table(model: ReferenceModel):
    """One row per farm, like ``LandUseModel.farm_table()``.

    Parameters
    ----------
    model : ReferenceModel

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    farmers, progs = model.farmers, model.programmes.programmes
    return pd.DataFrame(
        {
            "farm_id": [f.farm_id for f in farmers],
            "arrived_year": [f.arrived_year for f in farmers],
            "area_ha": [len(f.cells) * model.cell_size_ha for f in farmers],
            "deforested_ha": [f.deforested_ha for f in farmers],
            "claimed_ha": [f.claimed_ha for f in farmers],
            "cumulative_income_usd": [f.cumulative_income_usd for f in farmers],
            "savings_usd": [f.savings_usd for f in farmers],
            "ever_enrolled": [
                any(p.contracts[f.farm_id].ever_enrolled for p in progs) for f in farmers
            ],
            "expelled": [any(p.contracts[f.farm_id].expelled for p in progs) for f in farmers],
        }
    )


def read_record(model: ReferenceModel, key: str):
    """DataCollector model reporter (through ``functools.partial``, which pickles)."""
    return model.record[key]
