"""Atomic writes: a file is either its old content or its complete new content, never half.

A write goes to a temporary `.<name>.<host>-<pid>.<random>.tmp` beside the target and is
renamed over it; a process killed mid-write leaves only such a temporary, which
`remove_stale_temps` deletes once its writer (the pid, on this host) is gone, or once it is
old (a writer on another machine sharing the folder).
Every file artrm writes goes through here: an `OSError` (full disk, read-only or unwritable
folder, too long a name, a symlink loop, a folder where the file should be) becomes a
`ConfigError` of one line naming the path and what to do, and the temporary, and any folder
the write created, are removed.
"""

from __future__ import annotations

import errno
import io
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import torch

from artrm.errors import write_error

STALE_AFTER_S = 600.0  # a temporary older than this belongs to a write that was killed
HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())  # no "-" or "." in a name part

@contextmanager
def writing(path: Path | str) -> Iterator[None]:
    """Turn an OSError raised inside into `write_error(path, ...)`."""
    try:
        yield
    except OSError as err:
        raise write_error(path, err) from None


def make_folder(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; return the folders created, deepest first
    (for `remove_folders`); ConfigError when it cannot be created."""
    created, probe = [], folder
    with writing(folder):
        while not probe.is_dir():
            created.append(probe)
            if probe.parent == probe:
                break
            probe = probe.parent
        folder.mkdir(parents=True, exist_ok=True)
    return created


def remove_folders(folders: list[Path]) -> None:
    """Remove the folders `make_folder` created that are still empty, deepest first."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _replace_with(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    created = make_folder(path.parent)
    tmp, done = None, False
    try:
        with writing(path):
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
            prefix = f".{path.name[:64]}.{HOST}-{os.getpid()}."
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
            os.replace(tmp, path)
            done = True
    finally:
        if not done:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            remove_folders(created)


def write_text(path: Path, text: str) -> None:
    _replace_with(path, lambda fh: fh.write(text.encode()))


def torch_save(path: Path, obj: Any) -> None:
    """`obj` serialised in memory first: torch reports a failed file write as a RuntimeError,
    a plain write reports it as the OSError it is."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    _replace_with(path, lambda fh: fh.write(buffer.getbuffer()))


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
