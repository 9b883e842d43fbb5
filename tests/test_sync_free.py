"""Sync-free steps: no host read of device data inside a training step or a decode step, the
statistics read at rounds, and divergence still caught at its first step.

On a CUDA device a host read (`.item()`, `bool(tensor)`, a boolean mask index) waits for
the queued kernels and cannot be captured in a CUDA graph. Here every aten operation of a
step is recorded (a dispatch mode, on the CPU) and the ones that read a value back to the
host must not occur; the eager path, which does read, shows that the check has teeth.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from artrm import build_model, model_names
from artrm.config import ExecConfig, OptimConfig
from artrm.training.generation import Decoder
from artrm.training.passes import forward_passes, pass_stats
from artrm.training.stats import StepStats
from artrm.training.train import Diverged, Trainer, read_checkpoint
from tests.conftest import tiny_arch, tiny_run

HOST_READS = {"_local_scalar_dense", "nonzero", "equal", "masked_select"}
SWITCHES = [(name, {}) for name in model_names()] + [
    ("ut_level1", dict(state_norm=True)), ("ut_level2", dict(deep_supervision=True)),
    ("trm", dict(halt_loss=0.5)), ("trm", dict(halt_loss=0.5, halt_per="position")),
    ("trm", dict(deep_supervision=True, pos_encoding="rope")), ("gpt", dict(pos_encoding="rope"))]


class HostReads(TorchDispatchMode):
    """Records the aten operations that read device data back to the host."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.__name__.split(".")[0]
        if name in HOST_READS:
            self.seen.append(name)
        return func(*args, **(kwargs or {}))


def static_model(name: str, **switches):
    torch.manual_seed(0)
    model = build_model(name, tiny_arch(budget=12, **switches))
    model.set_static(True)
    return model


@pytest.mark.parametrize("name,switches", SWITCHES,
                         ids=[f"{n}-{'-'.join(s) or 'plain'}" for n, s in SWITCHES])
def test_a_static_training_step_reads_nothing_back(name, switches):
    model = static_model(name, **switches)
    idx = torch.randint(0, 14, (3, 12))
    with HostReads() as reads:
        out = model(idx, idx)
        out.loss.backward()
        stats = {"loss": out.loss.detach(), **pass_stats(model, out.stats), **out.stats}
    assert reads.seen == []
    assert all(isinstance(v, (torch.Tensor, int, float)) for v in stats.values())


@pytest.mark.parametrize("name", model_names())
def test_a_cached_decode_step_reads_nothing_back(name):
    model = static_model(name).eval()
    decoder = Decoder()
    with torch.no_grad():
        cache = decoder.cache(model, 2, 10, torch.device("cpu"))
        cache.start_prefill(6)
        model(torch.randint(0, 14, (2, 6)), cache=cache)
        cache.start_decode(6)
        with HostReads() as reads:
            out = decoder.step(model, torch.randint(0, 14, (2, 1)), cache)
            forward_passes(model, out.stats)
    assert reads.seen == []


def test_the_eager_loop_reads_its_exit_on_the_host():
    torch.manual_seed(0)
    model = build_model("ut", tiny_arch(budget=12))
    idx = torch.randint(0, 14, (3, 12))
    with HostReads() as reads:
        model(idx, idx)
    assert "_local_scalar_dense" in reads.seen  # the per-step exit check (and the ponder)


def test_statistics_are_read_in_one_transfer_in_step_order():
    stats = StepStats()
    stats.add(1, {"loss": torch.tensor(2.5), "passes_forward": 24, "act_steps": torch.tensor(3.)})
    stats.add(2, {"loss": torch.tensor(2.25), "passes_forward": 24, "act_steps": torch.tensor(4.)})
    rows = stats.read(lr=1e-3)
    assert rows == [{"loss": 2.5, "passes_forward": 24, "act_steps": 3.0},
                    {"loss": 2.25, "passes_forward": 24, "act_steps": 4.0}]
    assert stats.read(lr=1e-3) == []


@pytest.mark.parametrize("sync_free", [False, True])
def test_divergence_stops_at_its_first_step_and_keeps_no_bad_weights(sync_free, tmp_path):
    cfg = tiny_run("gpt_level1", "copy", steps=12,
                   optim=OptimConfig(steps=12, batch_size=8, lr=1e-3))
    exe = ExecConfig(progress=False, sync_free=sync_free)
    ckpt = tmp_path / "ckpt.pt"
    trainer = Trainer(cfg, exe, ckpt)  # checkpoints and reads at every round (4 steps)
    step, calls = trainer._step, []

    def poisoned(inputs, targets):  # from step 6 on the weights and the loss are NaN
        calls.append(1)
        if len(calls) == 6:
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(math.nan)
        return step(inputs, targets)

    trainer._step = poisoned  # type: ignore[method-assign]
    with pytest.raises(Diverged, match="the loss is nan at step 6"):
        trainer.run()
    assert len(calls) == 8  # found at the next read (the round at step 8), not later
    kept = read_checkpoint(ckpt, cfg, torch.device("cpu"))
    assert kept["progress"]["step"] == 4  # the round before; nothing after the bad step
    assert all(torch.isfinite(v).all() for v in kept["model"].values())


@pytest.mark.parametrize("name", ["ut", "trm"])
def test_sync_free_training_records_the_eager_curves(name):
    """Without dropout the static loop trains exactly as the eager one, and the realised
    passes it reports are those the early exit ran."""
    cfg = tiny_run(name, "copy", steps=8, arch=tiny_arch(budget=12, dropout=0.0))
    records = []
    for sync_free in (False, True):
        trainer = Trainer(cfg, ExecConfig(progress=False, sync_free=sync_free), None)
        trainer.run()
        records.append(trainer.record())
    eager, static = records
    assert eager["curves"] == static["curves"]
    assert eager["history"] == static["history"]
    if name == "ut":
        assert min(eager["curves"]["passes_forward"]) < cfg.plan.nominal_passes


def test_a_checkpoint_never_keeps_non_finite_weights(tmp_path):
    """The last update's loss comes only with the next step: the weights are checked too."""
    cfg = tiny_run("gpt_level1", "copy", steps=12)
    ckpt = tmp_path / "ckpt.pt"
    trainer = Trainer(cfg, ExecConfig(progress=False, sync_free=True), ckpt)
    step, calls = trainer._step, []

    def poisoned(inputs, targets):  # the update of step 8 leaves NaN weights, finite loss
        calls.append(1)
        stats = step(inputs, targets)
        if len(calls) == 8:
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(math.nan)
        return stats

    trainer._step = poisoned  # type: ignore[method-assign]
    with pytest.raises(Diverged, match="the weights are not finite after step 8"):
        trainer.run()
    assert read_checkpoint(ckpt, cfg, torch.device("cpu"))["progress"]["step"] == 4
