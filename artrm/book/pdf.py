"""The book as one PDF: Jupyter Book's single-page HTML of book/, printed by headless chromium.

Nothing is executed or downloaded. The pages are the executed chapters in book/chapters/ (as
for the HTML book); a copy of the single page gets a title page, a page break before each
chapter and page numbers (a print stylesheet); chromium loads it from disk, runs its scripts
in virtual time (the vendored MathJax typesets every equation before the budget is spent) and
prints it. `python -m artrm.book.pdf` writes book/_build/pdf/artrm-book.pdf and prints its path.
"""

from __future__ import annotations

import html
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from artrm.paths import REPO

BOOK = REPO / "book"
CHROMIUM = Path("/usr/bin/chromium")
INSTALL = ("install it with `apt-get install chromium` as root (`make chromium` does it; "
           ".ci/run does it in CI)")
PDF_NAME = "artrm-book.pdf"
VIRTUAL_TIME_MS = 60_000  # page time for MathJax; virtual time skips idle waits, so it is not spent

# Jupyter Book's print-only block at the top of the page (a heading and the contents): the
# title page goes first in it. Page numbers are @page margin boxes (chromium 131 or later).
PRINT_BLOCK = '<div id="jb-print-docs-body" class="onlyprint">'
PRINT_CSS = """<style>
@page { size: A4; margin: 18mm 16mm 20mm;
        @bottom-center { content: counter(page) " / " counter(pages); font: 9pt sans-serif; } }
@page :first { @bottom-center { content: none; } }
@media print {
  .artrm-title-page { break-after: page; padding-top: 70mm; text-align: center; }
  .artrm-title-page h1 { font-size: 2.4em !important; margin-bottom: 1em !important; }
  .artrm-title-page p { font-size: 1.2em; }
  span[id^="document-"] + section { break-before: page; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; }
  .cell_output, .output, .highlight, .table-wrapper { overflow: visible !important; }
  table { font-size: 0.8em; }
  figure, img, .cell_input, .admonition { break-inside: avoid; }
}
</style>
"""


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
    """The first page: the book's title, its authors and copyright year (book/_config.yml)."""
    return (f'<section class="artrm-title-page"><h1>{html.escape(config["title"])}</h1>'
            f'<p>{html.escape(config["author"])}</p><p>{html.escape(str(config["copyright"]))}'
            "</p></section>")


def print_page(single_html: Path, config: dict[str, str]) -> Path:
    """Write the page chromium prints, next to the single page (so its links resolve)."""
    page = single_html.read_text(encoding="utf-8")
    if PRINT_BLOCK not in page or "</head>" not in page:
        raise PdfError(f"{single_html} has no print block: has the book's theme changed?")
    page = page.replace("</head>", PRINT_CSS + "</head>", 1)
    page = page.replace(PRINT_BLOCK, PRINT_BLOCK + title_page(config), 1)
    out = single_html.with_name("_print.html")
    out.write_text(page, encoding="utf-8")
    return out


def build_pdf(book: Path = BOOK) -> Path:
    """Build `book` as one HTML page (warnings as errors) and print it to
    `book/_build/pdf/artrm-book.pdf`; return that path."""
    if not CHROMIUM.exists():
        raise PdfError(f"{CHROMIUM} is missing: {INSTALL}")
    proc = jupyter_book("build", str(book), "--builder", "singlehtml", "-W", "-n", "--keep-going")
    if proc.returncode:
        raise PdfError("jupyter-book build --builder singlehtml failed:\n"
                       + (proc.stdout + proc.stderr)[-5000:])
    config = yaml.safe_load((book / "_config.yml").read_text(encoding="utf-8"))
    root = yaml.safe_load((book / "_toc.yml").read_text(encoding="utf-8"))["root"]
    page = print_page(book / "_build" / "singlehtml" / f"{root}.html", config)
    pdf = book / "_build" / "pdf" / PDF_NAME
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="artrm-chromium-") as profile:
        printed = subprocess.run(
            chromium_command(Path(profile), "--no-pdf-header-footer",
                             f"--virtual-time-budget={VIRTUAL_TIME_MS}",
                             f"--print-to-pdf={pdf}", page.as_uri()),
            capture_output=True, text=True, check=False, timeout=300)
    if not pdf.is_file():
        raise PdfError(f"chromium wrote no PDF (exit {printed.returncode}):\n"
                       + printed.stderr[-3000:])
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
