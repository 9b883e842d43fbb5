"""Build the book from the committed notebooks for the tests (nothing is executed here); the
PDF test prints the same copy (artrm/book/build/pdf.py)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from artrm.book.build.notebooks import SOURCE_DIR, copy_assets, merge_parameters, notebook_names
from artrm.book.build.pdf import BOOK, jupyter_book


@dataclass(frozen=True)
class BuiltBook:
    root: Path  # the copy of book/ that was built
    html: Path  # the site's root folder
    returncode: int
    log: str  # Jupyter Book's stdout and stderr


def build_book(dest: Path) -> BuiltBook:
    """Copy book/ to `dest`, put the committed notebooks in its chapters/ as the runner leaves
    them (one parameters cell), and build the HTML with warnings (and missing references) as
    errors."""
    src = dest / "book"
    shutil.copytree(BOOK, src, ignore=shutil.ignore_patterns("_build", "chapters"))
    chapters = src / "chapters"
    chapters.mkdir()
    for name in notebook_names():
        merge_parameters(Path(shutil.copy2(SOURCE_DIR / f"{name}.ipynb", chapters)))
    copy_assets(SOURCE_DIR, chapters)
    proc = jupyter_book("build", str(src), "--builder", "html", "-W", "-n", "--keep-going")
    return BuiltBook(src, src / "_build" / "html", proc.returncode, proc.stdout + proc.stderr)
