"""Compute matching as the authors' code does it, and block passes counted with hooks."""

from __future__ import annotations

import pytest
import torch

from artrm import build_model, model_names
from artrm.config import ArchConfig
from artrm.errors import ConfigError
from artrm.models.compute import LoopPlan
from tests.conftest import match_budget, tiny_arch

PAPER_PARAMS = {"gpt": 42_640_142, "gpt_level1": 1_853_966, "gpt_level2": 1_863_182,
                "ut": 1_863_567, "ut_level1": 1_859_727, "ut_level2": 1_856_655,
                "trm": 1_856_655}


@pytest.mark.parametrize("name", model_names())
def test_parameter_counts_equal_the_reference(name):
    with torch.device("meta"):
        model = build_model(name, ArchConfig())
    assert model.num_parameters() == PAPER_PARAMS[name]


@pytest.mark.parametrize("budget,plan", [
    (10, LoopPlan(5, 2, 1, 1)), (5, LoopPlan(5, 1, 1, 0)), (9, LoopPlan(3, 3, 1, 2)),
    (16, LoopPlan(4, 4, 2, 1)), (8, LoopPlan(2, 4, 2, 1)), (24, LoopPlan(4, 6, 2, 2)),
    (12, LoopPlan(2, 6, 2, 2)), (48, LoopPlan(8, 6, 2, 2))])
def test_nested_budget_search_follows_the_reference(budget, plan):
    assert match_budget("trm", budget) == plan
    assert match_budget("ut_level2", budget) == plan


def test_flat_budgets():
    assert match_budget("gpt", 24) == LoopPlan(24)
    assert match_budget("ut", 24) == LoopPlan(24)
    assert match_budget("ut_level1", 24) == LoopPlan(12, 2)
    assert match_budget("ut_level1", 25).nominal_passes == 24  # odd budgets undershoot, as theirs


@pytest.mark.parametrize("budget", [0, -3])
def test_impossible_budgets_are_refused(budget):
    with pytest.raises(ConfigError, match="budget"):
        match_budget("gpt", budget)
    with pytest.raises(ConfigError, match="budget must be at least 2 for ut_level1"):
        match_budget("ut_level1", 1)


@pytest.mark.parametrize("budget", [12, 24, 48])
@pytest.mark.parametrize("name", model_names())
def test_realised_passes_equal_nominal_without_early_exit(name, budget):
    model = build_model(name, tiny_arch(n_embd=16, budget=budget, block_size=16))
    model.full_compute = True  # the ACT rungs' early exit off; gpt*/trm never exit early
    model.eval()
    model(torch.randint(0, 14, (2, 10)))
    assert model.passes.forward == model.plan.nominal_passes == (budget // 2 * 2 if name ==
                                                                 "ut_level1" else budget)


@pytest.mark.parametrize("name", ["gpt", "gpt_level1", "gpt_level2", "trm"])
def test_models_without_act_never_exit_early(name):
    model = build_model(name, tiny_arch(n_embd=16, budget=24, block_size=16))
    model.train()
    model(torch.randint(0, 14, (4, 10)))
    assert model.passes.forward == 24


def test_ut_exits_early_at_initialisation_as_the_reference():
    torch.manual_seed(0)
    model = build_model("ut", tiny_arch(budget=24))
    out = model(torch.randint(0, 14, (4, 30)))
    assert 2 <= model.passes.forward <= 4  # of 24: p is about 0.5 at init (spec 2.4)
    assert out.stats["act_steps"] == model.passes.forward


def test_a_plan_is_stored_under_the_records_field_names():
    """The code says `steps`; a record keeps the schema's `n_layer` for N (no migration)."""
    plan = LoopPlan(4, 6, 2, 2)
    assert plan.steps == 4 and plan.nominal_passes == 24
    assert plan.record() == {"n_layer": 4, "passes_per_step": 6, "n_outer": 2, "n_inner": 2}
