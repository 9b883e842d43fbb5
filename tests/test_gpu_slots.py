"""Grid workers on CUDA take the visible GPUs in turn, several per GPU when more than GPUs."""

from __future__ import annotations

import pytest
import torch

from artrm.config import ExecConfig
from artrm.errors import ConfigError
from artrm.running.grid import worker_execs


def test_more_workers_than_gpus_share_them_round_robin(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    slots = worker_execs(ExecConfig(device="cuda", threads=4), 5)
    assert [s.device for s in slots] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1", "cuda:0"]
    assert all(s.threads == 4 and not s.progress for s in slots)


def test_a_named_gpu_takes_every_worker(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert {s.device for s in worker_execs(ExecConfig(device="cuda:1"), 3)} == {"cuda:1"}


def test_no_visible_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(ConfigError, match="no GPU is visible"):
        worker_execs(ExecConfig(device="cuda"), 2)
