"""Passes that carry no gradient build no autograd graph, and skipping it changes nothing.

The faithful `trm` detaches its state at the entry of every ACT step, so the graphs of the
steps before the last are never used; it builds them without a graph (fewer saved
activations). These tests compare it, bit for bit, with the same model forced to build every
graph, through training steps with dropout and exploration draws.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from artrm.config import ArchConfig
from artrm.models.execution import Execution
from artrm.models.loop import graph_free_before_last
from artrm.models.trm import AutoregressiveTRM
from tests.conftest import match_budget, tiny_arch


def pair(arch: ArchConfig, seed: int = 0) -> tuple[AutoregressiveTRM, AutoregressiveTRM]:
    """The model, and the reference: the same model made to record every step's graph."""
    plan = match_budget("trm", arch.budget, arch.n_outer, arch.n_inner)
    models = []
    for graph_free in (True, False):
        torch.manual_seed(seed)
        model = AutoregressiveTRM(arch, plan)
        model.execution = Execution(graph_free=graph_free)
        models.append(model)
    return models[0], models[1]


def train_both(fast: AutoregressiveTRM, ref: AutoregressiveTRM, steps: int = 3) -> None:
    """AdamW steps on both models from the same RNG state (dropout and exploration draws);
    every loss and gradient must be bit-identical."""
    opts = [torch.optim.AdamW(m.parameters(), lr=1e-2) for m in (fast, ref)]
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    for _ in range(steps):
        idx = torch.randint(0, 14, (4, 10), generator=gen)
        rng = torch.get_rng_state()
        losses = []
        for model in (fast, ref):
            torch.set_rng_state(rng)
            losses.append(model(idx, idx).loss)
            losses[-1].backward()
        assert torch.equal(losses[0], losses[1])
        for a, b in zip(fast.parameters(), ref.parameters()):
            assert (a.grad is None) == (b.grad is None)
            assert a.grad is None or torch.equal(a.grad, b.grad)
        for opt in opts:
            opt.step()
            opt.zero_grad(set_to_none=True)


@pytest.mark.parametrize("switches", [
    {},  # the faithful model
    {"full_compute": True},
    {"yz_init": "trained"},
    {"grad_cycles": 2},
])
def test_trm_without_early_graphs_is_bit_identical(switches):
    arch = tiny_arch(n_embd=16, budget=24, dropout=0.1, **switches)
    fast, ref = pair(arch)
    assert graph_free_before_last(fast)
    train_both(fast, ref)
    for a, b in zip(fast.parameters(), ref.parameters()):
        assert torch.equal(a, b)


def test_only_the_last_step_records_a_graph():
    fast, ref = pair(tiny_arch(n_embd=16, budget=24, dropout=0.1))  # N=4 steps of 2 cycles
    idx = torch.randint(0, 14, (2, 12))
    for model in (fast, ref):
        model(idx, idx).loss.backward()
        assert sorted(model.passes.backward_calls) == [21, 22, 23]
    assert fast.passes.forward_grad == 3  # the last cycle of the last step
    assert ref.passes.forward_grad == 12  # the last cycle of every step
    assert fast.passes.forward == ref.passes.forward == 24


def test_a_head_that_can_fire_keeps_every_graph():
    fast, _ = pair(tiny_arch(n_embd=16, budget=24))
    with torch.no_grad():
        fast.halt.bias.fill_(5.0)  # q = 5 > 0: a step before the last may end the loop
    assert not graph_free_before_last(fast)
    idx = torch.randint(0, 14, (2, 12))
    fast(idx, idx)
    assert fast.passes.forward_grad == 3 * int(fast.passes.forward // 6)


@pytest.mark.parametrize("switches", [{"halt_loss": 0.5}, {"deep_supervision": True}])
def test_corrections_that_read_every_step_keep_every_graph(switches):
    fast, _ = pair(tiny_arch(n_embd=16, budget=24, **switches))
    assert not graph_free_before_last(fast)


def test_evaluation_is_unchanged():
    fast, ref = pair(dataclasses.replace(tiny_arch(n_embd=16, budget=24), dropout=0.0))
    idx = torch.randint(0, 14, (3, 9))
    fast.eval(), ref.eval()
    with torch.no_grad():
        assert torch.equal(fast(idx).logits, ref(idx).logits)
        assert fast.passes.forward_grad == 0
