"""The book as one PDF (`make pdf`, artrm/book/build/pdf.py), built from the committed notebooks: a
plausible number of pages, the title on page 1, page numbers, a contents page whose numbers
are the chapters' pages, an outline of chapters and sections, links that stay inside the PDF,
every chapter and the bibliography, equations typeset (no TeX left in the text) and a figure
page that is not blank; the PDF is copied next to the HTML book, which links to it.

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
from pypdf import PdfReader

from artrm.book.build.notebooks import SOURCE_DIR, notebook_names
from artrm.book.build.pdf import BOOK, CHROMIUM, PDF_NAME, build_pdf

POPPLER = ("pdfinfo", "pdftotext", "pdftoppm", "pdfimages")
INSTALL = "install them with `make chromium` as root (apt-get install chromium poppler-utils)"
RAW_TEX = ("\\(", "\\)", "\\[", "\\]", "$$", "\\begin{", "\\frac")
MAX_PAGES = 60  # the whole book, every figure and table kept
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


@pytest.fixture(scope="module")
def reader(pdf) -> PdfReader:
    return PdfReader(pdf)


def chapter_titles() -> list[str]:
    """The chapters' titles in book order, "How to cite" and "References" last."""
    return [*(title(SOURCE_DIR / f"{name}.ipynb") for name in notebook_names()),
            "How to cite", "References"]


def test_page_count_is_plausible_for_the_chapters(pdf, pages):
    count = int(re.search(r"^Pages:\s+(\d+)", poppler("pdfinfo", str(pdf)), re.M).group(1))
    documents = len(notebook_names()) + 3  # introduction, chapters, "How to cite", references
    assert 1 + documents <= count <= 12 * documents, count  # a title page; each starts a page
    assert count <= MAX_PAGES, f"{count} pages: fold or tighten, the PDF is read on paper"
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


def test_links_stay_inside_the_pdf(reader):
    annotations = [ref.get_object() for page in reader.pages for ref in page.get("/Annots", [])]
    uris = [str(a["/A"]["/URI"]) for a in annotations if "/URI" in a.get("/A", {})]
    local = [uri for uri in uris if not uri.startswith(("https://", "http://"))]
    assert not local, f"{len(local)} links leave the PDF for a file: {local[:3]}"
    internal = [a for a in annotations if "/Dest" in a]
    assert len(internal) > 50, f"only {len(internal)} links inside the PDF (citations, equations)"


def test_outline_lists_every_chapter_at_its_page_with_its_sections(reader, pages):
    top = [entry for entry in reader.outline if not isinstance(entry, list)]
    where = {words(entry.title): reader.get_destination_page_number(entry) + 1 for entry in top}
    missing = [t for t in chapter_titles() if words(t) not in where]
    assert not missing, f"chapters missing from the outline: {missing}; it has {list(where)}"
    wrong = [t for t in chapter_titles() if words(t) not in words(pages[where[words(t)] - 1])]
    assert not wrong, f"outline entries that point at another page: {wrong}"
    assert sum(isinstance(entry, list) for entry in reader.outline) >= len(notebook_names()), \
        "the chapters' sections are not in the outline"


def test_contents_page_gives_each_chapter_its_page(pages):
    contents = words(pages[1])
    assert contents.startswith("Contents"), pages[1]
    for chapter in chapter_titles():
        found = re.search(re.escape(words(chapter)) + r" (\d+)\b", contents)
        assert found, f"no page number for {chapter!r} on the contents page: {contents}"
        assert words(chapter) in words(pages[int(found[1]) - 1]), \
            f"{chapter!r} is not on page {found[1]}, as the contents say"


def test_the_html_book_links_to_the_pdf_next_to_it(pdf, built_book):
    intro = (built_book.html / "intro.html").read_text(encoding="utf-8")
    assert f'href="{PDF_NAME}"' in intro, "the introduction does not link to the PDF"
    assert (built_book.html / PDF_NAME).read_bytes() == pdf.read_bytes()
