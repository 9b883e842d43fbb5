"""The results store: config hashes, reuse only on an exact match, atomic writes, a record's
identity (its file name and content digest)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from artrm.config import ArchConfig, ExecConfig
from artrm.errors import ConfigError
from artrm.results.atomic import write_bytes
from artrm.results.schema import BadRecord, content_digest, unsealed
from artrm.results.store import ResultStore
from artrm.run_config import RunConfig
from artrm.running.grid import run_or_load
from tests.conftest import tiny_run


def test_hash_depends_on_every_experimental_field():
    base = RunConfig("gpt", "copy")
    assert base.hash == RunConfig("gpt", "copy", arch=ArchConfig()).hash
    changed = {base.replace(seed=1).hash, base.replace(task="reverse").hash,
               base.replace(arch=ArchConfig(dropout=0.2)).hash,
               base.replace(precision="bf16").hash, base.hash}
    assert len(changed) == 5
    assert RunConfig.from_dict(json.loads(json.dumps(base.to_dict()))).hash == base.hash


def test_a_run_is_reused_only_when_its_config_matches(data_dir):
    store = ResultStore()
    cfg = tiny_run("gpt", "copy", steps=4)
    first, how = run_or_load(cfg, ExecConfig(progress=False), store)
    assert how == "trained"
    again, how = run_or_load(cfg, ExecConfig(progress=False), store)
    assert how == "loaded" and again == first
    _, how = run_or_load(cfg.replace(seed=8), ExecConfig(progress=False), store)
    assert how == "trained" and len(store.records()) == 2
    assert store.load(cfg.hash[:10])["config_hash"] == cfg.hash


def test_a_record_with_a_foreign_hash_is_not_reused(data_dir):
    store = ResultStore()
    cfg = tiny_run("gpt", "copy", steps=4)
    record, _ = run_or_load(cfg, ExecConfig(progress=False), store)
    path = store.path_for(cfg)
    record["config_hash"] = "0" * 64
    path.write_text(json.dumps(record))
    assert store.find(cfg) is None


def test_an_interrupted_write_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / "r.json"
    write_bytes(path, b'{"ok": 1}')

    def failing(fh):
        fh.write(b'{"half')
        raise TypeError("killed mid-write")

    from artrm.results.atomic import _replace_with

    with pytest.raises(TypeError):
        _replace_with(path, failing)
    assert json.loads(path.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary left behind



def test_grid_workers_die_with_the_grid(data_dir):
    """Killing a multi-worker grid leaves no orphan worker training on."""
    env = {**os.environ, "ARTRM_DATA": str(data_dir)}
    grid = subprocess.Popen([sys.executable, "-m", "artrm", "grid", "--profile", "smoke",
                             "--workers", "2", "--no-progress"], env=env,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not children(grid.pid):
        time.sleep(0.2)
    workers = children(grid.pid)
    assert workers, "the grid started no workers"
    grid.send_signal(signal.SIGKILL)
    grid.wait()
    deadline = time.time() + 30  # a worker still starting up notices once its watchdog runs
    while time.time() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.5)
    assert not [pid for pid in workers if alive(pid)]


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_record_copied_under_a_second_name_is_counted_once_and_refused_by_name(data_dir,
                                                                                capsys):
    store = ResultStore()
    cfg = tiny_run("gpt", "copy", steps=4)
    run_or_load(cfg, ExecConfig(progress=False), store)
    copy = store.root / f"gpt-copy-s7-{'0' * 12}.json"
    shutil.copy(store.path_for(cfg), copy)
    assert len(store.records()) == 1
    assert "the file name does not match the record's config" in capsys.readouterr().err
    with pytest.raises(BadRecord, match=f"{copy.name}: the file name does not match"):
        store.load(str(copy))


def test_another_configs_record_under_this_name_is_never_overwritten(data_dir):
    store = ResultStore()
    first, _ = run_or_load(tiny_run("gpt", "copy", steps=4), ExecConfig(progress=False), store)
    other = tiny_run("gpt", "copy", steps=4).replace(seed=8)
    target = store.path_for(other)
    shutil.copy(store.path_for(tiny_run("gpt", "copy", steps=4)), target)
    record = {**first, "config": other.to_dict(), "config_hash": other.hash, "seed": 8}
    with pytest.raises(ConfigError, match="holds the record of another config"):
        store.save(record)
    assert json.loads(target.read_text())["config_hash"] == first["config_hash"]


def test_a_damaged_record_is_caught_by_its_content_digest(data_dir, capsys):
    store = ResultStore()
    cfg = tiny_run("gpt", "copy", steps=4)
    run_or_load(cfg, ExecConfig(progress=False), store)
    path = store.path_for(cfg)
    record = json.loads(path.read_text())
    assert record["content_digest"] == content_digest(record)
    record["params"] += 1  # still a valid record, and its config still hashes right
    path.write_text(json.dumps(record))
    with pytest.raises(BadRecord, match=f"{path.name}: field content_digest does not match"):
        store.read(path)
    assert store.find(cfg) is None and "content_digest" in capsys.readouterr().err


def test_a_record_without_a_digest_loads_and_gets_one_when_next_saved(data_dir):
    store = ResultStore()
    cfg = tiny_run("gpt", "copy", steps=4)
    record, _ = run_or_load(cfg, ExecConfig(progress=False), store)
    store.path_for(cfg).write_text(json.dumps(unsealed(record)))  # as committed records are
    assert unsealed(store.find(cfg)) == unsealed(record)
    store.save(store.find(cfg))
    assert json.loads(store.path_for(cfg).read_text())["content_digest"] == content_digest(record)
