"""The ladder as the package defines it, with no training: the rungs' facts, loop plans and
parameter counts, the correction switches, the tasks, and the checks of a built rung
(causality, block passes counted with hooks). Every table follows the registries."""

from __future__ import annotations

import dataclasses

import pandas as pd
import torch

from artrm.book.paper import PARAMS, reported
from artrm.config import ArchConfig
from artrm.data.tasks import (
    IGNORE,
    TrainStream,
    decode,
    eval_problems,
    get_task,
    lm_batch,
    task_names,
    text_length,
)
from artrm.experiments.profiles import Profile
from artrm.models import ARModel, build_model
from artrm.models.compute import LoopPlan
from artrm.models.ladder import RUNGS, accepting, model_names, rung


def _plan(name: str, plan: LoopPlan) -> str:
    """A loop plan as steps x passes per step, with H and L for the nested rungs."""
    nested = f" (H={plan.n_outer}, L={plan.n_inner})" if rung(name).nested else ""
    return f"{plan.steps} x {plan.passes_per_step}{nested}"


def ladder_table(budget: int = 24) -> pd.DataFrame:
    """Every rung at a budget: what it changes, its loop plan and its parameters at the
    paper's width (computed on the meta device), next to the count the paper reports."""
    rows = []
    for i, (name, cls) in enumerate(RUNGS.items(), 1):
        with torch.device("meta"):
            model = build_model(name, ArchConfig(budget=budget))
        rows.append({"rung": i, "model": name, "name": cls.display, "group": cls.group,
                     "change": cls.change, "steps x passes": _plan(name, model.plan),
                     "block passes": model.plan.nominal_passes,
                     "parameters": f"{model.num_parameters():,}",
                     "the paper": reported(PARAMS, name) if budget == 24 else "-"})
    return pd.DataFrame(rows).set_index("rung")


def budget_table(budgets: tuple[int, ...] = (6, 12, 24, 48)) -> pd.DataFrame:
    """The loop plan each rung's budget rule chooses for each budget."""
    return pd.DataFrame({f"B={b}": {cls.display: _plan(name, cls.loop_plan(ArchConfig(budget=b)))
                                    for name, cls in RUNGS.items()} for b in budgets})


def switches_table() -> pd.DataFrame:
    """Every correction switch, its faithful default and the rungs it applies to."""
    rows = [{"switch": f.name, "faithful default": repr(f.default),
             "applies to": ", ".join(accepting(f.name) if f.metadata["rung_specific"]
                                     else model_names()),
             "what it does": f.metadata["help"]}
            for f in dataclasses.fields(ArchConfig) if f.metadata["correction"]]
    return pd.DataFrame(rows).set_index("switch")


def task_samples(length: int = 10, n: int = 2, seed: int = 1337) -> str:
    """Training problems of each task as the model reads them (newline shown as $), with a
    `^` under every position whose next-token target is in the loss."""
    lines = []
    for task in task_names():
        problems = TrainStream(task, length, n, seed).next()
        inputs, targets = lm_batch(problems, text_length(task, length), "trim")
        for i in range(n):
            supervised = targets[i] != IGNORE
            lines.append(f"{task:<9} input  {decode(inputs[i], task).replace(chr(10), '$')}")
            lines.append(f"{'':<9} loss   {''.join('^' if s else ' ' for s in supervised)}"
                         f"  ({int(supervised.sum())} targets)")
    return "\n".join(lines)


def overlap_check(length: int = 3, batches: int = 200, seed: int = 1337) -> pd.DataFrame:
    """How many evaluation problems also appear in the first training batches, per task,
    at a length short enough for collisions to be likely if the sets were not disjoint."""
    rows = []
    for task in task_names():
        stream = TrainStream(task, length, 64, seed)
        seen = {tuple(r) for _ in range(batches) for r in stream.next().prompt.tolist()}
        evals = {tuple(r) for r in eval_problems(task, length, 100, seed).prompt.tolist()}
        rows.append({"task": task, "length": length,
                     "possible problems": 10 ** get_task(task).operand_digits(length),
                     "distinct training problems seen": len(seen),
                     "distinct evaluation problems": len(evals), "in both": len(seen & evals)})
    return pd.DataFrame(rows).set_index("task")


# -- one built rung ---------------------------------------------------------------------------
def build(profile: Profile, model: str, seed: int = 0) -> ARModel:
    """Rung `model` at the profile's architecture, initialised from `seed`."""
    torch.manual_seed(seed)
    return build_model(model, profile.arch)


def describe(model: ARModel) -> pd.DataFrame:
    """The loop plan, block passes and parameters of a built model, and its parameters at
    the paper's configuration (computed) next to the count the paper reports."""
    p = model.plan
    with torch.device("meta"):
        paper_params = build_model(model.name).num_parameters()
    return pd.DataFrame({rung(model.name).display: {
        "loop steps N": p.steps,
        "passes per step": p.passes_per_step,
        "H x L": f"{p.n_outer} x {p.n_inner}" if model.nested else "-",
        "nominal block passes": p.nominal_passes,
        "parameters (this profile)": f"{model.num_parameters():,}",
        "parameters (paper configuration)": f"{paper_params:,}",
        "parameters (the paper reports)": reported(PARAMS, model.name),
    }})


def causality_gap(model: ARModel, length: int = 24, cut: int = 10, seed: int = 0) -> float:
    """Largest change of any logit at positions <= `cut` when every later token changes."""
    length = min(length, model.arch.block_size)
    cut = min(cut, length - 2)
    g = torch.Generator().manual_seed(seed)
    vocab = model.arch.vocab_size
    idx = torch.randint(0, vocab, (4, length), generator=g)
    changed = idx.clone()
    changed[:, cut + 1:] = torch.randint(0, vocab, (4, length - cut - 1), generator=g)
    was = model.training
    model.eval()
    with torch.no_grad():
        gap = (model(idx).logits[:, :cut + 1] - model(changed).logits[:, :cut + 1]).abs().max()
    model.train(was)
    return float(gap)


def counted_passes(profile: Profile, model: ARModel, task: str = "addition") -> pd.DataFrame:
    """Block passes counted by hooks on one training batch: forward, forward with a graph,
    and backward (the passes the loss gradient reaches)."""
    batch = TrainStream(task, profile.data.train_len, 8, seed=0).next()
    model.train()
    out = model(*lm_batch(batch, profile.arch.block_size, profile.data.padding))
    out.loss.backward()
    model.zero_grad(set_to_none=True)
    c = model.passes
    return pd.DataFrame({"block passes": {
        "nominal": model.plan.nominal_passes, "forward (counted)": c.forward,
        "forward with an autograd graph": c.forward_grad, "backward (counted)": c.backward}})
