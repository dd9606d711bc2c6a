"""What a batch directory records about itself: the manifest (experiment,
fingerprint, seed rule, versions, attempts) and the experiment record."""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from landsim.experiment import Experiment
from landsim.provenance import dependency_versions, landsim_version


def read_manifest(root: Path) -> tuple[dict | None, str | None]:
    """A batch directory's manifest, or (None, what is wrong with it)."""
    path = root / "manifest.json"
    if path.is_dir():
        return None, "is a directory, not a file"
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        return None, "is not UTF-8 text"
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    if not text.strip():
        return None, "is empty"
    try:
        data = json.loads(text)
    except ValueError as exc:
        return None, f"is not valid JSON ({exc})"
    if not isinstance(data, dict):
        return None, f"holds a JSON {type(data).__name__}, not an object"
    if not isinstance(data.get("attempts"), list):
        return None, "has no list of attempts"
    return data, None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def batch_meta(experiment: Experiment) -> dict:
    """What every part of a batch records about its experiment (Parquet metadata)."""
    return {
        "experiment": experiment.name,
        "fingerprint": experiment.fingerprint(),
        "seed": experiment.seed,
    }


def new_manifest(experiment: Experiment) -> dict:
    """The manifest of a new batch (``attempts`` empty)."""
    return {
        "kind": "batch",
        "landsim_version": landsim_version(),
        **batch_meta(experiment),
        "experiment_file": experiment.source,
        "runs": len(experiment),
        "replicates": experiment.replicates,
        "seed_rule": "run stream = numpy.random.SeedSequence(seed).spawn(replicates)[replicate]",
        "created": _now(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dependencies": dependency_versions(("distributed",)),
        "attempts": [],
    }


def experiment_record(experiment: Experiment) -> dict:
    """The experiment as ``experiment.json`` records it: spec, base scenarios, points."""
    return {**experiment.to_dict(), "points": experiment.points}
