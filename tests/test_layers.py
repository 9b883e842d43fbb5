"""The package's layers: every import points down (or within its own layer)."""

from __future__ import annotations

import ast

from artrm.paths import REPO

# bottom to top; a module may import its own layer and any layer listed before it
LAYERS = ["errors", "paths", "registry", "data", "config", "models", "execution", "results",
          "training", "analysis", "experiments", "running", "book", "cli", "__main__"]


def layer(module: str) -> str:
    """`artrm.training.train` -> "training"; `artrm` (the package itself) -> the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__main__"


def runtime_imports(tree: ast.AST) -> list[ast.ImportFrom]:
    """The `from ... import` statements that run (those under `if TYPE_CHECKING:` only name
    types for annotations)."""
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", "") == "TYPE_CHECKING"
                   for stmt in block.body for n in ast.walk(stmt)}
    return [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and id(n) not in
            typing_only]


def test_imports_only_point_down():
    upward = []
    for path in sorted((REPO / "artrm").rglob("*.py")):
        name = "artrm." + ".".join(path.relative_to(REPO / "artrm").with_suffix("").parts)
        own = LAYERS.index(layer(name)) if not name.endswith("__init__") or "." in name[6:] \
            else LAYERS.index("__main__")
        for node in runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if (node.module or "").startswith("artrm."):
                if LAYERS.index(layer(node.module)) > own:
                    upward.append(f"{name} imports {node.module}")
    assert not upward, "\n".join(upward)
