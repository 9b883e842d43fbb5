"""Train a few steps of every rung and save every loss, gradient and final parameter.

    python tests/numerics_probe.py OUT.pt '{"sync_free": true}'

Run by tests/test_same_numerics.py with PYTHONPATH pointing at this checkout or at an earlier
commit's `artrm` (its API for this is unchanged: RunConfig, ExecConfig, Trainer, model_names;
only where RunConfig and the rung list live moved, from `artrm.config` and `artrm.registry`),
so that the two versions can be compared bit for bit on the same machine. Dropout 0.1 and the TRM's
exploration draws are on; one thread.
"""

from __future__ import annotations

import json
import sys

import torch

from artrm import RunConfig, model_names
from artrm.config import ArchConfig, DataConfig, EvalConfig, ExecConfig, OptimConfig
from artrm.training.train import Trainer

STEPS = 4


def config(model: str, dropout: float) -> RunConfig:
    return RunConfig(model=model, task="addition", seed=11,
                     arch=ArchConfig(n_embd=32, n_head=2, block_size=40, dropout=dropout,
                                     budget=12),
                     data=DataConfig(train_len=3, padding="trim"),
                     optim=OptimConfig(steps=STEPS, batch_size=8, lr=1e-2),
                     eval=EvalConfig(lengths=(3,), n_problems=4, every=STEPS))


def probe(cfg: RunConfig, exec_options: dict) -> dict:
    torch.set_num_threads(1)
    trainer = Trainer(cfg, ExecConfig(progress=False, threads=1, **exec_options), None)
    grads: list[dict[str, torch.Tensor]] = []
    zero = trainer.optimizer.zero_grad

    def keep_then_zero(set_to_none: bool = True) -> None:
        grads.append({n: p.grad.clone() for n, p in trainer.model.named_parameters()
                      if p.grad is not None})
        zero(set_to_none=set_to_none)

    trainer.optimizer.zero_grad = keep_then_zero  # type: ignore[method-assign]
    losses = []
    for _ in range(STEPS):
        losses.append(float(trainer.train_step()["loss"]))
    return {"losses": losses, "grads": grads,
            "params": {n: p.detach().clone() for n, p in trainer.model.named_parameters()}}


def main() -> None:
    out, exec_options = sys.argv[1], json.loads(sys.argv[2])
    result = {f"{m}/{d}": probe(config(m, d), exec_options)
              for m in model_names() for d in (0.0, 0.1)}
    torch.save(result, out)


if __name__ == "__main__":
    main()
