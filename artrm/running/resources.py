"""What a run will cost, estimated from its config before anything is allocated: absurd
sizes are refused with the memory they would need, and long runs are announced."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from artrm.data.tasks import text_length
from artrm.errors import ConfigError
from artrm.models.ladder import rung
from artrm.run_config import RunConfig
from artrm.running.cost import train_step_flops

GIB = 2**30
FLOAT = 4  # bytes (fp32 master weights and activations)
ACTIVATIONS_PER_PASS = 20  # floats kept per token, width unit and graph pass (QKV, MLP, norms)
RATE = {"cpu": 1e11, "cuda": 5e13}  # FLOP/s a run reaches, roughly: for announcements only
ANNOUNCE_AFTER_S = 600.0


@dataclass(frozen=True)
class Estimate:
    parameters: int
    memory_bytes: float  # weights, gradients, AdamW moments and one step's activations
    seconds: float  # training, at the device's rough rate


def estimate(cfg: RunConfig, device: torch.device) -> Estimate:
    a, cls = cfg.arch, rung(cfg.model)
    C, V = a.n_embd, a.vocab_size
    blocks = 1 if cls.tied else cfg.plan.steps
    params = blocks * (12 * C * C + 13 * C) + (V + a.block_size + 2) * C + V
    T = a.block_size if cfg.data.padding == "block" else text_length(cfg.task, cfg.data.train_len)
    passes = cfg.plan.nominal_passes
    activations = cfg.optim.batch_size * T * passes * (ACTIVATIONS_PER_PASS * C + a.n_head * T)
    memory = FLOAT * (4 * params + activations)
    flops = train_step_flops(C, cfg.optim.batch_size, T, passes, passes).total * cfg.optim.steps
    return Estimate(params, memory, flops / RATE.get(device.type, RATE["cpu"]))


def available_memory(device: torch.device) -> float:
    if device.type == "cuda":
        return float(torch.cuda.get_device_properties(device).total_memory)
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def check_fits_memory(cfg: RunConfig, device: torch.device) -> Estimate:
    """The run's estimate; ConfigError when it cannot fit in the device's memory."""
    e = estimate(cfg, device)
    have = available_memory(device)
    if e.memory_bytes > have:
        raise ConfigError(
            f"{cfg.model} on {cfg.task} needs about {e.memory_bytes / GIB:,.1f} GiB "
            f"({e.parameters:,} parameters, batch {cfg.optim.batch_size}, width "
            f"{cfg.arch.n_embd}), more than the {have / GIB:,.1f} GiB of {device}; reduce "
            f"batch_size, n_embd, block_size or budget")
    return e


def announcement(e: Estimate, device: torch.device) -> str | None:
    """One line for a run expected to train longer than ANNOUNCE_AFTER_S, else None."""
    if e.seconds < ANNOUNCE_AFTER_S:
        return None
    hours = e.seconds / 3600
    span = f"{hours:.1f} h" if hours >= 1 else f"{e.seconds / 60:.0f} min"
    return (f"note: this run needs about {span} on {device.type} (a rough estimate); Ctrl-C "
            f"stops it with a checkpoint and the same command resumes it")
