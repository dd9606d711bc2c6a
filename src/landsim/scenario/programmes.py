"""The programme tables of a scenario (``[[programmes]]``): the rules of an
incentive programme and its optional components (docs/schemes.md)."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from landsim.scenario.types import (
    Flag,
    Integer,
    Name,
    NonNegative,
    Positive,
    Share,
    _Section,
)


class Obligations(_Section):
    """What an enrolled farm must do (Tambopata: on 40 ha keep >= 20 ha of primary
    forest and >= 3 ha under sustainable practice). ``protected_forest`` says which
    forest ``no_clearing`` and ``min_forest_share`` protect: ``primary`` forest
    only (re-clearing fallow is allowed), or ``all`` forest, fallow too."""

    protected_forest: Literal["primary", "all"]
    no_clearing: Flag
    min_forest_share: Share
    min_sustainable_ha_per_40ha: NonNegative
    grace_years: Integer = Field(ge=0, le=100)
    #: False: the contract covers only the land held, not the forest the farm may
    #: claim, which enrolled farms then clear first (activity shifting, ODD 7.15).
    covers_claimed_land: Flag


class ForestPayment(_Section):
    """Payment per ha of standing forest (primary or secondary) on the farm."""

    usd_per_ha_per_year: NonNegative


class CarbonPayment(_Section):
    """Results-based payment per tCO2e, shared between farmers and the
    programme's collective use (Piura: 10 % / 90 % to reforestation).

    ``collective_use`` is ``reforestation`` (paid from the budget) or
    ``repay_finance``: the collective share is credit revenue that repays the
    programme's finance (Tambopata: the carbon-credit loan), outside the budget.
    """

    usd_per_tco2e: Positive | None = None  # absent: the market carbon price path
    pay_removals: Flag
    pay_avoided_emissions: Flag
    #: Credits for the farm's soil-carbon gains (tCO2e), as sustainable land
    #: management raises its soil organic carbon (the Climate-Soil seed).
    pay_soil_carbon: Flag
    baseline_clearing_ha_per_farm_per_year: NonNegative
    farmer_share: Share
    collective_use: Literal["reforestation", "repay_finance"]
    reforestation_cost_usd_per_ha: Positive


class EstablishmentSupport(_Section):
    """A share of the establishment cost of agroforestry and silvopasture, paid as
    a grant or lent (interest-free, repaid in equal yearly instalments)."""

    share: Share
    mode: Literal["grant", "loan"]
    loan_years: Integer = Field(ge=1, le=50)


class Training(_Section):
    """Training and technical assistance on enrolment."""

    knowledge_gain: Share


class Premium(_Section):
    """Deforestation-free cocoa: a price premium for certified (compliant) farms,
    paid by the ``buyers`` of certified cocoa (not from the budget) or by the
    ``programme`` (from its budget)."""

    cocoa_usd_per_kg: NonNegative
    paid_by: Literal["buyers", "programme"]


class Participation(_Section):
    """What joining costs a farmer: a one-off transaction cost (travel, paperwork,
    meetings, a farm plan), paid from savings on enrolment. A farmer applies only
    if it can pay it, and weighs it, spread over the contract years left, against
    the expected payments."""

    transaction_cost_usd: NonNegative
    #: Who may join: ``all`` farms, or only ``cocoa_growers`` (farms with cocoa
    #: agroforestry when they apply).
    eligible: Literal["all", "cocoa_growers"]


class Funding(_Section):
    """When the programme's money arrives: ``usd_by_year`` (USD) in each programme
    year from ``start_year`` (none after the list ends), summing to ``budget_usd``.
    Without it the whole budget is there from the start. (Works for Taxes: firms
    direct part of their income tax to an approved project, in tranches.)"""

    usd_by_year: list[NonNegative] = Field(min_length=1)


FarmCount = Annotated[Integer, Field(ge=0, le=2**31 - 1)]
#: One number of farms, or a list by programme year; only the matching form's
#: errors are reported (the tags, in brackets, stay out of the printed key).
FarmCap = Annotated[
    Annotated[FarmCount, Tag("[number]")] | Annotated[list[FarmCount], Tag("[list]")],
    Discriminator(lambda v: "[list]" if isinstance(v, list) else "[number]"),
]


class Programme(_Section):
    """An incentive programme: any combination of components, one budget."""

    name: Name
    start_year: Integer = Field(ge=1, le=100_000)
    end_year: Integer = Field(ge=1, le=100_000)
    budget_usd: NonNegative
    budget_usd_per_year: NonNegative
    #: Farms at most: one number, or one per programme year from ``start_year``
    #: (the last held after it), for a membership that grows.
    enrolment_cap: FarmCap
    targeting: Literal["first_come", "random", "highest_risk", "nearest_edge"]
    finance: Literal["public", "carbon_credits", "works_for_taxes"]
    detection_probability: Share
    expel_on_violation: Flag
    #: Detected violations a farm is warned of before the next one expels it (0:
    #: the first expels); a warned farm is unpaid that year and stays enrolled.
    warnings_before_expulsion: Integer = Field(ge=0, le=100)
    repay_on_violation: Flag
    participation: Participation | None = None
    funding: Funding | None = None
    obligations: Obligations | None = None
    forest_payment: ForestPayment | None = None
    carbon_payment: CarbonPayment | None = None
    establishment_support: EstablishmentSupport | None = None
    training: Training | None = None
    premium: Premium | None = None

    @model_validator(mode="after")
    def _check_years(self):
        if isinstance(self.enrolment_cap, list) and not self.enrolment_cap:
            raise ValueError("enrolment_cap must be a number of farms or a non-empty list")
        if self.funding is not None and not math.isclose(
            sum(self.funding.usd_by_year), self.budget_usd, rel_tol=1e-9, abs_tol=1e-6
        ):
            raise ValueError(
                f"funding.usd_by_year sums to {sum(self.funding.usd_by_year):,.2f} USD "
                f"but budget_usd is {self.budget_usd:,.2f}: they must be equal"
            )
        if self.end_year < self.start_year:
            raise ValueError(
                f"end_year ({self.end_year}) must be >= start_year ({self.start_year})"
            )
        return self
