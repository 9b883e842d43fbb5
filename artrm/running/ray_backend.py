"""The grid's ray backend: every missing run is one Ray task.

On CUDA a task asks Ray for one GPU (Ray sets CUDA_VISIBLE_DEVICES, so the run sees it as
`cuda`); on a CPU it asks for the cores a local worker would get (all cores // workers). A
task returns its record and the driver writes it into the results store, so the store gets
exactly the files of a local grid even when tasks ran on other machines (checkpoints stay
where each task ran). Ray connects to the cluster named by RAY_ADDRESS when that is set,
else starts a local instance and stops it at the end; a Ray already initialised in this
process (a notebook, a test) is used as it is. Tasks on other machines need artrm installed
there (or a Ray runtime_env that ships it).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from artrm.config import ExecConfig, RunConfig
from artrm.errors import ConfigError
from artrm.results.store import Record, ResultStore
from artrm.training.train import train


def import_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise ConfigError("backend ray needs the ray package: pip install 'artrm[ray]'") from None
    return ray


def task_exec(exe: ExecConfig, workers: int) -> tuple[ExecConfig, dict[str, Any]]:
    """The exec config of every task and the resources it asks Ray for."""
    if exe.device.startswith("cuda"):
        return dataclasses.replace(exe, device="cuda", progress=False), {"num_gpus": 1}
    threads = exe.threads or max(1, (os.cpu_count() or 1) // workers)
    return dataclasses.replace(exe, threads=threads, progress=False), {"num_cpus": threads}


def _train_task(cfg: RunConfig, exe: ExecConfig, label: str | None) -> Record:
    """One run inside a Ray worker; its record goes back to the driver."""
    record = train(cfg, exe, label=label)
    assert record is not None  # no stop_at: the run trains to its last step
    return record


def run_on_ray(todo: list[RunConfig], exe: ExecConfig, store: ResultStore, label: str | None,
               workers: int) -> Iterator[tuple[RunConfig, Record]]:
    """Run `todo` as Ray tasks; yield (config, record) as each finishes, once stored."""
    ray = import_ray()
    if not todo:
        return
    started = not ray.is_initialized()
    if started:
        ray.init(include_dashboard=False)
    try:
        task_exe, resources = task_exec(exe, workers)
        remote = ray.remote(_train_task).options(**resources)
        pending = {remote.remote(cfg, task_exe, label): cfg for cfg in todo}
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            cfg = pending.pop(ref)
            record = ray.get(ref)
            store.save(record)
            yield cfg, record
    finally:
        if started:
            ray.shutdown()
