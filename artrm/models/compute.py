"""Compute matching and block passes counted with hooks (book: the overview's "compute
matching" section; the authors' `--compute-budget`).

A budget B is a number of forward block passes. Each rung turns it into a loop plan with its
budget rule (`ARModel.loop_plan`), exactly as the authors' code does. The plan gives the
*nominal* passes; the models' `PassCounter` counts the *realised* ones (forward, forward with
a graph, and backward).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass(frozen=True)
class LoopPlan:
    """How a model spends its budget: N `steps` of `passes_per_step` block passes each."""

    steps: int  # N: loop steps of the tied rungs, ACT steps of the nested ones (gpt: layers)
    passes_per_step: int = 1
    n_outer: int = 1  # H: cycles per ACT step (nested models)
    n_inner: int = 1  # L: reasoning updates per cycle (nested models)

    @property
    def nominal_passes(self) -> int:
        return self.steps * self.passes_per_step

    def record(self) -> dict[str, int]:
        """The plan as a run's record stores it (its field names, schema 2: `n_layer` is N)."""
        return {"n_layer": self.steps, "passes_per_step": self.passes_per_step,
                "n_outer": self.n_outer, "n_inner": self.n_inner}


def nested_plan(budget: int, n_outer: int, n_inner: int) -> LoopPlan:
    """The nested rungs' rule: the first (H, L) in the authors' candidate order whose H(L+1)
    divides B, with N = B / (H(L+1)) ACT steps; (1, 0) always divides."""
    for h, inner in _candidates(n_outer, n_inner):
        per_step = h * (inner + 1)
        if budget % per_step == 0:
            return LoopPlan(budget // per_step, per_step, n_outer=h, n_inner=inner)
    raise AssertionError("(H, L) = (1, 0) divides every budget")


def _candidates(h0: int, l0: int) -> list[tuple[int, int]]:
    """(H, L) in the authors' order: the given pair, then L from l0 down, H from h0 down."""
    order = [(h0, l0)]
    for inner in range(l0, -1, -1):
        for h in range(h0, 0, -1):
            if (h, inner) not in order:
                order.append((h, inner))
    return order


@dataclass
class PassCount:
    """Block passes of the last forward (and of its backward, once it has run)."""

    forward: int = 0  # every block call
    forward_grad: int = 0  # calls that recorded an autograd graph
    backward: int = 0  # calls whose output received a gradient
    backward_calls: list[int] = field(default_factory=list)  # their call indices


class PassCounter:
    """Counts block calls with forward hooks, and gradients reaching their outputs with tensor
    hooks, so realised compute is measured rather than assumed."""

    def __init__(self, blocks: nn.ModuleList) -> None:
        self.count = PassCount()
        self.total_forward = 0  # block calls since construction, across forwards
        self.total_calls = 0  # model forwards since construction
        for block in blocks:
            block.register_forward_pre_hook(self._before)
            block.register_forward_hook(self._after)

    def reset(self) -> None:
        """Start counting a new model forward."""
        self.count = PassCount()
        self.total_calls += 1

    def _before(self, module: nn.Module, args: tuple) -> None:
        self.total_forward += 1
        self.count.forward += 1
        self.count.forward_grad += int(torch.is_grad_enabled())

    def _after(self, module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        if output.requires_grad:
            count, index = self.count, self.count.forward - 1

            def seen(grad: torch.Tensor) -> None:
                count.backward += 1
                count.backward_calls.append(index)

            output.register_hook(seen)
