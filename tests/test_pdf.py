"""The book as one PDF (`make pdf`, artrm/book/pdf.py), built from the committed notebooks: a
plausible number of pages, the title on page 1, page numbers, every chapter and the
bibliography, equations typeset (no TeX left in the text) and a figure page that is not blank.

It needs Debian's chromium and poppler-utils (`make chromium` installs both as root); without
them it is skipped, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from PIL import Image

from artrm.book.notebooks import SOURCE_DIR, notebook_names
from artrm.book.pdf import BOOK, CHROMIUM, build_pdf

POPPLER = ("pdfinfo", "pdftotext", "pdftoppm", "pdfimages")
INSTALL = "install them with `make chromium` as root (apt-get install chromium poppler-utils)"
RAW_TEX = ("\\(", "\\)", "\\[", "\\]", "$$", "\\begin{", "\\frac")
TITLE = yaml.safe_load((BOOK / "_config.yml").read_text(encoding="utf-8"))["title"]


@pytest.fixture(scope="module")
def pdf(built_book) -> Path:
    """The PDF of the book built once for the tests (tests/bookbuild.py)."""
    missing = [tool for tool in POPPLER if not shutil.which(tool)]
    missing += [str(CHROMIUM)] if not CHROMIUM.exists() else []
    if missing:
        message = f"missing {', '.join(missing)}: {INSTALL}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    assert built_book.returncode == 0, "jupyter-book build failed:\n" + built_book.log[-5000:]
    return build_pdf(built_book.root)


def poppler(tool: str, *args: str) -> str:
    return subprocess.run([tool, *args], capture_output=True, text=True, check=True,
                          timeout=120).stdout


@pytest.fixture(scope="module")
def pages(pdf) -> list[str]:
    """The text of each page."""
    return poppler("pdftotext", "-layout", str(pdf), "-").split("\f")[:-1]


def words(text: str) -> str:
    """`text` with its white space collapsed and typographic apostrophes made plain."""
    return " ".join(text.replace("\u2019", "'").split())


def title(notebook: Path) -> str:
    """The notebook's title: its first markdown line, a level-1 heading."""
    first = json.loads(notebook.read_text(encoding="utf-8"))["cells"][0]["source"]
    return "".join(first).splitlines()[0].removeprefix("# ")


def test_page_count_is_plausible_for_the_chapters(pdf, pages):
    count = int(re.search(r"^Pages:\s+(\d+)", poppler("pdfinfo", str(pdf)), re.M).group(1))
    documents = len(notebook_names()) + 3  # introduction, chapters, "How to cite", references
    assert 1 + documents <= count <= 12 * documents, count  # a title page; each starts a page
    assert len(pages) == count


def test_first_page_is_the_title_page_and_pages_are_numbered(pages):
    assert TITLE in words(pages[0]), pages[0]
    assert f"2 / {len(pages)}" in pages[1], "page 2 carries no page number"


def test_every_chapter_and_the_bibliography_are_in_it(pages):
    text = words(" ".join(pages))
    titles = [title(SOURCE_DIR / f"{name}.ipynb") for name in notebook_names()]
    missing = [t for t in [*titles, "How to cite", "References"] if t not in text]
    assert not missing, f"chapters missing from the PDF: {missing}"
    bibliography = text[text.rindex("References"):]
    assert "Rauba" in bibliography and "arXiv:2603.08082" in bibliography, bibliography


def test_equations_are_typeset(pages):
    text = " ".join(pages)
    assert re.search(r"\(\d+\)", text), "no equation number in the text"
    left = {delimiter: text.count(delimiter) for delimiter in RAW_TEX if delimiter in text}
    assert not left, f"raw TeX left in the PDF: {left}"


def inked(png: Path) -> float:
    """The share of an image's pixels darker than light grey."""
    levels = Image.open(png).convert("L").histogram()  # 256 grey levels
    return sum(levels[:200]) / sum(levels)


def test_a_page_with_a_figure_is_not_blank(pdf, pages, tmp_path):
    page = str(next(i for i, text in enumerate(pages, 1) if re.search(r"Fig\. 1\b", text)))
    listed = poppler("pdfimages", "-list", "-f", page, "-l", page, str(pdf)).splitlines()[2:]
    inches = [int(row.split()[3]) / int(row.split()[12]) for row in listed]  # pixels / ppi
    assert inches and max(inches) > 3, f"page {page} (Fig. 1) shows no figure: {listed}"
    poppler("pdfimages", "-png", "-f", page, "-l", page, str(pdf), str(tmp_path / "image"))
    figure = max(tmp_path.glob("image-*.png"), key=lambda png: png.stat().st_size)
    assert inked(figure) > 0.01, f"the figure on page {page} is blank"
    poppler("pdftoppm", "-r", "40", "-png", "-f", page, "-l", page, "-singlefile", str(pdf),
            str(tmp_path / "page"))
    assert inked(tmp_path / "page.png") > 0.03, f"page {page} (Fig. 1) is nearly blank"
