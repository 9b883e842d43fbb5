"""The results store: one JSON record per run under data/runs, keyed by the config hash.

A record holds the full config and its hash, model, task, seed, metric history, final
metrics, nominal and realised block passes, parameter count and provenance (device,
versions, git commit, wall time). Every record read is validated (`artrm.results.schema`); a
file that fails is reported once and skipped, so one bad file never stops work on the other
runs. A record's identity is its content: its file name must be its config's (a copy under
another name is skipped with a warning, and refused when named), and its content digest must
match. A stored run is reused only when its full config equals the requested one. Writes are
atomic and, per run, serialised by a lock.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from artrm.errors import ConfigError
from artrm.paths import check_file_writable, check_writable, runs_dir
from artrm.results import locks
from artrm.results.atomic import remove_stale_temps, write_text
from artrm.results.schema import (
    BadRecord,
    Record,
    check_name,
    dumps,
    parse,
    record_name,
    sealed,
    validate,
)
from artrm.run_config import RunConfig

Warn = Callable[[str], None]
_REPORTED: set[tuple[str, float]] = set()  # (file, mtime) already reported in this process


def warn_once(path: Path, why: str) -> None:
    key = (str(path), path.stat().st_mtime if path.exists() else 0.0)
    if key not in _REPORTED:
        _REPORTED.add(key)
        print(f"artrm: warning: skipping {why}", file=sys.stderr)


class ResultStore:
    def __init__(self, root: Path | None = None, warn: Warn | None = None) -> None:
        self.root = Path(root) if root is not None else runs_dir()
        self.locks = self.root.parent / "locks"  # data/locks beside data/runs
        self.warn = warn

    # -- names ---------------------------------------------------------------------------------
    def path_for(self, cfg: RunConfig) -> Path:
        """`<model>-<task>-s<seed>-<hash12>.json` from a validated config, inside the store."""
        path = self.root / record_name(cfg)
        if path.resolve().parent != self.root.resolve():
            raise ConfigError(f"record name {path.name!r} would leave the store {self.root}")
        return path

    # -- reading -------------------------------------------------------------------------------
    def read(self, path: Path) -> Record:
        """The validated record in `path`, whose name must be its config's; BadRecord names
        the file and the field."""
        return check_name(self._content(path), path.name)

    @staticmethod
    def _content(path: Path) -> Record:
        """The validated record in `path`, whatever the file's name."""
        try:
            data = path.read_bytes()
        except OSError as err:
            raise BadRecord(f"{path.name}: cannot be read ({err.strerror})") from None
        return validate(parse(data, path.name), path.name)

    def inside(self, path: Path) -> bool:
        """Whether `path` is a file name in this store's folder."""
        return path.resolve().parent == self.root.resolve()

    def _read_or_warn(self, path: Path) -> Record | None:
        try:
            return self.read(path)
        except BadRecord as err:
            (self.warn or (lambda why: warn_once(path, why)))(f"record {err}")
            return None

    def find(self, cfg: RunConfig) -> Record | None:
        """The stored record of exactly this config (its full config compared), if any."""
        path = self.path_for(cfg)
        if not path.exists():
            return None
        record = self._read_or_warn(path)
        if record is None or record["config"] != cfg.to_dict():
            return None
        return record

    def find_training(self, cfg: RunConfig) -> Record | None:
        """A stored record trained exactly as `cfg`, with the same periodic rounds, whose
        final evaluation differs, if any: its checkpoint can be evaluated again instead of
        retraining (`RunConfig.derivable_from`)."""
        for path in sorted(self.root.glob(f"{cfg.model}-{cfg.task}-s{cfg.seed}-*.json")):
            record = self._read_or_warn(path)
            if record is not None and cfg.derivable_from(RunConfig.from_dict(record["config"])):
                return record
        return None

    def records(self, **where: Any) -> list[Record]:
        """All valid records whose top-level fields equal `where` (e.g. model="trm")."""
        return [r for r in self._all() if all(r.get(k) == v for k, v in where.items())]

    def _all(self) -> Iterator[Record]:
        for path in sorted(self.root.glob("*.json")):
            record = self._read_or_warn(path)
            if record is not None:
                yield record

    def load(self, key: str) -> Record:
        """A record by file path or by a prefix (at least 4 hex digits) of its config hash."""
        path = Path(key)
        if path.suffix == ".json":
            if not path.is_file():
                raise ConfigError(f"--run: no record file {path}")
            return self.read(path)
        if not re.fullmatch(r"[0-9a-f]{4,64}", key):
            raise ConfigError(f"--run must be a record file or 4 to 64 hex digits of a config "
                              f"hash; got {key!r}")
        hits, bad = [], []
        for p in sorted(self.root.glob(f"*-{key[:12]}*.json")):
            try:
                record = self.read(p)
            except BadRecord as err:  # a garbage file sharing the prefix: only if nothing else
                bad.append(err)
                continue
            if record["config_hash"].startswith(key):
                hits.append(record)
        if not hits and bad:
            raise bad[0]
        if len(hits) != 1:
            raise ConfigError(f"--run must name one stored run: {key!r} matches {len(hits)} "
                              f"records in {self.root}")
        return hits[0]

    # -- writing -------------------------------------------------------------------------------
    def check_writable(self) -> None:
        check_writable(self.root, "the results folder")
        check_writable(self.locks, "the locks folder")

    def check_save(self, cfg: RunConfig) -> Path:
        """Where the record of `cfg` is saved, checked before any work: the store writable,
        the record path a file; ConfigError otherwise."""
        self.check_writable()
        path = self.path_for(cfg)
        check_file_writable(path, "the run record")
        return path

    def save(self, record: Record) -> Path:
        """Validate and write `record` with its content digest, atomically (callers hold
        `record_lock` when they read-modify-write); another config's valid record filed
        under its name is never overwritten."""
        record = validate(sealed(record), "the record to save")
        path = self.check_save(RunConfig.from_dict(record["config"]))
        try:
            there = self._content(path) if path.exists() else None
        except BadRecord:
            there = None  # a damaged file (reported when read): the new record replaces it
        if there is not None and there["config"] != record["config"]:
            raise ConfigError(f"{path} holds the record of another config "
                              f"({there['config_hash'][:12]}); move it to "
                              f"{record_name(RunConfig.from_dict(there['config']))} or remove "
                              f"it")
        write_text(path, dumps(record))
        return path

    @contextmanager
    def record_lock(self, cfg: RunConfig, log: locks.Log | None = None) -> Iterator[None]:
        """Serialise updates of one record (e.g. concurrent `eval --save`)."""
        with locks.held(self.locks / f"record-{cfg.hash[:16]}.lock",
                        f"record {self.path_for(cfg).name}", log):
            yield

    @contextmanager
    def training_lock(self, cfg: RunConfig, log: locks.Log | None = None) -> Iterator[None]:
        """One process at a time trains a given run (same training hash)."""
        with locks.held(self.locks / f"train-{cfg.train_hash[:16]}.lock",
                        f"training {cfg.model}/{cfg.task}/s{cfg.seed}", log):
            yield

    def tidy(self) -> int:
        """Remove temporaries left by killed writes; returns how many."""
        return remove_stale_temps(self.root) + remove_stale_temps(self.root.parent / "checkpoints")
