"""The machine's peak matmul rate, measured: square GEMMs on random data, median of repeats.

CPU: fp32 with the threads the measurements use. CUDA: fp32 (no TF32), tf32 and bf16.
"""

from __future__ import annotations

import statistics
import time

import torch

DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_rate(device: torch.device, mode: str, n: int, repeats: int = 10) -> float:
    """FLOP/s of an n x n x n product in `mode` (fp32, tf32 or bf16) on `device`."""
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
    try:
        gen = torch.Generator(device=device).manual_seed(0)
        pairs = [(torch.randn(n, n, device=device, dtype=DTYPES[mode], generator=gen),
                  torch.randn(n, n, device=device, dtype=DTYPES[mode], generator=gen))
                 for _ in range(2)]  # alternate inputs so that no run reuses a warm cache
        for a, b in pairs:  # warm-up: library handles, kernel choice, clocks
            a @ b
        times = []
        for i in range(repeats):
            a, b = pairs[i % 2]
            sync(device)
            t0 = time.perf_counter()
            a @ b
            sync(device)
            times.append(time.perf_counter() - t0)
        return 2.0 * n**3 / statistics.median(times)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous


def peak_rates(device: torch.device, quick: bool) -> dict[str, float]:
    """Peak FLOP/s per precision mode on `device`."""
    if device.type == "cpu":
        return {"fp32": matmul_rate(device, "fp32", 1024 if quick else 2048)}
    return {mode: matmul_rate(device, mode, 8192) for mode in ("fp32", "tf32", "bf16")}
