"""The benchmark runs end to end (smallest settings) and writes a complete result file.

Speeds are not asserted here: they belong to the benchmark's output, not to a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench.py"


def run_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True)


def test_the_quick_benchmark_writes_every_section(tmp_path):
    done = run_bench("--quick", "--configs", "smoke", "--models", "trm", "gpt_level1",
                     "--scaling-models", "gpt_level1", "--concurrency-models", "trm",
                     "--threads", "1", "--cheap-steps", "2", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    path = next(tmp_path.glob("*.json"))
    result = json.loads(path.read_text())
    assert result["machine"]["cores"] >= 1 and result["machine"]["torch"]
    assert "commit" in result["machine"]["git"]
    assert result["peak_flop_rate"]["fp32"] > 0
    train = {r["model"]: r for r in result["train"]}
    assert set(train) == {"trm", "gpt_level1"}
    trm = train["trm"]
    assert trm["passes_forward"] == 6 and trm["passes_backward"] == 3  # smoke: budget 6
    assert trm["flops"]["total"] > 0 and 0 < trm["peak_fraction"]
    assert trm["memory_mib"]["peak"] >= trm["memory_mib"]["resident_before"] > 0
    assert trm["threads"] == 1 and len(trm["step_times"]) == result["settings"]["cheap_steps"]
    for key in ("sample", "greedy_all_wrong", "one_pass"):
        assert trm["eval"][key]["problems_per_s"] > 0
    scaling = result["scaling"]["gpt_level1"]
    assert scaling["budget"]["x"] == [6, 24] and scaling["length"]["x"] == [10, 30]
    assert "fit" in scaling["budget"]
    layouts = {x["layout"]: x for x in result["layouts"]}
    assert layouts.keys() >= {f"{result['machine']['cores']}x1"}
    assert path.with_suffix(".png").stat().st_size > 0
    assert "== training" in done.stdout and "== processes at once" in done.stdout


@pytest.mark.parametrize("args,message", [
    (["--models", "bert"], "model must be one of"),
    (["--configs", "huge"], "config must be one of paper, paper-trim, cpu, smoke"),
    (["--precisions", "bf16"], "precision must be one of fp32"),
    (["--device", "cuda"], "not available"),
    (["--steps", "0"], "steps must be positive"),
])
def test_bad_input_is_one_line_exit_2(args, message, tmp_path):
    done = run_bench(*args, "--out", str(tmp_path))
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not any(tmp_path.iterdir())
