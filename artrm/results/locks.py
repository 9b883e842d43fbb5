"""Per-run locks, so that one process at a time trains a run or rewrites its record.

A lock is an advisory `fcntl.flock` on a file under `data/locks/`. The kernel drops it when
its holder exits, however it exits (kill -9 included), so a lock is never stale; the holder
writes its pid into the file so that a waiting process can say whom it waits for.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from artrm.results.atomic import make_folder, writing

Log = Callable[[str], None]


@contextlib.contextmanager
def held(path: Path, what: str, log: Log | None = None) -> Iterator[None]:
    """Hold the lock `path` (created if missing); if another process holds it, say so with
    `log` (naming `what` and the holder's pid) and wait for it."""
    make_folder(path.parent)
    with writing(path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if log is not None:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                log(f"waiting: process {holder} holds the lock of {what}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
