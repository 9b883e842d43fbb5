"""Run a grid of configs, reusing every run whose config hash is already in the store.

The local backend runs the grid in this process, or in `workers` processes: on a CPU the
cores are split between them (small models use cores better as separate runs), on CUDA the
workers take the visible GPUs in turn (more workers than GPUs share them: several small runs
fill a large GPU better than one). Every worker writes its own records, atomically. The ray
backend (`artrm.running.ray_backend`) runs each missing run as a Ray task instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch

from artrm.config import ExecConfig
from artrm.errors import ConfigError, check_choice
from artrm.experiments.profiles import Profile
from artrm.paths import check_writable, checkpoints_dir
from artrm.results.schema import sealed
from artrm.results.store import Record, ResultStore
from artrm.run_config import RunConfig
from artrm.running.ray_backend import run_on_ray
from artrm.running.resources import estimate
from artrm.training.reevaluate import derived_record
from artrm.training.train import (
    PENDING,
    STOP_SIGNALS,
    Interrupted,
    checkpoint_path,
    read_checkpoint,
    record_stop_signals,
    train,
)

Log = Callable[[str], None]
BACKENDS = ("local", "ray")
MAX_CPU_HOURS = 12.0
MAX_WORKERS = 256  # processes of one grid (never more than its runs)


def stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_or_load(cfg: RunConfig, exe: ExecConfig, store: ResultStore, label: str | None = None,
                force: bool = False, checkpoints: Path | None = None,
                log: Log | None = None) -> tuple[Record, str]:
    """The record of `cfg` and how it was obtained: "loaded" (stored), "re-evaluated" (a
    stored run trained the same way, evaluated again from its checkpoint) or "trained". One
    process at a time trains a run: a second one waits (saying for whom) and loads the result.
    `force` trains again from step 0."""
    if not force and (record := store.find(cfg)) is not None:
        return record, "loaded"
    store.check_save(cfg)  # writable, and the record path a file: before training
    check_writable((checkpoints or checkpoints_dir()), "the checkpoints folder")
    ckpt = checkpoint_path(cfg, checkpoints)
    if not force and ckpt.exists():  # a bad checkpoint is refused before anything is written
        read_checkpoint(ckpt, cfg, torch.device("cpu"))
    with store.training_lock(cfg, log or stderr_log):
        if not force and (record := store.find(cfg)) is not None:
            return record, "loaded"  # trained meanwhile by the process we waited for
        if not force and (source := store.find_training(cfg)) is not None:
            record, how = derived_record(source, cfg, exe.device), "re-evaluated"
        else:
            record, how = train(cfg, exe, checkpoints=checkpoints, label=label, fresh=force), \
                "trained"
        with store.record_lock(cfg):
            record = sealed(record)  # as stored
            store.save(record)
    return record, how


def summary(cfg: RunConfig, record: Record, how: str) -> str:
    length = str(cfg.eval.lengths[0])
    how = f"trained in {record['provenance']['wall_time_s']:.0f} s" if how == "trained" else how
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
_STOPPING: Any = None  # the pool's "stop" event, in each worker process
_RUNNING: Any = None  # the pool's shared array: per worker slot, the index of its run or -1
_SLOT = 0  # this worker's slot


class NotStarted(Exception):
    """A queued run that a worker did not start because the grid is stopping."""


class WorkerDied(Exception):
    """A grid worker process ended abruptly (killed, out of memory) while running a run."""


def _claim(execs: list[ExecConfig], taken: Any, running: Any, parent: int, stopping: Any
           ) -> None:
    """Worker start-up: take the next exec slot (a shared counter, so no slot waits in a
    pipe), and exit as soon as the grid process is gone (a killed grid must not leave
    orphans training on; checkpoints make the runs resumable)."""
    global _WORKER_EXEC, _STOPPING, _RUNNING, _SLOT
    with taken.get_lock():
        _SLOT, taken.value = taken.value % len(execs), taken.value + 1
    _WORKER_EXEC, _STOPPING, _RUNNING = execs[_SLOT], stopping, running
    record_stop_signals()  # a signal between runs stops the next one at its first step

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
    """`workers` spawned processes, each holding one slot of `worker_execs` for its life;
    `pool.running` holds, per slot, the index a task gave `running_as` (-1: none)."""
    ctx = get_context("spawn")
    taken = ctx.Value("q", 0)
    running = ctx.Array("q", [-1] * workers)
    stopping = ctx.Event()  # set when the grid stops: queued runs are not started
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_claim,
                               initargs=(worker_execs(exe, workers), taken, running,
                                         os.getpid(), stopping))
    pool.stopping = stopping  # type: ignore[attr-defined]
    pool.running = running  # type: ignore[attr-defined]
    return pool


@contextlib.contextmanager
def running_as(index: int) -> Iterator[None]:
    """Mark this worker's slot as running task `index` until the task ends (normally or by an
    exception): a slot still marked once the pool is shut down is a worker that died."""
    _RUNNING[_SLOT] = index
    try:
        yield
    finally:
        _RUNNING[_SLOT] = -1


def _worker_run(index: int, cfg: RunConfig, root: str, label: str | None, force: bool
                ) -> tuple[Record, str]:
    if PENDING or (_STOPPING is not None and _STOPPING.is_set()):
        raise NotStarted(cfg.hash)
    with running_as(index):
        return run_or_load(cfg, worker_exec(), ResultStore(Path(root)), label, force)


def run_name(cfg: RunConfig) -> str:
    """A run as a line names it: model, task, seed and config hash prefix."""
    return f"{cfg.model} on {cfg.task}, seed {cfg.seed}, config {cfg.hash[:12]}"


def run_grid(configs: list[RunConfig], exe: ExecConfig, store: ResultStore,
             label: str | None = None, force: bool = False, workers: int = 1,
             log: Log = stderr_log, backend: str = "local") -> list[Record]:
    """Run (or load) `configs` and return their records in the order given. SIGINT or
    SIGTERM stops dispatching at once: running runs checkpoint and stop (`Interrupted`)."""
    check_choice("backend", backend, BACKENDS)
    records: dict[str, Record] = {}
    todo = []
    for cfg in configs:
        record = None if force else store.find(cfg)
        if record is None:
            todo.append(cfg)
        else:
            records[cfg.hash] = record
            log(summary(cfg, record, "cached"))
    if backend == "ray":
        for done, (cfg, record) in enumerate(run_on_ray(todo, exe, store, label, workers), 1):
            records[cfg.hash] = record
            log(f"[{done}/{len(todo)}] " + summary(cfg, record, "trained"))
    elif workers <= 1 or len(todo) <= 1:
        for cfg in todo:
            records[cfg.hash], how = run_or_load(cfg, exe, store, label, force, log=log)
            log(summary(cfg, records[cfg.hash], how))
    else:
        _run_pool(todo, exe, store, label, force, min(workers, len(todo)), log, records)
    return [records[c.hash] for c in configs]


def _run_pool(todo: list[RunConfig], exe: ExecConfig, store: ResultStore, label: str | None,
              force: bool, workers: int, log: Log, records: dict[str, Record]) -> None:
    """Run `todo` in `workers` processes, adding their records to `records` as they finish.
    A worker that dies ends the pool (the others checkpoint and stop; finished runs are
    stored): `WorkerDied` names the run it was running."""
    with worker_pool(exe, workers) as pool:
        try:
            with forwarded_signals(pool) as caught:
                futures = {pool.submit(_worker_run, i, cfg, str(store.root), label, force): cfg
                           for i, cfg in enumerate(todo)}
                for done, future in enumerate(as_completed(futures), 1):
                    cfg = futures[future]
                    records[cfg.hash], how = future.result()
                    log(f"[{done}/{len(todo)}] " + summary(cfg, records[cfg.hash], how))
                    if caught:
                        break
        except BrokenProcessPool:
            pool.shutdown(wait=True, cancel_futures=True)
            dead = [run_name(todo[i]) for i in pool.running if i >= 0]  # never unwound
            raise WorkerDied(f"a grid worker died while running {'; '.join(dead) or 'a run'}"
                             f"; the finished runs are stored: run the same command again "
                             f"to continue") from None


@contextlib.contextmanager
def forwarded_signals(pool: ProcessPoolExecutor) -> Iterator[list[int]]:
    """SIGINT or SIGTERM to the grid: cancel every run not started yet, pass the signal on to
    the workers (each checkpoints its run and stops), and raise `Interrupted` once they have."""
    caught: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if caught:
            return
        caught.append(signum)
        pool.stopping.set()  # type: ignore[attr-defined]
        for process in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signum)

    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s in STOP_SIGNALS:
        signal.signal(s, handler)
    try:
        yield caught
    except (Interrupted, NotStarted):
        if not caught:
            raise
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        if caught:
            pool.shutdown(wait=True, cancel_futures=True)
    if caught:
        raise Interrupted(caught[0], "; the grid started nothing more and its running runs "
                          "saved checkpoints: run the same command again to continue")


def check_feasible(profile: Profile, configs: list[RunConfig], device: torch.device,
                   store: ResultStore, force: bool = False) -> None:
    """Refuse to start a GPU profile's missing runs on a CPU when they would take more than
    MAX_CPU_HOURS there (estimated from their FLOPs); shorter ones go ahead with a note."""
    if profile.device != "cuda" or device.type == "cuda":
        return
    missing = [c for c in configs if force or store.find(c) is None]
    hours = sum(estimate(c, device).seconds for c in missing) / 3600
    if hours > MAX_CPU_HOURS:
        raise ConfigError(f"profile {profile.name} needs a GPU: {len(missing)} of its runs are "
                          f"not stored and would take about {hours:,.0f} h on a CPU; run them "
                          f"with --device cuda on a GPU machine, or use profile cpu")
    if missing:
        stderr_log(f"note: profile {profile.name} is meant for a GPU; on this CPU its "
                   f"{len(missing)} missing runs take about {hours:.1f} h")
