"""Extending the ladder: an 8th rung and a new task, each defined here as one object, work
everywhere (compute matching, configs, training, the command line) with no other edit."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from artrm.cli import main
from artrm.config import ArchConfig, ExecConfig
from artrm.data.tasks import Task, lm_batch, make_problems, register_task, unregister_task
from artrm.errors import ConfigError
from artrm.experiments.profiles import SMOKE
from artrm.models import build_model
from artrm.models.compute import LoopPlan
from artrm.models.gpt_level1 import IterativeTransformer
from artrm.models.ladder import LADDER, model_names, register, rung, unregister
from artrm.results.store import ResultStore
from artrm.run_config import RunConfig
from artrm.training.train import train


class PairedTransformer(IterativeTransformer):
    """A toy rung: the shared block applied twice per loop step (N = B / 2 steps)."""

    name = "gpt_pairs"
    display, short, group = "Paired Iterative Transformer", "Paired", "Single stream"
    colour = "#888888"
    change = "two applications of the shared block per loop step"
    chapter = "07b_paired"
    switches = ("full_compute",)  # accepts a switch only some rungs take

    @classmethod
    def loop_plan(cls, arch: ArchConfig) -> LoopPlan:
        return LoopPlan(steps=arch.budget // 2, passes_per_step=2)

    def refine(self, x: torch.Tensor, h: torch.Tensor, t: int) -> torch.Tensor:
        return self.f(self.f(h))


class Sort(Task):
    """A toy task: the digits sorted, no symbol of its own."""

    name, format = "sort", "s|sorted(s)"

    def build(self, digits: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        bar = torch.full((digits.shape[0], 1), 10)
        return torch.cat([digits, bar], dim=1), digits.sort(dim=1).values


class Starred(Task):
    """A toy task that writes a symbol beyond the shared vocabulary: "*" before the copy."""

    name, format, symbols = "starred", "s|*s", "*"

    def answer_length(self, length: int) -> int:
        return length + 1

    def build(self, digits: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        n = digits.shape[0]
        star = torch.full((n, 1), self.vocab.index("*"))
        return torch.cat([digits, torch.full((n, 1), 10)], dim=1), torch.cat([star, digits], 1)


@pytest.fixture
def toy_rung():
    register(PairedTransformer)
    yield PairedTransformer
    unregister(PairedTransformer.name)


@pytest.fixture
def toy_tasks():
    for task in (Sort(), Starred()):
        register_task(task)
    yield
    for name in ("sort", "starred"):
        unregister_task(name)


def test_an_eighth_rung_joins_the_ladder(toy_rung, data_dir):
    assert model_names()[-1] == "gpt_pairs" and rung("gpt_pairs") is PairedTransformer
    model = build_model("gpt_pairs", ArchConfig(n_embd=16, n_head=2, block_size=16, budget=12))
    assert model.plan == LoopPlan(6, 2)
    model(torch.randint(0, 14, (2, 8)))
    assert model.passes.forward == model.plan.nominal_passes == 12  # counted by hooks
    cfg = SMOKE.config("gpt_pairs", "copy")
    assert cfg.plan == LoopPlan(3, 2)
    assert cfg.replace(arch=replace(cfg.arch, full_compute=True)).arch.full_compute
    with pytest.raises(ConfigError, match="state_norm applies to ut_level1, ut_level2, trm only"):
        RunConfig("gpt_pairs", "copy", arch=ArchConfig(state_norm=True))
    with pytest.raises(ConfigError, match="full_compute applies to ut, ut_level1, ut_level2, "
                                          "trm, gpt_pairs only; model is gpt"):
        RunConfig("gpt", "copy", arch=ArchConfig(full_compute=True))
    main(["train", "--model", "gpt_pairs", "--task", "copy", "--profile", "smoke", "--steps",
          "4", "--eval-every", "4", "--no-progress"])
    (record,) = ResultStore().records()
    assert record["model"] == "gpt_pairs" and record["passes"]["forward_mean"] == 6


def test_a_registered_rung_needs_a_plain_name():
    class Bad(IterativeTransformer):
        name = "../escape"

    with pytest.raises(ValueError, match="lower-case letters"):
        register(Bad)


def test_new_tasks_join_the_registry_with_their_vocabulary(toy_tasks, data_dir):
    sorted_ = make_problems("sort", 4, torch.tensor([[3, 1, 2, 0]]))
    assert sorted_.answer.tolist() == [[0, 1, 2, 3]]
    assert SMOKE.config("gpt", "sort").arch.vocab_size == 14
    cfg = SMOKE.config("gpt", "starred")
    assert cfg.arch.vocab_size == 15  # the model's shape follows its task's vocabulary ...
    assert cfg.hash != cfg.replace(task="copy", arch=SMOKE.config("gpt", "copy").arch).hash
    with pytest.raises(ConfigError, match="vocab_size must be 15 for task starred"):
        RunConfig("gpt", "starred", arch=SMOKE.arch)  # ... and a mismatch is refused
    problems = make_problems("starred", 3, torch.tensor([[1, 2, 3]]))
    inputs, _ = lm_batch(problems, 16, "trim")
    assert int(inputs.max()) == 14 == get_star(cfg)
    record = train(cfg, ExecConfig(progress=False), keep_checkpoint=False)
    assert record["config"]["arch"]["vocab_size"] == 15 and record["final"]["3"]["char_acc"] >= 0
    main(["train", "--model", "gpt_level1", "--task", "sort", "--profile", "smoke", "--steps",
          "2", "--eval-every", "2", "--no-progress"])
    assert [r["task"] for r in ResultStore().records()] == ["sort"]


def get_star(cfg: RunConfig) -> int:
    from artrm.data.tasks import get_task

    return get_task(cfg.task).vocab.index("*")


def test_the_ladder_is_the_registry_in_order_each_rung_extending_the_previous():
    assert model_names() == tuple(cls.name for cls in LADDER) == (
        "gpt", "gpt_level1", "gpt_level2", "ut", "ut_level1", "ut_level2", "trm")
    for previous, cls in zip(LADDER, LADDER[1:]):
        assert cls.__mro__[1] is previous  # one change away: a direct subclass
    with pytest.raises(ValueError, match="trm is a rung of the ladder"):
        unregister("trm")
