"""The early exit of the halting loops (ACT, Q-halt): taken on the host, or emulated on the
device so that the loop has a static length.

Eager (`static=False`, the authors' behaviour): after each step the loop reads whether
every row or position has halted (one host synchronisation per step) and stops there,
unless `full_compute`. Static: every step runs and `running`, a 0-d bool tensor, says
whether the eager loop would run the current step. Per-step losses after the exit are
masked to zero and the terminal state is the one of the last step the eager loop runs, so
outputs, losses and gradients equal the eager loop's, and `steps` counts the steps it
would run (the realised-pass statistic). The extra steps only add exact zeros.

One difference no training reaches: `select` keeps the earlier steps in the autograd graph,
so with a TRM head that fires without `halt_loss` (a hand-set head: without that loss it
never trains) parameters reached only through earlier steps (trained y_0, z_0) get zero
gradients instead of none, and the backward pass count includes those steps.
"""

from __future__ import annotations

import torch

Stat = float | torch.Tensor  # a statistic: a float (eager) or a 0-d tensor (static)


class ExitLoop:
    def __init__(self, static: bool, full_compute: bool) -> None:
        self.static, self.full_compute = static, full_compute
        self.running: torch.Tensor | None = None  # static: None while surely running
        self.count: Stat = 0.0  # steps the eager loop runs (so far)

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

    def after_step(self, done: torch.Tensor) -> bool:
        """Account for the step just run; `done` (0-d bool) says whether everything has
        halted. True when the eager loop stops here."""
        if not self.static:
            self.count += 1.0
            return bool(done) and not self.full_compute
        self.count = self.count + (1.0 if self.running is None else self.running.float())
        if not self.full_compute:
            self.running = ~done if self.running is None else self.running & ~done
        return False

    def out(self, value: torch.Tensor) -> Stat:
        """A statistic: read on the host (eager) or left on the device (static)."""
        return value if self.static else float(value)

    @property
    def steps(self) -> Stat:
        return self.count
