"""Atomic writes: a file is either its old content or its complete new content, never half.

A write goes to a temporary `.<name>.<random>.tmp` beside the target and is renamed over it;
a process killed mid-write leaves only such a temporary, which `remove_stale_temps` deletes.
Every file artrm writes goes through here: an `OSError` (full disk, read-only or unwritable
folder, too long a name, a symlink loop, a folder where the file should be) becomes a
`ConfigError` of one line naming the path and what to do, and the temporary, and any folder
the write created, are removed.
"""

from __future__ import annotations

import errno
import io
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import torch

from artrm.errors import ConfigError

STALE_AFTER_S = 600.0  # a temporary older than this belongs to a write that was killed

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
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:64]}.",
                                       suffix=".tmp")
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
