"""Every default carries a unit and a source, and the ODD parameter table is current."""

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "src" / "landsim" / "data" / "default.toml"
SCRIPT = ROOT / "docs" / "make_parameter_table.py"


def load_table_module():
    spec = importlib.util.spec_from_file_location("make_parameter_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROWS = load_table_module().parameter_rows(DEFAULT)


def test_every_scenario_key_is_documented():
    import tomllib

    def leaves(d, prefix=""):
        for key, value in d.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict) and "dist" not in value:
                yield from leaves(value, path + ".")
            else:
                yield path

    keys = set(leaves(tomllib.loads(DEFAULT.read_text(encoding="utf-8"))))
    assert keys == {row["parameter"] for row in ROWS}


@pytest.mark.parametrize("row", ROWS, ids=[row["parameter"] for row in ROWS])
def test_default_has_unit_and_source_or_is_marked_assumption(row):
    assert row["unit"], f"{row['parameter']}: no unit"
    source = row["source"].strip()
    assert source and source != "-", f"{row['parameter']}: no source"
    if "assumption" in source.lower():
        # An assumption must say how widely sensitivity analysis should vary it,
        # unless it is a structural setting.
        assert row["range"] not in ("", "-") or "setting" in source.lower(), row["parameter"]


def test_odd_parameter_table_is_up_to_date():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_python_example_runs(monkeypatch):
    """The README's Python example works as written (from the repository root)."""
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert blocks, "README has no Python example"
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert len(namespace["result"].yearly) == namespace["result"].scenario.years + 1
    assert namespace["model"].year == 30


SECTIONS = (
    "landscape|farmers|decision|markets|forest|monocrop|cocoa_agroforestry|silvopasture|"
    "soil|programmes|roads"
)
#: A dotted scenario key, not part of a longer name (``model.landscape.cover``).
DOTTED_KEY = re.compile(rf"(?<![\w./-])((?:{SECTIONS})(?:\.\w+)+)")
FILE_SUFFIXES = ("py", "md", "toml", "npz", "csv", "parquet", "json", "png")


def _documented_keys():
    """(where, key) for each dotted scenario key the docs, the shipped scenario and
    experiment files and the modules' docstrings name."""
    files = [
        *sorted((ROOT / "docs").glob("*.md")),
        ROOT / "README.md",
        *sorted((ROOT / "scenarios").glob("*.toml")),
        *sorted((ROOT / "experiments").glob("*.toml")),
    ]
    texts = {path: path.read_text(encoding="utf-8") for path in files}
    for path in sorted((ROOT / "src" / "landsim").rglob("*.py")):  # module docstrings
        texts[path] = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    for path, text in texts.items():
        for number, line in enumerate(text.splitlines(), 1):
            if "unknown key" in line:  # an example of the error a wrong key gives
                continue
            for key in DOTTED_KEY.findall(line):
                if key.rsplit(".", 1)[1] not in FILE_SUFFIXES:
                    yield f"{path.relative_to(ROOT)}:{number}", key


DOCUMENTED_KEYS = sorted(set(_documented_keys()))


def test_docs_name_scenario_keys():
    assert len(DOCUMENTED_KEYS) > 50  # the pattern finds the keys the docs name


@pytest.mark.parametrize(("where", "key"), DOCUMENTED_KEYS, ids=[k for _, k in DOCUMENTED_KEYS])
def test_every_documented_key_exists(where, key):
    from landsim.scenario import is_scenario_key

    assert is_scenario_key(key), f"{where}: {key} is not a scenario key"
