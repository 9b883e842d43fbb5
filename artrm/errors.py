"""One error type for bad input, with messages that name the parameter and what is allowed, and
the one-line form of a failed write."""

from __future__ import annotations

import errno
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A parameter has a value artrm cannot use; the message says which and what is allowed."""


def printable(text: str) -> str:
    """`text` with its control characters (newlines included) escaped as Python writes them,
    so a name echoed in an error line can neither break the line nor forge another."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


ADVICE = {
    errno.ENOSPC: "no space left on its device; free some space and run again",
    errno.EDQUOT: "the disk quota is exhausted; free some space and run again",
    errno.EROFS: "it is on a read-only file system; set ARTRM_DATA to a writable folder",
    errno.EACCES: "permission denied; make it writable or set ARTRM_DATA to a writable folder",
    errno.EPERM: "permission denied; make it writable or set ARTRM_DATA to a writable folder",
    errno.ENAMETOOLONG: "the name is too long; choose a shorter one",
    errno.ELOOP: "too many levels of symbolic links (a symlink loop); fix or remove the link",
    errno.EISDIR: "it is a folder; name a file or remove the folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
}


def write_error(path: Path | str, err: OSError) -> ConfigError:
    """The one-line ConfigError for a write of `path` that failed with `err`."""
    why = ADVICE.get(err.errno or 0, err.strerror or str(err))
    return ConfigError(f"cannot write {path}: {why}")


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
