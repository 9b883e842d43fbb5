"""Atomic writes: a file is either its old content or its complete new content, never half."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch


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


def write_json(path: Path, obj: Any) -> None:
    _replace_with(path, lambda fh: fh.write((json.dumps(obj, indent=1) + "\n").encode()))


def torch_save(path: Path, obj: Any) -> None:
    _replace_with(path, lambda fh: torch.save(obj, fh))


def write_bytes(path: Path, data: bytes) -> None:
    _replace_with(path, lambda fh: fh.write(data))
