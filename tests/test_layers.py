"""The package's layers: every import points down (or within its own layer), and the graph of
modules built from every import statement (top level, under `TYPE_CHECKING` and inside
functions alike) has no cycle."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

from artrm.paths import REPO

# bottom to top; a module may import its own layer and any layer listed before it
LAYERS = ["errors", "paths", "registry", "config", "data", "models", "run_config", "results",
          "training", "experiments", "running", "book", "cli", "__main__"]
PACKAGE = REPO / "artrm"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str:
    """`artrm.training.train` -> "training"; `artrm` (the package itself) -> the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__main__"


def resolve(name: str) -> str:
    """The module that `import name` or `from name import ...` loads (the longest prefix)."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports(module: str) -> set[str]:
    """Every artrm module that `module` imports, wherever the statement sits."""
    out = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {resolve(a.name) for a in node.names if a.name.startswith("artrm")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("artrm"):
            for alias in node.names:  # `from artrm.models import ladder` imports a module
                full = f"{node.module}.{alias.name}"
                out.add(full if full in MODULES else resolve(node.module))
    return out - {module}


GRAPH = {m: imports(m) for m in MODULES}


def test_imports_only_point_down():
    upward = [f"{m} imports {dep}" for m, deps in GRAPH.items() for dep in sorted(deps)
              if LAYERS.index(layer(dep)) > LAYERS.index(layer(m))]
    assert not upward, "\n".join(upward)


def test_the_import_graph_has_no_cycle():
    graphlib.TopologicalSorter(GRAPH).prepare()  # raises CycleError naming the cycle


def test_a_cycle_would_be_caught():
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter({**GRAPH, "artrm.errors": {"artrm.cli"}}).prepare()


def test_every_module_has_a_layer():
    assert {layer(m) for m in MODULES} <= set(LAYERS)
