"""The code that ran, printed from the package beside the equations it implements.

`show("ut_level1")` lists every method the rung's class defines itself (or the ones named),
each under its file and line, and links the equations that docstrings tag with
`(eq. <tag>)` to the book's labels `eq-<tag>`. The listing is Markdown, which the book renders
with syntax highlighting, so the book always shows the current source.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
from typing import Any

from IPython.display import Markdown

from artrm.book.build.template import book_labels
from artrm.models.ladder import rung
from artrm.paths import REPO

EQ_TAG = re.compile(r"\(eq\. ([a-z0-9-]+)\)")


def equation_tags(obj: Any) -> list[str]:
    """The `(eq. <tag>)` tags of an object's docstring, in order, without repeats."""
    return list(dict.fromkeys(EQ_TAG.findall(inspect.getdoc(obj) or "")))


def own_methods(cls: type) -> list[str]:
    """The methods a class defines itself (not inherited), in source order."""
    return [name for name, value in vars(cls).items()
            if inspect.isfunction(getattr(value, "__func__", value))]


def resolve(path: str) -> Any:
    """The object at a dotted path such as `artrm.models.block.Block.forward`."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ValueError(f"no object at {path!r}")


def _owner(obj: Any) -> Any:
    """The class a function is defined in (the function itself when it is module level)."""
    outer, _, _ = obj.__qualname__.rpartition(".")
    return getattr(inspect.getmodule(obj), outer) if outer else obj


def _links(tags: list[str], labels: set[str]) -> str:
    """' implements <links>' for equation tags (plain text for a label the book lacks)."""
    shown = [f"{{eq}}`eq-{t}`" if f"eq-{t}" in labels else f"(eq. {t})" for t in tags]
    if not shown:
        return ""
    return " implements " + (shown[0] if len(shown) == 1
                             else ", ".join(shown[:-1]) + " and " + shown[-1])


def _where(obj: Any) -> str:
    return (f"{os.path.relpath(inspect.getsourcefile(obj) or '?', REPO)}, line "
            f"{inspect.getsourcelines(obj)[1]}")


def _entry(obj: Any, title: str, tags: list[str], labels: set[str]) -> str:
    """One object: its name, file and line, the equations it implements, its source."""
    lines = inspect.getsource(obj).splitlines()
    indent = min(len(x) - len(x.lstrip()) for x in lines if x.strip())
    source = "\n".join(x[indent:] for x in lines)
    return f"`{title}` ({_where(obj)}){_links(tags, labels)}\n\n```python\n{source}\n```\n"


def show(model: str, *names: str, labels: set[str] | None = None) -> Markdown:
    """The source of rung `model`: the methods its class defines itself, or `names` (a
    method of the class, or the dotted path of any object, such as the block's `forward`).
    `labels` are the book's equation labels (default: those of the notebook sources)."""
    labels = book_labels() if labels is None else labels
    cls = rung(model)
    parts = [f"**`{cls.__name__}`** ({_where(cls)}){_links(equation_tags(cls), labels)}."]
    for name in names or own_methods(cls):
        if "." in name:
            obj = resolve(name)
            tags = equation_tags(obj) or equation_tags(_owner(obj))
            parts.append(_entry(obj, obj.__qualname__, tags, labels))
        else:
            parts.append(_entry(getattr(cls, name), f"{cls.__name__}.{name}", [], labels))
    return Markdown("\n\n".join(parts))
