"""Migration of stored records to the current config hash (schema 2).

Schema 1 hashed only the config fields that differed from their defaults, so changing a
default silently kept every old hash. Schema 2 hashes the full config, with the fields added
since (`vocab_size`, `state_norm`) at the values that reproduce the old behaviour. Each old
record's hash is first re-derived with the schema-1 rule and its defaults as they were (frozen
below) and must match; only then is it rewritten under its new hash. Checkpoints, keyed by the
training part of the config, move with it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from artrm.results.atomic import torch_save, write_text
from artrm.results.schema import SCHEMA, BadRecord, Record, dumps, parse, sealed, validate
from artrm.run_config import RunConfig

V1_DEFAULTS: dict[str, Any] = {
    "seed": 1337, "precision": "fp32",
    "arch": {"n_embd": 384, "n_head": 6, "block_size": 180, "dropout": 0.1, "budget": 24,
             "n_outer": 2, "n_inner": 2, "ponder_weight": 0.0, "halt_exploration": 0.25,
             "pos_encoding": "learned", "full_compute": False, "grad_cycles": 1,
             "yz_init": "learned", "halt_loss": 0.0, "halt_per": "sequence",
             "deep_supervision": False},
    "data": {"train_len": 10, "padding": "block"},
    "optim": {"steps": 5000, "batch_size": 64, "lr": 3e-4, "weight_decay": 0.01, "beta1": 0.9,
              "beta2": 0.999, "eps": 1e-8},
    "eval": {"lengths": [10, 20, 30, 40, 50], "n_problems": 100, "every": 250,
             "decoding": "sample", "curve_lengths": None},
}
ADDED_IN_2 = {"arch": {"vocab_size": 14, "state_norm": False}}  # their schema-1 behaviour


def v1_hash(config: dict[str, Any]) -> str:
    """The schema-1 hash of a stored schema-1 config."""
    kept: dict[str, Any] = {}
    if set(config) - set(V1_DEFAULTS) - {"model", "task"} or any(
            isinstance(config[k], dict) and set(config[k]) - set(V1_DEFAULTS[k])
            for k in V1_DEFAULTS if k in config and isinstance(V1_DEFAULTS[k], dict)):
        return ""  # fields schema 1 never had: not a schema-1 config
    for key, value in config.items():
        default = V1_DEFAULTS.get(key)
        if isinstance(default, dict):
            section = {k: v for k, v in value.items() if v != default[k]}
            if section:
                kept[key] = section
        elif key in ("model", "task") or value != default:
            kept[key] = value
    text = json.dumps({"results_version": 1, "config": kept}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def v1_config(config: dict[str, Any]) -> RunConfig:
    full = {k: ({**v, **ADDED_IN_2.get(k, {})} if isinstance(v, dict) else v)
            for k, v in config.items()}
    return RunConfig.from_dict(full)


def migrate_record(record: Any, where: str) -> Record:
    """`record` in schema 2; a schema-1 record's old hash must re-derive exactly."""
    if isinstance(record, dict) and record.get("schema") == 1:
        config = record.get("config")
        if not isinstance(config, dict) or record.get("config_hash") != v1_hash(config):
            raise BadRecord(f"{where}: field config_hash does not re-derive from its schema-1 "
                            f"config; not migrated")
        cfg = v1_config(config)
        record = {**record, "schema": SCHEMA, "config": cfg.to_dict(), "config_hash": cfg.hash,
                  "migrated_from": {"schema": 1, "config_hash": record["config_hash"]}}
    return validate(record, where)


def migrate_store(runs: Path, checkpoints: Path) -> tuple[int, int]:
    """Rewrite every schema-1 record under `runs` (and its checkpoint under `checkpoints`) in
    schema 2; returns (records migrated, checkpoints moved). Stops at the first record that
    does not verify, before writing anything."""
    todo = []
    for path in sorted(runs.glob("*.json")):
        record = parse(path.read_bytes(), path.name)
        if isinstance(record, dict) and record.get("schema") == 1:
            todo.append((path, record["config_hash"], migrate_record(record, path.name)))
    moved = 0
    for path, old, record in todo:
        cfg = RunConfig.from_dict(record["config"])
        new_path = path.with_name(f"{cfg.model}-{cfg.task}-s{cfg.seed}-{cfg.hash[:12]}.json")
        write_text(new_path, dumps(sealed(record)))
        if new_path != path:
            path.unlink()
        moved += migrate_checkpoint(checkpoints / old[:16] / "checkpoint.pt", cfg)
    return len(todo), moved


def migrate_checkpoint(path: Path, cfg: RunConfig) -> int:
    """Move a schema-1 checkpoint (keyed by the old config hash) to its training hash."""
    if not path.exists():
        return 0
    state = torch.load(path, map_location="cpu", weights_only=True)
    state.pop("config_hash", None)
    state.update(train_hash=cfg.train_hash, config=cfg.to_dict())
    target = path.parent.parent / cfg.train_hash[:16] / "checkpoint.pt"
    torch_save(target, state)
    if target != path:
        path.unlink()
        path.parent.rmdir()
    return 1
