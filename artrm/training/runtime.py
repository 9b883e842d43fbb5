"""Device, threads and numerics switches. bf16, tf32, torch.compile and fused AdamW are opt-in
and apply on CUDA only."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from artrm.config import DEVICES, ExecConfig
from artrm.errors import ConfigError, check_choice


def resolve_device(name: str) -> torch.device:
    """`cpu`, `cuda[:i]`, or `auto` (CUDA when present)."""
    check_choice("device", name.split(":")[0], DEVICES)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} is not available on this machine; use cpu")
    device = torch.device(name)
    if device.type == "cuda" and device.index is not None \
            and device.index >= torch.cuda.device_count():
        raise ConfigError(f"device {name!r} does not exist: this machine has "
                          f"{torch.cuda.device_count()} GPUs")
    return device


def check_exec(precision: str, exe: ExecConfig, device: torch.device) -> None:
    if device.type != "cuda":
        for option, active in (("precision " + precision, precision != "fp32"),
                               ("compile", exe.compile), ("fused_adamw", exe.fused_adamw)):
            if active:
                raise ConfigError(f"{option} applies on CUDA only; device is {device}")


def is_sync_free(exe: ExecConfig, device: torch.device) -> bool:
    """Whether steps run without host synchronisation: as asked, by default on CUDA."""
    return device.type == "cuda" if exe.sync_free is None else exe.sync_free


def uses_graphs(exe: ExecConfig, device: torch.device) -> bool:
    """Whether steps are CUDA graphs: on CUDA, sync-free, not compiled, unless switched off."""
    return (exe.graphs and device.type == "cuda" and is_sync_free(exe, device)
            and not exe.compile)


def apply_threads(exe: ExecConfig) -> None:
    if exe.threads is not None:
        torch.set_num_threads(exe.threads)


@contextlib.contextmanager
def numerics(precision: str, device: torch.device, graph_safe: bool = False) -> Iterator[None]:
    """fp32 as is; tf32 matmuls; or bf16 autocast (CUDA). `graph_safe`: autocast without
    its weight-cast cache, so a CUDA graph captured inside replays the casts."""
    if device.type != "cuda":
        yield
        return
    previous = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
    try:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16",
                            cache_enabled=not graph_safe):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = previous


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, torch.Tensor], device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
