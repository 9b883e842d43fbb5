"""The time-budgeted grid: several short calls, then an import, complete the grid exactly.

Time is virtual here (one second per training step), so every decision is deterministic:
the budget decides how many runs each call can finish, whatever the machine's speed.
"""

from __future__ import annotations

import dataclasses
import shutil
import tarfile
import time

import pytest

from artrm.config import DataConfig, ExecConfig
from artrm.experiments.profiles import SMOKE
from artrm.results.archive import import_archives
from artrm.results.store import ResultStore
from artrm.running import budget
from artrm.running.budget import Budget, HardStop, hard_stop, run_budgeted, train_within
from artrm.running.grid import run_grid
from artrm.training.train import Trainer, train

QUIET = ExecConfig(progress=False, threads=1)
# block padding: every task trains at the same speed, so a rate learnt on one serves all
CONFIGS = [c.replace(data=DataConfig(train_len=3, padding="block"))
           for c in SMOKE.configs(models=("gpt_level1", "trm"), tasks=("copy", "reverse"))]


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> VirtualClock:
    """Virtual time that advances one second per training step."""
    virtual = VirtualClock()
    monkeypatch.setattr(budget, "clock", virtual)
    step = Trainer.train_step

    def timed_step(self):
        virtual.now += 1.0
        return step(self)

    monkeypatch.setattr(Trainer, "train_step", timed_step)
    return virtual


def call(machine, budget_s, archive, **kwargs):
    """One call of the budgeted grid on `machine` (a data folder), exporting `archive`."""
    return run_budgeted(CONFIGS, QUIET, ResultStore(machine / "runs"), budget_s, export=archive,
                        checkpoints=machine / "checkpoints", reserve_s=0, startup_s=0,
                        hard_grace_s=None, log=lambda line: None, **kwargs)


def straight(cfg, tmp_path):
    """The record of one uninterrupted run (its own, fresh checkpoint folder)."""
    return train(cfg, QUIET, checkpoints=tmp_path / "straight")


def strip(record):
    """The run's result: without provenance, or the digest that covers it."""
    return {k: v for k, v in record.items() if k not in ("provenance", "content_digest")}


def members(archive):
    with tarfile.open(archive) as tar:
        return sorted(tar.getnames())


def test_short_calls_on_fresh_machines_then_import_complete_the_grid(clock, tmp_path):
    local = ResultStore(tmp_path / "local" / "runs")
    calls = []
    while len(calls) < 6 and any(local.find(c) is None for c in CONFIGS):
        machine = tmp_path / f"machine{len(calls)}"  # fresh: the stored records, no checkpoint
        if local.root.exists():
            shutil.copytree(local.root, machine / "runs")
        archive = tmp_path / f"out{len(calls)}" / "records.tar.gz"
        summary = call(machine, 25, archive)  # 20-step runs: one fits per call
        calls.append((summary, members(archive)))
        import_archives([archive], local)
    assert len(calls) == 4
    assert [len(s.finished) for s, _ in calls] == [1, 1, 1, 1]
    assert [len(m) for _, m in calls] == [1, 2, 3, 4]  # each archive holds all finished so far
    first = calls[0][0]
    assert [o.status for o in first.outcomes.values()] == ["finished", "deadline", "deadline"]
    assert any("needs about 20 s" in why for why in first.not_started.values())

    logged = []
    records = run_grid(CONFIGS, QUIET, local, log=logged.append)  # nothing is retrained
    assert all(line.endswith("(cached)") for line in logged) and len(logged) == 4
    for cfg, record in zip(CONFIGS, records):
        assert strip(record) == strip(straight(cfg, tmp_path))


def test_a_warm_machine_resumes_its_checkpoints_exactly(clock, tmp_path):
    machine, store = tmp_path / "machine", ResultStore(tmp_path / "machine" / "runs")
    summaries = []
    while len(summaries) < 6 and any(store.find(c) is None for c in CONFIGS):
        summaries.append(call(machine, 25, tmp_path / "a.tar.gz", partial=True))
    assert len(summaries) == 4
    stops = [o for s in summaries for o in s.outcomes.values() if o.status == "deadline"]
    assert stops and all(o.step > 1 for o in stops)  # partial: trained up to the deadline
    assert sum(len(s.finished) for s in summaries) == 4
    for cfg in CONFIGS:  # resumed across calls, yet the same as one straight run
        assert strip(store.find(cfg)) == strip(straight(cfg, tmp_path))


def test_a_call_with_everything_stored_trains_nothing(clock, tmp_path):
    call(tmp_path, 1000, tmp_path / "a.tar.gz")
    again = call(tmp_path, 1000, tmp_path / "b.tar.gz")
    assert again.outcomes == {} and len(again.stored) == 4
    assert members(tmp_path / "b.tar.gz") == members(tmp_path / "a.tar.gz")


def test_a_run_that_cannot_finish_stops_after_its_probe(clock, tmp_path):
    cfg = CONFIGS[0]
    slow = budget.Budget(clock() + 15, None, 0)
    outcome = train_within(cfg, QUIET, ResultStore(tmp_path / "runs"), tmp_path, None, slow,
                           None, partial=False)
    assert outcome.status == "cannot finish" and outcome.step == 11 and outcome.s_per_step == 1
    resumed = Trainer(cfg, QUIET, next(tmp_path.rglob("checkpoint.pt")))
    assert resumed.progress.step == 11  # the stop left a checkpoint


def test_the_hard_stop_interrupts_a_run_that_overruns(tmp_path, monkeypatch):
    step = Trainer.train_step

    def slow_step(self):
        time.sleep(0.05)
        return step(self)

    monkeypatch.setattr(Trainer, "train_step", slow_step)
    base = CONFIGS[0]
    cfg = base.replace(optim=dataclasses.replace(base.optim, steps=400),  # one long chunk
                       eval=dataclasses.replace(base.eval, every=400))
    late = Budget(time.time() + 3.0, hard_grace_s=0.5, startup_s=0)
    outcome = train_within(cfg, QUIET, ResultStore(tmp_path / "runs"), tmp_path, None, late,
                           1e-6, partial=False)  # a wrong rate: the soft checks let it run
    assert outcome.status == "hard stop" and 0 < outcome.step < 400
    with pytest.raises(HardStop):
        with hard_stop(0.01):
            time.sleep(1)


def test_several_workers_fill_the_call(tmp_path):
    summary = run_budgeted(CONFIGS[:3], QUIET, ResultStore(tmp_path / "runs"), 600,
                           export=tmp_path / "r.tar.gz", workers=2,
                           checkpoints=tmp_path / "checkpoints", log=lambda line: None)
    assert len(summary.finished) == 3 and not summary.errors
    assert len(members(tmp_path / "r.tar.gz")) == 3


BAD = [
    (["grid", "--profile", "smoke", "--time-budget", "0"], "must be a positive number"),
    (["grid", "--profile", "smoke", "--partial"], "--partial applies with --time-budget"),
    (["grid", "--profile", "smoke", "--time-budget", "9", "--backend", "ray"],
     "--time-budget skips stored runs and runs on the local backend"),
    (["grid", "--profile", "smoke", "--backend", "spark"], "backend must be one of local, ray"),
    (["grid", "--profile", "smoke", "--precision", "fp16"], "precision must be one of"),
    (["grid", "--profile", "smoke", "--precision", "bf16", "--workers", "2"],
     "precision bf16 applies on CUDA only"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_grid_input_is_one_line_exit_2(argv, message, refused):
    refused(argv, message)
