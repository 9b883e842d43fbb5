"""Rung 5, `ut_level1`: the dual-stream UT, "Dual UT" (book: chapter 5)."""

from __future__ import annotations

import torch
from torch import nn

from artrm.config import ArchConfig
from artrm.errors import ConfigError
from artrm.models.base import Pair
from artrm.models.compute import LoopPlan
from artrm.models.ut import UniversalTransformer

RMS_EPS = 1e-5  # as TRM's rms_norm


def rms_norm(h: torch.Tensor) -> torch.Tensor:
    """h / rms(h) over the width, without a learned scale (TRM's post-norm)."""
    return h * torch.rsqrt(h.pow(2).mean(dim=-1, keepdim=True) + RMS_EPS)


class DualUT(UniversalTransformer):
    """Change from `ut`: two streams, a reasoning state z and an answer y, in turn.

        z_t = f(x + y_{t-1} + z_{t-1} + e_t)    (reasoning: sees the input)   (eq. dual-z)
        y_t = f(y_{t-1} + z_t + e_t)            (answer: does not)            (eq. dual-y)

    y_0, z_0 are learned vectors broadcast over (B, T). ACT reads y. One step is 2 block
    passes, so budget B gives N = floor(B/2) steps. Backprop through every step run.

    Corrections (off by default): `yz_init="fixed"`: y_0, z_0 are fixed random buffers, as
    in the original TRM. `state_norm`: the summed input of every block pass is RMS-normalised,

        z_t = f(N(x + y_{t-1} + z_{t-1} + e_t)),  y_t = f(N(y_{t-1} + z_t + e_t))  (eq. state-norm)

    with N(h) = h / rms(h) and no learned scale (0 parameters), so each pass starts from a
    unit-rms residual stream and the carried states stay bounded, as TRM's normalised blocks
    keep its state bounded; without it the summed streams grow geometrically with the passes.
    (Normalising each stream after its update instead, N(f(...)), was tried first: with the
    input embeddings at their initial scale it did not learn copy in a pilot run.)
    """

    name = "ut_level1"
    display, short, group = "Dual UT", "Dual UT", "Dual stream"
    colour = "#e67e22"
    change = "two streams: reasoning z sees the input, answer y does not"
    chapter = "05_dual_ut"
    switches = UniversalTransformer.switches + ("yz_init", "state_norm")

    @classmethod
    def loop_plan(cls, arch: ArchConfig) -> LoopPlan:
        """N = floor(B/2) dual steps of 2 passes (odd budgets undershoot, as the authors')."""
        if arch.budget < 2:
            raise ConfigError(f"budget must be at least 2 for {cls.name} (one dual step is 2 "
                              f"block passes); got {arch.budget}")
        return LoopPlan(steps=arch.budget // 2, passes_per_step=2)

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
        norm = rms_norm if self.arch.state_norm else _identity
        for _ in range(n_inner):
            z = self.f(norm(x + y + z + e))
        return self.f(norm(y + z + e)), z

    def refine(self, x: torch.Tensor, state: Pair, t: int) -> Pair:
        y, z = state
        return self.cycle(x, y, z, self.step(t), n_inner=1)

    def answer(self, state: Pair) -> torch.Tensor:
        return state[0]


def _identity(h: torch.Tensor) -> torch.Tensor:
    return h
