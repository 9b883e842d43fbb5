"""What the benchmark ran on: processor, cores, memory, GPU, versions and commit."""

from __future__ import annotations

import os
import platform
import re
import sys
from typing import Any

import torch

from artrm.results.provenance import cpu_model, git_commit


def memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            kib = int(fh.readline().split()[1])  # MemTotal
        return round(kib / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return None


def machine_info(device: str) -> dict[str, Any]:
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else None
    return {
        "cpu": cpu_model(), "cores": os.cpu_count(), "memory_gib": memory_gib(),
        "gpu": gpu, "gpus": torch.cuda.device_count() if device == "cuda" else 0,
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "python": sys.version.split()[0], "platform": platform.platform(),
        "git": git_commit(),
    }


def machine_slug(info: dict[str, Any]) -> str:
    """A file-name-safe name of the machine: the GPU's, else the CPU's with its cores."""
    name = info["gpu"] or f"{info['cpu']}-{info['cores']}c"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
