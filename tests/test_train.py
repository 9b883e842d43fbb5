"""Training: seeded determinism, exact resume and a run that really learns."""

from __future__ import annotations

import torch

from artrm.config import DataConfig, EvalConfig, ExecConfig, OptimConfig
from artrm.results.provenance import machine
from artrm.training.train import Trainer, train
from tests.conftest import tiny_arch, tiny_run

QUIET = ExecConfig(progress=False)


def strip_times(record):
    record = dict(record)
    record.pop("provenance")
    return record


def test_two_runs_with_one_seed_are_identical():
    cfg = tiny_run("ut", "addition", steps=10)
    a, b = train(cfg, QUIET, keep_checkpoint=False), train(cfg, QUIET, keep_checkpoint=False)
    assert strip_times(a) == strip_times(b)
    c = train(cfg.replace(seed=8), QUIET, keep_checkpoint=False)
    assert c["curves"]["loss"] != a["curves"]["loss"]


def test_resume_after_an_interruption_is_exact(tmp_path):
    cfg = tiny_run("trm", "reverse", steps=12)  # dropout, exploration draws and evaluations
    straight = Trainer(cfg, QUIET, tmp_path / "a.pt")
    straight.run()
    assert train(cfg, QUIET, checkpoints=tmp_path / "b", stop_at=6) is None  # "killed" at 6
    resumed = Trainer(cfg, QUIET, next((tmp_path / "b").rglob("checkpoint.pt")))
    assert resumed.progress.step == 6
    resumed.run()
    for x, y in zip(straight.model.parameters(), resumed.model.parameters()):
        assert torch.equal(x, y)
    assert strip_times(straight.record()) == strip_times(resumed.record())


def test_a_smoke_run_really_learns_copy():
    cfg = tiny_run("gpt_level1", "copy", steps=300,
                   arch=tiny_arch(n_embd=64, n_head=4, budget=2, dropout=0.0),
                   optim=OptimConfig(steps=300, batch_size=32, lr=3e-3),
                   eval=EvalConfig(lengths=(3,), n_problems=100, every=300, decoding="greedy"))
    record = train(cfg, QUIET, keep_checkpoint=False)
    assert record["history"][0]["step"] == 300
    assert record["final"]["3"]["char_acc"] > 0.9
    assert record["curves"]["loss"][-1] < record["curves"]["loss"][0] / 5


def test_the_record_holds_history_passes_and_provenance():
    cfg = tiny_run("ut_level2", "copy", steps=8, data=DataConfig(train_len=3, padding="block"))
    record = train(cfg, QUIET, keep_checkpoint=False)
    assert [h["step"] for h in record["history"]] == [4, 8]
    assert set(record["history"][0]["eval"]) == {"3"} and set(record["final"]) == {"3", "4"}
    assert record["passes"]["nominal"] == 6
    assert 1 <= record["passes"]["forward_mean"] <= 6
    assert len(record["curves"]["loss"]) == 8
    assert record["provenance"]["torch"] == torch.__version__
    assert record["provenance"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert machine(record["provenance"]) and "x86_64" not in machine(record["provenance"])
    assert record["config_hash"] == cfg.hash


def test_the_machine_is_the_host_tag_of_the_platform():
    assert machine({"platform": "Linux-6.18.44-fc-v769-x86_64-with-glibc2.36"}) == "fc-v769"
    assert machine({"platform": "Linux-5.15.0-91-generic-aarch64-with-glibc2.35"}) == "91-generic"
