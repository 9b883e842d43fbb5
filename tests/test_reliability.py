"""Nothing lost, nothing stale: honest caching, --force, locks and single writers, signals,
kill -9 and resume, divergence, stale temporaries, and the schema-1 migration."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from artrm import cli as cli_module
from artrm import paths
from artrm.cli import main
from artrm.config import EvalConfig, ExecConfig, OptimConfig
from artrm.errors import ConfigError
from artrm.experiments.profiles import SMOKE
from artrm.results import atomic
from artrm.results.archive import pack
from artrm.results.migrate import migrate_store, v1_hash
from artrm.results.store import ResultStore
from artrm.run_config import RunConfig
from artrm.running.grid import run_or_load
from artrm.training import train as train_module
from artrm.training.reevaluate import reevaluate
from artrm.training.train import Diverged, checkpoint_path, train
from tests.conftest import tiny_run

QUIET = ExecConfig(progress=False)
SMOKE_TRAIN = ["train", "--model", "gpt_level1", "--task", "copy", "--profile", "smoke",
               "--no-progress"]


def cli(*args: str, data: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "ARTRM_DATA": str(data), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "artrm", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def steps_trained(monkeypatch) -> list[int]:
    """Count the training steps every Trainer of this process runs."""
    calls: list[int] = []
    real = train_module.Trainer.train_step

    def counted(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(train_module.Trainer, "train_step", counted)
    return calls


# -- caching -----------------------------------------------------------------------------------
def test_force_trains_again_from_step_0_even_with_a_final_checkpoint(data_dir, monkeypatch):
    cfg = tiny_run("gpt_level1", "copy", steps=6)
    store = ResultStore()
    first, how = run_or_load(cfg, QUIET, store)
    assert how == "trained" and checkpoint_path(cfg).exists()
    calls = steps_trained(monkeypatch)
    again, how = run_or_load(cfg, QUIET, store, force=True)
    assert how == "trained" and len(calls) == 6  # every step again, none resumed
    assert again["curves"] == first["curves"]  # deterministic: the same run
    assert again["provenance"]["created"] >= first["provenance"]["created"]


def test_evaluation_only_changes_reevaluate_the_checkpoint(data_dir, monkeypatch):
    cfg = tiny_run("gpt_level1", "copy", steps=6)
    store = ResultStore()
    trained, _ = run_or_load(cfg, QUIET, store)
    calls = steps_trained(monkeypatch)
    other = cfg.replace(eval=dataclasses.replace(cfg.eval, lengths=(5, 3), decoding="greedy"))
    record, how = run_or_load(other, QUIET, store)
    assert how == "re-evaluated" and not calls
    assert set(record["final"]) == {"3", "5"} and record["config_hash"] == other.hash
    assert record["derived_from"]["config_hash"] == cfg.hash
    assert record["curves"] == trained["curves"]
    checkpoint_path(cfg).unlink()  # elsewhere, without the checkpoint: said, not retrained
    with pytest.raises(ConfigError, match="has no checkpoint"):
        run_or_load(other.replace(eval=dataclasses.replace(other.eval, n_problems=3)), QUIET,
                    store)
    assert not calls


def test_another_evaluation_schedule_is_trained_not_derived(data_dir, monkeypatch, capsys):
    """Periodic rounds need the weights of earlier steps: a changed --eval-every (or curve
    lengths) trains, so the record's history holds its own rounds."""
    from artrm.cli import main
    cfg = SMOKE.config("gpt_level1", "copy")
    first, _ = run_or_load(cfg, QUIET, ResultStore())
    assert [h["step"] for h in first["history"]] == [10, 20]
    calls = steps_trained(monkeypatch)
    other = cfg.replace(eval=dataclasses.replace(cfg.eval, every=5))
    record, how = run_or_load(other, QUIET, ResultStore())
    assert how == "trained" and len(calls) == 20 and "derived_from" not in record
    assert [h["step"] for h in record["history"]] == [5, 10, 15, 20]
    assert ResultStore().find(cfg)["history"] == first["history"]  # the first run is intact
    curves = cfg.replace(eval=dataclasses.replace(cfg.eval, curve_lengths=(4,)))
    main(["train", "--model", "gpt_level1", "--task", "copy", "--profile", "smoke",
          "--curve-lengths", "4", "--no-progress"])
    assert "re-evaluated" not in capsys.readouterr().out and len(calls) == 40
    assert set(ResultStore().find(curves)["history"][0]["eval"]) == {"4"}
    lengths = other.replace(eval=dataclasses.replace(other.eval, lengths=(3, 5)))
    record, how = run_or_load(lengths, QUIET, ResultStore())  # the final evaluation only
    assert how == "re-evaluated" and len(calls) == 40
    assert [h["step"] for h in record["history"]] == [5, 10, 15, 20]


def test_equivalent_configs_hash_alike():
    base = tiny_run("ut", "copy")
    same = base.replace(
        optim=OptimConfig(steps=12, batch_size=8, lr=0.001),
        eval=EvalConfig(lengths=[4, 3, 4], n_problems=8, every=4, curve_lengths=(3,)))
    assert same == base and same.hash == base.hash
    assert base.replace(optim=dataclasses.replace(base.optim, lr=1)).hash == \
        base.replace(optim=dataclasses.replace(base.optim, lr=1.0)).hash
    assert RunConfig.from_dict(json.loads(json.dumps(base.to_dict()))).hash == base.hash


FIELDS = {  # a field per section with values to draw from
    ("arch", "n_embd"): [16, 32], ("arch", "dropout"): [0.0, 0.1], ("arch", "budget"): [6, 12],
    ("arch", "pos_encoding"): ["learned", "rope"], ("data", "padding"): ["block", "trim"],
    ("optim", "lr"): [1e-3, 3e-4], ("optim", "weight_decay"): [0.0, 0.01],
    ("optim", "steps"): [4, 5], ("eval", "lengths"): [(3,), (3, 4)],
    ("eval", "decoding"): ["sample", "greedy"], ("top", "seed"): [-1, 7],
    ("top", "precision"): ["fp32", "tf32"],
}
configs = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in FIELDS.items()})


def build(choice: dict) -> RunConfig:
    base = tiny_run("ut", "copy")
    sections = {s: {} for s in ("arch", "data", "optim", "eval", "top")}
    for (section, name), value in choice.items():
        sections[section][name] = value
    top = sections.pop("top")
    return base.replace(**top, **{s: dataclasses.replace(getattr(base, s), **v)
                                  for s, v in sections.items()})


@settings(max_examples=200, deadline=None)
@given(configs, configs)
def test_different_configs_never_share_a_hash(a, b):
    x, y = build(a), build(b)
    assert (x.hash == y.hash) == (x.to_dict() == y.to_dict())
    assert (x.train_hash == y.train_hash) == ({**x.to_dict(), "eval": 0} ==
                                              {**y.to_dict(), "eval": 0})


def test_a_stored_record_is_only_reused_for_its_own_full_config(data_dir):
    cfg = tiny_run("gpt_level1", "copy", steps=4)
    store = ResultStore()
    record, _ = run_or_load(cfg, QUIET, store)
    record["config"]["optim"]["weight_decay"] = 0.5  # edited on disk: config and hash disagree
    store.path_for(cfg).write_text(json.dumps(record))
    assert store.find(cfg) is None


# -- locks and single writers -------------------------------------------------------------------
def test_a_second_train_of_a_running_config_waits_and_loads(data_dir):
    first = cli(*SMOKE_TRAIN, "--steps", "400", data=data_dir)
    deadline = time.time() + 120
    while time.time() < deadline and not any(  # until the first holds the training lock
            p.read_text() for p in (data_dir / "locks").glob("train-*.lock")):
        time.sleep(0.1)
    second = cli(*SMOKE_TRAIN, "--steps", "400", data=data_dir)
    out1, err1 = first.communicate(timeout=300)
    out2, err2 = second.communicate(timeout=300)
    assert first.returncode == second.returncode == 0, err1 + err2
    said = sorted(out.splitlines()[0].split(": ", 1)[1].split(";")[0] for out in (out1, out2))
    assert said == ["loaded from the store", "trained"], (out1, out2)
    assert "waiting: process" in err2 + err1


def test_concurrent_eval_saves_keep_every_evaluation(data_dir):
    cfg = tiny_run("gpt_level1", "copy", steps=4)
    store = ResultStore()
    run_or_load(cfg, QUIET, store)
    evals = [cli("eval", "--run", cfg.hash[:12], "--lengths", str(n), "--n-problems", "64",
                 "--save", data=data_dir) for n in (3, 4, 5)]
    for p in evals:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    saved = store.find(cfg)["evaluations"]
    assert sorted(tuple(e["metrics"]) for e in saved) == [("3",), ("4",), ("5",)]


def test_eval_refuses_a_checkpoint_that_is_not_at_the_last_step(data_dir, tmp_path):
    cfg = tiny_run("gpt_level1", "copy", steps=8)
    record, _ = run_or_load(cfg, QUIET, ResultStore())
    assert train(cfg, QUIET, checkpoints=tmp_path, stop_at=4) is None  # a step-4 checkpoint
    (tmp_path / cfg.train_hash[:16] / "checkpoint.pt").replace(checkpoint_path(cfg))
    with pytest.raises(ConfigError, match="is at step 4, not at the run's last step 8"):
        reevaluate(record, lengths=(3,))


def test_a_checkpoint_beyond_the_last_step_is_refused_in_one_line(data_dir, capsys):
    from artrm.cli import main
    argv = [*SMOKE_TRAIN, "--steps", "4", "--eval-every", "4"]
    main(argv)
    capsys.readouterr()
    record = next((data_dir / "runs").glob("*.json"))
    cfg = RunConfig.from_dict(json.loads(record.read_text())["config"])
    record.unlink()
    state = torch.load(checkpoint_path(cfg), weights_only=True)
    state["progress"]["step"] = 9
    torch.save(state, checkpoint_path(cfg))
    with pytest.raises(ConfigError, match=r"is at step 9, beyond the run's 4 steps; retrain "
                                          r"with --force"):
        run_or_load(cfg, QUIET, ResultStore())
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and "beyond the run's" in err
    assert not list((data_dir / "runs").glob("*.json"))


# -- interruption --------------------------------------------------------------------------------
def interrupt_when_checkpointed(proc: subprocess.Popen, data: Path, signum: int) -> None:
    deadline = time.time() + 120
    while time.time() < deadline and not list((data / "checkpoints").rglob("checkpoint.pt")):
        time.sleep(0.1)
    proc.send_signal(signum)


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_training_with_a_checkpoint_and_one_line(data_dir, signum, code):
    proc = cli(*SMOKE_TRAIN, "--steps", "400", "--eval-every", "400", "--checkpoint-every", "5",
               data=data_dir)
    interrupt_when_checkpointed(proc, data_dir, signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert err.count("\n") == 1 and "interrupted by SIG" in err and "checkpoint saved" in err
    assert not list((data_dir / "runs").glob("*.json"))
    step = int(err.split(" at step ")[1].split()[0])
    assert 5 <= step < 400


def test_kill_9_then_rerun_gives_the_uninterrupted_run(data_dir, tmp_path):
    args = (*SMOKE_TRAIN, "--steps", "80", "--eval-every", "20", "--checkpoint-every", "10")
    proc = cli(*args, data=data_dir)
    interrupt_when_checkpointed(proc, data_dir, signal.SIGKILL)
    proc.wait(timeout=60)
    resumed = cli(*args, data=data_dir)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    straight = cli(*args, data=tmp_path / "straight")
    straight.communicate(timeout=300)
    a, b = (json.loads(next((d / "runs").glob("*.json")).read_text())
            for d in (data_dir, tmp_path / "straight"))
    for r in (a, b):  # the provenance (times, host) differs, and the digest that covers it
        r.pop("provenance"), r.pop("content_digest")
    assert a == b


def test_a_signal_stops_the_grid_from_dispatching(data_dir):
    grid = cli("grid", "--profile", "smoke", "--workers", "2", "--steps", "300",
               "--eval-every", "300", "--checkpoint-every", "5", data=data_dir)
    interrupt_when_checkpointed(grid, data_dir, signal.SIGINT)
    _, err = grid.communicate(timeout=180)
    assert grid.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("artrm: error: interrupted by SIGINT")
    started = len(list((data_dir / "checkpoints").rglob("checkpoint.pt")))
    assert started <= 4 < len(SMOKE.configs())  # two running runs (and no more) were started


def test_a_pool_with_more_worker_slots_than_a_pipe_holds_exits():
    """400 slots once filled a multiprocessing queue past its pipe's capacity: the grid
    finished its runs and never exited."""
    code = ("from artrm.config import ExecConfig\n"
            "from artrm.running.grid import worker_exec, worker_pool\n"
            "with worker_pool(ExecConfig(progress=False), 400) as pool:\n"
            "    print(pool.submit(worker_exec).result().threads)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0 and done.stdout.strip() == "1", done.stderr


def test_a_grid_runs_no_more_workers_than_runs(data_dir, monkeypatch):
    from artrm.running import grid

    sizes: list[int] = []
    real = grid.worker_pool
    monkeypatch.setattr(grid, "worker_pool", lambda exe, n: sizes.append(n) or real(exe, n))
    configs = [tiny_run("gpt", "copy", steps=2).replace(seed=s) for s in (1, 2)]
    records = grid.run_grid(configs, QUIET, ResultStore(), workers=400, log=lambda _: None)
    assert sizes == [2] and [r["seed"] for r in records] == [1, 2]


def test_a_killed_grid_worker_is_named_and_the_finished_runs_are_kept(data_dir):
    grid = cli("grid", "--profile", "smoke", "--models", "gpt", "ut", "gpt_level1", "--tasks",
               "copy", "--workers", "2", "--steps", "150", "--eval-every", "150",
               "--checkpoint-every", "5", data=data_dir)
    deadline = time.time() + 240
    while time.time() < deadline and not list((data_dir / "runs").glob("*.json")):
        time.sleep(0.2)
    finished = [json.loads(p.read_text()) for p in (data_dir / "runs").glob("*.json")]
    assert finished and grid.poll() is None
    workers = subprocess.run(["pgrep", "-P", str(grid.pid)], capture_output=True,
                             text=True).stdout.split()
    worker = next(int(p) for p in workers
                  if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes())
    os.kill(worker, signal.SIGKILL)
    _, err = grid.communicate(timeout=180)
    assert grid.returncode == 1, err
    [line] = [x for x in err.splitlines() if x.startswith("artrm: error:")]  # (the
    # resource tracker may warn of the dead worker's semaphore on its own stderr)
    assert line.startswith("artrm: error: a grid worker died while running ") and \
        "Traceback" not in err
    named = line.split(" while running ")[1].split(";")[0]
    assert named.count(", config ") == 1 and named.split()[0] in ("gpt", "ut", "gpt_level1")
    assert all(r["config_hash"][:12] not in named for r in finished)
    kept = [json.loads(p.read_text()) for p in (data_dir / "runs").glob("*.json")]
    assert {r["config_hash"] for r in finished} <= {r["config_hash"] for r in kept}


def test_stale_temporaries_are_removed_when_a_grid_starts(data_dir):
    runs = data_dir / "runs"
    runs.mkdir(parents=True)
    stale, fresh = runs / ".x.json.abc.tmp", runs / ".y.json.def.tmp"
    stale.write_text("half")
    fresh.write_text("half")
    os.utime(stale, (time.time() - 3600,) * 2)
    proc = cli("grid", "--profile", "smoke", "--models", "gpt", "--tasks", "copy", "--steps",
               "2", "--eval-every", "2", data=data_dir)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert not stale.exists() and fresh.exists()  # a recent one may be a write in progress


def test_temporaries_of_dead_writers_are_removed_at_once(data_dir, capsys):
    from artrm.cli import main
    from artrm.results.atomic import HOST
    runs = data_dir / "runs"
    runs.mkdir(parents=True)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    dead = runs / f".x.json.{HOST}-{ended.pid}.abc.tmp"
    alive = runs / f".y.json.{HOST}-{os.getpid()}.def.tmp"
    elsewhere = runs / f".z.json.otherhost-{ended.pid}.ghi.tmp"
    for tmp in (dead, alive, elsewhere):
        tmp.write_text("half")
    assert ResultStore().tidy() == 1
    assert not dead.exists() and alive.exists() and elsewhere.exists()
    dead.write_text("half")
    main([*SMOKE_TRAIN, "--steps", "2", "--eval-every", "2"])  # tidies before training
    assert "trained" in capsys.readouterr().out
    assert not dead.exists() and alive.exists() and elsewhere.exists()


# -- failures stop early and cleanly ------------------------------------------------------------
def test_a_non_finite_loss_stops_the_run_and_stores_nothing(data_dir, monkeypatch):
    import artrm.models.base as base

    real = base.token_loss
    calls = []

    def poisoned(logits, targets):
        calls.append(1)
        loss = real(logits, targets)
        return loss * float("nan") if len(calls) == 3 else loss

    monkeypatch.setattr(base, "token_loss", poisoned)
    cfg = tiny_run("gpt_level1", "copy", steps=8)
    with pytest.raises(Diverged, match="the loss is nan at step 3"):
        run_or_load(cfg, QUIET, ResultStore())
    assert not list((data_dir / "runs").glob("*.json")) if (data_dir / "runs").exists() else True
    state = torch.load(checkpoint_path(cfg), weights_only=True) if checkpoint_path(
        cfg).exists() else None
    assert state is None or state["progress"]["step"] < 3  # no non-finite weights kept


@pytest.mark.parametrize("folder,what", [("runs", "results folder"), ("locks", "locks folder")])
def test_a_folder_that_cannot_be_written_is_refused_before_training(data_dir, monkeypatch,
                                                                     folder, what):
    data_dir.mkdir(parents=True)
    (data_dir / folder).write_text("a file where the folder should be")
    calls = steps_trained(monkeypatch)
    with pytest.raises(ConfigError, match=f"the {what} .* cannot be created"):
        run_or_load(tiny_run("gpt_level1", "copy", steps=4), QUIET, ResultStore())
    assert not calls


# -- migration ------------------------------------------------------------------------------------
def schema_1(record: dict) -> dict:
    """`record` as schema 1 stored it: the old config fields and the old hash."""
    config = json.loads(json.dumps(record["config"]))
    del config["arch"]["vocab_size"], config["arch"]["state_norm"]
    return {**record, "schema": 1, "config": config, "config_hash": v1_hash(config)}


def test_schema_1_records_migrate_after_their_old_hash_is_verified(data_dir):
    cfg = tiny_run("trm", "copy", steps=4)
    record = train(cfg, QUIET)
    runs = data_dir / "runs"
    runs.mkdir(parents=True)
    old = schema_1(record)
    (runs / f"trm-copy-s7-{old['config_hash'][:12]}.json").write_text(json.dumps(old))
    old_ckpt = data_dir / "checkpoints" / old["config_hash"][:16] / "checkpoint.pt"
    old_ckpt.parent.mkdir(parents=True)
    state = torch.load(checkpoint_path(cfg), weights_only=True)
    del state["train_hash"]
    torch.save({**state, "config_hash": old["config_hash"]}, old_ckpt)
    checkpoint_path(cfg).unlink()
    assert migrate_store(runs, data_dir / "checkpoints") == (1, 1)
    migrated = ResultStore().find(cfg)
    assert migrated["migrated_from"]["config_hash"] == old["config_hash"]
    assert {k: v for k, v in migrated.items() if k not in ("migrated_from", "content_digest")} \
        == record
    assert checkpoint_path(cfg).exists() and not old_ckpt.exists()
    reevaluate(migrated, lengths=(3,))  # the moved checkpoint is this run's


def test_a_schema_1_record_whose_hash_does_not_rederive_is_not_migrated(data_dir):
    record = schema_1(train(tiny_run("gpt", "copy", steps=4), QUIET, keep_checkpoint=False))
    record["config"]["optim"]["lr"] = 0.5
    runs = data_dir / "runs"
    runs.mkdir(parents=True)
    (runs / "gpt-copy-s7-000000000000.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match="does not re-derive"):
        migrate_store(runs, data_dir / "checkpoints")


# -- write failures ------------------------------------------------------------------------------
def fail_with(monkeypatch, code: int) -> None:
    """Every atomic write of this test fails with OSError `code` (as a full disk would)."""
    def failing(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic.os, "replace", failing)


def test_a_full_disk_during_training_is_one_line_and_leaves_no_checkpoint_folder(data_dir,
                                                                                 monkeypatch):
    fail_with(monkeypatch, errno.ENOSPC)
    with pytest.raises(ConfigError, match=r"cannot write .*checkpoint\.pt: no space left"):
        run_or_load(tiny_run("gpt_level1", "copy", steps=4), QUIET, ResultStore())
    assert not (data_dir / "checkpoints").exists()
    assert not list(data_dir.rglob("*.tmp")) and not list(data_dir.rglob("*.json"))


@pytest.mark.parametrize("code,advice", [
    (errno.ENOSPC, "no space left on its device"),
    (errno.EROFS, "read-only file system; set ARTRM_DATA"),
    (errno.EACCES, "permission denied"),
    (errno.ENAMETOOLONG, "the name is too long"),
    (errno.ELOOP, "symlink loop"),
    (errno.EISDIR, "it is a folder"),
])
def test_a_failed_write_is_one_line_naming_the_path_and_leaves_no_temporary(tmp_path,
                                                                           monkeypatch, code,
                                                                           advice):
    fail_with(monkeypatch, code)
    path = tmp_path / "new" / "r.json"
    with pytest.raises(ConfigError) as info:
        atomic.write_text(path, "{}")
    assert str(info.value).startswith(f"cannot write {path}: ") and advice in str(info.value)
    assert "\n" not in str(info.value) and not (tmp_path / "new").exists()


def test_a_full_disk_on_import_is_one_line_exit_2_and_writes_nothing(data_dir, tmp_path,
                                                                    monkeypatch, capsys):
    record = train(tiny_run("gpt", "copy", steps=4), QUIET, keep_checkpoint=False)
    pack([record], ResultStore(tmp_path / "elsewhere"), tmp_path / "r.tar.gz")
    fail_with(monkeypatch, errno.ENOSPC)
    with pytest.raises(SystemExit) as exit_info:
        main(["import", str(tmp_path / "r.tar.gz")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1
    assert err.startswith("artrm: error: cannot write ") and "no space left" in err
    assert not list((data_dir / "runs").glob("*"))


def test_a_record_path_that_is_a_folder_is_refused_before_training(data_dir, monkeypatch):
    cfg = tiny_run("gpt_level1", "copy", steps=4)
    ResultStore().path_for(cfg).mkdir(parents=True)
    calls = steps_trained(monkeypatch)
    with pytest.raises(ConfigError, match="the run record .* is a folder"):
        run_or_load(cfg, QUIET, ResultStore())
    assert not calls


def test_eval_save_into_a_read_only_store_is_refused_before_evaluating(data_dir, monkeypatch,
                                                                      capsys):
    cfg = tiny_run("gpt_level1", "copy", steps=4)
    run_or_load(cfg, QUIET, ResultStore())
    monkeypatch.setattr(paths.os, "access", lambda path, mode: False)  # as chmod a-w would
    monkeypatch.setattr(cli_module, "reevaluate", lambda *a, **k: pytest.fail("evaluated"))
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "--run", cfg.hash[:12], "--lengths", "3", "--save"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and "is not writable" in err


@pytest.mark.parametrize("argv", [
    ["grid", "--profile", "smoke", "--export", "{tmp}/" + "a" * 300 + ".tar.gz"],
    ["notebooks", "--profile", "smoke", "--out", "{tmp}/" + "b" * 300],
])
def test_names_too_long_are_refused_before_any_work(argv, refused, tmp_path):
    refused([a.format(tmp=tmp_path) for a in argv], "the name is too long")


def test_artrm_data_a_dangling_symlink_or_a_loop_is_one_line(tmp_path, monkeypatch):
    dangling, loop = tmp_path / "dangling", tmp_path / "loop"
    dangling.symlink_to(tmp_path / "nowhere")
    loop.symlink_to(loop)
    monkeypatch.setenv("ARTRM_DATA", str(dangling))
    with pytest.raises(ConfigError, match="is a symlink to .*nowhere, which does not exist"):
        paths.data_dir()
    monkeypatch.setenv("ARTRM_DATA", str(loop))
    with pytest.raises(ConfigError, match="cannot be used: a symlink loop"):
        paths.data_dir()
