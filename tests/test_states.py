"""The state-growth analysis: the recurrence's growth rate, the stream labels, and what the
trace measures on untrained models (geometric growth of the dual streams, bounded with
`state_norm`, linear for a single stream)."""

from __future__ import annotations

import math

import pytest
import torch

from artrm.config import ExecConfig
from artrm.experiments.states import GOLDEN, growth_per_pass, stored_trace, streams, trace
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
