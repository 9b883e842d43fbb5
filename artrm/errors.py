"""One error type for bad input, with messages that name the parameter and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class ConfigError(ValueError):
    """A parameter has a value artrm cannot use; the message says which and what is allowed."""


def printable(text: str) -> str:
    """`text` with its control characters (newlines included) escaped as Python writes them,
    so a name echoed in an error line can neither break the line nor forge another."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def check_choice(param: str, value: Any, allowed: Iterable[Any]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        options = ", ".join(str(a) for a in allowed)
        raise ConfigError(f"{param} must be one of {options}; got {value!r}")


def check_positive(param: str, value: int | float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{param} must be a positive number; got {value!r}")


def check_fraction(param: str, value: float, *, closed: bool = False) -> None:
    ok = 0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0
    if not ok:
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ConfigError(f"{param} must lie in {interval}; got {value!r}")
