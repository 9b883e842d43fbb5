"""Rung 3, `gpt_level2`: the iterative step Transformer (book: chapter 3)."""

from __future__ import annotations

import torch
from torch import nn

from artrm.models.block import normal_init
from artrm.models.gpt_level1 import IterativeTransformer


class IterativeStepTransformer(IterativeTransformer):
    """Change from `gpt_level1`: a learned step embedding e_t is added before every pass.

        h_t = f(h_{t-1} + e_t),   t = 1..N                            (eq. step)

    e_t stays in the residual stream. Beyond the trained N steps the last embedding is reused.
    """

    name = "gpt_level2"
    display, short, group = "Iterative Step Transformer", "Iter. Step", "Single stream"
    colour = "#17a589"
    change = "a learned step embedding added before every application"
    chapter = "03_iterative_step"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.step_emb = normal_init(nn.Embedding(self.plan.steps, self.arch.n_embd))

    def step(self, t: int) -> torch.Tensor:
        """e_t, shape (C,), clamped to the last trained step."""
        return self.step_emb.weight[min(t, self.plan.steps - 1)]

    def refine(self, x: torch.Tensor, h: torch.Tensor, t: int) -> torch.Tensor:
        return self.f(h + self.step(t))
