"""Rung 7, `trm`: the Autoregressive TRM (spec 2.7)."""

from __future__ import annotations

import torch
from torch import nn

from artrm.models.base import CoreOutput
from artrm.models.qhalt import QHalt
from artrm.models.ut_level2 import DualNestedUT


class AutoregressiveTRM(DualNestedUT):
    """Change from `ut_level2`: the ACT controller is replaced by a per-sequence Q-halt head
    on position 0 of y, and the logits read the last y only (no weighted mix, no ponder).

        q = w_q . y_t[:, 0] + b_q,   halt the sequence when q > 0 or t = N   (eq. qhalt)
        logits = head(LN(y_last))                                          (eq. terminal)

    As in the authors' code the head gets no loss (weight 0, bias -5): it never fires, all
    N steps always run, and the loss reaches only the last cycle of the last step (3 of the
    24 passes at budget 24).
    """

    name = "trm"

    def make_halt_head(self) -> nn.Linear:
        head = nn.Linear(self.arch.n_embd, 1)
        nn.init.zeros_(head.weight)
        nn.init.constant_(head.bias, -5.0)
        return head

    def core(self, x: torch.Tensor) -> CoreOutput:
        exploration = self.arch.halt_exploration if self.training else 0.0
        controller = QHalt(x.shape[0], self.steps, exploration, x.device)
        state = self.initial_state(x)
        for t in range(self.steps):
            state = self.refine(x, state, t)
            y = self.answer(state)  # (B, T, C)
            if not self.full_compute and controller.update(self.halt(y[:, 0]).squeeze(-1), t):
                break
        return CoreOutput(y, stats={"act_steps": float(t + 1)})
