"""Programme evaluation: a scenario against its counterfactual, with common random numbers.

:func:`compare` runs a scenario (typically one with incentive programmes) and a
counterfactual (typically business as usual) ``replicates`` times. Replicate ``i``
runs both with the same seed, ``numpy.random.SeedSequence(seed).spawn(replicates)[i]``
(common random numbers), through the batch engine (:mod:`landsim.batch`): both
runs share the landscape, the farmers, the price paths and the decision draws, so
the difference between them is the effect of what differs between the scenarios,
not of chance. Effects are computed per
replicate (:data:`METRICS`, documented in ``docs/evaluation.md``) and summarised
across replicates with a t-interval of the mean and the 2.5-97.5 % spread.

The metric functions (:func:`replicate_metrics` and the functions it calls) work
on plain yearly and farm tables, so they can be checked on hand-made frames. A
metric whose input columns are missing is NaN, never an error; a scenario without
programmes has a programme cost of 0, no enrolment, and a NaN cost per tCO2e.

Nothing here prints; figures use matplotlib's Agg canvas without touching pyplot's
global state (matplotlib is imported only when a figure is drawn).

=============  ==============================================================
module         what it holds
=============  ==============================================================
``metrics``    the metrics per replicate and their summary (one home)
``permanence`` additional carbon by pool, tonne-years, the buffer share
``compare``    :func:`compare`
``results``    :class:`Comparison`, its files, figures and printed summary
=============  ==============================================================
"""

from landsim.carbon import CO2_PER_C  # noqa: F401
from landsim.evaluation.compare import (  # noqa: F401
    STATIC_LAYERS,
    _same_landscape,
    compare,
    programme_windows,
    restoration_table,
)
from landsim.evaluation.metrics import (  # noqa: F401
    METRICS,
    _at,
    _flag,
    _mean_difference,
    _total,
    additional_carbon,
    additional_tco2e,
    avoided_deforestation,
    avoided_ha,
    compliance_rate,
    cost_per_tco2e,
    leakage,
    replicate_metrics,
    reversal_share,
    summarize_replicates,
    t_interval,
)
from landsim.evaluation.results import (  # noqa: F401
    _RUN_COLUMNS,
    COMPARISON_FILES,
    EFFECT_PANELS,
    RESTORATION_COLUMNS,
    TRAJECTORY_PANELS,
    Comparison,
    _to_parquet,
    format_comparison,
)
