"""Realised block passes of a forward and its backward, as the early-exit loop realises them
(the trainer's and the evaluation's statistics).

Eager loops: the hooks of `artrm.models.compute.PassCounter` count them. Static loops
(`ARModel.set_static`) run every step, so the passes of the steps the eager loop would have
run are read from tables on the device, indexed by the step count, without a host read.
"""

from __future__ import annotations

import functools
import itertools

import torch

from artrm.models.base import ARModel
from artrm.models.execution import Stat


def forward_passes(model: ARModel, stats: dict[str, Stat]) -> Stat:
    """Block passes of the model's last forward as the early-exit loop realises them."""
    if "act_steps" in stats:
        return stats["act_steps"] * model.plan.passes_per_step
    return model.passes.forward


def pass_stats(model: ARModel, stats: dict[str, Stat]) -> dict[str, Stat]:
    """Realised block passes of the last forward and backward (after the backward): counted
    by the hooks, or, in a static loop, the passes of the steps the eager loop would have run
    (on the device)."""
    count = model.passes
    steps = stats.get("act_steps")
    if not isinstance(steps, torch.Tensor):
        return {"passes_forward": count.forward, "passes_backward": count.backward}
    per = model.plan.passes_per_step
    per_step = [0] * max(1, count.forward // per)
    for call in count.backward_calls:
        per_step[call // per] += 1
    table = _cumulative(tuple(itertools.accumulate(per_step)), steps.device)
    index = (steps.long() - 1).view(1)  # a tensor index: no host read of the step
    return {"passes_forward": steps * per,
            "passes_backward": table.index_select(0, index).squeeze(0)}


@functools.cache
def _cumulative(counts: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """`counts` on `device`, made once (a host-to-device copy synchronises)."""
    return torch.tensor(counts, dtype=torch.float32, device=device)
