"""The analytic FLOPs agree with PyTorch's own count of the matmuls of a real training step
and of a real generation, and bound the paper profile's evaluation."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from artrm import build_model
from artrm.experiments.profiles import PAPER, PAPER_TASKS
from artrm.models.ladder import model_names
from artrm.running.cost import (
    block_attention_flops,
    eval_rounds,
    generation_flops,
    run_flops,
    step_passes,
    train_step_flops,
)
from artrm.training.generation import generate
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


def attention_pairs(queries: range) -> int:
    """Query-key pairs of causal attention for the query positions in `queries`."""
    return sum(q + 1 for q in queries)


@pytest.mark.parametrize("cached", [False, True])
def test_generation_flops_match_pytorchs_count(cached):
    torch.manual_seed(0)
    C, P, A, V = 32, 7, 5, 14
    model = build_model("gpt_level1", tiny_arch(n_embd=C, budget=4, dropout=0.0)).eval()
    prompt = torch.randint(0, V, (1, P))
    with FlopCounterMode(display=False) as counter:
        generate(model, prompt, A, "greedy", cached=cached)
    passes = model.plan.nominal_passes
    positions = P + (A - 1) if cached else sum(P + i for i in range(A))  # positions run
    matmul = positions * (passes * 24 * C * C + 2 * C * V)
    assert linear_flops(counter) == pytest.approx(matmul, rel=1e-9)
    if cached:  # the prompt's triangle, then each new position reads its prefix
        pairs = attention_pairs(range(P)) + sum(j + 1 for j in range(P, P + A - 1))
    else:  # every forward recomputes the triangle of its whole sequence
        pairs = sum(attention_pairs(range(P + i)) for i in range(A))
    expected = matmul + passes * 4 * C * pairs
    assert generation_flops(C, P, A, passes, cached, V) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("task", PAPER_TASKS)
@pytest.mark.parametrize("name", model_names())
def test_the_paper_profiles_evaluation_costs_at_most_a_tenth_of_its_training(name, task):
    """With the KV cache, below 1%; without it, up to 16% (trm: its backward is short)."""
    flops = run_flops(PAPER.config(name, task))
    assert flops.eval_cached <= 0.1 * flops.train
    assert flops.eval_uncached > 5 * flops.eval_cached


def test_run_flops_count_the_rounds_and_passes():
    cfg = PAPER.config("trm", "addition")
    assert step_passes(cfg) == (24, 3)
    assert step_passes(PAPER.config("ut", "copy")) == (24, 24)  # full compute
    rounds = eval_rounds(cfg)
    assert len(rounds) == 20 and rounds[0] == (10,) and rounds[-1] == (10, 20, 30, 40, 50)
    train = train_step_flops(384, 64, 32, 24, 3).total * 5000
    assert run_flops(cfg).train == pytest.approx(train)
