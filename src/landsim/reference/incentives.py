"""The terms of a programme's contract, farmer by farmer, and the incentives they
add to the farmer's option values (docs/schemes.md)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from landsim.model.state import LOT_REFERENCE_HA, Cover, Option
from landsim.reference.carbon import CO2_PER_C, removal_curve_tco2e_per_ha
from landsim.reference.curves import cocoa_yield_kg_per_ha, discount_factor
from landsim.reference.land import NEW_SYSTEMS
from landsim.scenario import Programme

if TYPE_CHECKING:
    from landsim.reference.model import ReferenceModel
    from landsim.reference.programmes import ReferenceProgramme


# ----------------------------------------------------------------------------- terms


def farm_areas_ha(model: ReferenceModel, farmer) -> tuple[float, ...]:
    """A farm's forest, sustainable-practice, lot, primary-forest and cocoa area.

    Parameters
    ----------
    model : ReferenceModel
    farmer : ReferenceFarmer

    Returns
    -------
    tuple of float
        Forest (primary and secondary), sustainable practice (cocoa agroforestry
        and silvopasture), the whole lot, primary forest and cocoa agroforestry,
        ha.
    """
    counts = [0] * len(Cover)
    for cell in farmer.cells:
        counts[cell.cover] += 1
    cell_ha = model.cell_size_ha
    forest = (counts[Cover.PRIMARY_FOREST] + counts[Cover.SECONDARY_FOREST]) * cell_ha
    sustainable = (counts[Cover.COCOA_AGROFORESTRY] + counts[Cover.SILVOPASTURE]) * cell_ha
    primary = counts[Cover.PRIMARY_FOREST] * cell_ha
    cocoa = counts[Cover.COCOA_AGROFORESTRY] * cell_ha
    return forest, sustainable, len(farmer.cells) * cell_ha, primary, cocoa


def protected_forest_ha(spec, areas: tuple) -> float:
    """The farm's forest its obligations protect: primary only, or all forest."""
    forest_ha, _, _, primary_ha, _ = areas
    return primary_ha if spec.obligations.protected_forest == "primary" else forest_ha


def carbon_price(model: ReferenceModel, spec: Programme, year: int) -> float:
    """The programme's price of a credit (USD/tCO2e): fixed, or the market's."""
    cp = spec.carbon_payment
    if cp.usd_per_tco2e is not None:
        return cp.usd_per_tco2e
    return model.market.price("carbon", year)


def clearing_emission_tco2e_per_ha(model: ReferenceModel) -> float:
    """Biomass emission (tCO2e) of clearing 1 ha of primary forest for annual crops."""
    sc = model.params
    agb = sc.forest.primary_agb_tc_per_ha - sc.monocrop.agb_tc_per_ha
    return agb * (1.0 + sc.forest.root_shoot_ratio) * CO2_PER_C


def years_left(model: ReferenceModel, spec: Programme, year: int) -> int:
    """Years of the programme a farmer plans for: to its end, within the horizon."""
    horizon = model.params.decision.planning_horizon_years
    return max(0, min(spec.end_year - year + 1, horizon))


def annuity(farmer, years: int) -> float:
    """Present value of 1 USD a year for ``years`` years at the farmer's rate."""
    total = 0.0
    for t in range(1, years + 1):
        total += discount_factor(farmer.discount_rate, t)
    return total


def expected_benefit(
    model: ReferenceModel, spec: Programme, year: int, farmer, forest_ha: float
) -> float:
    """Yearly payments the farmer would expect if it joined.

    Parameters
    ----------
    model : ReferenceModel
    spec : Programme
    year : int
    farmer : ReferenceFarmer
    forest_ha : float
        The farm's forest.

    Returns
    -------
    float
        USD a year: forest payments, the farmer's share of carbon credits (this
        year's removals, the avoided baseline clearing) and the cocoa premium.
    """
    benefit = 0.0
    if spec.forest_payment is not None:
        benefit += spec.forest_payment.usd_per_ha_per_year * forest_ha
    if spec.carbon_payment is not None:
        cp = spec.carbon_payment
        price = carbon_price(model, spec, year) * cp.farmer_share
        if cp.pay_removals:
            benefit += price * farmer.removals_tco2e
        if cp.pay_soil_carbon:
            benefit += price * farmer.soil_removals_tco2e
        if cp.pay_avoided_emissions:
            benefit += (
                price
                * cp.baseline_clearing_ha_per_farm_per_year
                * clearing_emission_tco2e_per_ha(model)
            )
    if spec.premium is not None:
        benefit += spec.premium.cocoa_usd_per_kg * farmer.cocoa_kg
    return benefit


def shifts_to_claims(spec) -> bool:
    """Whether farms enrolled in ``spec`` clear their claimable forest first: its
    obligations restrict clearing and its contract does not cover claimable land
    (``obligations.covers_claimed_land = false``)."""
    ob = spec.obligations
    if ob is None or not (ob.no_clearing or ob.min_forest_share > 0):
        return False
    return not ob.covers_claimed_land


def claimable_cells(model, farmer) -> int:
    """The farmer's claimable (unowned) forest it may clear this year: primary
    forest, or fallow once recovered, that may change."""
    reclear = model.params.forest.reclear_fertility
    count = 0
    for cell in farmer.claimable:
        recovered = cell.cover == Cover.SECONDARY_FOREST and cell.fertility >= reclear
        if (cell.cover == Cover.PRIMARY_FOREST or recovered) and model.may_change(cell):
            count += 1
    return count


def restricted_clearing_ha(spec, clear_size: int, areas: tuple, claimable: int = 0) -> float:
    """Ha a year of clearing the obligations forbid (at most what could be cleared).

    Where only primary forest is protected, the farmer expects the primary share of
    its forest among what it clears (it clears the forest nearest its fields).

    Parameters
    ----------
    spec : Programme
    clear_size : int
        Cells the farmer could clear this year.
    areas : tuple of float
        The farm's areas (ha), :func:`farm_areas_ha`.
    claimable : int
        Its claimable forest cells (:func:`claimable_cells`): cleared first, and
        not counted, where the contract covers only the land the farm holds.

    Returns
    -------
    float
    """
    ob = spec.obligations
    if ob is None:
        return 0.0
    if shifts_to_claims(spec):
        clear_size = max(clear_size - claimable, 0)
    forest_ha, _, lot_ha, primary_ha, _ = areas
    hit = float(clear_size)
    if ob.protected_forest == "primary":
        hit = hit * (primary_ha / forest_ha if forest_ha > 0 else 0.0)
    if ob.no_clearing:
        return hit
    allowance = max(protected_forest_ha(spec, areas) - ob.min_forest_share * lot_ha, 0.0)
    return max(hit - allowance, 0.0)


# ----------------------------------------------------------------------------- incentives


def meets_practice_obligation(spec, contract, year: int, areas: tuple) -> bool:
    """Whether the farm meets the sustainable-practice obligation this year: its
    grace years are over only once it has enough land under sustainable practice.

    Parameters
    ----------
    spec : Programme
    contract : Contract
    year : int
    areas : tuple of float
        The farm's forest, sustainable-practice and lot area (ha).
    """
    ob = spec.obligations
    if ob is None:
        return True
    _, sustainable_ha, lot_ha, _, _ = areas
    grace_over = year - contract.enrolled_since >= ob.grace_years
    needed = ob.min_sustainable_ha_per_40ha * lot_ha / LOT_REFERENCE_HA
    return not (grace_over and sustainable_ha < needed)


def credited_share(spec, clear_size: int) -> float:
    """Share of each ha of clearing that loses avoided-emission credits: credits are
    the baseline's emission less the farm's, never below zero, so clearing ``s`` ha
    loses those of at most the baseline's ``b`` ha."""
    b = spec.carbon_payment.baseline_clearing_ha_per_farm_per_year
    if b <= 0:
        return 0.0
    return min(1.0, b / max(clear_size, b))


def add_carbon_incentives(model, prog, year: int, f, left: int, clear_size: int, a: list) -> None:
    """This year's credits forgone by clearing (if the farm would be paid them), and
    credits for the removals of new systems and regrowth over the years left, added
    to the option values ``a`` (USD/ha)."""
    spec = prog.spec
    cp = spec.carbon_payment
    price = carbon_price(model, spec, year) * cp.farmer_share
    if cp.pay_avoided_emissions:
        contract, areas = prog.contracts[f.farm_id], farm_areas_ha(model, f)
        paid = meets_practice_obligation(spec, contract, year, areas)
        lost = credited_share(spec, clear_size) * paid
        a[Option.CLEAR] -= price * clearing_emission_tco2e_per_ha(model) * lost
    if cp.pay_removals:
        for option, cover in (*NEW_SYSTEMS, (Option.ABANDON, Cover.SECONDARY_FOREST)):
            curve = removal_curve_tco2e_per_ha(model.carbon, cover, left)
            pv = 0.0
            for t, removal in enumerate(curve, start=1):
                pv += discount_factor(f.discount_rate, t) * removal
            a[option] += price * pv
    if cp.pay_soil_carbon:
        for option, cover in (*NEW_SYSTEMS, (Option.ABANDON, Cover.SECONDARY_FOREST)):
            pv = 0.0
            for t, gain in enumerate(soil_gain_curve(model, cover, left), start=1):
                pv += discount_factor(f.discount_rate, t) * gain
            a[option] += price * pv


def soil_gain_curve(model, cover: Cover, years: int) -> list[float]:
    """Soil-carbon gains (tCO2e/ha) in each of the first ``years`` years after
    turning annual cropland into ``cover``: the soil closes ``1 - r`` of its gap to
    the new equilibrium each year (none if that is not above the cropland's)."""
    r = math.exp(-model.params.soil.approach_rate_per_year)
    eq = model.carbon.soc_equilibrium
    gain = max(eq(cover) - eq(Cover.MONOCROP), 0.0) * (1.0 - r)
    curve = []
    for _ in range(years):
        curve.append(gain * CO2_PER_C)
        gain *= r
    return curve


def add_obligation_incentives(
    model, prog: ReferenceProgramme, year: int, f, clear_size: int, a: list
) -> None:
    """The expected sanction of clearing against the obligations, and the bonus of
    meeting the sustainable-practice obligation, added to ``a`` (USD/ha)."""
    spec, ob = prog.spec, prog.spec.obligations
    areas = farm_areas_ha(model, f)
    forest_ha, sustainable_ha, lot_ha, _, _ = areas
    annuity_ = annuity(f, years_left(model, spec, year))
    if ob.no_clearing or ob.min_forest_share > 0:
        claimable = claimable_cells(model, f) if shifts_to_claims(spec) else 0
        breaks = restricted_clearing_ha(spec, clear_size, areas, claimable) > 0
        yearly = expected_benefit(model, spec, year, f, forest_ha)
        contract = prog.contracts[f.farm_id]
        expels = spec.expel_on_violation and contract.warnings >= spec.warnings_before_expulsion
        at_stake = yearly
        if expels:  # the contract years left, and the support its obligation would bring
            at_stake = yearly * annuity_ + support_at_stake(model, spec, f, areas)
        if spec.repay_on_violation:
            at_stake += prog.contracts[f.farm_id].received_usd
        if breaks:
            a[Option.CLEAR] -= spec.detection_probability * at_stake / max(clear_size, 1)
    if ob.min_sustainable_ha_per_40ha > 0:
        needed = ob.min_sustainable_ha_per_40ha * lot_ha / LOT_REFERENCE_HA
        shortfall = max(needed - sustainable_ha, 0.0)
        if shortfall > 0:
            at_stake = expected_benefit(model, spec, year, f, forest_ha) * annuity_
            bonus = at_stake / max(shortfall, 1.0)
            a[Option.COCOA_AGROFORESTRY] += bonus
            a[Option.SILVOPASTURE] += bonus


def support_value_per_ha(es, cost_usd_per_ha: float, farmer) -> float:
    """The value to the farmer of support on 1 ha of a system costing
    ``cost_usd_per_ha``: a grant's share, or the interest a loan of it saves."""
    support = es.share * cost_usd_per_ha
    if es.mode == "loan":  # worth the interest saved on the loan
        support *= 1.0 - annuity(farmer, es.loan_years) / es.loan_years
    return support


def support_at_stake(model, spec, f, areas: tuple) -> float:
    """Establishment support the farmer forgoes if expelled: that for the
    sustainable-practice area its contract still asks of it (ha of shortfall x the
    support per ha of the cheaper system)."""
    es, ob = spec.establishment_support, spec.obligations
    if es is None or ob.min_sustainable_ha_per_40ha <= 0:
        return 0.0
    _, sustainable_ha, lot_ha, _, _ = areas
    needed = ob.min_sustainable_ha_per_40ha * lot_ha / LOT_REFERENCE_HA
    shortfall = max(needed - sustainable_ha, 0.0)
    sc = model.params
    per_ha = math.inf
    for system in (sc.cocoa_agroforestry, sc.silvopasture):
        per_ha = min(per_ha, support_value_per_ha(es, system.establishment_cost_usd_per_ha, f))
    return shortfall * per_ha


def add_support_incentives(model, spec, f, left: int, a: list) -> None:
    """Establishment support (a grant, or the interest saved on a loan) and the cocoa
    premium over the years left, added to ``a`` (USD/ha)."""
    sc = model.params
    if spec.establishment_support is not None:
        es = spec.establishment_support
        for option, system in (
            (Option.COCOA_AGROFORESTRY, sc.cocoa_agroforestry),
            (Option.SILVOPASTURE, sc.silvopasture),
        ):
            a[option] += support_value_per_ha(es, system.establishment_cost_usd_per_ha, f)
    if spec.premium is not None and left > 0:
        pv = 0.0
        for t in range(1, left + 1):
            kg = cocoa_yield_kg_per_ha(t - 1, sc.cocoa_agroforestry)
            pv += discount_factor(f.discount_rate, t) * kg
        a[Option.COCOA_AGROFORESTRY] += spec.premium.cocoa_usd_per_kg * pv


def adjust_values(
    model: ReferenceModel, prog: ReferenceProgramme, year: int, f, clear_size: int, a: list
) -> None:
    """Add one enrolled farmer's incentive terms to its option values.

    Parameters
    ----------
    model : ReferenceModel
    prog : ReferenceProgramme
        A programme active this year, in which ``f`` is enrolled.
    year : int
    f : ReferenceFarmer
    clear_size : int
        Cells the farmer could clear this year.
    a : list of float
        The change of each option's value (USD/ha), by option; added to here.
    """
    spec = prog.spec
    left = years_left(model, spec, year)
    if spec.forest_payment is not None:
        a[Option.CLEAR] -= spec.forest_payment.usd_per_ha_per_year * annuity(f, left)
    if spec.carbon_payment is not None:
        add_carbon_incentives(model, prog, year, f, left, clear_size, a)
    if spec.obligations is not None:
        add_obligation_incentives(model, prog, year, f, clear_size, a)
    add_support_incentives(model, spec, f, left, a)
