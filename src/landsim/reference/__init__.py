"""A per-agent reference implementation of landsim's yearly rules.

:class:`ReferenceModel` runs the same model as :class:`landsim.model.LandUseModel`,
written the way a Mesa user would write it: the landscape is a Mesa
``OrthogonalMooreGrid`` whose layers (cover, age, fertility, owner, ...) are Mesa
property layers, and each :class:`ReferenceFarmer` agent loops in Python over its
own cells, reading and writing them through Mesa cell access (``cell.cover``,
``cell.fertility``, ``cell.neighborhood``). It is slow (one to two seconds per
year on the default 200 x 200 landscape) and is meant as an executable specification of
the yearly rules in ``docs/ODD.md`` (sections 3 and 7) and ``docs/schemes.md``,
against which the vectorised model is tested (``tests/test_reference.py``).

=================  ==============================================================
module             what it holds
=================  ==============================================================
``model``          :class:`ReferenceModel`: set-up, the cells' operations, the year
``farmer``         :class:`ReferenceFarmer`: survey, learning, option values and
                   sizes, abandonment, production, savings
``land``           the Mesa grid and its layers, distances to fields, clearing and
                   conversion of cells
``roads``          the year's scheduled road segments: lines of road cells
``growth``         every cell one year on: fertility, age, carbon and its fluxes
``carbon``         biomass and soil carbon of each cover
``programmes``     contracts, enrolment and targeting, the programmes' year
``incentives``     a contract's terms and the incentives in the option values
``settlement``     loans, monitoring, sanctions and payments within the budgets
``planting``       reforestation (ARR) with the programmes' planting funds
``records``        the yearly indicators and the farm table
``curves``         yield curves, discounting, the logit choice, plain sums
=================  ==============================================================

What is shared with the vectorised model, and what is not:

- *Shared (inputs, set-up and vocabulary, not yearly rules)*: the scenario and its
  validation (:mod:`landsim.scenario`), the landscape generator or ``.npz`` reader
  and the ``Landscape`` and ``Cover`` types (:mod:`landsim.landscape`), the draws of
  farmer attributes and their neighbour network
  (:func:`landsim.agents.draw_farmers`, and for settlers
  :func:`landsim.agents.draw_settlers`), the exogenous price paths
  (:class:`landsim.market.Market`), the state vocabulary (covers, options, the
  programme record's keys: :mod:`landsim.model.state`), seeds
  (:mod:`landsim.provenance`), the memory check (:mod:`landsim.limits`) and
  :mod:`landsim.errors`. Nothing else of landsim is imported
  (``tests/test_architecture.py``).
- *Written afresh*: every yearly process: road building (the line of cells of a
  scheduled segment, the distance to roads), price expectations, farm statistics,
  social learning, option values, the logit choices, option sizes, abandonment,
  clearing and conversion of cells, production, savings, growth of fertility,
  ages, biomass and soil carbon, carbon accounting, incentive programmes
  (enrolment, targeting, incentives, monitoring, sanctions, payments, budgets),
  and the yearly indicators; and the curves and constants they use: the
  Chapman-Richards curve of biomass per cover and age (tabulated by whole years
  of age), the soil-carbon stock-change factors per cover, the CO2/C ratio 44/12
  and the Gini coefficient of incomes (``tests/test_reference_rules.py`` checks
  that they give the vectorised model's numbers to the last bit).

Random numbers are consumed exactly as in the vectorised model, so that both give
the same results for the same seed: the seed is split into the same five streams
(landscape, farmers, markets, decisions, programmes); each year one child of the
decision stream draws, in this order, one uniform per farmer for stage 1, one per
farmer for stage 2, then one per candidate cell of the clearing farmers, one per
annual-crop cell of the farmers converting to cocoa agroforestry, and one per
annual-crop cell of the farmers converting to silvopasture, each set of cells
taken in raster order (row by row from the northern edge). Each farmer uses the
draws of its own id or its own cells. Programmes draw from their own stream in
the same way (one uniform per farmer for enrolment and one for detection, per
programme, and a permutation of the applicants for random targeting).

Where the two implementations can differ (see ``tests/test_reference.py``):

- Sums over farmers that set state or outputs are taken with numpy over farmers
  in id order, and sums over a farm's cells in raster order, so they match the
  vectorised model bit for bit. Landscape totals (carbon stocks, removals and
  emissions) are summed here cell by cell, in a different order from numpy's
  pairwise sums, and agree to about 1e-14 relative. The Gini coefficient's two
  sums are taken with numpy too.
- The biomass curves are evaluated with numpy's ``expm1`` and power on an array of
  ages, as in the vectorised model: Python's ``math.expm1`` and ``**`` on floats
  can differ from numpy's vector code in the last bit.
- Option values and choice probabilities are computed here with plain Python
  loops, so they may differ from the vectorised ones in the last bits; a choice
  could differ only if a uniform draw fell within that rounding of a boundary
  between two options (probability about 1e-15 per decision).
- Clearing breaks ties at random with one uniform per cell; the vectorised model
  adds that uniform to an integer sort key, which rounds it to about 2**-30 on
  the largest landscapes. The two orders differ only if two candidate cells of one
  farm at the same distance draw uniforms that close.
"""

from landsim.reference.curves import (
    beef_yield_kg_per_ha,
    cocoa_yield_kg_per_ha,
    discount_factor,
    logit_choice,
    sum_in_order,
)
from landsim.reference.farmer import ReferenceFarmer
from landsim.reference.land import LAYERS
from landsim.reference.model import ReferenceModel, simulate_reference
from landsim.reference.programmes import Contract, ReferenceProgramme, ReferenceProgrammes
from landsim.reference.survey import FarmSurvey

__all__ = [
    "LAYERS",
    "Contract",
    "FarmSurvey",
    "ReferenceFarmer",
    "ReferenceModel",
    "ReferenceProgramme",
    "ReferenceProgrammes",
    "beef_yield_kg_per_ha",
    "cocoa_yield_kg_per_ha",
    "discount_factor",
    "logit_choice",
    "simulate_reference",
    "sum_in_order",
]
