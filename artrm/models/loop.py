"""The halting loop shared by the ACT rungs and the TRM, and how it executes.

The rungs write the science: per step, refine the state, read the answer, let the halting
controller decide (`ut.py`, `trm.py`). This loop owns what only changes how that runs,
never what it computes:

- the early exit. Eager (the authors' behaviour): after each step the loop reads whether
  every row or position has halted (one host synchronisation per step) and stops there,
  unless `full_compute`. Static (`ARModel.set_static`, and every cached forward): every step
  runs and `running`, a 0-d bool tensor, says whether the eager loop would run the current
  step; per-step losses after the exit are masked to zero and the terminal state is the one
  of the last step the eager loop runs, so outputs, losses and gradients equal the eager
  loop's, and `count` counts the steps it would run. The extra steps only add exact zeros.
- graph-free steps: when nothing reads the graphs of the steps before the last (no per-step
  loss, no frozen rows, and no step before the last can end the loop), those steps run
  without an autograd graph (less memory; losses and gradients bit-identical).
- the KV cache: a decode step replays the per-sequence halting decisions the prompt took on
  position 0 (`KVCache.trace`) instead of deciding again from a position it cannot see.

One difference no training reaches: `select` keeps the earlier steps in the autograd graph,
so with a TRM head that fires without `halt_loss` (a hand-set head: without that loss it
never trains) parameters reached only through earlier steps (trained y_0, z_0) get zero
gradients instead of none, and the backward pass count includes those steps.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from artrm.models.base import ARModel, State
from artrm.models.execution import Stat, head_inert
from artrm.models.qhalt import QHalt


class HaltingLoop:
    """Steps of one forward of a halting rung: `for t in loop.steps(): ...; loop.stop_if(done)`."""

    def __init__(self, model: ARModel) -> None:
        self.model, self.cache = model, model.cache
        self.static = model.execution.static or model.cache is not None
        self.full_compute = model.full_compute
        self.running: torch.Tensor | None = None  # static: None while surely running
        self.count: Stat = 0.0  # steps the eager loop runs (so far)
        self.grad = torch.is_grad_enabled()
        self.lazy = self.grad and graph_free_before_last(model)
        self._stop = False

    def steps(self) -> Iterator[int]:
        """The loop steps t = 0 .. N-1, until the eager loop exits."""
        for t in range(self.model.steps):
            yield t
            if self._stop:
                return

    def refine(self, x: torch.Tensor, state: State, t: int) -> State:
        """The model's refine step, without a graph where nothing will read it."""
        with torch.set_grad_enabled(self.grad and not (self.lazy and t < self.model.steps - 1)):
            return self.model.refine(x, state, t)

    def decide(self, controller: QHalt, q: torch.Tensor, t: int) -> None:
        """Q-halt decisions after step t: from `q`, or, in a decode step of a per-sequence
        head, the ones the prompt took (position 0 lies in the prompt)."""
        cache, per_sequence = self.cache, controller.halted.dim() == 1
        if cache is not None and per_sequence and cache.decoding:
            controller.replay(cache.trace[t], t)
            return
        controller.update(q, t)
        if cache is not None and per_sequence:
            cache.record(t, controller.halted)

    def masked(self, loss: torch.Tensor) -> torch.Tensor:
        """A per-step loss, zero for a step that the eager loop would not run."""
        if self.running is None:
            return loss
        return torch.where(self.running, loss, torch.zeros_like(loss))

    def select(self, new: torch.Tensor, kept: torch.Tensor | None) -> torch.Tensor:
        """The state of the last step the eager loop runs: `new` while it runs, else `kept`."""
        if self.running is None or kept is None:
            return new
        return torch.where(self.running, new, kept)

    def stop_if(self, done: torch.Tensor) -> None:
        """Account for the step just run; `done` (0-d bool) says whether everything has
        halted, and the eager loop stops there."""
        if not self.static:
            self.count += 1.0
            self._stop = bool(done) and not self.full_compute
            return
        self.count = self.count + (1.0 if self.running is None else self.running.float())
        if not self.full_compute:
            self.running = ~done if self.running is None else self.running & ~done

    def out(self, value: torch.Tensor) -> Stat:
        """A statistic: read on the host (eager) or left on the device (static)."""
        return value if self.static else float(value)


def graph_free_before_last(model: ARModel) -> bool:
    """Whether the steps before the last may run without an autograd graph: only a Q-halt
    rung's (ACT mixes every step's answer), when nothing reads those steps' graphs (no
    per-step loss, no frozen rows: the next step detaches its input) and no step before the
    last can end the loop (`full_compute`, or a halting head that cannot fire)."""
    if not (model.execution.graph_free and hasattr(model, "q_logit")):
        return False
    if model.arch.halt_loss or model.arch.deep_supervision:
        return False
    return model.full_compute or head_inert(model)
