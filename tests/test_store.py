"""The results store: config hashes, reuse only on an exact match, atomic writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from artrm.config import ArchConfig, ExecConfig
from artrm.results.atomic import write_bytes
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
