"""How large the carried states grow: the rms of every block pass's output (the stream it
updates: `h` for the single-stream rungs, `z` or `y` for the dual-stream ones) and input, the
rms of the input embedding x, and the halting probabilities of every loop step.

The dual-stream update sums the streams into each other through residual blocks,
z <- f(x + y + z + e), y <- f(y + z + e) with f(h) = h + u(h)                (eq. dual-sum)
While the updates u are small next to the streams, one dual step maps (z, y) to
(z + y, z + 2y): the matrix [[1, 1], [1, 2]], whose largest eigenvalue is
phi^2 = (3 + sqrt 5) / 2, so the streams grow like Fibonacci numbers      (eq. fibonacci)
by the golden ratio phi ~ 1.618 per pass (the nested rungs' cycle of L = 2
z-updates and one y-update: 2 + sqrt 3 per 3 passes, ~1.55 per pass). A single stream,
h <- f(h) = h + u(h), grows only by its updates: linearly. `state_norm` starts every pass from
a unit-rms input, so the states stay near rms 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from artrm.data.tasks import eval_problems
from artrm.errors import ConfigError
from artrm.models.act import ACT
from artrm.models.base import ARModel
from artrm.models.ut_level1 import DualUT
from artrm.run_config import RunConfig
from artrm.training.evaluate import inference_steps

GOLDEN = (1 + math.sqrt(5)) / 2


def growth_per_pass(n_inner: int) -> float:
    """Per-pass growth factor of the summed dual streams when the updates are negligible:
    the spectral radius of one cycle (n_inner z-updates, one y-update) to the power 1/passes."""
    cycle = torch.eye(2, dtype=torch.float64)  # acts on (z, y)
    for _ in range(n_inner):
        cycle = torch.tensor([[1.0, 1.0], [0.0, 1.0]], dtype=torch.float64) @ cycle  # z += y
    cycle = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64) @ cycle  # y += z
    radius = torch.linalg.eigvals(cycle).abs().max().item()
    return radius ** (1 / (n_inner + 1))


def streams(model: ARModel) -> list[str]:
    """The stream each block call of one forward updates, in call order."""
    p = model.plan
    if not isinstance(model, DualUT):
        return ["h"] * p.nominal_passes
    cycle = ["z"] * p.n_inner + ["y"]
    return cycle * p.n_outer * p.steps


def _rms(t: torch.Tensor) -> float:
    return float(t.float().pow(2).mean().sqrt())


@torch.no_grad()
def trace(model: ARModel, task: str = "addition", length: int = 10, n: int = 64,
          seed: int = 0) -> dict[str, Any]:
    """One eval-mode forward over `n` evaluation problems with every pass run (no early exit):
    per block call, the rms of its output and input; the rms of x; per loop step, the mean
    halting probability (ACT: sigmoid of the head; TRM: sigmoid of the Q-halt logit)."""
    problems = eval_problems(task, length, n, seed)
    idx = problems.text()[:, :-1].to(next(model.parameters()).device)
    outputs: list[float] = []
    inputs: list[float] = []
    halting: list[float] = []

    def on_block(module: torch.nn.Module, args: tuple, out: torch.Tensor) -> None:
        inputs.append(_rms(args[0]))
        outputs.append(_rms(out))

    per_position: list[torch.Tensor] = []  # (B, T) per loop step

    def on_halt(module: torch.nn.Module, args: tuple, out: torch.Tensor) -> None:
        p = torch.sigmoid(out.float()).squeeze(-1)
        per_position.append(p)
        halting.append(float(p.mean()))

    hooks = [block.register_forward_hook(on_block) for block in model.blocks]
    if hasattr(model, "halt"):
        hooks.append(model.halt.register_forward_hook(on_halt))
    was = model.training
    model.eval()
    try:
        with inference_steps(model, None, full_compute=True):
            model(idx)
    finally:
        model.train(was)
        for h in hooks:
            h.remove()
    out = {"task": task, "length": length, "n": n, "x_rms": _rms(model.embed(idx)),
           "stream": streams(model), "rms": outputs, "input_rms": inputs, "halt_p": halting}
    if per_position and "ponder_weight" in model.switches:  # the ACT rungs (not the TRM)
        out["act_weight"] = act_weights(per_position)
    return out


def act_weights(halting: list[torch.Tensor]) -> list[float]:
    """The mean ACT weight of every step's state in the readout (eq. act-mix), from the
    halting probabilities (B, T) of every step: `artrm.models.act.ACT` itself, fed the unit
    vector e_t as step t's state, so that its readout is the weights."""
    steps, (batch, length) = len(halting), halting[0].shape
    unit = torch.eye(steps, device=halting[0].device)
    act = ACT(batch, length, steps, halting[0].device)
    for t, p in enumerate(halting):
        act.update(unit[t].expand(batch, length, steps), p)
    mixed, _ = act.finalize(unit[-1].expand(batch, length, steps))  # (B, T, steps)
    return mixed.mean(dim=(0, 1)).tolist()


def stored_measure(record: dict[str, Any], store: Any, key: str,
                   measure: Callable[[ARModel, RunConfig], dict[str, Any]], device: str = "cpu",
                   compute: bool = True) -> dict[str, Any] | None:
    """A measurement of the record's trained model, `measure(model, config)`, kept in the
    record under `key`: computed once from the run's checkpoint (unless not `compute`); None
    when neither the record nor a checkpoint has it."""
    from artrm.training.reevaluate import load_trained

    if key in record or not compute:
        return record.get(key)
    try:
        model, _ = load_trained(record, device)
    except ConfigError:
        return None
    cfg = RunConfig.from_dict(record["config"])
    result = measure(model, cfg)
    with store.record_lock(cfg):
        current = store.find(cfg) or record
        store.save({**current, key: result})
    return result


def stored_trace(record: dict[str, Any], store: Any, device: str = "cpu",
                 compute: bool = True) -> dict[str, Any] | None:
    """The record's trace of its trained model (`stored_measure`, key "state_trace")."""
    return stored_measure(record, store, "state_trace",
                          lambda model, cfg: trace(model, cfg.task, cfg.data.train_len,
                                                   seed=cfg.seed), device, compute)
