"""Results are exactly those recorded in tests/fingerprints.json (see tests/fingerprints.py).

A change that is meant to leave results alone must pass this test unchanged; a
change of the model's rules regenerates the file on purpose
(``python tests/fingerprints.py --update``) and says so in the CHANGELOG.
"""

from __future__ import annotations

import json

import pytest

from fingerprints import FILE, compute


@pytest.mark.slow
def test_results_match_the_recorded_fingerprints():
    stored = json.loads(FILE.read_text(encoding="utf-8"))
    now = compute()
    assert now.keys() == stored["fingerprints"].keys()
    changed = sorted(k for k, v in now.items() if stored["fingerprints"][k] != v)
    assert not changed, (
        f"{len(changed)} of {len(now)} fingerprints changed (recorded with "
        f"{stored['versions']}): {changed}"
    )
