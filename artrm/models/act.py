"""Graves-style adaptive computation time, per token, as in the authors' code (book: chapter 4,
the Universal Transformer).

At each step every running position adds its halting probability p to a running sum; it
halts at the first step where the sum would reach 1 - 1e-6, and that step gets the
remainder 1 - (sum so far) as its weight. The readout is the weighted sum of the states.
Halted positions are not frozen (the block keeps updating them); they stop contributing.
"""

from __future__ import annotations

import torch

THRESHOLD = 1.0 - 1e-6


class ACT:
    """Running ACT state for a (B, T) grid of positions; accumulators in fp32."""

    def __init__(self, batch: int, length: int, width: int, device: torch.device) -> None:
        shape = (batch, length)
        self.halted = torch.zeros(shape, dtype=torch.bool, device=device)
        self.cum = torch.zeros(shape, device=device)  # sum of p over steps before halting
        self.rem = torch.zeros(shape, device=device)  # remainder given at the halting step
        self.n_updates = torch.zeros(shape, device=device)
        self.acc = torch.zeros(*shape, width, device=device)  # (B, T, C)

    def update(self, h: torch.Tensor, p: torch.Tensor) -> None:
        """Add state h (B, T, C) with halting probabilities p (B, T)."""
        p = p.float()
        running = ~self.halted
        new_halt = (self.cum + p >= THRESHOLD) & running
        self.rem = torch.where(new_halt, 1.0 - self.cum, self.rem)
        w = torch.where(new_halt, self.rem, torch.where(running, p, torch.zeros_like(p)))
        self.acc = self.acc + w.unsqueeze(-1) * h.float()
        self.cum = torch.where(running & ~new_halt, self.cum + p, self.cum)
        self.n_updates = self.n_updates + running.float()
        self.halted = self.halted | new_halt

    def all_halted(self) -> torch.Tensor:
        """0-d bool: every position (padding included, as in the authors' code) has halted."""
        return self.halted.all()

    def finalize(self, h_last: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Weighted readout (B, T, C) and ponder cost (scalar); never-halted positions give
        their remainder to the last state."""
        rem = torch.where(self.halted, self.rem, 1.0 - self.cum)
        tail = (~self.halted).float() * rem
        out = self.acc + tail.unsqueeze(-1) * h_last.float()
        ponder = (self.n_updates + rem).mean()
        return out.to(h_last.dtype), ponder
