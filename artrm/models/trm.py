"""Rung 7, `trm`: the Autoregressive TRM (book: chapter 7)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from artrm.data.tasks import IGNORE
from artrm.models.base import CoreOutput, Pair
from artrm.models.loop import HaltingLoop
from artrm.models.qhalt import QHalt
from artrm.models.ut_level2 import DualNestedUT


class AutoregressiveTRM(DualNestedUT):
    """Change from `ut_level2`: the ACT controller is replaced by a per-sequence Q-halt head
    on position 0 of y, and the logits read the last y only (no weighted mix, no ponder).

    The whole forward pass, for N ACT steps of H cycles of L reasoning updates:

        x = E_tok[idx] + E_pos;   (y, z) = (y_0, z_0)
        for t = 1..N:
            (y, z) <- sg(y, z)                                               (eq. detach)
            H-1 cycles without gradient, then one with:                      (eq. nograd)
                z <- f(x + y + z + e_t)  L times;   y <- f(y + z + e_t)      (eq. lastcycle)
            q_t = w_q . y[:, 0] + b_q;  halt the sequence when q_t > 0 or t = N  (eq. qhalt)
        logits = head(LN(y))   of the step the sequence halted at           (eq. terminal)

    As in the authors' code the head gets no loss (weight 0, bias -5): it never fires, all
    N steps always run, and the loss reaches only the last cycle of the last step (3 of the
    24 passes at budget 24).

    Corrections (off by default):
    - `halt_loss=w`: the head is trained, as in TRM, with w * BCE(q_t, "the prediction of y_t
      is correct") at every step, and a halted row is frozen (its y, z stop changing).
      `halt_per="sequence"` reads position 0 and targets whole-answer correctness, the only
      causal per-sequence choice; `halt_per="position"` halts each position on its own from
      its own state, so no output ever depends on later tokens.
    - `deep_supervision`: the next-token loss is applied at every step, each row counted at
      every step it runs (the carry is detached between steps, as in TRM's deep supervision,
      here summed into one backward pass).
    """

    name = "trm"
    display, short, group = "Autoregressive TRM", "AR-TRM", "Dual stream"
    colour = "#424949"
    change = "ACT replaced by a per-sequence Q-halt head and a terminal readout"
    chapter = "07_autoregressive_trm"
    switches = tuple(s for s in DualNestedUT.switches if s != "ponder_weight") + (
        "halt_loss", "halt_per", "halt_exploration")

    def make_halt_head(self) -> nn.Linear:
        head = nn.Linear(self.arch.n_embd, 1)
        nn.init.zeros_(head.weight)
        nn.init.constant_(head.bias, -5.0)
        return head

    def q_logit(self, y: torch.Tensor) -> torch.Tensor:
        """Halting logits: (B,) from position 0, or (B, T) per position."""
        read = y[:, 0] if self.arch.halt_per == "sequence" else y
        return self.halt(read).squeeze(-1)

    def core(self, x: torch.Tensor, targets: torch.Tensor | None = None) -> CoreOutput:
        B, T, _ = x.shape
        rows = (B,) if self.arch.halt_per == "sequence" else (B, T)
        exploration = self.arch.halt_exploration if self.training else 0.0
        halting, loop = QHalt(rows, self.steps, exploration, x.device), HaltingLoop(self)
        state, y_out, losses = self.initial_state(x), None, []
        for t in loop.steps():
            new = loop.refine(x, state, t)  # eq. detach, nograd, lastcycle
            if self.arch.halt_loss:  # halted rows keep the state (and graph) of their halting step
                new = _where(_expand(halting.halted, x), state, new)
            state, running = new, ~halting.halted
            y = self.answer(state)  # (B, T, C)
            q = self.q_logit(y)
            loop.decide(halting, q, t)  # eq. qhalt
            if targets is not None:
                losses += [loop.masked(loss) for loss in
                           self.step_losses(y, q, targets, running, ~halting.halted)]
            y_out = loop.select(y, y_out)  # eq. terminal: the y of the step the loop exits at
            loop.stop_if(halting.all_halted())
        stats = {"act_steps": loop.count, "halt_step": loop.out(halting.mean_halt_step(t))}
        assert y_out is not None
        return CoreOutput(y_out, torch.stack(losses).sum() if losses else None, stats)

    def step_losses(self, y: torch.Tensor, q: torch.Tensor, targets: torch.Tensor,
                    running: torch.Tensor, still: torch.Tensor) -> list[torch.Tensor]:
        """The correction losses of one step: BCE on the halting head over the rows that were
        running, and (deep supervision) next-token CE over the rows that run on afterwards
        (rows that stop here are scored by the final loss)."""
        out = []
        if not (self.arch.deep_supervision or self.arch.halt_loss):
            return out
        logits = self.readout(y)  # (B, T, V)
        supervised = targets != IGNORE  # (B, T)
        if self.arch.deep_supervision:
            ce = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(),
                                 ignore_index=IGNORE, reduction="none").view_as(targets)
            keep = _expand_rows(still, targets)
            out.append((ce * keep).sum() / supervised.sum().clamp(min=1))
        if self.arch.halt_loss:
            with torch.no_grad():
                hit = (logits.argmax(-1) == targets) | ~supervised  # (B, T)
                if self.arch.halt_per == "sequence":
                    correct, mask = hit.all(dim=1), running
                else:
                    correct, mask = hit, running & supervised
            bce = F.binary_cross_entropy_with_logits(q.float(), correct.float(), reduction="none")
            out.append(self.arch.halt_loss * (bce * mask).sum() / mask.sum().clamp(min=1))
        return out


def _expand(halted: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A (B,) or (B, T) mask as (B, 1, 1) or (B, T, 1) against states like x (B, T, C)."""
    return halted.view(halted.shape[0], -1, 1)


def _expand_rows(mask: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """A (B,) or (B, T) mask as a float (B, T) mask over target positions."""
    return (mask.unsqueeze(1) if mask.dim() == 1 else mask).expand_as(targets).float()


def _where(mask: torch.Tensor, old: Pair, new: Pair) -> Pair:
    return tuple(torch.where(mask, o, n) for o, n in zip(old, new))
