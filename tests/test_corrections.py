"""The corrections of the reference's defects: causal under every switch, honestly counted,
and doing what they claim (the halting head learns, halted rows are frozen, ...)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from artrm import build_model
from artrm.config import ExecConfig, OptimConfig
from artrm.errors import ConfigError
from artrm.run_config import RunConfig
from artrm.training.train import Trainer
from tests.conftest import tiny_arch, tiny_run

ALL_TRM = dict(halt_loss=0.5, halt_per="position", deep_supervision=True, grad_cycles=2,
               yz_init="trained", pos_encoding="rope")
SWITCHED = [
    ("trm", dict(halt_loss=0.5, halt_per="position")),
    ("trm", dict(halt_loss=0.5, halt_per="sequence")),
    ("trm", dict(deep_supervision=True)),
    ("trm", dict(grad_cycles=2)),
    ("trm", dict(yz_init="trained")),
    ("trm", dict(yz_init="fixed")),
    ("trm", dict(pos_encoding="rope")),
    ("trm", ALL_TRM),
    ("trm", dict(state_norm=True)),
    ("trm", dict(state_norm=True, deep_supervision=True, halt_loss=0.5, halt_per="position")),
    ("ut_level1", dict(state_norm=True)),
    ("ut_level2", dict(state_norm=True)),
    ("ut_level2", dict(deep_supervision=True)),
    ("ut_level2", dict(state_norm=True, deep_supervision=True, full_compute=True)),
    ("ut_level2", dict(grad_cycles=2)),
    ("ut_level2", dict(yz_init="trained")),
    ("ut_level2", dict(full_compute=True)),
    ("ut_level2", dict(pos_encoding="none")),
    ("ut", dict(full_compute=True)),
    ("gpt", dict(pos_encoding="rope")),
    ("gpt_level2", dict(pos_encoding="none")),
]


def live_halting(model) -> None:
    """Give the TRM's halting head random weights so that it really fires mid-loop."""
    if model.name == "trm":
        with torch.no_grad():
            model.halt.weight.normal_(0, 1.0)
            model.halt.bias.zero_()


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("name,switches", SWITCHED, ids=[f"{n}-{'-'.join(s)}" for n, s in SWITCHED])
def test_every_switch_keeps_the_model_causal(name, switches, mode):
    torch.manual_seed(0)
    model = build_model(name, tiny_arch(budget=24, **switches))
    live_halting(model)
    model.train(mode == "train")
    idx = torch.randint(0, 14, (3, 20))
    for t in (0, 6, 13):
        changed = idx.clone()
        changed[:, t + 1:] = torch.randint(0, 14, changed[:, t + 1:].shape)
        torch.manual_seed(1)
        a = model(idx, idx).logits
        torch.manual_seed(1)
        b = model(changed, changed).logits
        torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1], rtol=0, atol=1e-6)


def counted(name: str, **switches):
    torch.manual_seed(0)
    model = build_model(name, tiny_arch(n_embd=16, budget=24, **switches))
    idx = torch.randint(0, 14, (2, 10))
    model(idx, idx).loss.backward()
    return model


@pytest.mark.parametrize("name,switches,forward,backward", [
    ("trm", {}, 24, 3),
    ("trm", dict(grad_cycles=2), 24, 6),  # both cycles of the last step
    ("trm", dict(deep_supervision=True), 24, 12),  # the last cycle of every step
    ("trm", dict(deep_supervision=True, yz_init="trained"), 24, 15),  # + all of step 0
    ("trm", dict(halt_loss=0.5), 24, 12),  # the BCE reaches every step's last cycle
    ("ut_level2", dict(grad_cycles=2, full_compute=True), 24, 24),
    ("ut_level2", dict(yz_init="trained", full_compute=True), 24, 15),
    ("ut", dict(full_compute=True), 24, 24),
    ("trm", dict(state_norm=True), 24, 3),  # the norm adds no block pass, anywhere
    ("ut_level2", dict(full_compute=True), 24, 12),
    ("ut_level2", dict(full_compute=True, state_norm=True), 24, 12),
    ("ut_level2", dict(full_compute=True, deep_supervision=True), 24, 12),
    ("ut_level1", dict(full_compute=True), 24, 24),
    ("ut_level1", dict(full_compute=True, state_norm=True), 24, 24),
])
def test_block_pass_accounting_matches_the_counted_passes(name, switches, forward, backward):
    model = counted(name, **switches)
    assert model.passes.forward == model.plan.nominal_passes == forward
    assert model.passes.backward == backward


def test_the_halting_loss_moves_the_halting_head():
    def head_after(halt_loss: float) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = tiny_run("trm", "copy", steps=6, arch=tiny_arch(budget=12, halt_loss=halt_loss,
                                                               halt_per="position"))
        trainer = Trainer(cfg, ExecConfig(progress=False), None)
        trainer.run()
        return trainer.model.halt.weight.detach(), trainer.model.halt.bias.detach()

    w, b = head_after(0.5)
    assert w.abs().sum() > 0 and b.item() != -5.0
    w0, b0 = head_after(0.0)  # faithful: no loss, the head never moves
    assert torch.all(w0 == 0) and b0.item() == -5.0


@pytest.mark.parametrize("halt_per", ["sequence", "position"])
def test_halted_rows_are_frozen(halt_per):
    torch.manual_seed(0)
    model = build_model("trm", tiny_arch(budget=24, halt_loss=0.5, halt_per=halt_per,
                                         full_compute=True)).eval()
    with torch.no_grad():
        model.halt.bias.fill_(50.0)  # everything halts after the first step ...
    idx = torch.randint(0, 14, (2, 12))
    frozen = model(idx).logits  # ... and full compute still runs all 4 steps
    assert model.passes.forward == 24
    model.set_inference_steps(1)
    torch.testing.assert_close(frozen, model(idx).logits, rtol=0, atol=0)


def test_trained_initial_states_get_gradient_and_fixed_ones_are_buffers():
    model = counted("ut_level2", yz_init="trained", full_compute=True)
    assert model.y_init.grad is not None and model.y_init.grad.abs().sum() > 0
    fixed = build_model("ut_level2", tiny_arch(yz_init="fixed"))
    learned = build_model("ut_level2", tiny_arch())
    assert "y_init" in dict(fixed.named_buffers())
    assert learned.num_parameters() - fixed.num_parameters() == 2 * 32


def test_relative_or_no_positions_drop_the_position_table():
    learned = build_model("gpt_level1", tiny_arch())
    for encoding in ("rope", "none"):
        other = build_model("gpt_level1", tiny_arch(pos_encoding=encoding))
        assert learned.num_parameters() - other.num_parameters() == 40 * 32


def test_deep_supervision_counts_every_step_in_the_loss():
    torch.manual_seed(0)
    plain = build_model("trm", tiny_arch(budget=24, dropout=0.0))
    deep = build_model("trm", tiny_arch(budget=24, dropout=0.0, deep_supervision=True))
    deep.load_state_dict(plain.state_dict())
    idx = torch.randint(0, 14, (2, 10))
    assert deep(idx, idx).loss > plain(idx, idx).loss  # four steps of loss instead of one
    torch.testing.assert_close(deep(idx).logits, plain(idx).logits)


def stream_rms(model, idx: torch.Tensor) -> list[float]:
    """The rms of y after every dual step of one eval forward (all steps run)."""
    seen: list[float] = []
    hook = model.blocks[0].register_forward_hook(
        lambda m, args, out: seen.append(float(out.pow(2).mean().sqrt())))
    with torch.no_grad():
        model(idx)
    hook.remove()
    return seen


@pytest.mark.parametrize("name", ["ut_level1", "ut_level2", "trm"])
def test_state_norm_keeps_the_streams_bounded_and_adds_no_parameters(name):
    torch.manual_seed(0)
    arch = tiny_arch(budget=24, dropout=0.0, full_compute=True)
    free = build_model(name, arch).eval()
    normed = build_model(name, replace(arch, state_norm=True)).eval()
    normed.load_state_dict(free.state_dict())  # the norm has no parameters
    idx = torch.randint(0, 14, (2, 12))
    grows, bounded = stream_rms(free, idx), stream_rms(normed, idx)
    assert grows[-1] > 20 * grows[0]  # the summed streams grow with the passes ...
    assert max(bounded) < 2.0  # ... and stay at the scale of a normalised input plus an update
    inputs: list[torch.Tensor] = []
    hook = normed.blocks[0].register_forward_pre_hook(lambda m, args: inputs.append(args[0]))
    with torch.no_grad():
        normed(idx)
    hook.remove()
    for h in inputs:  # every block pass reads a unit-rms input at every position
        torch.testing.assert_close(h.pow(2).mean(-1), torch.ones(2, 12), rtol=0, atol=0.05)


def test_deep_supervision_on_the_dual_nested_ut_adds_a_loss_per_act_step():
    torch.manual_seed(0)
    arch = tiny_arch(budget=24, dropout=0.0, full_compute=True)
    plain = build_model("ut_level2", arch)
    deep = build_model("ut_level2", replace(arch, deep_supervision=True))
    deep.load_state_dict(plain.state_dict())
    idx = torch.randint(0, 14, (2, 10))
    torch.testing.assert_close(deep(idx).logits, plain(idx).logits, rtol=0, atol=0)
    assert deep(idx, idx).loss > plain(idx, idx).loss + 1.0  # four more next-token losses


@pytest.mark.parametrize("name,switches,message", [
    ("gpt", dict(halt_loss=0.5), "halt_loss applies to trm only"),
    ("ut_level1", dict(grad_cycles=2), "grad_cycles applies to ut_level2, trm only"),
    ("gpt_level2", dict(full_compute=True), "full_compute applies to"),
    ("ut", dict(yz_init="fixed"), "yz_init applies to"),
    ("ut", dict(state_norm=True), "state_norm applies to ut_level1, ut_level2, trm only"),
    ("ut_level1", dict(deep_supervision=True), "deep_supervision applies to ut_level2, trm"),
    ("trm", dict(grad_cycles=3), "grad_cycles must be at most the 2 cycles"),
    ("trm", dict(pos_encoding="alibi"), "pos_encoding must be one of learned, rope, none"),
])
def test_switches_on_the_wrong_rung_are_refused(name, switches, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig(name, "copy", arch=tiny_arch(budget=24, **switches))


def test_all_fixes_together_train():
    cfg = tiny_run("trm", "addition", steps=4, arch=tiny_arch(budget=24, **ALL_TRM),
                   optim=OptimConfig(steps=4, batch_size=4, lr=1e-3))
    trainer = Trainer(cfg, ExecConfig(progress=False), None)
    trainer.run()
    assert trainer.progress.curves["passes_backward"][0] >= 15
