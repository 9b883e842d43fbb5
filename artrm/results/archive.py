"""Run records travel between machines as one .tar.gz of record files: `pack` writes one,
`import_archives` merges archives into a results store after verifying every record.

An archive holds JSON records only, named as the store names them. Reading never extracts
to disk (no member can write outside the store). Every member is parsed strictly and
validated (`artrm.results.schema`; schema-1 records are migrated, their old hash verified,
and a record's content digest must match its content),
and a bad member, a truncated or foreign archive stops the import with one line naming it,
before anything is written.
"""

from __future__ import annotations

import io
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from artrm.errors import ConfigError, printable
from artrm.paths import check_file_writable
from artrm.results.atomic import write_bytes
from artrm.results.migrate import migrate_record
from artrm.results.schema import MAX_BYTES, BadRecord, Record, dumps, parse, sealed, unsealed
from artrm.results.store import ResultStore
from artrm.run_config import RunConfig

MAX_MEMBERS = 100_000


def pack(records: list[Record], store: ResultStore, path: Path) -> int:
    """Write `records` as the .tar.gz `path` (atomically); returns its size in bytes."""
    check_file_writable(path, "--export")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for record in sorted(records, key=lambda r: r["config_hash"]):
            data = dumps(sealed(record)).encode()
            info = tarfile.TarInfo(store.path_for(RunConfig.from_dict(record["config"])).name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    write_bytes(path, buffer.getvalue())
    return len(buffer.getvalue())


def read_archive(path: Path) -> list[Record]:
    """The verified records of archive `path`; ConfigError names the first bad member."""
    if not path.is_file():
        raise ConfigError(f"archive {path} does not exist or is not a file")
    records = []
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for i, member in enumerate(tar):
                if i >= MAX_MEMBERS:
                    raise ConfigError(f"archive {path}: more than {MAX_MEMBERS} members")
                name = member.name
                if not member.isfile() or "/" in name or not name.endswith(".json"):
                    raise ConfigError(f"archive {path}: member {name!r} is not a record file")
                if member.size > MAX_BYTES:
                    raise ConfigError(f"archive {path}: member {name!r} is too large")
                fh = tar.extractfile(member)
                assert fh is not None  # a regular file
                where = f"archive {path.name}: member {printable(name)}"
                records.append(migrate_record(parse(fh.read(), where), where))
    except (OSError, EOFError, tarfile.TarError, zlib.error) as err:
        raise ConfigError(f"archive {path} cannot be read: {err}") from None
    if not records:
        raise ConfigError(f"archive {path} cannot be read: it holds no run records")
    return records


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)  # new records, by file name
    present: list[str] = field(default_factory=list)  # the store already had this run
    replaced: list[str] = field(default_factory=list)  # differed from the stored run: replaced


def import_archives(paths: list[Path], store: ResultStore, replace: bool = False) -> ImportReport:
    """Merge the records of `paths` into `store`. A run already stored is kept (the grid
    reuses it) unless `replace`; every archive is verified before anything is written."""
    records = [r for path in paths for r in read_archive(path)]
    store.check_writable()
    report = ImportReport()
    for record in records:
        cfg = RunConfig.from_dict(record["config"])
        name = store.path_for(cfg).name
        with store.record_lock(cfg):
            stored = store.find(cfg)
            if stored is None:
                store.save(record)
                report.imported.append(name)
            elif replace and unsealed(stored) != unsealed(record):
                store.save(record)
                report.replaced.append(name)
            else:
                report.present.append(name)
    return report


__all__ = ["BadRecord", "ImportReport", "import_archives", "pack", "read_archive"]
