"""The model's state and its vocabulary: land covers, options, the registry of
land-use systems, and the state object that the yearly processes act on.

The registry :data:`SYSTEMS` is the one table that maps a land use's cover code,
the option that establishes it, the scenario section of its parameters and the
product it sells. The processes, the programmes, the reference implementation, the
browser view and the docs read it; adding a land use is one entry here, its
parameter section in the scenario schema, and its rules in the processes that
differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from landsim.agents import Farmer, FarmerState
from landsim.economics import OPTION_NAMES, Option
from landsim.landscape import COVER_NAMES, NO_OWNER, Cover, Landscape
from landsim.market import Market
from landsim.scenario import Scenario

__all__ = [
    "CHANGES",
    "CLEARING",
    "COVER_NAMES",
    "FOREST",
    "LOT_REFERENCE_HA",
    "NATURAL_REGENERATION",
    "NO_OWNER",
    "N_COVERS",
    "OPTION_NAMES",
    "PERENNIALS",
    "PLANTING",
    "PRODUCTIVE_RESTORATION",
    "PROGRAMME_YEAR_KEYS",
    "RESTORATION_TYPES",
    "SOC_TOLERANCE_TC_PER_HA",
    "STAGE2",
    "SYSTEMS",
    "Cover",
    "Farmer",
    "FarmerState",
    "LandUseSystem",
    "Landscape",
    "ModelState",
    "Option",
    "system_params",
]


@dataclass(frozen=True)
class LandUseSystem:
    """One land-use system.

    Attributes
    ----------
    name : str
        The name in indicators (``area_<name>_ha``) and docs.
    cover : Cover
        Its code in the ``cover`` layer.
    option : Option or None
        The yearly option that makes land this cover (None: no option does).
    section : str
        The scenario section that holds its parameters.
    product : str or None
        What it sells (a market of ``[markets]``), if anything.
    forest : bool
        Counts as forest (forest area, payments per ha of forest, clearing).
    perennial : bool
        A perennial system established on existing farmland (``established_on``),
        with an establishment cost, labour and a yield or income curve over its age.
    established_on : Cover or None
        The cover a perennial system replaces (annual crops for cocoa agroforestry,
        pasture for silvopasture, which plants trees into grazing land).
    """

    name: str
    cover: Cover
    option: Option | None
    section: str
    product: str | None
    forest: bool = False
    perennial: bool = False
    established_on: Cover | None = None


#: Every land-use system, in the order of the cover codes.
SYSTEMS: tuple[LandUseSystem, ...] = (
    LandUseSystem("primary_forest", Cover.PRIMARY_FOREST, None, "forest", None, forest=True),
    LandUseSystem(
        "secondary_forest", Cover.SECONDARY_FOREST, Option.ABANDON, "forest", None, forest=True
    ),
    LandUseSystem("monocrop", Cover.MONOCROP, Option.CLEAR, "monocrop", "monocrop"),
    LandUseSystem(
        "cocoa_agroforestry",
        Cover.COCOA_AGROFORESTRY,
        Option.COCOA_AGROFORESTRY,
        "cocoa_agroforestry",
        "cocoa",
        perennial=True,
        established_on=Cover.MONOCROP,
    ),
    LandUseSystem(
        "silvopasture",
        Cover.SILVOPASTURE,
        Option.SILVOPASTURE,
        "silvopasture",
        "beef",
        perennial=True,
        established_on=Cover.PASTURE,
    ),
    LandUseSystem("pasture", Cover.PASTURE, Option.PASTURE, "pasture", "beef"),
)
assert tuple(s.cover for s in SYSTEMS) == tuple(Cover), "one system per cover, in code order"
assert tuple(s.name for s in SYSTEMS) == COVER_NAMES

N_COVERS = len(SYSTEMS)
#: The forest covers.
FOREST = tuple(s.cover for s in SYSTEMS if s.forest)
#: The perennial systems established on existing farmland, in the order they are
#: valued and established.
PERENNIALS = tuple(s for s in SYSTEMS if s.perennial)
#: The options that clear forest, and the cover the cleared land gets: annual
#: crops, pasture, or cocoa agroforestry planted on the cleared land.
CLEARING = {
    Option.CLEAR: Cover.MONOCROP,
    Option.PASTURE: Cover.PASTURE,
    Option.COCOA_ON_CLEARED: Cover.COCOA_AGROFORESTRY,
}
#: The options valued in stage 2 of the decision (abandoning is stage 1's choice).
STAGE2 = (
    Option.KEEP,
    Option.CLEAR,
    *(s.option for s in PERENNIALS),
    Option.PASTURE,
    Option.COCOA_ON_CLEARED,
    Option.RESTORE_PASTURE,
)
#: Restoration interventions (the ``restoration`` layer), by code from 1 (0:
#: none): natural regeneration under an agreement that forbids clearing, and
#: productive restoration with cocoa agroforestry or silvopasture established by
#: an enrolled farm (``landsim.model.processes.restoration``); and planting
#: (reforestation, ARR) that a programme paid for: secondary forest of its own
#: growth curve (``landsim.model.processes.planting``).
RESTORATION_TYPES = ("natural_regeneration", "agroforestry", "silvopasture", "planting")
NATURAL_REGENERATION = 1
#: The productive restoration code each perennial cover gives.
PRODUCTIVE_RESTORATION = {Cover.COCOA_AGROFORESTRY: 2, Cover.SILVOPASTURE: 3}
#: The restoration code of planted cells.
PLANTING = 4
#: The stage-2 options that change land (all but keeping things as they are).
CHANGES = [option for option in STAGE2 if option != Option.KEEP]


#: A gap to its equilibrium below which a cell's soil carbon is at equilibrium
#: (tC/ha): the first-order approach (ODD 7.3) would otherwise never end.
SOC_TOLERANCE_TC_PER_HA = 1e-3

#: The area an obligation "per 40 ha" refers to (the Tambopata 40-ha rule), ha.
LOT_REFERENCE_HA = 40.0

#: The keys of a programme's yearly record (money in USD, counts in farms).
PROGRAMME_YEAR_KEYS = (
    "payments_to_farmers_usd",
    "collective_spending_usd",
    "establishment_support_usd",
    "loan_repayments_usd",
    "repayments_usd",
    "violations_detected",
    "newly_enrolled",
    "compliant_farms",
    "premium_from_buyers_usd",
    "finance_repaid_usd",
    "credits_tco2e",
    "planted_ha",
    "planted_pasture_ha",
    "planting_spending_usd",
    "planting_labour_usd",
)


def system_params(system: LandUseSystem, scenario: Scenario):
    """The scenario section of ``system``'s parameters."""
    return getattr(scenario, system.section)


@dataclass
class ModelState:
    """What the yearly processes and the programmes act on.

    Attributes
    ----------
    params : Scenario
        The validated scenario.
    landscape : Landscape
        Raster layers.
    farmers : FarmerState
        Struct-of-arrays state of the farmers.
    market : Market
        Price paths.
    year : int
        Years simulated so far.
    """

    params: Scenario
    landscape: Landscape
    farmers: FarmerState
    market: Market
    year: int = 0
