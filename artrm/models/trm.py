"""Rung 7, `trm`: the Autoregressive TRM (book: chapter 7)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from artrm.data.tasks import IGNORE
from artrm.models.base import CoreOutput
from artrm.models.loop import ExitLoop
from artrm.models.qhalt import QHalt
from artrm.models.ut_level1 import Pair
from artrm.models.ut_level2 import DualNestedUT


class AutoregressiveTRM(DualNestedUT):
    """Change from `ut_level2`: the ACT controller is replaced by a per-sequence Q-halt head
    on position 0 of y, and the logits read the last y only (no weighted mix, no ponder).

        q = w_q . y_t[:, 0] + b_q,   halt the sequence when q > 0 or t = N   (eq. qhalt)
        logits = head(LN(y_last))                                          (eq. terminal)

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

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._inert: bool | None = None  # `head_inert` as read by `set_static`

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
        sequence = self.arch.halt_per == "sequence"
        exploration = self.arch.halt_exploration if self.training else 0.0
        controller = QHalt((B,) if sequence else (B, T), self.steps, exploration, x.device)
        cache = self.cache
        replay = cache is not None and cache.decoding and sequence  # position 0 is cached
        loop = ExitLoop(self.static_loop, self.full_compute)
        freeze = self.arch.halt_loss > 0
        losses: list[torch.Tensor] = []
        grad = torch.is_grad_enabled()
        lazy = grad and self.graph_free_before_last()
        state, y_out = self.initial_state(x), None
        for t in range(self.steps):
            with torch.set_grad_enabled(grad and not (lazy and t < self.steps - 1)):
                new = self.refine(x, state, t)
            if freeze:  # halted rows keep the state (and graph) of their halting step
                new = _where(_expand(controller.halted, x), state, new)
            state = new
            y = self.answer(state)  # (B, T, C)
            running = ~controller.halted
            if replay:
                controller.replay(cache.trace[t], t)
            else:
                q = self.q_logit(y)
                controller.update(q, t)
                if cache is not None and sequence:
                    cache.record(t, controller.halted)
            if targets is not None:
                losses += [loop.masked(loss) for loss in
                           self.step_losses(y, q, targets, running, ~controller.halted)]
            y_out = loop.select(y, y_out)  # the terminal y: of the step the loop exits at
            if loop.after_step(controller.all_halted()):
                break
        stats = {"act_steps": loop.steps, "halt_step": loop.out(controller.mean_halt_step(t))}
        assert y_out is not None
        return CoreOutput(y_out, torch.stack(losses).sum() if losses else None, stats)

    def graph_free_before_last(self) -> bool:
        """Whether the steps before the last may run without an autograd graph (speed and
        memory only: losses and gradients stay bit-identical). True when nothing reads those
        steps' graphs (no per-step loss, no frozen rows: the next step detaches its input)
        and no step before the last can end the loop: `full_compute`, or a halting head that
        cannot fire (`head_inert`)."""
        if self.arch.halt_loss or self.arch.deep_supervision:
            return False
        return self.full_compute or self.head_inert()

    def head_inert(self) -> bool:
        """Whether the halting head can never fire: weight 0 and bias <= 0, so q = bias <= 0
        for every input, as in the faithful model whose untrained head stays at its initial
        0 and -5. Read on the host, except in a static loop, which keeps the answer read by
        `set_static` (valid while the head does not change: without `halt_loss` it gets no
        gradient)."""
        if self.static and self._inert is not None:
            return self._inert
        head = self.halt
        return bool((head.weight == 0).all() and (head.bias <= 0).all())

    def set_static(self, static: bool) -> None:
        super().set_static(False)
        self._inert = self.head_inert() if static else None
        super().set_static(static)

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
