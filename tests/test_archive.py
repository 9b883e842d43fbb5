"""Record archives: packed, verified and merged into a store; nothing bad gets in."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from artrm.cli import main
from artrm.config import ExecConfig
from artrm.errors import ConfigError
from artrm.results.archive import import_archives, pack, read_archive
from artrm.results.schema import sealed
from artrm.results.store import ResultStore
from artrm.training.train import train
from tests.conftest import tiny_run

QUIET = ExecConfig(progress=False)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    return [train(tiny_run(m, "copy", steps=4), QUIET, checkpoints=folder)
            for m in ("gpt_level1", "trm")]


def write_tar(path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_a_packed_archive_imports_into_an_empty_store(records, tmp_path):
    source = ResultStore(tmp_path / "a")
    pack(records, source, tmp_path / "r.tar.gz")
    target = ResultStore(tmp_path / "b")
    report = import_archives([tmp_path / "r.tar.gz"], target)
    assert len(report.imported) == 2 and not report.present
    for record in records:
        cfg_path = next(p for p in target.root.glob("*.json") if record["config_hash"][:12]
                        in p.name)
        assert json.loads(cfg_path.read_text()) == sealed(json.loads(json.dumps(record)))
    again = import_archives([tmp_path / "r.tar.gz"], target)
    assert not again.imported and len(again.present) == 2


def test_a_stored_run_is_kept_unless_replace(records, tmp_path):
    store = ResultStore(tmp_path / "s")
    store.save(records[0])
    changed = json.loads(json.dumps(records[0]))
    changed["label"] = "elsewhere"
    pack([changed], store, tmp_path / "r.tar.gz")
    assert import_archives([tmp_path / "r.tar.gz"], store).present
    assert store.records(label="elsewhere") == []
    report = import_archives([tmp_path / "r.tar.gz"], store, replace=True)
    assert report.replaced and len(store.records(label="elsewhere")) == 1


@pytest.mark.parametrize("member,message", [
    ("../evil.json", "is not a record file"),
    ("notes.txt", "is not a record file"),
    ("r.json", "config_hash does not match the config"),
])
def test_a_bad_member_stops_the_whole_import(records, tmp_path, member, message):
    tampered = json.loads(json.dumps(records[1]))
    tampered["config"]["optim"]["steps"] = 5  # the hash no longer matches
    pack(records[:1], ResultStore(tmp_path), tmp_path / "good.tar.gz")
    write_tar(tmp_path / "bad.tar.gz", {member: json.dumps(tampered).encode()})
    store = ResultStore(tmp_path / "store")
    with pytest.raises(ConfigError, match=message):
        import_archives([tmp_path / "good.tar.gz", tmp_path / "bad.tar.gz"], store)
    assert not store.root.exists() or not any(store.root.iterdir())  # the good one neither


def test_an_unreadable_archive_is_one_clear_error(tmp_path):
    (tmp_path / "x.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(ConfigError, match="cannot be read"):
        read_archive(tmp_path / "x.tar.gz")


def test_importing_a_missing_archive_is_one_line_exit_2(data_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["import", "missing.tar.gz"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "archive missing.tar.gz does not exist" in err and err.count("\n") == 1, err


def test_replace_refuses_a_damaged_member_whose_config_still_hashes_right(records, tmp_path):
    store = ResultStore(tmp_path / "s")
    store.save(records[0])
    pack([records[0]], store, tmp_path / "r.tar.gz")
    with tarfile.open(tmp_path / "r.tar.gz") as tar:
        member = tar.getmembers()[0]
        damaged = json.loads(tar.extractfile(member).read())
    damaged["final"]["3"]["char_acc"] = 1.0
    damaged["history"][-1]["eval"] = damaged["final"]
    write_tar(tmp_path / "d.tar.gz", {member.name: json.dumps(damaged).encode()})
    with pytest.raises(ConfigError, match=f"member {member.name}: field content_digest"):
        import_archives([tmp_path / "d.tar.gz"], store, replace=True)
    assert store.records() == [sealed(records[0])]


def test_a_member_name_cannot_forge_an_error_line(records, tmp_path, data_dir, capsys):
    forged = "r\nartrm: error: all is well\x1b[2K.json"
    write_tar(tmp_path / "bad.tar.gz", {forged: b"{not json"})
    with pytest.raises(ConfigError, match=r"member r\\nartrm: error: all is well\\x1b\[2K"):
        read_archive(tmp_path / "bad.tar.gz")
    with pytest.raises(SystemExit) as exit_info:
        main(["import", str(tmp_path / "bad.tar.gz")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and "\x1b" not in err, err
    assert err.count("artrm: error:") == 2 and err.startswith("artrm: error: archive ")
    assert "member r\\nartrm: error: all is well\\x1b[2K.json: not valid JSON" in err


def test_error_lines_escape_every_control_character(data_dir, capsys):
    with pytest.raises(SystemExit):
        main(["import", "missing\rartrm: error: forged\n.tar.gz"])
    err = capsys.readouterr().err
    assert err == "artrm: error: archive missing\\rartrm: error: forged\\n.tar.gz does not " \
                  "exist or is not a file\n"
