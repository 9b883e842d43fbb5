"""Rung 4, `ut`: the Universal Transformer with per-token ACT (spec 2.4)."""

from __future__ import annotations

import torch
from torch import nn

from artrm.block import normal_init
from artrm.models.act import ACT
from artrm.models.base import CoreOutput
from artrm.models.gpt_level2 import IterativeStepTransformer


class UniversalTransformer(IterativeStepTransformer):
    """Change from `gpt_level2`: Graves ACT per token over at most N steps.

        h_t = f(h_{t-1} + e_t),   p_t = sigmoid(w . h_t + b)         (eq. act-step)
        out = sum_t w_t h_t,  w_t = p_t before halting, the remainder at it   (eq. act-mix)

    The loop exits once every position (padding included) has halted, so realised passes
    are at most N; the ponder cost is weighted by `ponder_weight` (0 in the paper).
    """

    name = "ut"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.halt = self.make_halt_head()

    def make_halt_head(self) -> nn.Linear:
        return normal_init(nn.Linear(self.arch.n_embd, 1))

    def core(self, x: torch.Tensor, targets: torch.Tensor | None = None) -> CoreOutput:
        B, T, C = x.shape
        act = ACT(B, T, C, x.device)
        state = self.initial_state(x)
        for t in range(self.steps):
            state = self.refine(x, state, t)
            out = self.answer(state)  # (B, T, C)
            act.update(out, torch.sigmoid(self.halt(out)).squeeze(-1))
            if act.all_halted() and not self.full_compute:
                break
        h, ponder = act.finalize(out)
        stats = {"act_steps": float(t + 1), "ponder": float(ponder.detach())}
        return CoreOutput(h, self.arch.ponder_weight * ponder if self.arch.ponder_weight else None,
                          stats)
