"""Where results, checkpoints and locks live: `data/` of the checkout, or $ARTRM_DATA."""

from __future__ import annotations

import os
from pathlib import Path

from artrm.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """$ARTRM_DATA (a folder, created when needed) or the checkout's data/."""
    value = os.environ.get("ARTRM_DATA")
    if value is None:
        return REPO / "data"
    if not value.strip():
        raise ConfigError("ARTRM_DATA is set but empty; unset it (data/ of the checkout) or "
                          "name a folder")
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
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
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ConfigError(f"{what} {path} cannot be created: {probe} is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {path} is not writable (no write permission on {probe})")
