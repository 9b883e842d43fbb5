"""The command line: real runs end to end, and one-line errors (exit 2) for bad input."""

from __future__ import annotations

import json
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
    (["grid", "--profile", "smoke", "--seeds", "1", "2", "--seed", "5"],
     "--seed and --seeds contradict each other"),
    (["grid", "--profile", "smoke", "--study", "--experiment", "ladder"],
     "--study and --experiment ladder contradict each other"),
    (["notebooks", "--generate", "--only", "gpt"], "--generate executes nothing, so --only would"),
    (["notebooks", "--generate", "--profile", "cpu", "--in-place", "--stored-only"],
     "so --profile, --stored-only, --in-place would be ignored"),
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


def test_eval_save_refuses_a_record_outside_the_store_before_evaluating(tmp_path, monkeypatch,
                                                                       capsys):
    from artrm import cli
    from artrm.config import ExecConfig
    from artrm.results.store import ResultStore
    from artrm.running.grid import run_or_load
    from tests.conftest import tiny_run

    other = ResultStore(tmp_path / "other" / "runs")
    record, _ = run_or_load(tiny_run("gpt", "copy", steps=4), ExecConfig(progress=False), other,
                            checkpoints=tmp_path / "other" / "checkpoints")
    path = other.path_for(tiny_run("gpt", "copy", steps=4))
    monkeypatch.setattr(cli, "reevaluate", lambda *a, **k: pytest.fail("evaluated"))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["eval", "--run", str(path), "--lengths", "3", "--save"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1
    assert f"--run {path} is outside the store" in err
    assert not list(ResultStore().root.glob("*.json"))


def stored_run(data_dir, capsys) -> str:
    """Train a tiny smoke run through the CLI; its config hash prefix."""
    from artrm.cli import main
    main(["train", "--model", "gpt", "--task", "copy", "--profile", "smoke", "--steps", "4",
          "--eval-every", "4", "--no-progress"])
    capsys.readouterr()
    return next((data_dir / "runs").glob("*.json")).stem.rsplit("-", 1)[-1]


def refused_on_a_stored_run(argv: list[str], message: str, data_dir, capsys) -> None:
    from artrm.cli import main
    before = {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and err.count("\n") == 1, err
    assert {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()} == before


def test_eval_refuses_bad_decoding_full_compute_without_act_and_unbounded_sizes(data_dir,
                                                                                capsys):
    run = stored_run(data_dir, capsys)
    for argv, message in [
            (["--decoding", ""], "decoding must be one of sample, greedy; got ''"),
            (["--decoding", "beam"], "decoding must be one of sample, greedy; got 'beam'"),
            (["--full-compute"], "full-compute applies to ut, ut_level1, ut_level2, trm only "
                                 "(they halt early); model is gpt"),
            (["--n-problems", "100000000"], "n_problems must lie in [1, 1,000,000]"),
            (["--n-problems", "0"], "n_problems must lie in [1, 1,000,000]"),
            (["--lengths", "3", "1000000"], "lengths must lie in [1, 100,000]")]:
        refused_on_a_stored_run(["eval", "--run", run, *argv], message, data_dir, capsys)


def test_a_label_for_a_stored_run_is_refused_unless_forced(data_dir, capsys):
    from artrm.cli import main
    stored_run(data_dir, capsys)
    argv = ["train", "--model", "gpt", "--task", "copy", "--profile", "smoke", "--steps", "4",
            "--eval-every", "4", "--no-progress", "--label", "mine"]
    refused_on_a_stored_run(argv, "--label applies to a run being trained; run ", data_dir,
                            capsys)
    refused_on_a_stored_run([*argv, "--lengths", "5"], "add --force to train it again",
                            data_dir, capsys)  # it would be re-evaluated: no label either
    main([*argv, "--force"])
    assert "trained" in capsys.readouterr().out
    [record] = [json.loads(p.read_text()) for p in (data_dir / "runs").glob("*.json")]
    assert record["label"] == "mine"
