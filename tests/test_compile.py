"""`torch.compile` of the shared block (the `compile` switch) works and trains like eager.

The switch is refused on a CPU run (it is meant for CUDA), so this exercises the same
`prepare_model` path directly on a tiny model; inductor compiles it with the C compiler.
Without dropout the compiled model matches the eager one to float rounding; with dropout it
would draw other random masks (inductor has its own random streams).
"""

from __future__ import annotations

import torch

from artrm import build_model
from artrm.config import ExecConfig
from artrm.training.train import prepare_model
from tests.conftest import tiny_arch


def test_the_compiled_block_gives_the_eager_losses_gradients_and_passes():
    arch = tiny_arch(n_embd=16, budget=6, dropout=0.0)
    models = []
    for exe in (ExecConfig(), ExecConfig(compile=True)):
        torch.manual_seed(0)
        models.append(prepare_model(build_model("trm", arch), exe))
    eager, compiled = models
    try:
        for shape in ((2, 9), (3, 12)):  # a second length: dynamic shapes, no failure
            idx = torch.randint(0, 14, shape)
            losses = [m(idx, idx).loss for m in models]
            for loss in losses:
                loss.backward()
            torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=1e-6)
            for p, q in zip(eager.parameters(), compiled.parameters()):
                assert (p.grad is None) == (q.grad is None)
                if p.grad is not None:
                    torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-6)
                    p.grad = q.grad = None
            assert compiled.passes.forward == eager.passes.forward == 6
            assert compiled.passes.backward == eager.passes.backward == 3
    finally:
        torch._dynamo.reset()
