"""A generic registry: named entries in registration order (the rungs of the ladder,
`artrm.models.ladder`, and the tasks, `artrm.data.tasks`)."""

from __future__ import annotations

import re
from typing import TypeVar

from artrm.errors import check_choice

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
