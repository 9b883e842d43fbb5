"""Stage 2 of bench/gpu.py: seconds per training step of every rung at the grid's
configuration, per precision, eager against CUDA graphs; then the aggregate throughput of
1, 2 and 4 processes training at once on the device.

Steps are timed as a block (the device synchronised before and after), so a step's time is
its throughput, what a grid sees. Measurements run in order of importance (the grid's
precision first, then the others) and stop when the stage's time is spent; what was not
measured is listed as skipped. On a CPU "graphs" is the sync-free static path.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

import torch

from artrm.config import ExecConfig
from artrm.run_config import RunConfig
from artrm.training.train import Trainer
from bench.peak import sync
from bench.runner import MeasureError, run_together

MODES = ("eager", "graphs")


def mode_exec(exe: ExecConfig, mode: str) -> ExecConfig:
    """The exec config of a mode: eager (no graphs; sync-free on CUDA, the default path on a
    CPU) or graphs (sync-free, graphed on CUDA)."""
    if mode == "eager":
        return dataclasses.replace(exe, graphs=False)
    return dataclasses.replace(exe, graphs=True, sync_free=True)


def seconds_per_step(cfg: RunConfig, exe: ExecConfig, warmup: int, steps: int) -> float:
    trainer = Trainer(cfg, exe, None)
    for step in range(1, warmup + 1):
        trainer.pending.add(step, trainer.train_step())
    trainer.read_stats()
    sync(trainer.device)
    t0 = time.perf_counter()
    for step in range(warmup + 1, warmup + steps + 1):
        trainer.pending.add(step, trainer.train_step())
    trainer.read_stats()  # waits for the device
    return (time.perf_counter() - t0) / steps


def step_table(cfgs: list[RunConfig], exe: ExecConfig, precisions: tuple[str, ...],
               warmup: int, steps: int, deadline: float,
               log: Callable[[str], None]) -> list[dict[str, Any]]:
    """One row per (precision, mode, rung) measured before `deadline` (time.time()), the
    most useful first: the grid's precision (the first) with graphs then eagerly, then the
    other precisions with graphs, then eagerly."""
    first, others = precisions[0], precisions[1:]
    order = [(first, "graphs"), (first, "eager")] + [(p, m) for m in MODES[::-1]
                                                     for p in others]
    rows = []
    for precision, mode in order:
        for cfg in cfgs:
            row: dict[str, Any] = {"model": cfg.model, "precision": precision, "mode": mode}
            if time.time() >= deadline:
                rows.append({**row, "skipped": "stage time spent"})
                continue
            try:
                row["s_per_step"] = seconds_per_step(cfg.replace(precision=precision),
                                                     mode_exec(exe, mode), warmup, steps)
                log(f"  {cfg.model:<10} {precision} {mode:<6} "
                    f"{1000 * row['s_per_step']:8.1f} ms/step")
            except Exception as err:  # noqa: BLE001  a mode that fails is a finding, not a stop
                row["error"] = f"{type(err).__name__}: {err}".splitlines()[0][:200]
                log(f"  {cfg.model:<10} {precision} {mode:<6} failed: {row['error']}")
            rows.append(row)
    return rows


def layouts(cfg: RunConfig, exe: ExecConfig, counts: tuple[int, ...], warmup: int,
            steps: int, deadline: float, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Aggregate steps/s of `n` processes training `cfg` at once, for n in `counts` (each
    in its own process, timed while all of them step: bench/measure.py's barrier)."""
    out = []
    cores = os.cpu_count() or 1
    for n in counts:
        if time.time() >= deadline:
            out.append({"processes": n, "skipped": "stage time spent"})
            continue
        threads = max(1, cores // n)
        spec = {"kind": "train", "label": f"layout-{n}", "config": cfg.to_dict(),
                "exec": dataclasses.asdict(dataclasses.replace(exe, threads=threads,
                                                               progress=False)),
                "warmup": warmup, "steps": steps, "eval_length": None, "eval_problems": 0,
                "world": n}
        try:
            results = run_together([{**spec, "rank": r} for r in range(n)])
        except MeasureError as err:
            out.append({"processes": n, "error": str(err)[:300]})
            log(f"  {n} processes: failed: {err}")
            continue
        rate = sum(1 / r["s_per_step"] for r in results)
        out.append({"processes": n, "threads": threads, "steps_per_s": rate,
                    "s_per_step": [r["s_per_step"] for r in results]})
        log(f"  {n} processes: {rate:.1f} steps/s together")
    return out


def best_workers(found: list[dict[str, Any]]) -> int:
    """The process count with the highest aggregate throughput (fewer on a tie within 5%)."""
    measured = [x for x in found if "steps_per_s" in x]
    if not measured:
        return 1
    top = max(x["steps_per_s"] for x in measured)
    return min(x["processes"] for x in measured if x["steps_per_s"] >= 0.95 * top)


def release(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
