"""The Autoregressive TRM's per-sequence Q-halt controller, as in the authors' code (spec 2.7).

A linear head reads position 0 of y; a sequence halts when its logit is positive or at the
last step, but never before its minimum step count. In training a share of sequences gets
a random minimum in [1, S] (exploration). The head receives no loss in the faithful model,
so with its initial weight 0 and bias -5 it never fires and every step always runs.
"""

from __future__ import annotations

import torch


class QHalt:
    def __init__(self, batch: int, steps: int, exploration: float, device: torch.device) -> None:
        self.steps = steps
        self.halted = torch.zeros(batch, dtype=torch.bool, device=device)
        self.min_steps = torch.zeros(batch, dtype=torch.long, device=device)
        if exploration > 0:
            explore = torch.rand(batch, device=device) < exploration
            random_min = torch.randint(1, steps + 1, (batch,), device=device)
            self.min_steps = torch.where(explore, random_min, self.min_steps)

    def update(self, q_logit: torch.Tensor, t: int) -> bool:
        """Record the decision after step t (0-based) from q_logit (B,); True when all halted."""
        want = (q_logit > 0) | (t == self.steps - 1)
        self.halted = self.halted | (want & (t + 1 >= self.min_steps))
        return bool(self.halted.all())
