"""What an analysis shows and writes: the printed tables, the files, the figures.

:func:`format_analysis` is the ranked table of every output for the terminal;
:func:`write_files` writes the indices, convergence, samples, results and
replicate spread (CSV and Parquet), the figures (:func:`plot_figures`), the
warnings and a manifest into a directory; :data:`SENSITIVITY_FILES` lists every
file an analysis may own there. Each function takes the analysis (a
:class:`~landsim.sensitivity.SensitivityAnalysis` after :meth:`analyze`).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pandas as pd

from landsim.sensitivity.indices import MAIN_INDEX

#: Every file :meth:`SensitivityAnalysis.write` may write (those an analysis does
#: not write, e.g. the Morris plot after a Sobol' analysis, are removed from DIR).
SENSITIVITY_FILES = (
    *(
        f"{name}.{ext}"
        for name in ("indices", "convergence", "samples", "results", "replicate_spread")
        for ext in ("csv", "parquet")
    ),
    "indices.png",
    "morris_mu_star_sigma.png",
    "convergence.png",
    "manifest.json",
)


def format_analysis(sa) -> str:
    """The ranked tables of every output, the replicate spread and the warnings of
    the analysis ``sa``, for the terminal."""
    spec = sa.spec_
    index, _ = MAIN_INDEX[spec.method]
    lines = [
        textwrap.fill(
            f"{sa.name}: {spec.method} on {len(sa.names)} factors, n = "
            f"{spec.n} ({len(sa.points_)} points x {spec.replicates} "
            "replicate(s)"
            + (" x 2 scenarios" if sa.counterfactual_ is not None else "")
            + f"), seed {spec.seed}; factors ranked by {index}",
            width=99,
            subsequent_indent="  ",
        )
    ]
    for output in spec.outputs:
        lines += [
            "",
            f"{output}:",
            sa.ranked(output).to_string(float_format="{:.3g}".format, na_rep="n/a"),
        ]
    if len(sa.spread_):
        lines += [
            "",
            "replicate spread (mean replicate sd / sd of the point means):",
            sa.spread_.drop(columns="note", errors="ignore").to_string(
                index=False, float_format="{:.3g}".format, na_rep="n/a"
            ),
        ]
    if getattr(sa, "warnings_", None):
        lines += ["", "warnings:"]
        lines += [
            textwrap.fill(m, width=99, initial_indent="  - ", subsequent_indent="    ")
            for m in sa.warnings_
        ]
    return "\n".join(lines)


def write_files(sa, out: Path) -> list[str]:
    """Write the tables, figures, warnings and manifest of ``sa`` into the
    directory ``out``; the names of the files written."""
    paths = write_tables(sa, out)
    paths += sa.plot(out)
    notes = list(getattr(sa, "warnings_", []))
    warnings_file = out / "warnings.txt"
    if notes:
        warnings_file.write_text("\n\n".join(notes) + "\n", encoding="utf-8")
        paths.append(warnings_file)
    elif warnings_file.exists():  # from an earlier analysis in the same directory
        warnings_file.unlink()
    paths.append(out / "manifest.json")
    paths[-1].write_text(json.dumps(manifest(sa, notes), indent=1) + "\n", encoding="utf-8")
    return [p.name for p in paths]


def write_tables(sa, out: Path) -> list[Path]:
    """Write the indices, convergence, samples, results and replicate spread of
    ``sa`` as CSV and Parquet files into ``out``."""
    samples = pd.DataFrame(sa.samples_, columns=sa.names)
    tables = {
        "indices": sa.indices_,
        "convergence": sa.convergence_,
        "samples": samples,
        "results": pd.concat([samples, sa.results_], axis=1),
    }
    if len(sa.spread_):
        tables["replicate_spread"] = sa.spread_
    paths = []
    for name, frame in tables.items():
        paths += [out / f"{name}.csv", out / f"{name}.parquet"]
        frame.to_csv(paths[-2], index=False)
        frame.to_parquet(paths[-1], index=False)
    return paths


def manifest(sa, notes: list[str]) -> dict:
    """What ``manifest.json`` records of ``sa``: the version, the spec, the
    scenarios in full (or the function's name), the points and the warnings."""
    from landsim.provenance import landsim_version

    return {
        "kind": "sensitivity",
        "landsim_version": landsim_version(),
        "name": sa.name,
        "source": sa.source,
        "spec": sa.spec_.model_dump(mode="json"),
        "scenario": sa.scenario_.to_dict() if sa.scenario_ is not None else None,
        "counterfactual": (
            sa.counterfactual_.to_dict() if sa.counterfactual_ is not None else None
        ),
        "model": None if not sa.is_function_ else getattr(sa.model, "__name__", "callable"),
        "points": len(sa.points_),
        "warnings": notes,
    }


def plot_figures(sa, out: Path) -> list[Path]:
    """Bar charts with intervals, the Morris mu*-sigma plot, the convergence plot."""
    from landsim.plot.sensitivity import plot_convergence, plot_indices, plot_morris

    paths = [plot_indices(sa, out / "indices.png")]
    if sa.spec_.method == "morris":
        paths.append(plot_morris(sa, out / "morris_mu_star_sigma.png"))
    if len(sa.convergence_) and sa.convergence_["n"].nunique() >= 2:
        paths.append(plot_convergence(sa, out / "convergence.png"))
    return paths
