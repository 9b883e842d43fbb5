"""Atomic writes: a file is either its old content or its complete new content, never half.

A write goes to a temporary `.<name>.<host>-<pid>.<random>.tmp` beside the target and is
renamed over it; a process killed mid-write leaves only such a temporary, which
`remove_stale_temps` deletes once its writer (the pid, on this host) is gone, or once it is
old (a writer on another machine sharing the folder).
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

STALE_AFTER_S = 600.0  # a temporary older than this belongs to a write that was killed
HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())  # no "-" or "." in a name part


def _replace_with(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{HOST}-{os.getpid()}.",
                               suffix=".tmp")
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


def writer_gone(tmp: Path) -> bool:
    """Whether the writer named in temporary `tmp` is a process of this host known to have
    ended."""
    host, _, pid = tmp.name.removesuffix(".tmp").rsplit(".", 2)[-2].rpartition("-")
    if host != HOST or not pid.isdigit() or int(pid) == 0:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):  # another user's process, or no pid at all
        return False
    return False


def remove_stale_temps(folder: Path) -> int:
    """Delete the temporaries that killed writes left in `folder` (and below); returns how
    many. A temporary whose writer is alive, or unknown and recent, is kept: it may be a
    write in progress."""
    if not folder.is_dir():
        return 0
    now, removed = time.time(), 0
    for tmp in folder.rglob(".*.tmp"):
        try:
            if writer_gone(tmp) or now - tmp.stat().st_mtime > STALE_AFTER_S:
                tmp.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed
