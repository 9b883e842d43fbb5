"""Where gradient flows: the truncation and detach placement that decide the nested results."""

from __future__ import annotations

import pytest
import torch

from artrm import build_model
from artrm.models.act import ACT
from tests.conftest import tiny_arch


def backward(name: str, **arch):
    torch.manual_seed(0)
    model = build_model(name, tiny_arch(n_embd=16, budget=24, **arch))
    model.full_compute = True
    idx = torch.randint(0, 14, (2, 12))
    model(idx, idx).loss.backward()
    return model


def test_ut_level2_trains_only_the_last_cycle_of_each_act_step():
    model = backward("ut_level2")  # N=4 ACT steps of H=2 cycles of L+1=3 passes
    per_step = model.plan.passes_per_step
    last_cycle = {s * per_step + per_step - 1 - i for s in range(4) for i in range(3)}
    assert sorted(model.passes.backward_calls) == sorted(last_cycle)
    assert model.passes.forward_grad == 12


def test_trm_trains_only_the_last_cycle_of_the_last_step():
    model = backward("trm")
    assert sorted(model.passes.backward_calls) == [21, 22, 23]


@pytest.mark.parametrize("name", ["ut_level2", "trm"])
def test_nested_models_never_train_their_initial_states(name):
    model = backward(name)
    assert model.y_init.grad is None and model.z_init.grad is None
    assert model.f.attn.qkv.weight.grad is not None


def test_trm_q_head_receives_no_gradient():
    model = backward("trm")
    assert model.halt.weight.grad is None and model.halt.bias.grad is None
    assert torch.all(model.halt.weight == 0) and torch.all(model.halt.bias == -5)


def test_dual_ut_trains_its_initial_states_through_every_step():
    model = backward("ut_level1")
    assert model.y_init.grad is not None and model.y_init.grad.abs().sum() > 0
    assert model.z_init.grad is not None and model.z_init.grad.abs().sum() > 0
    assert model.passes.backward == model.passes.forward == 24


@pytest.mark.parametrize("name", ["gpt", "gpt_level1", "gpt_level2"])
def test_flat_models_backpropagate_through_every_pass(name):
    model = backward(name)
    assert model.passes.backward == 24


def test_act_weights_sum_to_one_and_ponder_is_at_least_one():
    torch.manual_seed(0)
    B, T, C, steps = 3, 5, 4, 6
    act = ACT(B, T, C, torch.device("cpu"))
    ones = torch.ones(B, T, C)
    for _ in range(steps):
        act.update(ones, torch.rand(B, T) * 0.6)
        assert torch.all(act.cum <= 1.0)
    out, ponder = act.finalize(ones)
    torch.testing.assert_close(out, ones)  # weights of a constant state sum to one
    assert ponder >= 1.0
    assert torch.all(act.n_updates >= 1)
