"""The book as one PDF: Jupyter Book's single-page HTML of book/, printed by headless chromium.

Nothing is executed or downloaded. The pages are the executed chapters in book/chapters/ (as
for the HTML book); a copy of the single page gets a title page, a contents page with page
numbers, a page break before each chapter, page numbers and a print stylesheet (code cells
folded away, headings kept with what follows them), and its links point inside the page.
Chromium loads it from disk, runs its scripts in virtual time (the vendored MathJax typesets
every equation before the budget is spent) and prints it with an outline of the headings. The
contents' page numbers come from the printed PDF's named destinations (one per chapter): the
page is printed again until they no longer change (twice, in practice).
`python -m artrm.book.build.pdf` writes book/_build/pdf/artrm-book.pdf, copies it next to the HTML
book's root page (which links to it) when that exists, and prints its path.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from pypdf import PdfReader

from artrm.paths import REPO

BOOK = REPO / "book"
CHROMIUM = Path("/usr/bin/chromium")
INSTALL = ("install it with `apt-get install chromium` as root (`make chromium` does it; "
           ".ci/run does it in CI)")
PDF_NAME = "artrm-book.pdf"
MAX_PRINTS = 3  # the contents need two: placeholders, then the numbers found
VIRTUAL_TIME_MS = 60_000  # page time for MathJax; virtual time skips idle waits, so it is not spent

# Jupyter Book's print-only block at the top of the page (a heading and the contents): the
# title page replaces its heading. Page numbers are @page margin boxes (chromium 131 or later).
PRINT_BLOCK = '<div id="jb-print-docs-body" class="onlyprint">'
PRINT_HEADING = re.compile(r"\s*<h1>[^<]*</h1>")
CONTENTS_LINK = re.compile(r'(<a class="reference internal nav-link" href="#(document-[^"]+)">'
                           r'.*?</a>)')
PRINT_CSS = """<style>
@page { size: A4; margin: 12mm 13mm 15mm;
        @bottom-center { content: counter(page) " / " counter(pages); font: 9pt sans-serif; } }
@page :first { @bottom-center { content: none; } }
@media print {
  html { font-size: 11px; }
  p, li { line-height: 1.4; }
  h1 { margin-top: 0; } h2, h3 { margin-top: 1em; margin-bottom: 0.4em; }
  .artrm-title-page { break-after: page; padding-top: 70mm; text-align: center; }
  .artrm-title-page .artrm-title { font-size: 2.4em; font-weight: bold; margin-bottom: 1em; }
  .artrm-title-page p { font-size: 1.2em; }
  #jb-print-toc { break-after: page; }
  #jb-print-toc nav, #jb-print-toc ul.section-nav { display: block !important; width: auto; }
  #jb-print-toc ul.section-nav { list-style: none !important; padding-left: 1.5em;
                                 margin: 0 0 0.6em 0 !important; }
  .artrm-entry { display: flex; align-items: baseline; width: 100%; }
  .artrm-entry > a { display: inline; flex: none; padding: 0 !important; }
  #jb-print-toc li::marker, #jb-print-toc li::before { content: none !important; }
  .artrm-leader { flex: 1 1 auto; min-width: 2em; align-self: flex-end;
                  border-bottom: 1px dotted #888; margin: 0 0.4em 0.3em; }
  span[id^="document-"] { display: block; break-before: page; }
  span#document-ladder_guide, span#document-references { break-before: auto; }
  h1, h2, h3, h4, h5, h6, .caption { break-after: avoid; }
  figure, img, tr, .admonition, #jb-print-toc li { break-inside: avoid; }
  .cell_input, .artrm-html-only, details.above-input,
  .tag_artrm-print-fold .cell_output { display: none !important; }
  img { object-fit: contain; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.85em; line-height: 1.3; }
  .cell_output, .output, .highlight, .table-wrapper { overflow: visible !important; }
  table { font-size: 0.8em; line-height: 1.25; }
  article table th, article table td { padding: 0.1em 0.4em; }
}
</style>
"""
CODE_NOTE = ("In this PDF the code cells and the rungs' code listings are folded away; the HTML "
             "book and the notebooks show them.")
class PdfError(RuntimeError):
    """The PDF could not be built (the message says why)."""


def chromium_command(profile: Path, *args: str) -> list[str]:
    """Headless chromium with the profile folder `profile`, no sandbox (root), no GPU and no
    background connections."""
    return [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--hide-scrollbars", f"--user-data-dir={profile}", *args]


def jupyter_book(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the `jupyter-book` command of this environment."""
    code = "from jupyter_book.cli.main import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=False, timeout=900)


def title_page(config: dict[str, str]) -> str:
    """The first page: the book's title, its authors, copyright year (book/_config.yml) and
    what the PDF leaves out. The title is no heading, so the outline starts at the contents."""
    return (f'<section class="artrm-title-page"><p class="artrm-title">'
            f'{html.escape(config["title"])}</p><p>{html.escape(config["author"])}</p>'
            f'<p>{html.escape(str(config["copyright"]))}</p><p>{CODE_NOTE}</p></section>')


def numbered_contents(page: str, numbers: dict[str, int]) -> str:
    """`page` with each chapter of the contents followed by a dotted leader and its page
    number (`numbers`, by the chapter's anchor; 0 while not known), and the contents' part
    captions made plain text, so that the outline lists only the headings."""
    def number(match: re.Match[str]) -> str:
        return (f'<span class="artrm-entry">{match[1]}<span class="artrm-leader"></span>'
                f'<span class="artrm-page">{numbers.get(match[2], 0)}</span></span>')

    head, sep, rest = page.partition('<div id="jb-print-toc">')
    toc, end, tail = rest.partition("</nav>")
    toc = CONTENTS_LINK.sub(number, toc).replace(' role="heading"', "")
    return head + sep + toc + end + tail


def in_document_links(page: str, name: str) -> str:
    """`page` (the single page `name`) with its links to itself made `#anchor` links, which
    stay inside the PDF instead of pointing at the HTML file."""
    return page.replace(f'href="{name}#', 'href="#').replace(f'href="{name}"', 'href="#"')


def intro_one_level_down(page: str) -> str:
    """`page` with the root document's headings one level down (h1 to h2, h2 to h3), so that
    in the outline the introduction sits beside the chapters, not above them."""
    start = page.index("<h1", page.index(PRINT_BLOCK) + len(PRINT_BLOCK))
    end = page.index('<span id="document-', start)
    intro = page[start:end]
    for level in (2, 1):
        intro = intro.replace(f"<h{level}", f"<h{level + 1}").replace(f"</h{level}>",
                                                                       f"</h{level + 1}>")
    return page[:start] + intro + page[end:]


def print_page(single_html: Path, config: dict[str, str], numbers: dict[str, int]) -> Path:
    """Write the page chromium prints, next to the single page (so its assets resolve), with
    the contents' page numbers `numbers` (by chapter anchor)."""
    page = single_html.read_text(encoding="utf-8")
    if PRINT_BLOCK not in page or "</head>" not in page or '<div id="jb-print-toc">' not in page:
        raise PdfError(f"{single_html} has no print block: has the book's theme changed?")
    page = page.replace("</head>", PRINT_CSS + "</head>", 1)
    head, block, rest = page.partition(PRINT_BLOCK)
    page = head + block + title_page(config) + PRINT_HEADING.sub("", rest, count=1)
    page = intro_one_level_down(in_document_links(numbered_contents(page, numbers),
                                                  single_html.name))
    out = single_html.with_name("_print.html")
    out.write_text(page, encoding="utf-8")
    return out


def chapter_pages(pdf: Path) -> dict[str, int]:
    """The page (from 1) where each chapter starts in `pdf`, by its anchor (`document-...`):
    chromium writes a named destination for every anchor a link points to."""
    reader = PdfReader(pdf)
    return {name.lstrip("/"): reader.get_destination_page_number(dest) + 1
            for name, dest in reader.named_destinations.items()
            if name.lstrip("/").startswith("document-")}


def chromium_print(page: Path, pdf: Path) -> None:
    """Print `page` to `pdf` with an outline of its headings."""
    pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="artrm-chromium-") as profile:
        printed = subprocess.run(
            chromium_command(Path(profile), "--no-pdf-header-footer",
                             "--generate-pdf-document-outline",
                             f"--virtual-time-budget={VIRTUAL_TIME_MS}",
                             f"--print-to-pdf={pdf}", page.as_uri()),
            capture_output=True, text=True, check=False, timeout=300)
    if not pdf.is_file():
        raise PdfError(f"chromium wrote no PDF (exit {printed.returncode}):\n"
                       + printed.stderr[-3000:])


def build_pdf(book: Path = BOOK) -> Path:
    """Build `book` as one HTML page (warnings as errors) and print it to
    `book/_build/pdf/artrm-book.pdf`, copied to `book/_build/html/` when the HTML book is
    there; return the first path."""
    if not CHROMIUM.exists():
        raise PdfError(f"{CHROMIUM} is missing: {INSTALL}")
    proc = jupyter_book("build", str(book), "--builder", "singlehtml", "-W", "-n", "--keep-going")
    if proc.returncode:
        raise PdfError("jupyter-book build --builder singlehtml failed:\n"
                       + (proc.stdout + proc.stderr)[-5000:])
    config = yaml.safe_load((book / "_config.yml").read_text(encoding="utf-8"))
    root = yaml.safe_load((book / "_toc.yml").read_text(encoding="utf-8"))["root"]
    single = book / "_build" / "singlehtml" / f"{root}.html"
    pdf = book / "_build" / "pdf" / PDF_NAME
    pdf.parent.mkdir(parents=True, exist_ok=True)
    numbers: dict[str, int] = {}
    for _ in range(MAX_PRINTS):
        chromium_print(print_page(single, config, numbers), pdf)
        printed, numbers = numbers, chapter_pages(pdf)
        if printed == numbers:
            break
    else:
        raise PdfError(f"the contents' page numbers did not settle in {MAX_PRINTS} prints")
    site = book / "_build" / "html"
    if site.is_dir():
        shutil.copy2(pdf, site / PDF_NAME)
    return pdf


def main() -> None:
    try:
        pdf = build_pdf()
    except PdfError as err:
        print(f"artrm: error: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"The PDF: {pdf}")


if __name__ == "__main__":
    main()
