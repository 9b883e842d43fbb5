"""The command line: real runs end to end, and one-line errors (exit 2) for bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run_cli(*args: str, env_dir=None):
    import os
    env = {**os.environ, "ARTRM_DATA": str(env_dir)} if env_dir else None
    return subprocess.run([sys.executable, "-m", "artrm", *args], capture_output=True, text=True,
                          env=env)


BAD = [
    (["train", "--model", "gpt3", "--task", "copy"], "model must be one of gpt, gpt_level1"),
    (["train", "--model", "gpt", "--task", "sort"], "task must be one of copy, reverse, addition"),
    (["train", "--model", "gpt", "--task", "copy", "--profile", "huge"],
     "profile must be one of paper, cpu, smoke"),
    (["train", "--model", "gpt", "--task", "copy", "--device", "tpu"],
     "device must be one of cpu, cuda, auto"),
    (["train", "--model", "gpt", "--task", "copy", "--device", "cuda"], "not available"),
    (["train", "--model", "gpt", "--task", "copy", "--steps", "0"],
     "steps must lie in [1, 10,000,000]"),
    (["train", "--model", "gpt", "--task", "copy", "--batch-size", "-4"],
     "batch_size must lie in [1, "),
    (["train", "--model", "gpt", "--task", "copy", "--n-embd", "-8"], "n_embd must lie in [1, "),
    (["train", "--model", "ut_level1", "--task", "copy", "--budget", "1"],
     "budget must be at least 2 for ut_level1"),
    (["train", "--model", "gpt", "--task", "copy", "--budget", "0"], "budget must lie in [1, "),
    (["train", "--model", "gpt", "--task", "addition", "--lengths", "10", "40"],
     "length 40 is too long for addition with block_size 100"),
    (["train", "--model", "gpt", "--task", "copy", "--decoding", "beam"],
     "decoding must be one of sample, greedy"),
    (["grid", "--profile", "cpu", "--models", "gpt", "bert"], "model must be one of"),
    (["grid", "--profile", "paper", "--device", "cpu"], "profile paper needs a GPU"),
    (["eval", "--run", "ffffffff"], "--run must name one stored run"),
    (["grid", "--profile", "smoke", "--workers", "400"], "workers must lie in [1, 256]; got 400"),
    (["grid", "--profile", "smoke", "--workers", "0"], "workers must lie in [1, 256]; got 0"),
    (["train", "--model", "gpt", "--task", "copy", "--steps", "ten"], "invalid int value"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, message, refused):
    refused(argv, message)


def test_train_then_reuse_then_eval_from_the_command_line(tmp_path):
    args = ["train", "--model", "ut_level1", "--task", "copy", "--profile", "smoke",
            "--no-progress"]
    first = run_cli(*args, env_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "trained" in first.stdout and "char_acc" in first.stdout
    second = run_cli(*args, env_dir=tmp_path)
    assert "loaded from the store" in second.stdout
    key = next((tmp_path / "runs").glob("*.json")).stem.rsplit("-", 1)[-1]
    ev = run_cli("eval", "--run", key, "--lengths", "5", "--decoding", "greedy", env_dir=tmp_path)
    assert ev.returncode == 0, ev.stderr
    assert "decoding greedy" in ev.stdout and "\n     5" in ev.stdout
