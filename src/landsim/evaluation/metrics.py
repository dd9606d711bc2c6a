"""The programme metrics, the one home of their definitions: per replicate, from
the yearly and farm tables of a scenario run and its counterfactual
(:func:`replicate_metrics`, documented in ``docs/evaluation.md``), and their
summary across replicates (t-interval of the mean and 2.5-97.5 % spread). A
metric whose input columns are missing is NaN, never an error.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from landsim.carbon import CO2_PER_C
from landsim.evaluation.permanence import PERMANENCE_METRICS, permanence_metrics

#: Per-replicate metrics: name -> (label, unit). Definitions in docs/evaluation.md.
METRICS: dict[str, tuple[str, str]] = {
    "avoided_deforestation_ha": ("avoided deforestation, end of run", "ha"),
    "avoided_deforestation_programme_end_ha": ("avoided deforestation, programme end", "ha"),
    "additional_carbon_tco2e": ("additional carbon, end of run", "tCO2e"),
    "additional_carbon_programme_end_tco2e": ("additional carbon, programme end", "tCO2e"),
    "avoided_deforestation_enrolled_ha": ("avoided deforestation, enrolled farms", "ha"),
    "leakage_ha": ("leakage (non-enrolled farms)", "ha"),
    "leakage_own_lots_ha": ("leakage on own lots", "ha"),
    "leakage_claimed_ha": ("leakage on claimed land", "ha"),
    "leakage_settlers_ha": ("leakage through settlers", "ha"),
    "leakage_market_ha": ("leakage through prices (market)", "ha"),
    "leakage_activity_shifting_ha": ("activity shifting (enrolled farms' claims)", "ha"),
    "leakage_share": ("leakage share", "-"),
    "reversal_share": ("reversal share, deforestation", "-"),
    "carbon_reversal_share": ("reversal share, carbon", "-"),
    **PERMANENCE_METRICS,
    "programme_cost_usd": ("programme cost", "USD"),
    "payments_to_farmers_usd": ("payments to farmers", "USD"),
    "collective_spending_usd": ("collective restoration spending", "USD"),
    "establishment_support_usd": ("establishment support", "USD"),
    "planting_spending_usd": ("planting spending", "USD"),
    "planted_ha": ("area planted (ARR)", "ha"),
    "credits_tco2e": ("carbon credits sold", "tCO2e"),
    "net_cost_usd": ("net cost (after repayments)", "USD"),
    "incremental_cost_usd": ("incremental cost", "USD"),
    "cost_per_tco2e": ("cost per tCO2e", "USD/tCO2e"),
    "cost_per_ha_avoided_usd": ("cost per ha avoided", "USD/ha"),
    "income_effect_mean_usd": ("income effect, mean farm", "USD/farm/yr"),
    "income_effect_poorest20_usd": ("income effect, poorest 20 %", "USD/farm/yr"),
    "income_effect_gini": ("effect on income Gini", "-"),
    "enrolled_farms_max": ("enrolment (max farms enrolled)", "farms"),
    "compliance_rate": ("compliance rate", "-"),
    "expelled_farms": ("farms expelled", "farms"),
}

# --------------------------------------------------------------------------- metric functions


def _at(yearly: pd.DataFrame, column: str, year: int | None) -> float:
    """The value of ``column`` in ``year`` (NaN if the column or year is missing)."""
    if year is None or column not in yearly.columns:
        return math.nan
    values = yearly.loc[yearly["year"] == year, column]
    return float(values.iloc[0]) if len(values) else math.nan


def avoided_ha(scenario_deforestation_ha, counterfactual_deforestation_ha):
    """Avoided deforestation (ha): the counterfactual's cumulative primary-forest
    clearing minus the scenario's (numbers or arrays alike). The one definition, for
    comparisons and for the paired outputs of sensitivity analyses."""
    return counterfactual_deforestation_ha - scenario_deforestation_ha


def additional_tco2e(scenario_stock_tc, counterfactual_stock_tc):
    """Additional carbon (tCO2e): the scenario's carbon stock minus the
    counterfactual's, in tCO2e (numbers or arrays alike)."""
    return (scenario_stock_tc - counterfactual_stock_tc) * CO2_PER_C


def avoided_deforestation(
    yearly: pd.DataFrame, counterfactual: pd.DataFrame, year: int | None
) -> float:
    """Cumulative primary-forest clearing up to ``year``, counterfactual minus scenario (ha)."""
    col = "cumulative_deforestation_ha"
    return avoided_ha(_at(yearly, col, year), _at(counterfactual, col, year))


def additional_carbon(
    yearly: pd.DataFrame, counterfactual: pd.DataFrame, year: int | None
) -> float:
    """Carbon stock in ``year``, scenario minus counterfactual, in tCO2e."""
    col = "carbon_stock_tc"
    return additional_tco2e(_at(yearly, col, year), _at(counterfactual, col, year))


def reversal_share(at_end: float, at_programme_end: float, runs_past_programme: bool) -> float:
    """Share of the gain at programme end lost by the end of the run:
    ``1 - at_end / at_programme_end``; NaN if the run ends at (or before) the
    programme end or there was no gain (``at_programme_end <= 0``)."""
    if not runs_past_programme or not at_programme_end > 0:
        return math.nan
    return 1.0 - at_end / at_programme_end


def cost_per_tco2e(cost_usd, additional_tco2e):
    """Cost per additional tCO2e; NaN where there is no additional carbon (<= 0) or
    the cost is unknown (numbers or arrays alike)."""
    if np.ndim(cost_usd) == 0 and np.ndim(additional_tco2e) == 0:
        if not additional_tco2e > 0 or math.isnan(cost_usd):
            return math.nan
        return cost_usd / additional_tco2e
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.asarray(additional_tco2e) > 0, cost_usd / additional_tco2e, np.nan)


def _flag(farms: pd.DataFrame, column: str, has_programmes: bool) -> pd.Series | None:
    """A boolean farm column; all False when it is missing and there are no
    programmes (nobody can be enrolled); None when it is missing otherwise."""
    if column in farms.columns:
        return farms[column].fillna(False).astype(bool)
    if not has_programmes:
        return pd.Series(False, index=farms.index)
    return None


def leakage(
    farms: pd.DataFrame,
    counterfactual_farms: pd.DataFrame,
    *,
    has_programmes: bool = True,
    claims_outside_contract: bool = False,
) -> dict[str, float]:
    """Leakage: extra primary-forest clearing by the farms never enrolled, and by
    the settlers.

    The farms there from the start (``arrived_year`` 0) are matched by ``farm_id``
    (the landscapes are identical under common random numbers); settlers are
    different households in the two runs and are compared in total. With ``d =
    deforested_ha (scenario) - deforested_ha (counterfactual)`` per farm:

    - ``avoided_deforestation_enrolled_ha`` = ``-sum(d)`` over farms ever enrolled
      (gross avoided deforestation on enrolled farms);
    - ``leakage_ha`` = ``sum(d)`` over the first farms never enrolled, split with
      ``claimed_ha`` into ``leakage_claimed_ha`` (clearing of claimed, unowned land)
      and ``leakage_own_lots_ha`` (the rest), plus ``leakage_settlers_ha``: the
      settlers' clearing in the scenario less theirs in the counterfactual
      (displacement through in-migration; settlers are never enrolled here, and
      an enrolled settler's avoided clearing is netted into it);
    - ``leakage_share`` = leakage / gross avoided deforestation on enrolled farms
      (NaN if that is <= 0);
    - ``leakage_activity_shifting_ha``: activity shifting, the enrolled farms'
      extra clearing of land their contract does not cover, ``sum(claimed_ha
      (scenario) - claimed_ha (counterfactual))`` over the first farms ever
      enrolled when ``claims_outside_contract`` (some programme covers only the
      land a farm holds, ``obligations.covers_claimed_land = false``), else 0 (no
      land of an enrolled farm is outside its contract). It is part of the
      enrolled farms' own change, already netted in
      ``avoided_deforestation_enrolled_ha`` (the avoided clearing on the land the
      contracts cover is the sum of the two), and not in ``leakage_ha``.
    """
    out = dict.fromkeys(
        (
            "avoided_deforestation_enrolled_ha",
            "leakage_ha",
            "leakage_own_lots_ha",
            "leakage_claimed_ha",
            "leakage_settlers_ha",
            "leakage_share",
            "leakage_activity_shifting_ha",
        ),
        math.nan,
    )
    needed = {"farm_id", "deforested_ha"}
    if not needed <= set(farms.columns) or not needed <= set(counterfactual_farms.columns):
        return out
    enrolled = _flag(farms, "ever_enrolled", has_programmes)
    if enrolled is None:
        return out
    settled = 0.0
    if "arrived_year" in farms.columns and "arrived_year" in counterfactual_farms.columns:
        first, cf_first = farms["arrived_year"] == 0, counterfactual_farms["arrived_year"] == 0
        settled = float(
            farms.loc[~first, "deforested_ha"].sum()
            - counterfactual_farms.loc[~cf_first, "deforested_ha"].sum()
        )
        farms, enrolled = farms[first], enrolled[first]
        counterfactual_farms = counterfactual_farms[cf_first]
    ids, cf_ids = farms["farm_id"].to_numpy(), counterfactual_farms["farm_id"].to_numpy()
    if len(ids) != len(cf_ids) or set(ids) != set(cf_ids):
        return out
    scen = farms.assign(_enrolled=enrolled.to_numpy()).set_index("farm_id")
    cf = counterfactual_farms.set_index("farm_id").reindex(scen.index)
    mask = scen["_enrolled"].to_numpy()
    d = (scen["deforested_ha"] - cf["deforested_ha"]).to_numpy(dtype=float)
    gross = float(-d[mask].sum())
    leak = float(d[~mask].sum()) + settled
    out["avoided_deforestation_enrolled_ha"] = gross
    out["leakage_ha"] = leak
    out["leakage_settlers_ha"] = settled
    if "claimed_ha" in scen.columns and "claimed_ha" in cf.columns:
        claimed = (scen["claimed_ha"] - cf["claimed_ha"]).to_numpy(dtype=float)
        out["leakage_claimed_ha"] = float(claimed[~mask].sum())
        out["leakage_own_lots_ha"] = leak - settled - out["leakage_claimed_ha"]
        shifted = float(claimed[mask].sum())
        out["leakage_activity_shifting_ha"] = shifted if claims_outside_contract else 0.0
    out["leakage_share"] = leak / gross if gross > 0 else math.nan
    return out


def _total(yearly: pd.DataFrame, column: str, has_programmes: bool) -> float:
    """Sum of a programme column over all years; 0 when the column is missing and
    there are no programmes, NaN when it is missing otherwise."""
    if column in yearly.columns:
        return float(yearly[column].sum())
    return 0.0 if not has_programmes else math.nan


def _mean_difference(yearly: pd.DataFrame, counterfactual: pd.DataFrame, column: str) -> float:
    """Mean over years 1..T of (scenario - counterfactual) in ``column``."""
    if column not in yearly.columns or column not in counterfactual.columns:
        return math.nan
    a = yearly.set_index("year")[column]
    b = counterfactual.set_index("year")[column]
    diff = (a - b)[lambda s: s.index >= 1].astype(float)
    return float(diff.mean()) if diff.notna().any() else math.nan


def compliance_rate(yearly: pd.DataFrame) -> float:
    """``1 - sum(violations_detected) / sum(enrolled_farms)`` over years 1..T
    (NaN without enrolled farm-years or without the columns)."""
    if not {"enrolled_farms", "violations_detected"} <= set(yearly.columns):
        return math.nan
    rows = yearly[yearly["year"] >= 1]
    farm_years = float(rows["enrolled_farms"].sum())
    if not farm_years > 0:
        return math.nan
    return 1.0 - float(rows["violations_detected"].sum()) / farm_years


def replicate_metrics(
    yearly: pd.DataFrame,
    counterfactual: pd.DataFrame,
    farms: pd.DataFrame,
    counterfactual_farms: pd.DataFrame,
    *,
    programme_end: int | None = None,
    has_programmes: bool = True,
    counterfactual_has_programmes: bool = False,
    claims_outside_contract: bool = False,
) -> dict[str, float]:
    """All :data:`METRICS` of one replicate from the yearly and farm tables of the
    scenario run and the counterfactual run.

    ``programme_end`` is the last contract year of the scenario's programmes (None:
    no programme); ``has_programmes`` / ``counterfactual_has_programmes`` say
    whether a missing programme column means "no programme" (0) or "unknown" (NaN);
    ``claims_outside_contract`` whether some contract leaves claimable land out
    (:func:`leakage`). ``leakage_market_ha`` needs a third run and is NaN here:
    :func:`landsim.evaluation.compare.compare` fills it in.
    """
    last = int(yearly["year"].max())
    m: dict[str, float] = {}
    m["avoided_deforestation_ha"] = avoided_deforestation(yearly, counterfactual, last)
    m["avoided_deforestation_programme_end_ha"] = avoided_deforestation(
        yearly, counterfactual, programme_end
    )
    m["additional_carbon_tco2e"] = additional_carbon(yearly, counterfactual, last)
    m["additional_carbon_programme_end_tco2e"] = additional_carbon(
        yearly, counterfactual, programme_end
    )
    m |= leakage(
        farms,
        counterfactual_farms,
        has_programmes=has_programmes,
        claims_outside_contract=claims_outside_contract,
    )
    m["leakage_market_ha"] = math.nan
    past = programme_end is not None and last > programme_end
    m["reversal_share"] = reversal_share(
        m["avoided_deforestation_ha"], m["avoided_deforestation_programme_end_ha"], past
    )
    m["carbon_reversal_share"] = reversal_share(
        m["additional_carbon_tco2e"], m["additional_carbon_programme_end_tco2e"], past
    )
    m |= permanence_metrics(yearly, counterfactual, programme_end)
    for col in (
        "programme_cost_usd",
        "payments_to_farmers_usd",
        "collective_spending_usd",
        "establishment_support_usd",
        "planting_spending_usd",
        "planted_ha",
        "credits_tco2e",
    ):
        m[col] = _total(yearly, col, has_programmes)
    repaid = sum(
        float(yearly[col].sum())
        for col in ("loan_repayments_usd", "repayments_usd")
        if col in yearly.columns
    )
    m["net_cost_usd"] = m["programme_cost_usd"] - repaid
    cf_cost = _total(counterfactual, "programme_cost_usd", counterfactual_has_programmes)
    m["incremental_cost_usd"] = m["programme_cost_usd"] - cf_cost
    m["cost_per_tco2e"] = cost_per_tco2e(m["incremental_cost_usd"], m["additional_carbon_tco2e"])
    m["cost_per_ha_avoided_usd"] = (
        m["incremental_cost_usd"] / m["avoided_deforestation_ha"]
        if m["avoided_deforestation_ha"] > 0
        else math.nan
    )
    m["income_effect_mean_usd"] = _mean_difference(yearly, counterfactual, "income_mean_usd")
    m["income_effect_poorest20_usd"] = _mean_difference(
        yearly, counterfactual, "income_poorest20_usd"
    )
    m["income_effect_gini"] = _mean_difference(yearly, counterfactual, "income_gini")
    if "enrolled_farms" in yearly.columns:
        m["enrolled_farms_max"] = float(yearly["enrolled_farms"].max())
    else:
        m["enrolled_farms_max"] = 0.0 if not has_programmes else math.nan
    m["compliance_rate"] = compliance_rate(yearly)
    expelled = _flag(farms, "expelled", has_programmes)
    m["expelled_farms"] = float(expelled.sum()) if expelled is not None else math.nan
    return {name: m[name] for name in METRICS}


# --------------------------------------------------------------------------- statistics


def t_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and ``level`` t-interval of the mean of the finite ``values``:
    ``mean +/- t(1 - (1 - level) / 2, n - 1) * sd / sqrt(n)`` (sd with n - 1).
    NaN bounds with fewer than two values."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if v.size == 1:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, mean - half, mean + half


def summarize_replicates(replicates: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per metric (rows): mean, sd, ci_low, ci_high (``level`` t-interval of the
    mean), p2_5, p97_5 (spread across replicates), n (finite values), unit."""
    rows = {}
    for metric in [c for c in replicates.columns if c != "replicate"]:
        v = replicates[metric].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        mean, low, high = t_interval(v, level)
        p_low, p_high = np.percentile(v, [2.5, 97.5]) if v.size else (math.nan, math.nan)
        rows[metric] = {
            "mean": mean,
            "sd": float(v.std(ddof=1)) if v.size > 1 else math.nan,
            "ci_low": low,
            "ci_high": high,
            "p2_5": float(p_low),
            "p97_5": float(p_high),
            "n": int(v.size),
            "unit": METRICS.get(metric, ("", ""))[1],
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "metric"
    return table
