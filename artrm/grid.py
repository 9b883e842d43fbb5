"""Run a grid of configs, reusing every run whose config hash is already in the store.

The local backend runs the grid in this process, or in `workers` processes: on a CPU the
cores are split between them (small models use cores better as separate runs), on CUDA the
workers take the visible GPUs in turn (more workers than GPUs share them: several small runs
fill a large GPU better than one). Every worker writes its own records, atomically. The ray
backend (`artrm.ray_backend`) runs each missing run as a Ray task instead.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import Queue, get_context
from pathlib import Path

import torch

from artrm.config import ExecConfig, RunConfig
from artrm.errors import ConfigError, check_choice
from artrm.profiles import Profile
from artrm.ray_backend import run_on_ray
from artrm.store import Record, ResultStore
from artrm.train import train

Log = Callable[[str], None]
BACKENDS = ("local", "ray")


def stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_or_load(cfg: RunConfig, exe: ExecConfig, store: ResultStore, label: str | None = None,
                force: bool = False, checkpoints: Path | None = None) -> tuple[Record, bool]:
    """The stored record of `cfg`, or a fresh run saved to the store; (record, trained)."""
    if not force and (record := store.find(cfg)) is not None:
        return record, False
    record = train(cfg, exe, checkpoints=checkpoints, label=label)
    store.save(record)
    return record, True


def summary(cfg: RunConfig, record: Record, trained: bool) -> str:
    length = str(cfg.eval.lengths[0])
    how = f"trained in {record['provenance']['wall_time_s']:.0f} s" if trained else "cached"
    return (f"{cfg.model:<10} {cfg.task:<8} seed {cfg.seed}: L{length} char_acc "
            f"{record['final'][length]['char_acc']:.3f} ({how})")


def worker_execs(exe: ExecConfig, workers: int) -> list[ExecConfig]:
    """One exec config per worker: the visible GPUs in turn on CUDA (a fixed `cuda:i` is
    kept), a share of the cores on a CPU."""
    if exe.device.startswith("cuda"):
        if ":" in exe.device:
            return [dataclasses.replace(exe, progress=False)] * workers
        n_gpu = torch.cuda.device_count()
        if n_gpu == 0:
            raise ConfigError("device cuda: no GPU is visible")
        return [dataclasses.replace(exe, device=f"cuda:{i % n_gpu}", progress=False)
                for i in range(workers)]
    threads = exe.threads or max(1, (os.cpu_count() or 1) // workers)
    return [dataclasses.replace(exe, threads=threads, progress=False)] * workers


_WORKER_EXEC: ExecConfig | None = None  # set once in each worker process


def _claim(slots: Queue, parent: int) -> None:
    """Worker start-up: take an exec slot, and exit as soon as the grid process is gone (a
    killed grid must not leave orphans training on; checkpoints make the runs resumable)."""
    global _WORKER_EXEC
    _WORKER_EXEC = slots.get()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def worker_exec() -> ExecConfig:
    """The exec config of this worker process (inside a task of `worker_pool`)."""
    assert _WORKER_EXEC is not None, "not inside a grid worker"
    return _WORKER_EXEC


def worker_pool(exe: ExecConfig, workers: int) -> ProcessPoolExecutor:
    """`workers` spawned processes, each holding one slot of `worker_execs` for its life."""
    ctx = get_context("spawn")
    slots = ctx.Queue()
    for slot in worker_execs(exe, workers):
        slots.put(slot)
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_claim,
                               initargs=(slots, os.getpid()))


def _worker_run(cfg: RunConfig, root: str, label: str | None, force: bool) -> tuple[Record, bool]:
    return run_or_load(cfg, worker_exec(), ResultStore(Path(root)), label, force)


def run_grid(configs: list[RunConfig], exe: ExecConfig, store: ResultStore,
             label: str | None = None, force: bool = False, workers: int = 1,
             log: Log = stderr_log, backend: str = "local") -> list[Record]:
    """Run (or load) `configs` and return their records in the order given."""
    check_choice("backend", backend, BACKENDS)
    todo = [c for c in configs if force or store.find(c) is None]
    records: dict[str, Record] = {}
    for cfg in configs:
        if cfg not in todo:
            records[cfg.hash] = store.find(cfg)
            log(summary(cfg, records[cfg.hash], trained=False))
    if backend == "ray":
        for done, (cfg, record) in enumerate(run_on_ray(todo, exe, store, label, workers), 1):
            records[cfg.hash] = record
            log(f"[{done}/{len(todo)}] " + summary(cfg, record, trained=True))
    elif workers <= 1 or len(todo) <= 1:
        for cfg in todo:
            records[cfg.hash], _ = run_or_load(cfg, exe, store, label, force)
            log(summary(cfg, records[cfg.hash], trained=True))
    else:
        with worker_pool(exe, workers) as pool:
            futures = {pool.submit(_worker_run, cfg, str(store.root), label, force): cfg
                       for cfg in todo}
            for done, future in enumerate(as_completed(futures), 1):
                cfg = futures[future]
                records[cfg.hash], _ = future.result()
                log(f"[{done}/{len(todo)}] " + summary(cfg, records[cfg.hash], trained=True))
    return [records[c.hash] for c in configs]


def check_feasible(profile: Profile, configs: list[RunConfig], device: torch.device,
                   store: ResultStore, force: bool = False) -> None:
    """Refuse to start a GPU profile's missing runs on a CPU (each would take days)."""
    if profile.device != "cuda" or device.type == "cuda":
        return
    missing = [c for c in configs if force or store.find(c) is None]
    if missing:
        raise ConfigError(f"profile {profile.name} needs a GPU: {len(missing)} of its runs are "
                          f"not stored and each takes about 40 h on a CPU; run it with "
                          f"--device cuda on a GPU machine, or use profile cpu")
