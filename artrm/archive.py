"""Run records travel between machines as one .tar.gz of record files: `pack` writes one,
`import_archives` merges archives into a results store after verifying every record.

An archive holds JSON records only, named as the store names them. Reading never extracts
to disk (no member can write outside the store); a member that is not a plain .json file,
or a record whose config does not produce its config hash, stops the import before anything
is written.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from artrm.atomic import write_bytes
from artrm.config import RunConfig
from artrm.errors import ConfigError
from artrm.store import Record, ResultStore


def pack(records: list[Record], store: ResultStore, path: Path) -> int:
    """Write `records` as the .tar.gz `path` (atomically); returns its size in bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for record in sorted(records, key=lambda r: r["config_hash"]):
            data = (json.dumps(record, indent=1) + "\n").encode()
            info = tarfile.TarInfo(store.path_for(RunConfig.from_dict(record["config"])).name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    write_bytes(path, buffer.getvalue())
    return len(buffer.getvalue())


def read_archive(path: Path) -> list[Record]:
    """The verified records of archive `path`; ConfigError names the first bad member."""
    try:
        tar = tarfile.open(path, mode="r:gz")
    except (OSError, tarfile.TarError) as err:
        raise ConfigError(f"archive {path} cannot be read: {err}") from None
    records = []
    with tar:
        for member in tar.getmembers():
            if not member.isfile() or "/" in member.name or not member.name.endswith(".json"):
                raise ConfigError(f"archive {path}: member {member.name!r} is not a record file")
            fh = tar.extractfile(member)
            assert fh is not None
            records.append(verified(json.loads(fh.read()), f"{path}:{member.name}"))
    return records


def verified(record: object, where: str) -> Record:
    """`record` if its config is valid and produces its config hash."""
    if not isinstance(record, dict) or "config" not in record or "config_hash" not in record:
        raise ConfigError(f"{where} is not a run record (no config or config_hash)")
    try:
        cfg = RunConfig.from_dict(record["config"])
    except (ConfigError, TypeError) as err:
        raise ConfigError(f"{where}: its config is not valid here: {err}") from None
    if cfg.hash != record["config_hash"]:
        raise ConfigError(f"{where}: config hash {record['config_hash'][:12]} does not match "
                          f"its config ({cfg.hash[:12]})")
    return record


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)  # new records, by file name
    present: list[str] = field(default_factory=list)  # the store already had this run
    replaced: list[str] = field(default_factory=list)  # differed from the stored run: replaced


def import_archives(paths: list[Path], store: ResultStore, replace: bool = False) -> ImportReport:
    """Merge the records of `paths` into `store`. A run already stored is kept (the grid
    reuses it) unless `replace`; every archive is verified before anything is written."""
    records = [r for path in paths for r in read_archive(path)]
    report = ImportReport()
    for record in records:
        cfg = RunConfig.from_dict(record["config"])
        name = store.path_for(cfg).name
        stored = store.find(cfg)
        if stored is None:
            store.save(record)
            report.imported.append(name)
        elif replace and stored != record:
            store.save(record)
            report.replaced.append(name)
        else:
            report.present.append(name)
    return report
