"""The package's shape stays as docs/architecture.md describes it: every module it
names exists, the reference implementation stands apart from the vectorised model,
every module stays small, and no modules import each other in a cycle."""

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


#: What the reference implementation may import from landsim, with the names it may
#: take (None: any): the scenario; the set-up and inputs (the landscape generator
#: and ``.npz`` reader, the farmers' draws, the exogenous price paths and the
#: products they price); the state vocabulary; seeds, memory limits and errors.
REFERENCE_MAY_IMPORT = {
    "landsim.scenario": None,
    "landsim.landscape": {"generate_landscape", "load_landscape", "Landscape", "Cover"},
    "landsim.agents": {"draw_farmers", "draw_settlers"},
    "landsim.market": {"Market", "PRODUCTS", "UNITS"},
    "landsim.model.state": None,
    "landsim.provenance": None,
    "landsim.limits": None,
    "landsim.errors": None,
}
REFERENCE = PACKAGE / "reference"


def is_module(name: str) -> bool:
    path = SRC / name.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def reference_imports() -> dict[str, set[str]]:
    """Every landsim module that a module of the reference package imports, at any
    level (inside functions too), with the names it takes from it (``*``: the
    module itself); the reference's own modules are left out."""
    found: dict[str, set[str]] = {}
    for path in sorted(REFERENCE.rglob("*.py")):
        package = ".".join(path.relative_to(SRC).parent.parts)
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.setdefault(alias.name, set()).add("*")
            elif isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level else ""
                module = ".".join(p for p in (base, node.module) if p)
                for alias in node.names:
                    if is_module(f"{module}.{alias.name}"):
                        found.setdefault(f"{module}.{alias.name}", set()).add("*")
                    else:
                        found.setdefault(module, set()).add(alias.name)
    return {
        m: names
        for m, names in found.items()
        if m.startswith("landsim") and not m.startswith("landsim.reference")
    }


def loaded_modules(*modules: str) -> set[str]:
    """The landsim modules that a fresh interpreter has loaded after importing
    ``modules``."""
    code = (
        "import importlib, sys\n"
        "for m in sys.argv[1:]: importlib.import_module(m)\n"
        "print(' '.join(m for m in sys.modules if m.startswith('landsim')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *modules], capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


def test_the_reference_imports_only_the_scenario_the_inputs_and_the_vocabulary():
    """The reference is an independent specification: it imports from landsim only
    the modules and names of :data:`REFERENCE_MAY_IMPORT`, and loads nothing by name
    at run time."""
    imports = reference_imports()
    assert "landsim.model.state" in imports and "landsim.agents" in imports
    refused = {}
    for module, names in imports.items():
        allowed = REFERENCE_MAY_IMPORT.get(module)
        if allowed is not None and not names <= allowed:
            refused[module] = sorted(names - allowed)
    assert not refused, f"the reference takes names it may not: {refused}"
    others = sorted(set(imports) - set(REFERENCE_MAY_IMPORT))
    assert not others, f"the reference imports {others}"
    dynamic = [
        f"{path.name}:{node.lineno}"
        for path in sorted(REFERENCE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", None))
        in {"import_module", "__import__"}
    ]
    assert not dynamic, f"the reference imports modules by name: {dynamic}"


def test_the_reference_does_not_load_the_vectorised_model():
    """Loading the reference loads no landsim module beyond those that the modules it
    imports load themselves.

    Of those, ``landsim.model.state`` imports ``landsim.agents`` (``Farmer``,
    ``FarmerState``), ``landsim.economics`` (``Option``, ``OPTION_NAMES``),
    ``landsim.landscape``, ``landsim.market`` and ``landsim.scenario``, and loading
    it first runs ``landsim/model/__init__.py``, which loads nothing (its names are
    imported on first use); ``landsim.economics`` imports only
    ``landsim.scenario``. So the reference loads the packages ``landsim`` and
    ``landsim.model`` and the module ``landsim.economics``, but no other
    ``landsim.model.*`` module than ``landsim.model.state``, and neither
    ``landsim.carbon`` nor ``landsim.schemes``; and it takes nothing from
    ``landsim.economics`` itself (the test above).
    """
    loaded = loaded_modules("landsim.reference")
    own = {m for m in loaded if m == "landsim.reference" or m.startswith("landsim.reference.")}
    assert own == {"landsim.reference"} | {
        f"landsim.reference.{p.stem}" for p in REFERENCE.glob("*.py") if p.stem != "__init__"
    }
    allowed = sorted(set(reference_imports()) & set(REFERENCE_MAY_IMPORT))
    assert loaded - own == loaded_modules(*allowed)
    model = {m for m in loaded if m.startswith("landsim.model.")}
    assert model == {"landsim.model.state"}, f"the reference loads {sorted(model)}"
    watched = ("landsim.model", "landsim.schemes", "landsim.carbon", "landsim.economics")
    beyond = {m for m in loaded - own if m.startswith(watched)} - set(REFERENCE_MAY_IMPORT)
    assert beyond == {"landsim.model", "landsim.economics"}, sorted(beyond)
    assert {"landsim.model", "landsim.economics"} <= loaded_modules("landsim.model.state")


#: Every module of the package: each stays small.
SMALL_FILES = sorted(PACKAGE.rglob("*.py"))


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
