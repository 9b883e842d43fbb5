"""Where results and checkpoints live: `data/` of the checkout, or $ARTRM_DATA."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    return Path(os.environ.get("ARTRM_DATA", REPO / "data"))


def runs_dir() -> Path:
    """Run records (committed)."""
    return data_dir() / "runs"


def checkpoints_dir() -> Path:
    """Training checkpoints (never committed)."""
    return data_dir() / "checkpoints"
