"""The rung registry: the ladder's model classes, in ladder order.

A rung is one registered `ARModel` subclass, and it owns its facts as class attributes
(display name, colour, budget rule, the switches it accepts, its chapter). Configs, compute
matching, tables, plots, the notebook runner and the CLI read them from here, so a new rung
is one file with one decorated class.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from artrm.errors import check_choice

if TYPE_CHECKING:
    from artrm.models.base import ARModel

RUNGS: dict[str, type[ARModel]] = {}  # name -> class, in registration (ladder) order


def register(cls: type[ARModel]) -> type[ARModel]:
    """Class decorator: add a rung at the end of the ladder."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", cls.name):
        raise ValueError(f"a rung name must be lower-case letters, digits and _; got {cls.name!r}")
    if RUNGS.get(cls.name, cls) is not cls:
        raise ValueError(f"a rung named {cls.name!r} is already registered")
    RUNGS[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a rung (for tests that register a toy one)."""
    RUNGS.pop(name, None)


def model_names() -> tuple[str, ...]:
    return tuple(RUNGS)


def rung(name: str) -> type[ARModel]:
    """The class of the rung called `name`; a ConfigError lists the registered ones."""
    check_choice("model", name, model_names())
    return RUNGS[name]


def accepting(switch: str) -> tuple[str, ...]:
    """The rungs that accept the rung-specific config field `switch`."""
    return tuple(name for name, cls in RUNGS.items() if switch in cls.switches)


def previous(name: str) -> str | None:
    """The rung before `name` on the ladder (None for the first)."""
    names = model_names()
    i = names.index(rung(name).name)
    return names[i - 1] if i else None
