"""Global sensitivity analysis with SALib, evaluated through the batch engine.

The flow is SALib's ProblemSpec: **sample**, **evaluate**, **analyze**, on one
object, :class:`SensitivityAnalysis`::

    sa = SensitivityAnalysis.from_file("experiments/sobol_tambopata.toml")
    sa.sample()                                  # sa.samples_: (n_points, n_factors)
    sa.evaluate(out="results/sobol", workers=2)  # runs through landsim.batch
    sa.analyze()                                 # sa.indices_: a long DataFrame
    sa.write("results/sobol")                    # tables, figures

Factors are scenario keys (the dotted names of scenario files); a Python callable
``f(params) -> number or dict`` may replace the land-use model (``model=f``), so
the pipeline can be checked on functions whose indices are known analytically.

Methods
-------
``morris``
    Elementary effects screening (``n`` trajectories, ``num_levels``): mu*, mu,
    sigma, and a bootstrap interval of mu*.
``sobol``
    Saltelli/Jansen estimators of first- and total-order (optionally second-order)
    indices with bootstrap intervals; ``n`` base samples, a power of two (Sobol'
    sequence).
``fast``
    Extended FAST (first and total order); ``n`` samples per factor, more than
    ``4 M^2``.
``delta``
    Borgonovo's moment-independent delta (SALib's raw, balanced and step
    estimates) on a Latin hypercube sample of size ``n``. Its bootstrap is slow
    (about a minute per output at n = 1000), so no convergence is computed.
``pawn``
    PAWN (Kolmogorov-Smirnov statistics over ``S`` conditioning slices) on a Latin
    hypercube sample of size ``n``.

The model is stochastic: each sample point runs ``replicates`` times (replicate
``r`` with ``SeedSequence(seed).spawn(replicates)[r]``, common to every point, so
that differences between points are not chance) and the analysis uses the mean
over replicates. The replicate spread is reported per output (``spread_``): the
mean replicate standard deviation against the standard deviation of the point
means.

=================  ==========================================================
module             what it holds
=================  ==========================================================
``spec``           the sections of a file (:class:`Factor`, :class:`Options`,
                   :class:`SensitivitySpec`), their validation, reading a file
``scenarios``      the scenarios varied, integer keys, the factors' checks
``sampling``       the size check, the SALib problem, the sample
``evaluate``       the runs through :mod:`landsim.batch`, paired outputs, the
                   mean over replicates and the replicate spread
``indices``        SALib's analyses as long tables, convergence, ranking
``diagnostics``    :class:`SensitivityError`, :class:`SensitivityWarning`, the
                   checks and warnings of an analysis
``io``             the printed tables, the files and figures, the manifest
``analysis``       :class:`SensitivityAnalysis`, :func:`run_sensitivity`
=================  ==========================================================

References
----------
Morris, M. D. (1991). Factorial sampling plans for preliminary computational
experiments. Technometrics 33, 161-174.
Campolongo, F., Cariboni, J., Saltelli, A. (2007). An effective screening design
for sensitivity analysis of large models. Environ. Model. Softw. 22, 1509-1518.
Saltelli, A. et al. (2010). Variance based sensitivity analysis of model output.
Comput. Phys. Commun. 181, 259-270.
Saltelli, A., Tarantola, S., Chan, K. (1999). A quantitative model-independent
method for global sensitivity analysis of model output. Technometrics 41, 39-56.
Borgonovo, E. (2007). A new uncertainty importance measure. Reliab. Eng. Syst.
Saf. 92, 771-784.
Pianosi, F., Wagener, T. (2015). A simple and efficient method for global
sensitivity analysis based on cumulative distribution functions. Environ. Model.
Softw. 67, 1-11.
Herman, J., Usher, W. (2017). SALib: an open-source Python library for
sensitivity analysis. J. Open Source Softw. 2(9), 97.
"""

from landsim.errors import problems_from  # noqa: F401
from landsim.evaluation.metrics import additional_tco2e, avoided_ha, cost_per_tco2e  # noqa: F401
from landsim.experiment import (  # noqa: F401
    Experiment,
    Integer,
    Number,
    check_design_size,
    is_integer_key,
)
from landsim.scenario import (  # noqa: F401
    DEFAULT_NAME,
    Scenario,
    ScenarioError,
    has_path,
    load_scenario,
    read_toml,
)
from landsim.sensitivity.analysis import SensitivityAnalysis, run_sensitivity  # noqa: F401
from landsim.sensitivity.diagnostics import (  # noqa: F401
    BOUNDED_INDICES,
    MAX_HALF_WIDTH,
    MIN_MORRIS_TRAJECTORIES,
    SensitivityError,
    SensitivityWarning,
    check_finite,
    check_runs,
    convergence_messages,
    diagnose_indices,
    interval_messages,
    needed_size,
)
from landsim.sensitivity.evaluate import (  # noqa: F401
    PAIRED_OUTPUTS,
    aggregate,
    batch_experiment,
    check_evaluation_dir,
    check_model_outputs,
    check_paired_outputs,
    output_values,
    run_points,
    run_scalars,
)
from landsim.sensitivity.indices import (  # noqa: F401
    CONVERGENCE_COLUMNS,
    MAIN_INDEX,
    analyze_outputs,
    compute_indices,
    convergence_table,
    long_table,
    rank_factors,
    subset_sizes,
)
from landsim.sensitivity.io import (  # noqa: F401
    SENSITIVITY_FILES,
    format_analysis,
    manifest,
    plot_figures,
    write_files,
    write_tables,
)
from landsim.sensitivity.sampling import (  # noqa: F401
    check_size,
    draw_sample,
    salib_problem,
    sample_points,
)
from landsim.sensitivity.scenarios import (  # noqa: F401
    check_factors,
    coerce,
    is_function_model,
    resolve_scenario,
)
from landsim.sensitivity.spec import (  # noqa: F401
    DISTRIBUTIONS,
    LOG_MAX_FLOAT,
    METHODS,
    Factor,
    Options,
    Section,
    SensitivitySpec,
    _factor,
    build_spec,
    read_sensitivity_file,
    validate_spec,
)

#: The names these had when the analysis was one module.
_Section = Section
_long_table = long_table
_needed_size = needed_size
_resolve = resolve_scenario
_validate_spec = validate_spec
