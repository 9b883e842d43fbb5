"""The ray backend, on a local Ray instance: the same record files as the local backend."""

from __future__ import annotations

import os

import pytest
import ray

from artrm.config import ExecConfig
from artrm.experiments.profiles import SMOKE
from artrm.results.store import ResultStore
from artrm.running.grid import run_grid
from artrm.running.ray_backend import task_exec

EXE = ExecConfig(progress=False, threads=1)
CONFIGS = SMOKE.configs(models=("gpt_level1", "trm"), tasks=("copy",))


@pytest.fixture(scope="module")
def ray_data(tmp_path_factory):
    """A local Ray whose workers keep their checkpoints in a folder of their own."""
    folder = tmp_path_factory.mktemp("ray_data")
    saved = os.environ.get("ARTRM_DATA")
    os.environ["ARTRM_DATA"] = str(folder)  # inherited by the Ray workers
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 2**20,
             log_to_driver=False)
    try:
        yield folder
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("ARTRM_DATA")
        else:
            os.environ["ARTRM_DATA"] = saved


def strip(record):
    return {k: v for k, v in record.items()  # the digest covers the provenance
            if k not in ("provenance", "content_digest")}


def test_ray_tasks_write_the_records_a_local_grid_writes(ray_data, tmp_path, monkeypatch):
    on_ray = ResultStore(tmp_path / "ray")
    ray_records = run_grid(CONFIGS, EXE, on_ray, backend="ray", workers=2, log=lambda _: None)
    assert any((ray_data / "checkpoints").rglob("checkpoint.pt"))  # trained in the workers
    monkeypatch.setenv("ARTRM_DATA", str(tmp_path / "local_data"))  # no shared checkpoints
    local = ResultStore(tmp_path / "local")
    local_records = run_grid(CONFIGS, EXE, local, log=lambda _: None)
    assert sorted(p.name for p in on_ray.root.glob("*.json")) == \
        sorted(p.name for p in local.root.glob("*.json"))
    assert [strip(r) for r in ray_records] == [strip(r) for r in local_records]
    assert all(r["provenance"]["exec"]["threads"] == 1 for r in ray_records)
    logged = []
    run_grid(CONFIGS, EXE, on_ray, backend="ray", log=logged.append)  # nothing to train
    assert len(logged) == 2 and all(line.endswith("(cached)") for line in logged)


def test_a_task_asks_for_one_gpu_or_a_share_of_the_cores():
    exe, resources = task_exec(ExecConfig(device="cuda:1"), workers=4)
    assert resources == {"num_gpus": 1} and exe.device == "cuda"  # Ray picks the GPU
    exe, resources = task_exec(ExecConfig(), workers=os.cpu_count() or 1)
    assert resources == {"num_cpus": 1} and exe.threads == 1 and not exe.progress
