"""The state-growth analysis: the recurrence's growth rate, the stream labels, and what the
trace measures on untrained models (geometric growth of the dual streams, bounded with
`state_norm`, linear for a single stream)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from artrm.config import ExecConfig
from artrm.experiments.gradients import pass_gradients, stored_gradients
from artrm.experiments.states import (
    GOLDEN,
    act_weights,
    growth_per_pass,
    stored_trace,
    streams,
    trace,
)
from artrm.models import build_model
from artrm.results.store import ResultStore
from artrm.training.train import train
from tests.conftest import tiny_arch, tiny_run


def test_the_dual_recurrence_grows_by_the_golden_ratio_per_pass():
    assert growth_per_pass(1) == pytest.approx(GOLDEN)
    assert growth_per_pass(2) == pytest.approx((2 + math.sqrt(3)) ** (1 / 3))


def test_streams_follow_the_loop_plan():
    assert streams(build_model("ut_level1", tiny_arch(budget=6))) == ["z", "y"] * 3
    assert streams(build_model("trm", tiny_arch(budget=12))) == ["z", "z", "y"] * 4
    assert streams(build_model("gpt_level1", tiny_arch(budget=3))) == ["h"] * 3


def grown(name: str, **switches) -> list[float]:
    torch.manual_seed(0)
    model = build_model(name, tiny_arch(n_embd=64, n_head=4, budget=24, block_size=40,
                                        **switches))
    t = trace(model, "addition", 3, n=8)
    assert len(t["rms"]) == len(t["stream"]) == 24
    return t["input_rms"]


@pytest.mark.parametrize("name", ["ut_level1", "ut_level2", "trm"])
def test_dual_streams_grow_geometrically_unless_normalised(name):
    free = grown(name)
    assert free[-1] / free[-7] > 1.3 ** 6  # about phi per pass once the sums dominate
    assert max(grown(name, state_norm=True)) < 1.05  # every pass reads a unit-rms input


def test_a_single_stream_grows_about_linearly():
    h = grown("gpt_level1")
    assert h[-1] / h[11] < 3  # 2x the passes, ~2x the size (a geometric rate would give 300x)


def test_the_trained_trace_is_computed_once_and_kept_in_the_record(data_dir):
    cfg = tiny_run("trm", "addition", steps=4)
    store = ResultStore()
    record = store.find(cfg) or store.load(str(store.save(train(cfg, ExecConfig(progress=False)))))
    first = stored_trace(record, store)
    assert first is not None and store.find(cfg)["state_trace"] == first
    assert stored_trace(store.find(cfg), store) == first
    assert len(first["halt_p"]) == cfg.plan.steps


def test_the_gradient_reaches_exactly_the_passes_the_hooks_count_and_nothing_changes():
    """Per-pass gradient norms: zero on the no-grad cycles of the nested rung, positive on every
    pass the backward counter saw, the same number of them; weights unchanged, no gradient
    left behind, and the same norms when measured again."""
    torch.manual_seed(0)
    cfg = tiny_run("ut_level2", "addition", steps=4)
    cfg = cfg.replace(arch=replace(cfg.arch, budget=12, n_outer=2, n_inner=1))
    model = build_model(cfg.model, cfg.arch)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    first = pass_gradients(model, cfg, n=8)
    reached = [i for i, g in enumerate(first["grad_norm"]) if g > 0]
    assert first["stream"] == streams(model)[:len(first["grad_norm"])]
    assert len(reached) == model.passes.backward
    assert first["grad_norm"][:2] == [0.0, 0.0]  # the first cycle of the first step: no grad
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert pass_gradients(model, cfg, n=8) == first


def test_full_gradient_cycles_reach_every_pass():
    torch.manual_seed(0)
    cfg = tiny_run("ut_level2", "addition", steps=4)
    cfg = cfg.replace(arch=replace(cfg.arch, budget=12, n_outer=2, n_inner=1, grad_cycles=2))
    norms = pass_gradients(build_model(cfg.model, cfg.arch), cfg, n=8)["grad_norm"]
    assert all(g > 0 for g in norms)


def test_the_trained_gradients_are_computed_once_and_kept_in_the_record(data_dir):
    cfg = tiny_run("ut_level2", "addition", steps=4)
    store = ResultStore()
    record = store.load(str(store.save(train(cfg, ExecConfig(progress=False)))))
    first = stored_gradients(record, store)
    assert first is not None and store.find(cfg)["gradient_trace"] == first
    assert stored_gradients(store.find(cfg), store, compute=False) == first


def test_act_weights_follow_the_act_rule():
    """p until the running sum would reach one, the remainder at that step; a position that
    never halts gives what is left to the last step."""
    halts = [torch.tensor([[0.3, 0.1]]), torch.tensor([[0.5, 0.1]]), torch.tensor([[0.4, 0.1]])]
    weights = act_weights(halts)  # position 1: 0.3, 0.5, 0.2; position 2: 0.1, 0.1, 0.8
    assert weights == pytest.approx([0.2, 0.3, 0.5])


def test_the_trace_of_an_act_rung_holds_its_weights_and_the_trm_none():
    torch.manual_seed(0)
    ut = trace(build_model("ut_level2", tiny_arch(budget=12)), "addition", 3, n=8)
    assert len(ut["act_weight"]) == len(ut["halt_p"]) and sum(ut["act_weight"]) == pytest.approx(1)
    assert "act_weight" not in trace(build_model("trm", tiny_arch(budget=12)), "addition", 3, n=8)
