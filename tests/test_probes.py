"""Bad input of every kind, as a hostile new user would give it: command-line flags, archives,
records and checkpoints on disk, the environment, and the notebooks' papermill parameters.

Every probe must end with exit code 2 and one line on stderr that names the parameter or the
file at fault, and must leave the results folder exactly as it was (nothing written).
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from artrm.book import chapter
from artrm.cli import main
from artrm.config import ExecConfig
from artrm.errors import ConfigError
from artrm.results.schema import dumps
from artrm.results.store import ResultStore
from artrm.training.train import train
from tests.conftest import tiny_run

TRAIN = ["train", "--model", "gpt", "--task", "copy", "--profile", "smoke", "--no-progress"]


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its content (to prove that nothing was written)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def probe(data_dir, capsys):
    """probe(argv, message): exit code 2, one stderr line containing `message`, and the
    results folder unchanged."""
    def check(argv: list[str], message: str) -> None:
        before = tree(data_dir)
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        err = capsys.readouterr().err
        assert exit_info.value.code == 2, err
        assert message in err, err
        assert err.count("\n") == 1 and err.startswith("artrm: error: "), err
        assert tree(data_dir) == before

    return check


FLAGS = [  # (extra train flags, message)
    (["--model", "gpt3"], "model must be one of gpt, gpt_level1"),
    (["--task", "sort"], "task must be one of copy, reverse, addition"),
    (["--profile", "huge"], "profile must be one of paper, cpu, smoke"),
    (["--device", "tpu"], "device must be one of cpu, cuda, auto"),
    (["--device", "cuda:x"], "device must be cpu, cuda, cuda:<index> or auto"),
    (["--steps", "0"], "steps must lie in [1, 10,000,000]"),
    (["--steps", "-1"], "steps must lie in [1, 10,000,000]"),
    (["--steps", "ten"], "argument --steps: invalid int value"),
    (["--steps", "1e12"], "argument --steps: invalid int value"),
    (["--steps", "1000000000000"], "steps must lie in [1, 10,000,000]"),
    (["--batch-size", "-4"], "batch_size must lie in [1, 1,000,000]"),
    (["--batch-size", "100000000"], "batch_size must lie in [1, 1,000,000]"),
    (["--batch-size", "1000000"], "needs about"),
    (["--n-embd", "-8"], "n_embd must lie in [1, 65,536]"),
    (["--n-embd", "60000", "--n-head", "1"], "needs about"),
    (["--n-embd", "200000"], "n_embd must lie in [1, 65,536]"),
    (["--n-head", "5"], "n_embd must be divisible by n_head (5)"),
    (["--budget", "0"], "budget must lie in [1, 100,000]"),
    (["--model", "ut_level1", "--budget", "1"], "budget must be at least 2 for ut_level1"),
    (["--lengths", "3", "40"], "length 40 is too long for copy with block_size 16"),
    (["--lengths", "0"], "lengths must lie in [1, 100,000]"),
    (["--decoding", "beam"], "decoding must be one of sample, greedy"),
    (["--lr", "nan"], "lr must be a finite number; got nan"),
    (["--lr", "inf"], "lr must be a finite number; got inf"),
    (["--lr", "0"], "lr must lie in (0, 10]"),
    (["--lr", "-1"], "lr must lie in (0, 10]"),
    (["--lr", "abc"], "argument --lr: invalid float value"),
    (["--dropout", "1"], "dropout must lie in [0, 1)"),
    (["--model", "ut", "--ponder-weight", "nan"], "ponder_weight must be a finite number"),
    (["--model", "ut", "--ponder-weight", "-1"], "ponder_weight must be at least 0"),
    (["--seed", "1e23"], "argument --seed: invalid int value"),
    (["--seed", str(10**30)], "seed must lie in"),
    (["--precision", "fp8"], "precision must be one of fp32, tf32, bf16"),
    (["--precision", "bf16"], "precision bf16 applies on CUDA only"),
    (["--compile"], "compile applies on CUDA only"),
    (["--fused-adamw"], "fused_adamw applies on CUDA only"),
    (["--halt-loss", "0.5"], "halt_loss applies to trm only; model is gpt"),
    (["--model", "ut", "--state-norm"], "state_norm applies to ut_level1, ut_level2, trm only"),
    (["--model", "trm", "--budget", "24", "--grad-cycles", "3"],
     "grad_cycles must be at most the 2 cycles"),
    (["--pos-encoding", "alibi"], "pos_encoding must be one of learned, rope, none"),
    (["--pos-encoding", "rope", "--n-embd", "6", "--n-head", "2"],
     "pos_encoding rope needs an even head size"),
    (["--padding", "left"], "padding must be one of block, trim"),
    (["--beta1", "1"], "beta1 must lie in [0, 1)"),
    (["--eps", "0"], "eps must lie in (0, 1]"),
    (["--weight-decay", "-0.1"], "weight_decay must lie in [0, 10]"),
    (["--threads", "0"], "threads must lie in [1, 4,096]"),
    (["--eval-every", "0"], "every must lie in [1, 10,000,000]"),
    (["--n-problems", "0"], "n_problems must lie in [1, 1,000,000]"),
    (["--train-len", "0"], "train_len must lie in [1, 100,000]"),
    (["--block-size", "1"], "block_size must lie in [2, 1,000,000]"),
    (["--checkpoint-every", "0"], "checkpoint_every must lie in [1, 10,000,000]"),
    (["--curve-lengths", "0"], "curve_lengths must lie in [1, 100,000]"),
    (["--model", "trm", "--halt-exploration", "2"], "halt_exploration must lie in [0, 1]"),
    (["--model", "trm", "--halt-per", "token"], "halt_per must be one of sequence, position"),
    (["--model", "ut_level1", "--yz-init", "zero"], "yz_init must be one of learned, trained"),
    (["--n-outer", "3"], "n_outer applies to ut_level2, trm only; model is gpt"),
    (["--nonsense"], "unrecognized arguments: --nonsense"),
]


@pytest.mark.parametrize("flags,message", FLAGS, ids=[" ".join(f) for f, _ in FLAGS])
def test_bad_train_flags(probe, flags, message):
    probe(TRAIN + flags, message)


GRID = [
    (["--models", "bert"], "model must be one of gpt"),
    (["--tasks", "sort"], "task must be one of copy, reverse, addition"),
    (["--study", "--models", "ut"], "models: the study experiment has no runs of ut"),
    (["--experiment", "foo"],
     "experiment must be one of ladder, study, hl, mechanism, budget, flat"),
    (["--workers", "0"], "workers must lie in [1, 256]"),
    (["--backend", "spark"], "backend must be one of local, ray"),
    (["--time-budget", "-5"], "time-budget must be a positive number of seconds"),
    (["--partial"], "--partial applies with --time-budget only"),
    (["--time-budget", "60", "--force"], "--time-budget skips stored runs"),
    (["--profile", "paper", "--device", "cpu"], "profile paper needs a GPU"),
    (["--steps", "0"], "steps must lie in [1, 10,000,000]"),
    (["--precision", "tf32"], "precision tf32 applies on CUDA only"),
]


@pytest.mark.parametrize("flags,message", GRID, ids=[" ".join(f) for f, _ in GRID])
def test_bad_grid_flags(probe, flags, message):
    argv = ["grid", *(["--profile", "smoke"] if "--profile" not in flags else []), *flags]
    probe(argv, message)


def test_export_to_a_folder_is_refused(probe, tmp_path):
    probe(["grid", "--profile", "smoke", "--export", str(tmp_path)], "--export must name a file")


# -- archives -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def record(tmp_path_factory):
    return train(tiny_run("gpt_level1", "copy", steps=4), ExecConfig(progress=False),
                 keep_checkpoint=False)


def tar_of(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def tampered(record: dict, **changes) -> bytes:
    out = json.loads(json.dumps(record))
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            out[section][name] = value
        else:
            out[section] = value
    return json.dumps(out).encode()


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


ARCHIVES = [
    ("../evil.json", lambda r: tampered(r), "member '../evil.json' is not a record file"),
    ("notes.txt", lambda r: b"hello", "member 'notes.txt' is not a record file"),
    ("r.json", lambda r: b"{not json", "member r.json: not valid JSON"),
    ("r.json", lambda r: deep(100_000), "member r.json: not a run record (JSON nested too deeply)"),
    ("r.json", lambda r: tampered(r).replace(b'"char_acc": 0', b'"char_acc": NaN', 1),
     "member r.json: not valid JSON (NaN is not a number JSON allows"),
    ("r.json", lambda r: tampered(r, seed="x/../../../tmp/X"), "field seed must equal config.seed"),
    ("r.json", lambda r: tampered(r, seed="x/../../../tmp/X", config__seed="x/../../../tmp/X"),
     "seed must be an integer; got 'x/../../../tmp/X'"),
    ("r.json", lambda r: tampered(r, config__seed=1.5), "seed must be an integer; got 1.5"),
    ("r.json", lambda r: tampered(r, config__seed=True), "seed must be an integer; got True"),
    ("r.json", lambda r: tampered(r, config__seed=None), "seed must be an integer; got None"),
    ("r.json", lambda r: tampered(r, config__seed="abc"), "seed must be an integer; got 'abc'"),
    ("r.json", lambda r: tampered(r, config__seed=[1]), "seed must be an integer; got [1]"),
    ("r.json", lambda r: tampered(r, config__seed=1337.0), "seed must be an integer; got 1337.0"),
    ("r.json", lambda r: json.dumps({"config": r["config"], "config_hash": r["config_hash"],
                                     "schema": 2}).encode(), "field model must equal config.model"),
    ("r.json", lambda r: tampered(r, config_hash="0" * 64), "field config_hash does not match"),
    ("r.json", lambda r: tampered(r, schema=1), "config_hash does not re-derive"),
    ("r.json", lambda r: tampered(r, config__colour="red"), "config has an unknown field 'colour'"),
    ("r.json", lambda r: tampered(r, final={**r["final"],
                                            "3": {**r["final"]["3"], "char_acc": 1.5}}),
     "field final[3].char_acc must be an accuracy in [0, 1]"),
    ("r.json", lambda r: tampered(r, final={"3": r["final"]["3"]}), "must hold the lengths 3, 4"),
    ("r.json", lambda r: tampered(r, model="gpt"), "field model must equal config.model"),
    ("r.json", lambda r: b"[]", "field (top level) must be an object"),
]


@pytest.mark.parametrize("member,content,message", ARCHIVES,
                         ids=[m for _, _, m in ARCHIVES])
def test_bad_archive_members_stop_the_import(probe, record, tmp_path, member, content, message):
    good = tar_of(tmp_path / "good.tar.gz", {"a.json": dumps(record).encode()})
    bad = tar_of(tmp_path / "bad.tar.gz", {member: content(record)})
    probe(["import", str(good), str(bad)], message)  # the good archive is not imported either


def test_broken_archive_files_are_refused(probe, record, tmp_path):
    probe(["import", str(tmp_path / "missing.tar.gz")], "does not exist or is not a file")
    probe(["import", str(tmp_path)], "does not exist or is not a file")
    plain = tmp_path / "plain.tar.gz"
    plain.write_text("not gzip at all")
    probe(["import", str(plain)], "cannot be read")
    whole = tar_of(tmp_path / "whole.tar.gz", {"a.json": dumps(record).encode()}).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    probe(["import", str(cut)], "cannot be read")
    bomb = tmp_path / "zeros.tar.gz"
    bomb.write_bytes(gzip.compress(b"\0" * 10_000))  # a gzip that is no tar
    probe(["import", str(bomb)], "cannot be read")


# -- records and checkpoints on disk ---------------------------------------------------------
@pytest.fixture
def stored(data_dir):
    """One trained smoke run in the results folder, with its checkpoint."""
    cfg = tiny_run("gpt_level1", "copy", steps=4)
    path = ResultStore().save(train(cfg, ExecConfig(progress=False)))
    return cfg, path


def test_bad_eval_requests(probe, stored):
    cfg, _ = stored
    key = cfg.hash[:10]
    probe(["eval", "--run", "ffffffff"], "--run must name one stored run")
    probe(["eval", "--run", "xyz"], "--run must be a record file or 4 to 64 hex digits")
    probe(["eval", "--run", "missing.json"], "--run: no record file missing.json")
    probe(["eval", "--run", key, "--lengths", "0"], "lengths must lie in [1, 100,000]")
    probe(["eval", "--run", key, "--lengths", "30"], "length 30 is too long for copy")
    probe(["eval", "--run", key, "--decoding", "beam"], "decoding must be one of sample, greedy")
    probe(["eval", "--run", key, "--steps", "100000"], "steps must lie in [1, 48]")
    probe(["eval", "--run", key, "--n-problems", "0"], "n_problems must lie in [1, 1,000,000]")
    probe(["eval", "--run", key, "--device", "cuda"], "not available on this machine")


def test_corrupt_records_are_named_and_never_stop_other_work(probe, stored, capsys):
    cfg, path = stored
    good = path.read_bytes()
    for content, message in ((good[: len(good) // 2], "not valid JSON"), (b"", "not valid JSON"),
                             (b'{"schema": 1}', "field schema must be 2; got 1")):
        path.write_bytes(content)
        probe(["eval", "--run", str(path)], f"{path.name}: {message}")
    junk = path.with_name(path.name.replace(cfg.hash[:12], cfg.hash[:11] + "z"))
    junk.write_bytes(b"garbage")  # an unrelated file sharing the prefix
    path.write_bytes(good)
    probe(["eval", "--run", cfg.hash[:10], "--steps", "100000"], "steps must lie in")
    store = ResultStore()
    assert [r["config_hash"] for r in store.records()] == [cfg.hash]
    assert "skipping record" in capsys.readouterr().err  # reported ...
    store.records()
    assert capsys.readouterr().err == ""  # ... once


def test_corrupt_and_foreign_checkpoints_are_refused(probe, stored, data_dir):
    """A truncated checkpoint, and another run's checkpoint under this run's name."""
    from artrm.experiments.profiles import SMOKE
    from artrm.training.train import checkpoint_path

    foreign = next((data_dir / "checkpoints").rglob("checkpoint.pt")).read_bytes()
    ckpt = checkpoint_path(SMOKE.config("gpt_level1", "copy"))
    ckpt.parent.mkdir(parents=True)
    argv = ["train", "--model", "gpt_level1", "--task", "copy", "--profile", "smoke",
            "--no-progress"]
    ckpt.write_bytes(foreign[:1000])
    probe(argv, "cannot be read (")
    ckpt.write_bytes(foreign)
    probe(argv, "belongs to another run")


# -- environment and folders ----------------------------------------------------------------
def test_bad_data_folders(probe, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARTRM_DATA", "")
    probe(TRAIN, "ARTRM_DATA is set but empty")
    assert not (tmp_path / "runs").exists() and not (tmp_path / "checkpoints").exists()
    a_file = tmp_path / "file"
    a_file.write_text("x")
    monkeypatch.setenv("ARTRM_DATA", str(a_file))
    probe(TRAIN, f"ARTRM_DATA must name a folder; {a_file} is a file")
    monkeypatch.setenv("ARTRM_DATA", str(a_file / "data"))
    probe(TRAIN, "cannot be created")


def test_bad_notebook_runs(probe, tmp_path):
    from artrm.book.build.notebooks import SOURCE_DIR

    probe(["notebooks", "--out", str(SOURCE_DIR)], "--out must differ from the source")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    probe(["notebooks", "--out", str(blocker / "out")], "the output folder")
    probe(["notebooks", "--only", "nosuch"], "notebook must be one of 00_overview")
    probe(["notebooks", "--profile", "huge"], "profile must be one of paper, cpu, smoke")
    probe(["notebooks", "--device", "tpu"], "device must be one of cpu, cuda, auto")


PARAMETERS = [
    (dict(device=5), "device must be a string"),
    (dict(profile=3), "profile must be a string"),
    (dict(seeds=1337), "seeds must be a non-empty list of integers"),
    (dict(seeds=[]), "seeds must be a non-empty list of integers"),
    (dict(seeds=["1337"]), "seeds must be a non-empty list of integers"),
    (dict(tasks="copy"), "tasks must be a non-empty list of task names"),
    (dict(tasks=["sort"]), "task must be one of copy, reverse, addition"),
    (dict(force_retrain="yes"), "force_retrain must be True or False"),
    (dict(device="tpu"), "device must be one of cpu, cuda, auto"),
]


@pytest.mark.parametrize("params,message", PARAMETERS, ids=[m for _, m in PARAMETERS])
def test_bad_notebook_parameters_name_the_parameter(params, message):
    with pytest.raises(ConfigError, match=message) as err:
        chapter.chapter(**params)
    assert "\n" not in str(err.value)
