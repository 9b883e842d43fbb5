"""Rung 6, `ut_level2`: the dual nested UT with truncated backprop (book: chapter 6)."""

from __future__ import annotations

import torch

from artrm.config import ArchConfig
from artrm.errors import ConfigError
from artrm.models.base import Pair
from artrm.models.compute import LoopPlan, nested_plan
from artrm.models.ut_level1 import DualUT


class DualNestedUT(DualUT):
    """Change from `ut_level1`: each ACT step runs H cycles of L reasoning updates and one
    answer update; the state is detached at the start of every ACT step and only the last
    cycle builds a graph.

        (y, z) <- sg(y, z)                                                    (eq. detach)
        repeat H-1 times without gradient:  (y, z) <- cycle_L(x, y, z, e_t)   (eq. nograd)
        (y, z) <- cycle_L(x, y, z, e_t)      with gradient, L+1 passes         (eq. lastcycle)

    One ACT step is H(L+1) passes (budget 24: N=4, H=2, L=2). Each step's y gets gradient
    through its own last cycle only, via its ACT weight; y_0, z_0 never get gradient.

    Corrections: `grad_cycles=k` lets the last k of the H cycles carry gradient;
    `yz_init="trained"` skips the detach at step 0 and runs that step's cycles with gradient,
    so y_0, z_0 learn; `deep_supervision` adds a next-token loss on every ACT step's y_t.
    """

    name = "ut_level2"
    display, short, group = "Dual Nested UT", "Dual Nested", "Dual stream"
    colour = "#c0392b"
    change = "nested H x L cycles per ACT step, gradient only through the last cycle"
    chapter = "06_dual_nested_ut"
    nested = True
    switches = DualUT.switches + ("grad_cycles", "deep_supervision", "n_outer", "n_inner")

    @classmethod
    def loop_plan(cls, arch: ArchConfig) -> LoopPlan:
        """The first (H, L) in the authors' order whose H(L+1) divides B (`nested_plan`)."""
        plan = nested_plan(arch.budget, arch.n_outer, arch.n_inner)
        if arch.grad_cycles > plan.n_outer:
            raise ConfigError(f"grad_cycles must be at most the {plan.n_outer} cycles of an ACT "
                              f"step (H); got {arch.grad_cycles}")
        return plan

    def refine(self, x: torch.Tensor, state: Pair, t: int) -> Pair:
        train_init = t == 0 and self.arch.yz_init == "trained"
        y, z = state if train_init else (s.detach() for s in state)
        e = self.step(t)
        with_grad = self.plan.n_outer if train_init else self.arch.grad_cycles
        for c in range(self.plan.n_outer):
            with torch.set_grad_enabled(torch.is_grad_enabled() and
                                        c >= self.plan.n_outer - with_grad):
                y, z = self.cycle(x, y, z, e, self.plan.n_inner)
        return y, z
