"""How a model's loops execute, apart from what they compute: the switches the trainer and
the decoders set (`ARModel.set_static`), and what they read once from the weights.

None of it changes an output, a loss or a gradient; the tests in tests/test_exactness.py,
tests/test_sync_free.py, tests/test_graph_free.py and tests/test_kvcache.py prove it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

Stat = float | torch.Tensor  # a statistic: a float (eager) or a 0-d tensor (static)


@dataclass(frozen=True)
class Execution:
    static: bool = False  # halting loops run every step, the exit emulated on the device
    graph_free: bool = True  # steps before the last may skip their graph (`artrm.models.loop`)
    inert: bool | None = None  # a static loop's reading of `head_inert`, taken when made static

    @classmethod
    def of(cls, model: nn.Module, static: bool, graph_free: bool = True) -> Execution:
        """The execution of `model`; a static loop reads the Q-halt head's inertness now, on
        the host, so that its forwards never synchronise (valid while the head does not
        change: without `halt_loss` it gets no gradient)."""
        inert = weights_inert(model.halt) if static and hasattr(model, "q_logit") else None
        return cls(static, graph_free, inert)


def weights_inert(head: nn.Linear) -> bool:
    """A halting head that can never fire: weight 0 and bias <= 0, so q = bias <= 0 for every
    input, as in the faithful TRM, whose untrained head stays at its initial 0 and -5."""
    return bool((head.weight == 0).all() and (head.bias <= 0).all())


def head_inert(model: nn.Module) -> bool:
    """Whether the model's Q-halt head can never fire (a static loop's reading, else now)."""
    if model.execution.inert is not None:
        return model.execution.inert
    return weights_inert(model.halt)
