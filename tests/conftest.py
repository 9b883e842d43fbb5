"""Shared fixtures: tiny architectures that keep every test on a CPU in seconds."""

from __future__ import annotations

import pytest
import torch

from artrm.config import ArchConfig, DataConfig, EvalConfig, OptimConfig
from artrm.models.compute import LoopPlan
from artrm.models.ladder import rung
from artrm.run_config import RunConfig

torch.set_num_threads(2)


def tiny_arch(**changes) -> ArchConfig:
    base = dict(n_embd=32, n_head=2, block_size=40, dropout=0.1, budget=12)
    return ArchConfig(**{**base, **changes})


def match_budget(model: str, budget: int, n_outer: int = 2, n_inner: int = 2) -> LoopPlan:
    """The loop plan of rung `model` for a budget of `budget` block passes (its budget rule,
    with H and L starting from `n_outer` and `n_inner`)."""
    return rung(model).loop_plan(ArchConfig(budget=budget, n_outer=n_outer, n_inner=n_inner))


def tiny_run(model: str = "gpt_level1", task: str = "copy", steps: int = 12,
             **changes) -> RunConfig:
    return RunConfig(
        model=model, task=task, seed=7,
        arch=changes.pop("arch", tiny_arch(budget=6)),
        data=changes.pop("data", DataConfig(train_len=3, padding="trim")),
        optim=changes.pop("optim", OptimConfig(steps=steps, batch_size=8, lr=1e-3)),
        eval=changes.pop("eval", EvalConfig(lengths=(3, 4), n_problems=8, every=4,
                                            curve_lengths=(3,))),
        **changes)


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Every test gets an empty results folder: no test reads or writes the repository's
    data/ (its records or its checkpoints), and may train there (the repository's conftest
    makes the notebooks under nbval read-only with ARTRM_STORED_ONLY=1)."""
    monkeypatch.setenv("ARTRM_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("ARTRM_STORED_ONLY", raising=False)
    return tmp_path / "data"


@pytest.fixture
def refused(data_dir, capsys):
    """check(argv, message): the CLI refuses `argv` with exit code 2 and one line on stderr
    that contains `message`, having written nothing to the results folder."""
    from artrm.cli import main

    def check(argv: list[str], message: str) -> None:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
        assert not data_dir.exists() or not any(data_dir.rglob("*"))

    return check


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The book built once per session from the committed notebooks (see bookbuild.py)."""
    from bookbuild import build_book

    return build_book(tmp_path_factory.mktemp("book"))
