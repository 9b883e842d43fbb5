"""Where and with what a result was produced."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from datetime import datetime, timezone
from typing import Any

import torch

from artrm.paths import REPO


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_commit() -> dict[str, Any]:
    """The checkout's commit, and whether the package or benchmarks differ from it."""
    status = _git("status", "--porcelain", "--", "artrm", "bench", "pyproject.toml")
    return {"commit": _git("rev-parse", "HEAD"), "dirty": bool(status)}


def cpu_model() -> str:
    """The processor's model name from /proc/cpuinfo, else what `platform` knows (on Linux
    `platform.processor()` is often empty)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()


def environment(device: torch.device) -> dict[str, Any]:
    return {
        "device": str(device),
        "device_name": device_name(device),
        "cpu_count": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        # the CPU kernels torch dispatches to (AVX2, AVX512, ...): they decide a CPU run's rounding
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "git": git_commit(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def machine(provenance: dict[str, Any]) -> str:
    """The machine a run was made on, as its platform names it (the host's kernel tag): one
    config on two machines agrees to rounding at first, then drifts apart."""
    return re.sub(r"^[A-Za-z]+-[\d.]+-|-(x86_64|aarch64|arm64).*$", "", provenance["platform"])
