"""Experiment files: which runs a batch makes and what it keeps.

An experiment (a TOML file in ``experiments/``) declares

- ``scenarios``: the base scenario(s), ``id = "path.toml"`` (relative to the
  experiment file) or ``id = "default"`` for the embedded default;
- the parameter overrides, at most one of

  - ``[grid]``: a full-factorial grid, ``"dotted.key" = [value, ...]``;
  - ``[[points]]``: an explicit list of override tables;
  - ``[samples]``: ``n`` points drawn by ``method`` ("latin", "sobol" or
    "uniform") over ``[samples.factors]``, ``"dotted.key" = [low, high]``;

  (none: each base scenario as it is);
- ``replicates`` and ``seed``: replicate ``r`` of every scenario and point runs with
  ``numpy.random.SeedSequence(seed).spawn(replicates)[r]``, so replicates are
  independent streams and points share common random numbers;
- ``years`` (optional): a horizon for every run;
- ``[outputs]``: what each run keeps (the yearly table or some of its columns,
  end-of-run scalars, the final farm table, rasters at chosen years).

Override keys are the dotted key paths of scenario files (``"farmers.discount_rate"``,
``"markets.cocoa.mean"``, ``"programmes.0.forest_payment.usd_per_ha_per_year"``): one
vocabulary for TOML, code, sliders and sensitivity factors.

Everything is checked when the experiment is loaded, before any run starts: the
runs and the memory of the design are counted (not built) against
:data:`MAX_RUNS` and :data:`MAX_DESIGN_BYTES`; every value of a grid key and every
sample bound, then every design point, is applied to every base scenario, so an
unknown key or an invalid value is reported against the experiment file with its
key and what is allowed. Booleans are not numbers, and the experiment's own
numbers are finite. An integer key in ``[samples]`` is drawn over the integers of
its bounds.

============  ===============================================================
module        what it holds
============  ===============================================================
``spec``      the sections of the file, their validation, ``column@stat``
``sizes``     the limits of a design, counted before it is built; chunk sizes
``sampling``  the replicate streams and the ``[samples]`` draw
``checks``    integer keys, the design's checks against its base scenarios
``design``    :class:`Experiment`, :class:`Run`, :func:`load_experiment`
============  ===============================================================
"""

from landsim.errors import ScenarioError, problems_from  # noqa: F401
from landsim.experiment.checks import (  # noqa: F401
    check_points,
    check_sample_factors,
    check_scalars,
    integer_keys,
    is_integer_key,
    point_checks,
)
from landsim.experiment.design import (  # noqa: F401
    Experiment,
    Run,
    design_points,
    fingerprint_of,
    load_experiment,
    resolve_scenarios,
)
from landsim.experiment.sampling import SAMPLE_STREAM, draw_samples, replicate_seed  # noqa: F401
from landsim.experiment.sizes import (  # noqa: F401
    KEY_BYTES,
    MAX_DESIGN_BYTES,
    MAX_RUNS,
    POINT_BYTES,
    RUN_BYTES,
    _bytes,
    check_design_size,
    check_experiment_size,
    chunk_size_for,
    design_size,
)
from landsim.experiment.spec import (  # noqa: F401
    DEFAULT_SCALARS,
    SAMPLE_METHODS,
    SCALAR_STATS,
    ExperimentSpec,
    Integer,
    Number,
    Outputs,
    Samples,
    Section,
    _not_bool,
    parse_scalar,
    validate_spec,
)
from landsim.limits import model_memory_bytes  # noqa: F401
from landsim.scenario import DEFAULT_NAME, Scenario, load_scenario, read_toml  # noqa: F401

#: The names these had when the experiment was one module.
_Section = Section
_validate_spec = validate_spec
