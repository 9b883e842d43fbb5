"""The two floors of a training step at the paper configuration: model FLOPs and bytes.

    python bench/floor.py [--task addition] [--rates cpu=180e9:15e9 ...]

FLOPs come from `artrm.running.cost` with the passes of a real step (every ACT step run; the
backward passes are those each rung's gradient reaches). Bytes count, per step: the
optimiser (AdamW reads parameter, gradient, m and v and writes parameter, m and v: 28 bytes
a parameter), the block weights (read once per forward pass, three accesses per backward
pass: input gradient, weight-gradient read and write) and the activations, each
intermediate of the block (about 18C floats per token: LN outputs, QKV, attention and
projection outputs, residuals, the 4C MLP hidden before and after GELU) written once and
read once in the forward, twice that in the backward of a pass with gradient. All fp32.
Bytes over memory bandwidth and FLOPs over the matmul rate give the two times; the larger
is the floor.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artrm import build_model  # noqa: E402
from artrm.data.tasks import text_length  # noqa: E402
from artrm.experiments.profiles import PAPER  # noqa: E402
from artrm.models.ladder import accepting, model_names  # noqa: E402
from artrm.running.cost import train_step_flops  # noqa: E402

ACTIVATION_FLOATS = 18  # per token, per block pass, in units of C


def realised_passes(model: str) -> tuple[int, int]:
    """Forward and backward block passes of one training step at the paper's budget (ACT
    rungs forced to run every step), counted on a one-sequence batch."""
    arch = dataclasses.replace(PAPER.arch, full_compute=model in accepting("full_compute"))
    torch.manual_seed(0)
    net = build_model(model, arch)
    idx = torch.randint(0, 14, (1, 8))
    net(idx, idx).loss.backward()
    return net.passes.forward, net.passes.backward


def step_bytes(params: int, block_params: int, distinct_blocks: bool, tokens: int, n_embd: int,
               forward: int, backward: int) -> float:
    optimiser = 28 * params
    # a block's weights: read by each forward pass, three accesses in each backward pass; the
    # distinct blocks of gpt are each used by one pass only
    uses = 4 if distinct_blocks else forward + 3 * backward
    weights = 4 * block_params * uses
    activations = 4 * ACTIVATION_FLOATS * n_embd * tokens * 2 * (forward + 2 * backward)
    return optimiser + weights + activations


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="addition")
    p.add_argument("--rates", nargs="*", default=["cpu=180e9:15e9", "h200-fp32=60e12:4.3e12",
                                                  "h200-bf16=790e12:4.3e12"],
                   help="name=FLOP/s:bytes/s")
    args = p.parse_args()
    arch, batch = PAPER.arch, PAPER.optim.batch_size
    rates = {name: tuple(map(float, v.split(":"))) for name, v in
             (r.split("=") for r in args.rates)}
    print(f"paper configuration, {args.task} L={PAPER.data.train_len}, batch {batch}")
    print(f"{'model':<10} {'padding':<6} {'passes':>6} {'GFLOP':>8} {'GB':>7}  "
          + "  ".join(f"{n + ' floor s':>18}" for n in rates))
    for model in model_names():
        net = build_model(model, arch)
        params = net.num_parameters()
        block_params = sum(q.numel() for q in net.blocks.parameters())
        forward, backward = realised_passes(model)
        for padding, length in (("block", arch.block_size),
                                ("trim", text_length(args.task, PAPER.data.train_len) - 1)):
            tokens = batch * length
            flops = train_step_flops(arch.n_embd, batch, length, forward, backward).total
            nbytes = step_bytes(params, block_params, not net.tied, tokens, arch.n_embd,
                                forward, backward)
            floors = "  ".join(f"{max(flops / f, nbytes / b):>18.4f}" for f, b in rates.values())
            print(f"{model:<10} {padding:<6} {forward:>3}/{backward:<2} {flops / 1e9:>8,.0f} "
                  f"{nbytes / 1e9:>7.2f}  {floors}")


if __name__ == "__main__":
    main()
