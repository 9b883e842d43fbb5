"""The registries: the ladder's rungs (model classes) in ladder order, and the generic
`Registry` that the tasks use too.

A rung is one registered `ARModel` subclass, and it owns its facts as class attributes
(display name, colour, budget rule, the switches it accepts, its chapter). Configs, compute
matching, tables, plots, the notebook runner and the CLI read them from here, so a new rung
is one file with one decorated class.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypeVar

from artrm.errors import check_choice

if TYPE_CHECKING:
    from artrm.models.base import ARModel

T = TypeVar("T")


class Registry(dict[str, T]):
    """Named entries in registration order. Names go into file names, so they are plain:
    lower-case letters, digits and underscores."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def add(self, name: str, entry: T) -> T:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(f"a {self.kind} name must be lower-case letters, digits and _; "
                             f"got {name!r}")
        if self.get(name, entry) is not entry:
            raise ValueError(f"a {self.kind} named {name!r} is already registered")
        self[name] = entry
        return entry

    def lookup(self, name: str) -> T:
        """The entry called `name`; a ConfigError lists the registered ones."""
        check_choice(self.kind, name, tuple(self))
        return self[name]


RUNGS: Registry[type[ARModel]] = Registry("model")  # name -> class, in ladder order


def register(cls: type[ARModel]) -> type[ARModel]:
    """Class decorator: add a rung at the end of the ladder."""
    return RUNGS.add(cls.name, cls)


def unregister(name: str) -> None:
    """Remove a rung (for tests that register a toy one)."""
    RUNGS.pop(name, None)


def model_names() -> tuple[str, ...]:
    return tuple(RUNGS)


def rung(name: str) -> type[ARModel]:
    """The class of the rung called `name`; a ConfigError lists the registered ones."""
    return RUNGS.lookup(name)


def accepting(switch: str) -> tuple[str, ...]:
    """The rungs that accept the rung-specific config field `switch`."""
    return tuple(name for name, cls in RUNGS.items() if switch in cls.switches)


def previous(name: str) -> str | None:
    """The rung before `name` on the ladder (None for the first)."""
    names = model_names()
    i = names.index(rung(name).name)
    return names[i - 1] if i else None
