"""Where results, checkpoints and locks live: `data/` of the checkout, or $ARTRM_DATA."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from artrm.errors import ConfigError, write_error

REPO = Path(__file__).resolve().parents[1]
NAME_MAX = 255  # bytes of one file name on the file systems artrm writes to


def data_dir() -> Path:
    """$ARTRM_DATA (a folder, created when needed) or the checkout's data/."""
    value = os.environ.get("ARTRM_DATA")
    if value is None:
        return REPO / "data"
    if not value.strip():
        raise ConfigError("ARTRM_DATA is set but empty; unset it (data/ of the checkout) or "
                          "name a folder")
    path = Path(value).expanduser()
    try:
        path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise ConfigError(f"ARTRM_DATA {path} is a symlink to {os.readlink(path)}, which "
                              f"does not exist; create the folder or fix the link") from None
        return path  # created when needed
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise ConfigError(f"ARTRM_DATA {path} cannot be used: a symlink loop; fix or remove "
                              f"the link") from None
        return path  # check_writable names what is wrong when the folder is needed
    if not path.is_dir():
        raise ConfigError(f"ARTRM_DATA must name a folder; {path} is a file")
    return path


def runs_dir() -> Path:
    """Run records (committed)."""
    return data_dir() / "runs"


def checkpoints_dir() -> Path:
    """Training checkpoints (never committed)."""
    return data_dir() / "checkpoints"


def locks_dir() -> Path:
    """Per-run lock files (never committed)."""
    return data_dir() / "locks"


def check_writable(path: Path, what: str) -> None:
    """`path` (a folder, which need not exist yet) can be created and written, checked
    without writing anything; else a ConfigError naming `what`."""
    probe = path
    try:
        while not probe.exists():
            if probe.is_symlink():
                raise ConfigError(f"{what} {path} cannot be created: {probe} is a dangling "
                                  f"symlink or a symlink loop; fix or remove the link")
            if probe.parent == probe:
                break
            probe = probe.parent
    except OSError as err:
        raise write_error(path, err) from None
    if probe.exists() and not probe.is_dir():
        raise ConfigError(f"{what} {path} cannot be created: {probe} is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {path} is not writable (no write permission on {probe}); "
                          f"make it writable or set ARTRM_DATA to a writable folder")


def check_file_writable(path: Path, what: str) -> None:
    """A file can be written at `path` (its folder writable, the name not too long, no folder
    in its place), checked without writing anything; else a ConfigError naming `what`."""
    if any(len(os.fsencode(part)) > NAME_MAX for part in path.parts):
        raise write_error(path, OSError(errno.ENAMETOOLONG, "File name too long"))
    if path.is_dir():
        raise ConfigError(f"{what} must name a file; {path} is a folder (remove it or name "
                          f"another file)")
    check_writable(path.parent, f"the folder of {what}")
