"""Every model is causal: logits at position t never depend on tokens after t."""

from __future__ import annotations

import pytest
import torch

from artrm import build_model, model_names
from tests.conftest import tiny_arch


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("full_compute", [False, True])
@pytest.mark.parametrize("name", model_names())
def test_future_tokens_leave_past_logits_unchanged(name, mode, full_compute):
    torch.manual_seed(0)
    model = build_model(name, tiny_arch())
    model.train(mode == "train")
    model.full_compute = full_compute
    idx = torch.randint(0, 14, (3, 24))
    for t in (0, 7, 16):
        changed = idx.clone()
        changed[:, t + 1:] = torch.randint(0, 14, changed[:, t + 1:].shape)
        torch.manual_seed(1)  # same dropout masks and exploration draws for both passes
        a = model(idx).logits
        torch.manual_seed(1)
        b = model(changed).logits
        torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1], rtol=0, atol=1e-6)
        assert not torch.allclose(a[:, t + 1:], b[:, t + 1:])  # the check has teeth
