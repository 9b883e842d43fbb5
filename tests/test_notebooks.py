"""The notebook runner: bad input stops before anything runs, the kernel is this environment's
Python and inherits ARTRM_DATA, and a failing cell is named by notebook, index and error."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from artrm.book import chapter as chapter_module
from artrm.book.build.notebooks import (
    SOURCE_DIR,
    NotebookFailed,
    current_env_kernel,
    notebook_names,
    parameters_cell,
    run_in_place,
    run_notebook,
    run_notebooks,
    select,
    with_values,
)
from artrm.book.build.template import VALIDATE_SOURCE
from artrm.cli import main
from artrm.errors import ConfigError
from artrm.paths import REPO


def write_notebook(folder: Path, name: str, *code: str) -> Path:
    """A notebook `name` in `folder`: a title, a `parameters` cell, then `code` cells."""
    cells = [new_markdown_cell(f"# {name}"),
             new_code_cell('profile = "cpu"\ndevice = "cpu"', metadata={"tags": ["parameters"]}),
             *(new_code_cell(source) for source in code)]
    nb = new_notebook(cells=cells)
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def stdout_of(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "".join("".join(o.get("text", "")) for c in cells if c["cell_type"] == "code"
                   for o in c["outputs"] if o["output_type"] == "stream")


BAD = [
    (["--profile", "huge"], "profile must be one of paper, cpu, smoke; got 'huge'"),
    (["--device", "tpu"], "device must be one of cpu, cuda, auto; got 'tpu'"),
    (["--device", "cuda:0"], "not available"),
    (["--only", "01_dense", "11_epilogue"], "notebook must be one of 00_overview, 01_dense"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_input_is_one_line_exit_2_before_any_notebook_runs(argv, message, tmp_path, capsys):
    if argv[-1].startswith("cuda") and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    out = tmp_path / "chapters"
    with pytest.raises(SystemExit) as exit_info:
        main(["notebooks", *argv, "--out", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_names_run_in_book_order_with_or_without_suffix():
    assert select(None) == list(notebook_names())
    assert select(["08_results.ipynb", "01_dense"]) == ["01_dense", "08_results"]


def test_a_notebook_without_a_parameters_cell_is_refused(tmp_path):
    path = write_notebook(tmp_path, "00_overview", "print(1)")
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].metadata.tags = []
    nbformat.write(nb, path)
    with pytest.raises(ConfigError, match="00_overview has no cell tagged 'parameters'"):
        run_notebooks("smoke", "cpu", tmp_path / "out", ["00_overview"], src_dir=tmp_path)


def test_kernel_is_this_python_and_sees_artrm_data_and_the_parameters(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTRM_DATA", str(tmp_path / "data"))
    jupyter_path = os.environ.get("JUPYTER_PATH")
    write_notebook(tmp_path / "src", "00_overview",
                   "import os, sys\nprint(sys.executable)\nprint(os.environ['ARTRM_DATA'])\n"
                   "print(profile, device)")
    lines: list[str] = []
    done = run_notebooks("smoke", "cpu", tmp_path / "out", ["00_overview"],
                         src_dir=tmp_path / "src", log=lines.append)
    assert stdout_of(done[0]).splitlines() == [sys.executable, str(tmp_path / "data"), "smoke cpu"]
    cells = nbformat.read(done[0], as_version=4).cells
    tagged = [c.source for c in cells
              if {"parameters", "injected-parameters"} & set(c.metadata.get("tags", []))]
    assert tagged == ['profile = "smoke"\ndevice = "cpu"'], "not one parameters cell"
    assert lines[0].startswith("[1/1] 00_overview: ") and lines[0].endswith(" s")
    assert os.environ.get("JUPYTER_PATH") == jupyter_path


def test_injected_values_replace_the_defaults_and_keep_their_comments():
    defaults = 'profile = "cpu"  # paper | cpu | smoke\nseeds = (\n    1,\n)  # é\nx = 1\n'
    merged = with_values(defaults, {"profile": '"smoke"', "seeds": "[3]", "extra": "None"})
    assert merged == ('profile = "smoke"  # paper | cpu | smoke\nseeds = [3]  # é\nx = 1\n'
                      "extra = None")


def test_a_failing_cell_is_named_and_stops_the_run(tmp_path):
    write_notebook(tmp_path, "01_dense", "x = 1", "raise ValueError('boom')", "print('after')")
    write_notebook(tmp_path, "02_iterative", "print('never runs')")
    good = tmp_path / "out" / "01_dense.ipynb"
    good.parent.mkdir()
    good.write_text("a good chapter from an earlier run")
    with pytest.raises(NotebookFailed) as failure:
        run_notebooks("smoke", "cpu", tmp_path / "out", ["01_dense", "02_iterative"],
                      src_dir=tmp_path, log=lambda _: None)
    assert failure.value.cell == 3  # index in the source notebook (papermill's cell not counted)
    assert "notebook 01_dense failed in cell 3: ValueError: boom" in str(failure.value)
    assert failure.value.output == tmp_path / "out" / "01_dense.failed.ipynb"
    assert failure.value.output.exists()  # the executed copy, with its traceback
    assert good.read_text() == "a good chapter from an earlier run"  # never replaced
    assert not (tmp_path / "out" / "02_iterative.ipynb").exists()


def test_the_cli_reports_a_failed_notebook_in_one_line_with_exit_1(monkeypatch, tmp_path, capsys):
    def fail(*args, **kwargs):
        raise NotebookFailed("05_dual_ut", 4, "RuntimeError: nan loss", tmp_path / "x.ipynb")

    monkeypatch.setattr("artrm.book.build.notebooks.run_notebooks", fail)
    with pytest.raises(SystemExit) as exit_info:
        main(["notebooks", "--profile", "smoke"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("artrm: error: notebook 05_dual_ut failed in cell 4: RuntimeError")
    assert err.count("\n") == 1


def test_stored_only_reaches_the_kernel_and_is_restored_after(tmp_path, monkeypatch):
    monkeypatch.delenv("ARTRM_STORED_ONLY", raising=False)
    write_notebook(tmp_path / "src", "00_overview",
                   "import os\nprint(os.environ.get('ARTRM_STORED_ONLY'))")
    done = run_notebooks("smoke", "cpu", tmp_path / "out", ["00_overview"],
                         src_dir=tmp_path / "src", log=lambda _: None, stored_only=True)
    assert stdout_of(done[0]) == "1\n"
    assert "ARTRM_STORED_ONLY" not in os.environ


def test_in_place_replaces_the_sources_by_their_executed_copies(tmp_path):
    source = write_notebook(tmp_path, "00_overview", "print(6 * 7)")
    write_notebook(tmp_path, "01_dense", "print('not run')")
    assert run_in_place("smoke", "cpu", ["00_overview"], src_dir=tmp_path,
                        log=lambda _: None) == [source]
    assert stdout_of(source) == "42\n"
    cells = nbformat.read(source, as_version=4).cells
    assert cells[1].source == 'profile = "smoke"\ndevice = "cpu"'  # one parameters cell
    assert stdout_of(tmp_path / "01_dense.ipynb") == ""


BAD_PARAMETERS = [
    ({"seeds": "abc"}, "seeds must be a non-empty list of integers such as [1337]; got 'abc'"),
    ({"device": 5}, "device must be a string; got 5"),
    ({"profile": 123}, "profile must be a string; got 123"),
    ({"seeds": [True]}, "seeds must be a non-empty list of integers"),
    ({"stored_only": "yes"}, "stored_only must be True or False; got 'yes'"),
    ({"force_retrain": True, "stored_only": True}, "force_retrain and stored_only exclude"),
    ({"prfile": "cpu"}, "notebook parameter must be one of profile, device, tasks, seeds, "
                        "force_retrain, stored_only; got 'prfile'"),
]


@pytest.mark.parametrize("values,message", BAD_PARAMETERS)
def test_bad_notebook_parameters_are_one_line_naming_the_parameter(values, message):
    namespace = {"profile": "smoke", "device": "cpu", "chapter": chapter_module, **values}
    with pytest.raises(ConfigError) as info:
        chapter_module.parameters(namespace)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_artrm_stored_only_must_be_1_0_or_empty(monkeypatch):
    monkeypatch.setenv("ARTRM_STORED_ONLY", "yes")
    with pytest.raises(ConfigError, match="ARTRM_STORED_ONLY must be 1 .* or 0; got 'yes'"):
        chapter_module.parameters({"profile": "smoke"})


def test_a_bad_artrm_stored_only_stops_the_cli_before_any_notebook_runs(monkeypatch, tmp_path,
                                                                       capsys):
    monkeypatch.setenv("ARTRM_STORED_ONLY", "yes")
    with pytest.raises(SystemExit) as exit_info:
        main(["notebooks", "--profile", "smoke", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and "ARTRM_STORED_ONLY" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("values,message", [BAD_PARAMETERS[0], BAD_PARAMETERS[-1]])
def test_papermill_shows_a_bad_parameter_as_the_check_cells_one_line_error(values, message,
                                                                          tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the kernel imports this checkout's artrm
    source = write_notebook(tmp_path, "01_dense", VALIDATE_SOURCE, "print('never runs')")
    with current_env_kernel(), pytest.raises(NotebookFailed) as failure:
        run_notebook("01_dense", source, tmp_path, tmp_path, {"profile": "smoke", **values})
    assert f"failed in cell 2: ConfigError: {message} (executed copy" in str(failure.value)
    cells = nbformat.read(failure.value.output, as_version=4).cells
    error = next(o for c in cells if c.cell_type == "code" for o in c.outputs
                 if o.output_type == "error")
    assert (error.ename, error.evalue) == ("ConfigError", message)  # the cell's one-line error


def test_every_notebook_checks_its_parameters_right_after_its_parameters_cell():
    for path in sorted(SOURCE_DIR.glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        after = cells[parameters_cell(path) + 1]
        assert after.source == VALIDATE_SOURCE and not after.outputs, path.name
