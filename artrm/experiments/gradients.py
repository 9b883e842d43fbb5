"""Where the training loss's gradient reaches: the norm of the loss gradient at the output of
every block pass of one training forward (train mode, the run's own loop and halting), found
with tensor hooks. A pass run without gradient (the nested rungs' no-grad cycles) gets 0.

"Passes with gradient" counts the passes the gradient reaches at all; the norms say how much
of it arrives at each, so a pass that is reached but whose halting weight is near zero shows.
"""

from __future__ import annotations

from typing import Any

import torch

from artrm.data.tasks import eval_problems, lm_batch
from artrm.experiments.states import stored_measure, streams
from artrm.models.base import ARModel
from artrm.run_config import RunConfig


def pass_gradients(model: ARModel, cfg: RunConfig, n: int = 64) -> dict[str, Any]:
    """One training forward and backward of `model` on `n` evaluation problems of the run's
    task at its training length: per realised block call, in call order, the stream it updates
    and the norm of the loss gradient at its output; the loss. The model's gradients are
    cleared afterwards; its weights are not changed."""
    problems = eval_problems(cfg.task, cfg.data.train_len, n, cfg.seed)
    device = next(model.parameters()).device
    inputs, targets = (t.to(device) for t in lm_batch(problems, cfg.arch.block_size,
                                                      cfg.data.padding))
    norms: list[float] = []

    def on_block(module: torch.nn.Module, args: tuple, out: torch.Tensor) -> None:
        index = len(norms)
        norms.append(0.0)
        if out.requires_grad:
            def seen(grad: torch.Tensor) -> None:
                norms[index] = float(grad.float().norm())

            out.register_hook(seen)

    hooks = [block.register_forward_hook(on_block) for block in model.blocks]
    was = model.training
    model.train()
    try:
        with torch.random.fork_rng(devices=[]):  # dropout draws leave the caller's stream alone
            torch.manual_seed(cfg.seed)
            out = model(inputs, targets)
            out.loss.backward()
    finally:
        model.train(was)
        model.zero_grad(set_to_none=True)
        for h in hooks:
            h.remove()
    return {"task": cfg.task, "length": cfg.data.train_len, "n": n,
            "stream": streams(model)[:len(norms)], "grad_norm": norms,
            "loss": float(out.loss.detach())}


def stored_gradients(record: dict[str, Any], store: Any, device: str = "cpu",
                     compute: bool = True) -> dict[str, Any] | None:
    """The record's `pass_gradients` of its trained model (`stored_measure`, key
    "gradient_trace")."""
    return stored_measure(record, store, "gradient_trace", pass_gradients, device, compute)
