"""Every chapter of the built book as a reader sees it, in headless chromium (the `site` served
by tests/test_browser.py): tables without a pandas index or NaN cells and no wider than the
text column, each figure shown once, and no visible code cell that only loads, glues or
configures.

A wrapper page loads the chapters one after another in an iframe as wide as a laptop's
window and writes what it measured into its own DOM as JSON, which `--dump-dom` prints.
"""

from __future__ import annotations

import ast
import hashlib
import html as htmllib
import json
import re
from urllib.parse import unquote, urlsplit

import pytest
from test_browser import chromium, site  # noqa: F401  (the fixture serves the built book)

from artrm.book.build.notebooks import notebook_names

CHAPTERS = [f"chapters/{name}.html" for name in notebook_names()]
MISSING = {"nan", "NaN", "None", "<NA>", "NaT"}
PLUMBING_CALLS = {"glue", "print"}  # calls that only record or echo a chapter's settings

WRAPPER = """<!doctype html>
<html><body>
<pre id="verdict">pending</pre>
<iframe id="page" style="width:1280px;height:1600px"></iframe>
<script>
const pages = %(pages)s;
const frame = document.getElementById("page");
const found = {};
function inspect(doc) {
  const article = doc.querySelector("article.bd-article") || doc.body;
  const column = article.clientWidth;
  const shown = el => el.getClientRects().length > 0;
  return {
    column: column,
    tables: Array.from(article.querySelectorAll("table"), t => ({
      index: t.querySelectorAll("tbody th").length,
      cells: Array.from(t.querySelectorAll("td"), c => c.textContent.trim()),
      width: t.getBoundingClientRect().width,
      head: (t.querySelector("tr") || t).textContent.trim().slice(0, 80)})),
    images: Array.from(article.querySelectorAll("img"), i => i.getAttribute("src")),
    inputs: Array.from(article.querySelectorAll(".cell_input"))
      .filter(shown).map(c => c.textContent),
  };
}
function next(i) {
  if (i === pages.length) {
    document.getElementById("verdict").textContent = JSON.stringify(found);
    return;
  }
  frame.onload = () => { found[pages[i]] = inspect(frame.contentDocument); next(i + 1); };
  frame.src = pages[i];
}
next(0);
</script>
</body></html>
"""


@pytest.fixture(scope="module")
def pages(site, built_book, tmp_path_factory) -> dict[str, dict]:  # noqa: F811
    """What chromium measured on every chapter: tables, images and visible code inputs."""
    (built_book.html / "_pages_check.html").write_text(WRAPPER % {"pages": json.dumps(CHAPTERS)})
    proc = chromium(tmp_path_factory.mktemp("chromium"), "--virtual-time-budget=60000",
                    "--dump-dom", site + "_pages_check.html")
    verdict = re.search(r'<pre id="verdict">(.*?)</pre>', proc.stdout, re.DOTALL)
    assert verdict and verdict.group(1) != "pending", (
        f"chromium measured no page (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(htmllib.unescape(verdict.group(1)))


def is_plumbing(source: str) -> bool:
    """Whether a cell only imports, glues or sets up the chapter (`ch = chapter.chapter(...)`,
    `print(ch)`): code a reader learns nothing from."""
    try:
        statements = ast.parse(source).body
    except SyntaxError:
        return False

    def plumbing(node: ast.stmt) -> bool:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return True
        call = getattr(node, "value", None)
        if not isinstance(call, ast.Call):
            return False
        name = ast.unparse(call.func)
        return (isinstance(node, ast.Expr) and name in PLUMBING_CALLS
                or isinstance(node, ast.Assign) and name == "chapter.chapter")

    return bool(statements) and all(plumbing(node) for node in statements)


def test_is_plumbing_tells_setup_from_code_that_teaches():
    assert is_plumbing("from myst_nb import glue\n\nch = chapter.chapter(profile, device)\n"
                       "print(ch)\nglue('x', 1, display=False)")
    assert not is_plumbing("listing.show('gpt')")
    assert not is_plumbing("model = ladder.build(ch.profile, 'gpt')\nladder.describe(model)")


def test_tables_have_no_index_and_no_missing_cells(pages):
    bad = [f"{page}: {table['head']!r}" for page, found in pages.items()
           for table in found["tables"]
           if table["index"] or MISSING & set(table["cells"])]
    assert not bad, "tables with a pandas index or NaN cells:\n" + "\n".join(bad)


def test_tables_fit_the_text_column(pages):
    wide = [f"{page}: {table['head']!r} is {table['width']:.0f} px in {found['column']} px"
            for page, found in pages.items() for table in found["tables"]
            if table["width"] > found["column"] + 1]
    assert not wide, "tables wider than the text column:\n" + "\n".join(wide)


def test_every_figure_is_shown_once(pages, built_book):
    repeated = []
    for page, found in pages.items():
        folder = (built_book.html / page).parent
        digests = [hashlib.sha256((folder / unquote(urlsplit(src).path)).read_bytes()).hexdigest()
                   for src in found["images"] if not src.startswith("data:")]
        repeated += [f"{page}: an image shown {digests.count(d)} times"
                     for d in sorted(set(digests)) if digests.count(d) > 1]
    assert not repeated, "\n".join(repeated)


def test_no_visible_cell_only_glues_or_configures(pages):
    shown = [f"{page}: {source.strip()[:120]!r}" for page, found in pages.items()
             for source in found["inputs"] if is_plumbing(source)]
    assert not shown, "plumbing cells shown (tag them remove-input or hide-input):\n" + \
        "\n".join(shown)


def test_the_check_saw_every_chapter(pages):
    assert sorted(pages) == sorted(CHAPTERS)
    assert all(found["column"] > 300 for found in pages.values()), pages
    assert any(found["tables"] for found in pages.values())
