"""The results store: one JSON record per run under data/runs, keyed by the config hash.

A record holds the full config and its hash, model, task, seed, metric history, final
metrics, nominal and realised block passes, parameter count and provenance (device, versions,
git commit, wall time). A stored run is reused only when its config hash matches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from artrm.atomic import write_json
from artrm.config import RunConfig
from artrm.paths import runs_dir

Record = dict[str, Any]


class ResultStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else runs_dir()

    def path_for(self, cfg: RunConfig) -> Path:
        return self.root / f"{cfg.model}-{cfg.task}-s{cfg.seed}-{cfg.hash[:12]}.json"

    def find(self, cfg: RunConfig) -> Record | None:
        """The stored record of exactly this config, if any."""
        path = self.path_for(cfg)
        if not path.exists():
            return None
        record = json.loads(path.read_text())
        return record if record.get("config_hash") == cfg.hash else None

    def save(self, record: Record) -> Path:
        cfg = RunConfig.from_dict(record["config"])
        if record["config_hash"] != cfg.hash:
            raise ValueError("record's config_hash does not match its config")
        path = self.path_for(cfg)
        write_json(path, record)
        return path

    def records(self, **where: Any) -> list[Record]:
        """All records whose top-level fields equal `where` (e.g. model="trm", task="copy")."""
        out = []
        for path in sorted(self.root.glob("*.json")):
            record = json.loads(path.read_text())
            if all(record.get(k) == v for k, v in where.items()):
                out.append(record)
        return out

    def load(self, key: str) -> Record:
        """A record by file path or by a prefix of its config hash."""
        path = Path(key)
        if path.suffix == ".json" and path.exists():
            return json.loads(path.read_text())
        hits = [p for p in self.root.glob("*.json")
                if p.stem.rsplit("-", 1)[-1].startswith(key[:12])
                and json.loads(p.read_text())["config_hash"].startswith(key)]
        if len(hits) != 1:
            raise KeyError(f"run {key!r} matches {len(hits)} records in {self.root}")
        return json.loads(hits[0].read_text())
