"""Execute the book's notebooks with papermill: `notebooks/<name>.ipynb` -> `book/chapters/`.

papermill is the only thing that executes notebooks; the book renders the executed copies.
Every notebook gets the parameters `profile` and `device` (its cell tagged `parameters` holds
the defaults), runs with `notebooks/` as its working directory, in a kernel started from this
Python environment, which inherits this process's environment (ARTRM_DATA included;
ARTRM_STORED_ONLY=1 with `stored_only`, so that no chapter trains or evaluates anything).
A registered rung without a notebook gets its chapter generated from the template on the fly.
The notebooks run in book order and the first failure stops the run. An executed notebook shows
one parameters cell: the values papermill injected replace the defaults in the cell tagged
`parameters`, and papermill's own cell (tagged `injected-parameters`) is dropped.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import nbformat

from artrm.book.chapter import STORED_ONLY_ENV, stored_only_forced
from artrm.book.build.template import (
    BOOK,
    SOURCE_DIR,
    chapter_notebook,
    ladder_chapters,
    notebook_names,
    rung_source,
)
from artrm.config import ExecConfig
from artrm.errors import ConfigError, check_choice
from artrm.experiments.profiles import get_profile
from artrm.paths import check_writable
from artrm.results.atomic import make_folder, writing
from artrm.training.runtime import resolve_device

CHAPTERS_DIR = BOOK / "chapters"
KERNEL_NAME = "python3"  # the name stored in the notebooks; here it starts this interpreter

Log = Callable[[str], None]


class NotebookFailed(RuntimeError):
    """A notebook stopped with an error; `cell` is its index in the source notebook."""

    def __init__(self, name: str, cell: int | None, error: str, output: Path) -> None:
        where = f" in cell {cell}" if cell is not None else ""
        super().__init__(f"notebook {name} failed{where}: {error} (executed copy: {output})")
        self.name, self.cell, self.error, self.output = name, cell, error, output


def select(names: Sequence[str] | None) -> list[str]:
    """The notebooks to run, in book order; `names` may carry the `.ipynb` suffix."""
    if not names:
        return list(notebook_names())
    wanted = {name.removesuffix(".ipynb") for name in names}
    for name in sorted(wanted):
        check_choice("notebook", name, notebook_names())
    return [name for name in notebook_names() if name in wanted]


def parameters_cell(path: Path) -> int:
    """The index of the notebook's cell tagged `parameters` (papermill injects after it)."""
    cells = json.loads(path.read_text())["cells"]
    for index, cell in enumerate(cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return index
    raise ConfigError(f"notebook {path.stem} has no cell tagged 'parameters'")


def with_values(source: str, values: Mapping[str, str]) -> str:
    """`source` with the value of each top-level `name = value` whose name is in `values`
    replaced by that value's code (comments kept); names it never assigns are appended."""
    lines = source.encode().splitlines(keepends=True)  # ast's columns count UTF-8 bytes
    unset = dict(values)
    for node in reversed(ast.parse(source).body):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id in values):
            continue
        name, value = node.targets[0].id, node.value
        first, last = value.lineno - 1, (value.end_lineno or value.lineno) - 1
        lines[first:last + 1] = [lines[first][:value.col_offset] + values[name].encode()
                                 + lines[last][value.end_col_offset:]]
        unset.pop(name, None)
    text = b"".join(lines).decode()
    added = "".join(f"\n{name} = {code}" for name, code in unset.items())
    return text.rstrip("\n") + added if added else text


def merge_parameters(path: Path) -> None:
    """Show one parameters cell in the executed notebook `path`: write the values papermill
    injected into the cell tagged `parameters` and drop papermill's `injected-parameters` cell.
    A notebook without an injected cell is left as it is."""
    import nbformat
    from papermill.translators import PythonTranslator

    nb = nbformat.read(path, as_version=4)
    injected = [i for i, cell in enumerate(nb.cells)
                if "injected-parameters" in cell.metadata.get("tags", [])]
    if not injected:
        return
    values = {name: PythonTranslator.translate(value)
              for name, value in nb.metadata.papermill.parameters.items()}
    defaults = nb.cells[parameters_cell(path)]
    defaults.source = with_values(defaults.source, values)
    nb.cells = [cell for i, cell in enumerate(nb.cells) if i not in injected]
    nbformat.write(nb, path)


def source_path(name: str, src_dir: Path, generated: Path) -> Path:
    """The notebook `name` in `src_dir`; a ladder chapter missing there is generated from the
    template into the folder `generated`."""
    path = src_dir / f"{name}.ipynb"
    model = ladder_chapters().get(name)
    if path.is_file() or model is None:
        return path
    path = generated / f"{name}.ipynb"
    nbformat.write(chapter_notebook(model, rung_source(model, src_dir / "ladder")), path)
    return path


def check_inputs(profile: str, device: str, sources: dict[str, Path]) -> None:
    """Everything that can be wrong before a notebook runs: profile, device, ARTRM_STORED_ONLY,
    files, tags."""
    get_profile(profile)
    stored_only_forced()
    resolve_device(ExecConfig(device=device).device)
    for name, path in sources.items():
        if not path.is_file():
            raise ConfigError(f"notebook {name}: no file {path}")
        parameters_cell(path)


@contextmanager
def environment(name: str, value: str | None) -> Iterator[None]:
    """The environment variable `name` set to `value` (left alone for None), then restored."""
    previous = os.environ.get(name)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


@contextmanager
def current_env_kernel() -> Iterator[None]:
    """Make the kernel `python3` start this interpreter, whatever kernelspecs are installed.

    A kernelspec in a temporary directory put first on JUPYTER_PATH overrides user and
    system specs of the same name, so the notebooks keep `python3` in their metadata.
    """
    with tempfile.TemporaryDirectory(prefix="artrm-kernel-") as tmp:
        spec_dir = Path(tmp) / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                "--IPKernelApp.log_level=ERROR"]  # no start-up chatter in the progress lines
        spec = {"argv": argv, "display_name": "Python 3 (ipykernel)", "language": "python"}
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        paths = (tmp, os.environ.get("JUPYTER_PATH"))
        with environment("JUPYTER_PATH", os.pathsep.join(p for p in paths if p)):
            yield


def copy_assets(src_dir: Path, out_dir: Path) -> None:
    """Copy the non-notebook files of `src_dir` (images the notebooks link) next to the output."""
    if src_dir.resolve() == out_dir.resolve():
        return
    for path in src_dir.iterdir():
        if path.is_file() and path.suffix != ".ipynb":
            shutil.copy2(path, out_dir / path.name)


def run_notebook(name: str, source: Path, cwd: Path, out_dir: Path,
                 parameters: dict[str, object]) -> None:
    """Execute one notebook; raise NotebookFailed naming the failing cell and the error."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    output = out_dir / f"{name}.ipynb"
    failed = out_dir / f"{name}.failed.ipynb"  # a failure never replaces a good chapter
    injected_at = parameters_cell(source) + 1
    try:
        papermill.execute_notebook(source, failed, parameters=parameters, kernel_name=KERNEL_NAME,
                                   cwd=cwd, progress_bar=False)
    except papermill.PapermillExecutionError as err:
        cell = err.cell_index - 1 if err.cell_index > injected_at else err.cell_index
        raise NotebookFailed(name, cell, f"{err.ename}: {err.evalue}", failed) from None
    except (CellTimeoutError, DeadKernelError) as err:
        raise NotebookFailed(name, None, f"{type(err).__name__}: {err}", failed) from None
    merge_parameters(failed)
    os.replace(failed, output)


def run_notebooks(profile: str, device: str, out_dir: Path = CHAPTERS_DIR,
                  names: Sequence[str] | None = None, src_dir: Path = SOURCE_DIR,
                  log: Log = print, stored_only: bool = False) -> list[Path]:
    """Execute the notebooks `names` (default: all, in book order) into `out_dir`;
    `stored_only` runs them with ARTRM_STORED_ONLY=1 (nothing is trained or evaluated).

    Bad input (profile, device, notebook name, a missing file or `parameters` cell) raises
    ConfigError before anything runs; a failing notebook raises NotebookFailed and stops the
    run. Returns the executed notebooks' paths.
    """
    selected = select(names)
    if out_dir.resolve() == src_dir.resolve():
        raise ConfigError(f"--out must differ from the source notebooks' folder {src_dir} "
                          f"(executing into it would overwrite the sources)")
    check_writable(out_dir, "the output folder")
    done: list[Path] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="artrm-generated-") as generated, \
            current_env_kernel(), environment(STORED_ONLY_ENV, "1" if stored_only else None):
        sources = {name: source_path(name, src_dir, Path(generated)) for name in selected}
        check_inputs(profile, device, sources)
        make_folder(out_dir)
        with writing(out_dir):
            copy_assets(src_dir, out_dir)
        for i, (name, source) in enumerate(sources.items(), 1):
            t0 = time.perf_counter()
            run_notebook(name, source, src_dir, out_dir, {"profile": profile, "device": device})
            log(f"[{i}/{len(selected)}] {name}: {time.perf_counter() - t0:.1f} s")
            done.append(out_dir / f"{name}.ipynb")
    log(f"{len(done)} notebooks ({profile} profile, {device}"
        f"{', stored runs only' if stored_only else ''}) in "
        f"{time.perf_counter() - start:.1f} s -> {out_dir}")
    return done


def run_in_place(profile: str, device: str, names: Sequence[str] | None = None,
                 src_dir: Path = SOURCE_DIR, log: Log = print, stored_only: bool = False
                 ) -> list[Path]:
    """Execute the notebooks, then replace the ones in `src_dir` by their executed copies (how
    the committed notebooks get their outputs); after a failure none is replaced."""
    with tempfile.TemporaryDirectory(prefix="artrm-executed-") as tmp:
        done = [Path(shutil.copy2(path, src_dir / path.name)) for path in
                run_notebooks(profile, device, Path(tmp), names, src_dir, log, stored_only)]
    log(f"{len(done)} notebooks in {src_dir} replaced by their executed copies")
    return done
