"""The ``landsim`` command line.

``landsim run [SCENARIO] [--out DIR] [--seed N]`` runs a scenario (the embedded
default when none is given), prints a summary table and, with ``--out``, writes
the yearly table (CSV, Parquet), the final rasters (.npz) and a manifest.

``landsim batch EXPERIMENT --out DIR [--workers N | --scheduler ADDRESS |
--dask-local N] [--resume]`` runs an experiment through the batch engine
(:mod:`landsim.batch`); ``landsim summarize DIR`` summarises its results.

``landsim sensitivity EXPERIMENT --out DIR`` runs a SALib sensitivity analysis
(:mod:`landsim.sensitivity`) through the batch engine.

``landsim compare SCENARIO --against COUNTERFACTUAL [--replicates N] [--seed N]
[--years N] [--out DIR]`` runs both over replicates with common random numbers,
prints the effects (mean and 95 % confidence interval) and, with ``--out``, writes
the summary, replicate and trajectory tables, figures and a manifest.

Exit codes: 0 success; 1 some runs of a batch failed; 2 a user mistake (bad
scenario or experiment, bad option, output directory already holding results);
130 interrupted.
"""

from __future__ import annotations

import sys
import warnings

from landsim.cli.commands import (
    batch_command,
    check_backend_options,
    check_out,
    compare_command,
    run_command,
    sensitivity_command,
    summarize_command,
    viz_command,
)
from landsim.cli.parser import add_backend_options, build_parser
from landsim.errors import UsageError

#: The exit code of a user mistake.
EXIT_USAGE = 2

__all__ = [
    "EXIT_USAGE",
    "UsageError",
    "add_backend_options",
    "batch_command",
    "build_parser",
    "check_backend_options",
    "check_out",
    "compare_command",
    "main",
    "run_command",
    "sensitivity_command",
    "summarize_command",
    "viz_command",
]


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings about the user's files as one line each, without the source line."""
    from landsim.batch import BatchWarning

    if issubclass(category, BatchWarning):
        print(f"landsim: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def main(argv: list[str] | None = None) -> int:
    from landsim.outdir import OutputDirError
    from landsim.scenario import ScenarioError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.handler(args)
    except (ScenarioError, UsageError, OutputDirError) as exc:
        print(f"landsim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("landsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        sys.stderr.close()
        return 0
