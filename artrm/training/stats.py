"""Per-step training statistics kept where they are computed (on the device) and read in
one transfer at evaluation rounds, checkpoints and stops, so that a training step never
waits for the device. Reading them checks every loss: the first non-finite one stops the
run (`Diverged`) with its step and value, before any checkpoint could keep its weights;
`check_weights` covers the last update, whose loss comes only with the next step.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from artrm.errors import ConfigError
from artrm.models.execution import Stat


class Diverged(ConfigError):
    """The loss became non-finite: the run stops and stores nothing."""


class StepStats:
    def __init__(self) -> None:
        self.pending: list[tuple[int, dict[str, Stat]]] = []  # (step, statistics)

    def add(self, step: int, stats: dict[str, Stat]) -> None:
        """Keep the statistics of training step `step` (1-based); tensors are not read."""
        self.pending.append((step, stats))

    def read(self, lr: float) -> list[dict[str, float]]:
        """The pending steps' statistics as floats, in step order (one transfer from the
        device); `Diverged` when a loss is not finite."""
        tensors = [v for _, stats in self.pending for v in stats.values()
                   if isinstance(v, torch.Tensor)]
        values = iter(torch.stack([t.float() for t in tensors]).tolist() if tensors else [])
        rows = [{k: next(values) if isinstance(v, torch.Tensor) else v for k, v in stats.items()}
                for _, stats in self.pending]
        steps = [step for step, _ in self.pending]
        self.pending = []
        for step, row in zip(steps, rows):
            if not math.isfinite(row["loss"]):
                raise Diverged(f"training diverged: the loss is {row['loss']} at step {step} "
                               f"(lr {lr:g}); nothing stored")
        return rows


def check_weights(model: nn.Module, step: int, lr: float) -> None:
    """`Diverged` when a parameter is not finite after step `step` (one device read)."""
    finite = torch.stack([p.detach().isfinite().all() for p in model.parameters()]).all()
    if not bool(finite):
        raise Diverged(f"training diverged: the weights are not finite after step {step} "
                       f"(lr {lr:g}); nothing stored")
