"""Rung 1, `gpt`: the dense Transformer (book: chapter 1, "Dense Transformer")."""

from __future__ import annotations

import torch

from artrm.models.base import ARModel
from artrm.models.block import Block


class DenseTransformer(ARModel):
    """A standard decoder-only Transformer with N distinct blocks.

        h_0 = x,    h_k = f_k(h_{k-1}),   k = 1..N                    (eq. dense)

    Budget B gives N = B layers, so B block passes and 12C^2 + 10C parameters per pass.
    """

    name = "gpt"
    display, short, group = "Dense Transformer", "Dense", "Non-recursive"
    colour = "#1f3a93"
    change = "N distinct blocks: the standard decoder-only Transformer"
    chapter = "01_dense"
    tied = False  # N distinct layers: the number of steps is fixed

    def make_blocks(self) -> list[Block]:
        return [self.new_block() for _ in range(self.plan.steps)]

    def refine(self, x: torch.Tensor, h: torch.Tensor, t: int) -> torch.Tensor:
        return self.blocks[t](h)
