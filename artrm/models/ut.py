"""Rung 4, `ut`: the Universal Transformer with per-token ACT (book: chapter 4)."""

from __future__ import annotations

import torch
from torch import nn

from artrm.models.act import ACT
from artrm.models.base import CoreOutput, token_loss
from artrm.models.block import normal_init
from artrm.models.gpt_level2 import IterativeStepTransformer
from artrm.models.loop import HaltingLoop


class UniversalTransformer(IterativeStepTransformer):
    """Change from `gpt_level2`: Graves ACT per token over at most N steps.

        h_t = f(h_{t-1} + e_t),   p_t = sigmoid(w . h_t + b)         (eq. act-step)
        out = sum_t w_t h_t,  w_t = p_t before halting, the remainder at it   (eq. act-mix)

    The loop exits once every position (padding included) has halted, so realised passes
    are at most N; the ponder cost is weighted by `ponder_weight` (0 in the paper). A
    position's output depends only on its own halting step, so the exit (and with it the
    padding or `full_compute`) changes no output.
    """

    name = "ut"
    display, short, group = "Universal Transformer", "UT", "Single stream"
    colour = "#7d3c98"
    change = "per-token Graves ACT: halting head, weighted readout, early exit"
    chapter = "04_universal_transformer"
    switches = ("full_compute", "ponder_weight")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.halt = self.make_halt_head()

    def make_halt_head(self) -> nn.Linear:
        return normal_init(nn.Linear(self.arch.n_embd, 1))

    def core(self, x: torch.Tensor, targets: torch.Tensor | None = None) -> CoreOutput:
        B, T, C = x.shape
        act, loop = ACT(B, T, C, x.device), HaltingLoop(self)
        aux: list[torch.Tensor] = []  # losses besides the next-token loss of the ACT mix
        state = self.initial_state(x)
        for t in loop.steps():
            state = loop.refine(x, state, t)
            out = self.answer(state)  # (B, T, C)
            act.update(out, torch.sigmoid(self.halt(out)).squeeze(-1))  # eq. act-step
            if targets is not None and self.arch.deep_supervision:  # a loss on every step's y_t
                aux.append(loop.masked(token_loss(self.readout(out), targets)))
            loop.stop_if(act.all_halted())
        h, ponder = act.finalize(out)  # eq. act-mix
        if self.arch.ponder_weight:
            aux.append(self.arch.ponder_weight * ponder)
        stats = {"act_steps": loop.count, "ponder": loop.out(ponder.detach())}
        return CoreOutput(h, sum(aux[1:], aux[0]) if aux else None, stats)
