"""The one GPU command runs end to end on a CPU (smoke profile, every stage reduced) and
leaves its figures, its records and a summary; a failing preflight stops it with one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import torch

from artrm.config import ExecConfig
from artrm.experiments.profiles import SMOKE
from bench import preflight

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "gpu.sh"


def test_the_gpu_command_runs_every_stage_on_a_cpu(tmp_path, data_dir):
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        ["bash", str(SCRIPT), "--device", "cpu", "--profile", "smoke", "--budget", "90",
         "--models", "trm", "ut", "--tasks", "copy", "--layouts", "1", "2", "--bench-s", "20",
         "--train-steps", "5", "--bench-steps", "3"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "gpu.json").read_text())
    pre = report["stages"]["preflight"]
    assert pre["failed"] is None and pre["kv_cache"] and pre["graphs"]
    assert set(pre["logits"]) == {"trm", "ut"} and pre["kv"]["ut"]["sample"]
    assert pre["training"]["dropout_draws"]["distinct"]
    bench = report["stages"]["bench"]
    measured = [r for r in bench["steps"] if "s_per_step" in r]
    assert {(r["model"], r["mode"]) for r in measured} == {(m, k) for m in ("trm", "ut")
                                                           for k in ("eager", "graphs")}
    assert [x["processes"] for x in bench["layouts"]] == [1, 2]
    grid = report["stages"]["grid"]
    assert grid["finished"] == 2 and grid["missing"] == 0
    assert all(r["wall_time_s"] is not None for r in grid["runs"])
    with tarfile.open(out / "records.tar.gz") as tar:
        assert len(tar.getnames()) == 2
    assert report["stages"]["done"]["total_s"] < 90
    assert done.stdout.rindex("== summary") > done.stdout.rindex("finished at step")  # last
    assert "== summary" in (out / "gpu.log").read_text()


def test_a_failing_check_stops_the_preflight_with_one_line(monkeypatch):
    monkeypatch.setitem(preflight.TOLERANCE, "fp32", -1.0)  # nothing can pass
    lines: list[str] = []
    cfgs = [SMOKE.config("gpt", "copy")]
    found = preflight.run_preflight(cfgs, ExecConfig(progress=False), torch.device("cpu"),
                                    ("fp32",), 2, lines.append)
    assert found.failed is not None and found.failed.startswith("preflight failed: logits: gpt")
    assert lines == [found.failed]  # nothing ran after it
    assert found.kv == {} and found.training == {}


def test_an_error_in_a_speed_up_check_switches_it_off_and_goes_on(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no such kernel")

    monkeypatch.setattr(preflight, "check_kv_cache", broken)
    lines: list[str] = []
    found = preflight.run_preflight([SMOKE.config("trm", "copy")], ExecConfig(progress=False),
                                    torch.device("cpu"), ("fp32",), 2, lines.append)
    assert found.failed is None and not found.kv_cache and found.graphs
    assert "kv_cache off: kv_cache: RuntimeError: no such kernel" in found.notes
    assert found.training["trm"]["eager"]  # the checks after it ran
