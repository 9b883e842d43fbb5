"""Build the book from the committed notebooks for the tests (nothing is executed here)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from artrm.notebooks import NOTEBOOKS, SOURCE_DIR, copy_assets, merge_parameters
from artrm.paths import REPO

BOOK = REPO / "book"


@dataclass(frozen=True)
class BuiltBook:
    html: Path  # the site's root folder
    returncode: int
    log: str  # Jupyter Book's stdout and stderr


def jupyter_book(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the `jupyter-book` command of this environment."""
    code = "from jupyter_book.cli.main import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=False, timeout=900)


def build_book(dest: Path) -> BuiltBook:
    """Copy book/ to `dest`, put the committed notebooks in its chapters/ as the runner leaves
    them (one parameters cell), and build the HTML with warnings (and missing references) as
    errors."""
    src = dest / "book"
    shutil.copytree(BOOK, src, ignore=shutil.ignore_patterns("_build", "chapters"))
    chapters = src / "chapters"
    chapters.mkdir()
    for name in NOTEBOOKS:
        merge_parameters(Path(shutil.copy2(SOURCE_DIR / f"{name}.ipynb", chapters)))
    copy_assets(SOURCE_DIR, chapters)
    proc = jupyter_book("build", str(src), "--builder", "html", "-W", "-n", "--keep-going")
    return BuiltBook(src / "_build" / "html", proc.returncode, proc.stdout + proc.stderr)
