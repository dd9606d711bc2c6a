"""Incentive programmes: enrolment, obligations, monitoring, payments and budgets.

A scenario's ``[[programmes]]`` each bundle any of: a payment per ha of standing
forest, a results-based carbon payment shared between farmers and collective
forest activities, establishment support (grant or loan), training, and a
deforestation-free cocoa premium, under obligations (no clearing, a minimum
forest share, a minimum area under sustainable practice), with a total and a
yearly budget, an enrolment cap and a targeting rule.

- :mod:`.terms`: what a contract offers and asks of each farm (areas, prices,
  expected payments, forbidden clearing) and the accounts of a programme;
- :mod:`.enrolment`: contracts end, volunteers enrol in the targeting order, training;
- :mod:`.incentives`: how enrolment changes option values and up-front costs;
- :mod:`.settlement`: loans, monitoring, sanctions and payments within budgets;
- :mod:`.programmes`: :class:`Programmes`, the yearly calls the model makes:
  :meth:`~Programmes.begin_year`, :meth:`~Programmes.value_adjustments`,
  :meth:`~Programmes.upfront_shares`, :meth:`~Programmes.record_establishment`,
  :meth:`~Programmes.settle` and :meth:`~Programmes.measure`.

Everything random (enrolment, targeting, detection) draws from the programmes'
own stream, so a programme that changes nothing leaves every other draw, and so
the whole run, identical to the counterfactual (common random numbers).

References
----------
Wunder, S. (2005). Payments for environmental services: some nuts and bolts.
CIFOR Occasional Paper 42. (Conditionality, monitoring and sanctions.)
Engel, S., Pagiola, S., & Wunder, S. (2008). Designing payments for environmental
services in theory and practice. Ecological Economics, 65, 663-674.
"""

from landsim.model.programmes.programmes import Programmes
from landsim.model.programmes.terms import FarmAreas, ProgrammeAccounts

__all__ = ["FarmAreas", "ProgrammeAccounts", "Programmes"]
