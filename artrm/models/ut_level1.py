"""Rung 5, `ut_level1`: the dual-stream UT, "Dual UT" (spec 2.5)."""

from __future__ import annotations

import torch
from torch import nn

from artrm.models.ut import UniversalTransformer

Pair = tuple[torch.Tensor, torch.Tensor]


class DualUT(UniversalTransformer):
    """Change from `ut`: two streams, a reasoning state z and an answer y, in turn.

        z_t = f(x + y_{t-1} + z_{t-1} + e_t)    (reasoning: sees the input)   (eq. dual-z)
        y_t = f(y_{t-1} + z_t + e_t)            (answer: does not)            (eq. dual-y)

    y_0, z_0 are learned vectors broadcast over (B, T). ACT reads y. One step is 2 block
    passes, so budget B gives N = floor(B/2) steps. Backprop through every step run.

    Correction `yz_init="fixed"`: y_0, z_0 are fixed random buffers, as in the original TRM.
    """

    name = "ut_level1"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        C = self.arch.n_embd
        y0, z0 = torch.randn(C) * 0.02, torch.randn(C) * 0.02
        if self.arch.yz_init == "fixed":
            self.register_buffer("y_init", y0)
            self.register_buffer("z_init", z0)
        else:
            self.y_init, self.z_init = nn.Parameter(y0), nn.Parameter(z0)

    def initial_state(self, x: torch.Tensor) -> Pair:
        return self.y_init.expand_as(x), self.z_init.expand_as(x)

    def cycle(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor, e: torch.Tensor,
              n_inner: int) -> Pair:
        """n_inner reasoning updates, then one answer update: n_inner + 1 block passes."""
        for _ in range(n_inner):
            z = self.f(x + y + z + e)
        return self.f(y + z + e), z

    def refine(self, x: torch.Tensor, state: Pair, t: int) -> Pair:
        y, z = state
        return self.cycle(x, y, z, self.step(t), n_inner=1)

    def answer(self, state: Pair) -> torch.Tensor:
        return state[0]
