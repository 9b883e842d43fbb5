"""The Autoregressive TRM's Q-halt controller, as in the authors' code (book: chapter 7,
the Autoregressive TRM).

A linear head reads y; a sequence (or, as a correction, a position) halts when its logit is
positive or at the last step, but never before its minimum step count. In training a share
of sequences gets a random minimum in [1, S] (exploration). In the faithful model the head
receives no loss, so with its initial weight 0 and bias -5 it never fires and every step runs.
"""

from __future__ import annotations

import torch


class QHalt:
    def __init__(self, shape: tuple[int, ...], steps: int, exploration: float,
                 device: torch.device) -> None:
        batch = shape[0]
        self.steps = steps
        self.halted = torch.zeros(shape, dtype=torch.bool, device=device)
        self.halt_step = torch.zeros(shape, dtype=torch.long, device=device)
        self.min_steps = torch.zeros(batch, dtype=torch.long, device=device)
        if exploration > 0:
            explore = torch.rand(batch, device=device) < exploration
            random_min = torch.randint(1, steps + 1, (batch,), device=device)
            self.min_steps = torch.where(explore, random_min, self.min_steps)
        self.min_steps = self.min_steps.view(batch, *([1] * (len(shape) - 1)))

    def update(self, q_logit: torch.Tensor, t: int) -> None:
        """Record the decision after step t (0-based) from q_logit (same shape as the halting
        state)."""
        want = (q_logit > 0) | (t == self.steps - 1)
        self._halt(want & (t + 1 >= self.min_steps), t)

    def replay(self, halted: torch.Tensor, t: int) -> None:
        """Record the decisions `halted` taken earlier after step t (a KV cache keeps them)."""
        self._halt(halted, t)

    def _halt(self, halt: torch.Tensor, t: int) -> None:
        new = halt & ~self.halted
        self.halt_step = torch.where(new, t + 1, self.halt_step)
        self.halted = self.halted | new

    def all_halted(self) -> torch.Tensor:
        """0-d bool: every row (or position) has halted."""
        return self.halted.all()

    def mean_halt_step(self, t: int) -> torch.Tensor:
        """Mean step at which rows halted (rows still running count as t + 1), 0-d."""
        steps = torch.where(self.halted, self.halt_step, t + 1)
        return steps.float().mean()
