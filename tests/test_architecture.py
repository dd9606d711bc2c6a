"""The package's shape stays as docs/architecture.md describes it: every module it
names exists, the reference implementation stands apart from the vectorised model,
the modules of the model, experiment and sensitivity packages stay small, and no
modules import each other in a cycle."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "landsim"
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def test_every_module_named_in_the_architecture_page_exists():
    named = set(re.findall(r"`(landsim/[\w/]+(?:\.py)?/?)`", ARCHITECTURE.read_text("utf-8")))
    assert len(named) > 20
    missing = sorted(p for p in named if not (SRC / p.rstrip("/")).exists())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_every_model_module_is_on_the_architecture_page():
    text = ARCHITECTURE.read_text("utf-8")
    modules = [
        p.relative_to(SRC).as_posix()
        for p in (PACKAGE / "model").rglob("*.py")
        if p.name != "__init__.py"
    ]
    absent = sorted(m for m in modules if m not in text and m.rsplit("/", 1)[0] + "/" not in text)
    assert not absent, f"modules missing from docs/architecture.md: {absent}"


def test_the_reference_does_not_load_the_vectorised_model():
    code = (
        "import sys, landsim.reference; "
        "print(' '.join(m for m in sys.modules if m.startswith('landsim')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    loaded = [m for m in out if m.startswith(("landsim.model.", "landsim.schemes"))]
    allowed = {"landsim.model.state"}
    assert set(loaded) <= allowed, f"the reference loads {sorted(set(loaded) - allowed)}"


#: Packages split from modules that had grown too large: each module stays small.
SMALL_PACKAGES = ("model", "experiment", "sensitivity")
SMALL_FILES = sorted(p for name in SMALL_PACKAGES for p in (PACKAGE / name).rglob("*.py"))


@pytest.mark.parametrize("path", SMALL_FILES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_package_modules_stay_small(path):
    lines = len(path.read_text("utf-8").splitlines())
    assert lines <= 420, f"{path.name}: {lines} lines (about 400 at most)"


@pytest.mark.parametrize(
    "path",
    sorted((PACKAGE / "model" / "processes").glob("*.py"))
    + sorted((PACKAGE / "model" / "programmes").glob("*.py")),
    ids=lambda p: p.relative_to(PACKAGE / "model").as_posix(),
)
def test_process_functions_stay_short(path):
    tree = ast.parse(path.read_text("utf-8"))
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > 60
    ]
    assert not long, f"{path.name}: functions over 60 lines: {long}"


def module_imports() -> dict[str, set[str]]:
    """Each landsim module's imports of other landsim modules at import time (module
    level; imports inside functions are made on first use and cannot cycle)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(SRC).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        tree = ast.parse(path.read_text("utf-8"))
        found = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith("landsim"):
                    found.add(node.module)
                    found.update(
                        f"{node.module}.{a.name}"
                        for a in node.names
                        if (SRC / node.module.replace(".", "/") / f"{a.name}.py").exists()
                    )
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("landsim"))
        graph[name] = found - {name}
    return graph


def test_no_import_cycles():
    graph = module_imports()
    cycles = []

    def visit(node, stack, done):
        for nxt in sorted(graph.get(node, ())):
            if nxt in stack:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in done:
                done.add(nxt)
                visit(nxt, [*stack, nxt], done)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            done.add(start)
            visit(start, [start], done)
    assert not cycles, f"import cycles: {cycles}"


def test_the_old_figure_module_is_a_deprecated_alias():
    import importlib
    import sys as _sys

    _sys.modules.pop("landsim.sensitivity_plots", None)
    with pytest.warns(DeprecationWarning, match="landsim.plot.sensitivity"):
        old = importlib.import_module("landsim.sensitivity_plots")
    from landsim.plot import sensitivity

    assert old.plot_indices is sensitivity.plot_indices


def test_the_deprecated_programmes_module_still_works():
    import importlib
    import sys as _sys

    _sys.modules.pop("landsim.schemes", None)
    with pytest.warns(DeprecationWarning, match="landsim.model.programmes"):
        old = importlib.import_module("landsim.schemes")
    from landsim.model import programmes, state

    assert old.Programmes is programmes.Programmes
    assert old.YEAR_KEYS == state.PROGRAMME_YEAR_KEYS


def test_the_model_imports_no_experiment_or_view_module():
    upper = ("experiment", "batch", "evaluation", "sensitivity", "report", "viz", "cli", "app")
    graph = module_imports()
    found = {
        (name, dep)
        for name, deps in graph.items()
        if name.startswith("landsim.model")
        for dep in deps
        if dep.count(".") and dep.split(".")[1] in upper
    }
    assert not found, f"the model imports modules built on it: {sorted(found)}"
