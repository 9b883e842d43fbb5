"""Atomic writes: a file is either its old content or its complete new content, never half.

A write goes to a temporary `.<name>.<random>.tmp` beside the target and is renamed over it;
a process killed mid-write leaves only such a temporary, which `remove_stale_temps` deletes.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

STALE_AFTER_S = 600.0  # a temporary older than this belongs to a write that was killed


def _replace_with(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    _replace_with(path, lambda fh: fh.write(text.encode()))


def torch_save(path: Path, obj: Any) -> None:
    _replace_with(path, lambda fh: torch.save(obj, fh))


def write_bytes(path: Path, data: bytes) -> None:
    _replace_with(path, lambda fh: fh.write(data))


def remove_stale_temps(folder: Path) -> int:
    """Delete the temporaries that killed writes left in `folder` (and below); returns how
    many. Recent ones are kept: they may belong to a write in progress."""
    if not folder.is_dir():
        return 0
    now, removed = time.time(), 0
    for tmp in folder.rglob(".*.tmp"):
        try:
            if now - tmp.stat().st_mtime > STALE_AFTER_S:
                tmp.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed
