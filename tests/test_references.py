"""Shipped files cite the literature itself (docs/references.md), never notes
outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = ROOT / "docs" / "references.md"

#: What users get: scenarios, experiments, the package (with its default scenario),
#: the docs and the README.
SHIPPED = sorted(
    [
        *(ROOT / "scenarios").glob("*.toml"),
        *(ROOT / "experiments").glob("*.toml"),
        *(p for p in (ROOT / "src").rglob("*") if p.suffix in (".py", ".toml")),
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "docs").glob("*.py"),
        ROOT / "README.md",
    ]
)

#: A reference key: a capital letter, letters and digits, in square brackets.
KEY = re.compile(r"\[([A-Z][A-Za-z]*[0-9A-Za-z]*)\]")

#: Where the project cites sources by key: the comments of its TOML files.
CITING = sorted(
    [
        *(ROOT / "scenarios").glob("*.toml"),
        *(ROOT / "experiments").glob("*.toml"),
        ROOT / "src" / "landsim" / "data" / "default.toml",
    ]
)


def comments(path: Path) -> str:
    """The comment text of a TOML file (after each '#')."""
    return "\n".join(
        line.partition("#")[2] for line in path.read_text(encoding="utf-8").splitlines()
    )


def defined_keys() -> dict[str, str]:
    """Key -> its entry text in docs/references.md (a bold key opens an entry; a
    heading may define one, e.g. '## [Unverified]')."""
    text = REFERENCES.read_text(encoding="utf-8")
    entries = {}
    for match in re.finditer(
        r"^(?:- \*\*\[(\w+)\]\*\*|## \[(\w+)\])(.*?)(?=^- |^## |\Z)",
        text,
        flags=re.MULTILINE | re.DOTALL,
    ):
        entries[match[1] or match[2]] = match[3]
    return entries


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(ROOT)) for p in SHIPPED])
def test_no_shipped_file_cites_notes_outside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    for needle in ("PARAMETERS.md", "../shared/", "shared/seeds", "shared/PARAMETERS"):
        assert needle not in text, f"{path.relative_to(ROOT)} cites {needle}"


def test_every_key_cited_is_defined_in_the_references():
    defined = defined_keys()
    assert len(defined) >= 20
    cited = {}
    for path in CITING:
        for key in KEY.findall(comments(path)):
            cited.setdefault(key, path.relative_to(ROOT))
    assert cited, "no file cites a reference key"
    missing = {k: str(p) for k, p in cited.items() if k not in defined}
    assert not missing, f"keys cited but not in docs/references.md: {missing}"


def test_the_programme_scenarios_cite_their_programme_documents():
    expected = {
        "tambopata_redd_cocoa.toml": "Initiative20x20",
        "caqueta_conservation_agreements.toml": "NatureForPeace",
        "piura_reforestation_credits.toml": "MomentumForChange",
        "soil_carbon_slm.toml": "ClimateSoilCoP",
    }
    for name, key in expected.items():
        assert f"[{key}]" in comments(ROOT / "scenarios" / name), name


def test_every_reference_says_where_to_find_it():
    for key, entry in defined_keys().items():
        if key == "Unverified":
            continue
        entry = " ".join(entry.split())
        assert re.search(r"\b(19|20)\d\d\b|year not recorded", entry), f"{key}: no year"
        assert "http" in entry or "not recorded" in entry, (
            f"{key}: neither a DOI/URL nor a note that none is recorded"
        )
