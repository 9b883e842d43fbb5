"""The analytic FLOPs agree with PyTorch's own count of the matmuls of a real training step."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from artrm import build_model
from artrm.models.flops import block_attention_flops, train_step_flops
from artrm.registry import model_names
from tests.conftest import tiny_arch


def linear_flops(counter: FlopCounterMode) -> int:
    """FLOPs of the (add)mm calls that PyTorch counted: every linear layer."""
    counts = counter.get_flop_counts()["Global"]
    return sum(v for op, v in counts.items() if str(op).split(".")[1] in ("mm", "addmm", "bmm"))


@pytest.mark.parametrize("name", model_names())
def test_matmul_flops_of_a_step_match_pytorchs_count(name):
    torch.manual_seed(0)
    arch = tiny_arch(n_embd=32, budget=12, dropout=0.0)
    model = build_model(name, arch)
    model.full_compute = True  # every ACT step runs: the count is the same every time
    idx = torch.randint(0, 14, (3, 11))
    with FlopCounterMode(display=False) as counter:
        model(idx, idx).loss.backward()
    passes = model.passes
    expected = train_step_flops(32, 3, 11, passes.forward, passes.backward).matmul
    # the halting heads (C -> 1 per position and step) are the only linear layers left out
    assert linear_flops(counter) == pytest.approx(expected, rel=0.005)
    assert linear_flops(counter) >= expected


def test_the_backward_costs_twice_the_forward_of_the_passes_it_reaches():
    base = train_step_flops(64, 2, 10, forward_passes=24, backward_passes=0)
    trm = train_step_flops(64, 2, 10, forward_passes=24, backward_passes=3)
    gpt = train_step_flops(64, 2, 10, forward_passes=24, backward_passes=24)
    assert gpt.total - base.total == pytest.approx(8 * (trm.total - base.total))
    assert trm.attention == pytest.approx(2 * 10 * 30 * block_attention_flops(64, 10))


def test_causal_attention_counts_each_query_key_pair_once():
    n_embd, length = 8, 5
    pairs = sum(range(1, length + 1))  # query i sees keys 0..i
    per_sequence = 2 * 2 * n_embd * pairs  # QK^T and AV, a multiply-add each
    assert block_attention_flops(n_embd, length) * length == per_sequence
