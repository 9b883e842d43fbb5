"""Rung 2, `gpt_level1`: the iterative (weight-tied) Transformer (book: chapter 2)."""

from __future__ import annotations

import torch

from artrm.models.block import Block
from artrm.models.gpt import DenseTransformer


class IterativeTransformer(DenseTransformer):
    """Change from `gpt`: one shared block f applied N times (weight tying).

        h_0 = x,    h_t = f(h_{t-1}),   t = 1..N                      (eq. tied)

    Same block passes as `gpt`, 1/N of its block parameters; backprop through all N passes.
    """

    name = "gpt_level1"
    display, short, group = "Iterative Transformer", "Iterative", "Single stream"
    colour = "#5dade2"
    change = "one shared block applied N times (weight tying)"
    chapter = "02_iterative"
    tied = True

    def make_blocks(self) -> list[Block]:
        return [self.new_block()]

    def refine(self, x: torch.Tensor, h: torch.Tensor, t: int) -> torch.Tensor:
        return self.f(h)
