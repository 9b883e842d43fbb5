"""The book: it builds from the committed notebooks with warnings as errors, every page,
figure, numbered equation and the bibliography is in the HTML, each chapter shows one
parameters cell and links its executed notebook, the pages load nothing from the network,
and every notebook runs end to end on the smoke profile."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from artrm.book.build.notebooks import notebook_names, run_notebooks
from artrm.book.build.pdf import PDF_NAME
from artrm.paths import REPO, runs_dir

PAGES = ["index.html", "intro.html", "cite.html", "references.html",
         *(f"chapters/{name}.html" for name in notebook_names())]
RESULTS = "chapters/08_results.html"


class Tags(HTMLParser):
    """Collects every (tag, attributes) pair of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(page: Path) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.tags


def is_remote(url: str) -> bool:
    return bool(urlsplit(url).scheme in ("http", "https") or url.startswith("//"))


@pytest.fixture(scope="module")
def html(built_book) -> Path:
    assert built_book.returncode == 0, "jupyter-book build failed:\n" + built_book.log[-5000:]
    return built_book.html


def test_book_builds_with_warnings_as_errors(built_book):
    assert built_book.returncode == 0, built_book.log[-5000:]
    assert "build succeeded" in built_book.log and "WARNING" not in built_book.log


def test_every_page_of_the_toc_is_rendered(html):
    missing = [page for page in PAGES if not (html / page).is_file()]
    assert not missing, f"pages missing from the build: {missing}"


def test_figures_are_numbered_and_their_images_exist(html):
    page = (html / RESULTS).read_text(encoding="utf-8")
    assert re.search(r'<span class="caption-number">Fig\. \d+', page), "no numbered figure"
    images = [attrs["src"] for tag, attrs in tags(html / RESULTS) if tag == "img"]
    assert images, "the results chapter shows no image"
    for src in images:
        assert (html / "chapters" / unquote(src)).resolve().is_file(), f"missing image {src}"


def test_each_chapter_shows_one_parameters_cell(html):
    for name in notebook_names():
        cells = [a.get("class") or "" for tag, a in tags(html / f"chapters/{name}.html")
                 if tag == "div" and "cell" in (a.get("class") or "").split()]
        parameters = [c for c in cells if re.search(r"\btag_(injected-)?parameters\b", c)]
        assert len(parameters) == 1, f"{name}: parameters cells shown: {parameters}"


def test_each_chapter_links_its_executed_notebook_for_download(html):
    for name in notebook_names():
        page = html / f"chapters/{name}.html"
        links = [a["href"] for tag, a in tags(page)
                 if tag == "a" and (a.get("href") or "").endswith(f"/{name}.ipynb")]
        assert links, f"{name}: no link to {name}.ipynb"
        notebook = json.loads((page.parent / links[0]).read_text(encoding="utf-8"))
        assert any(cell.get("outputs") for cell in notebook["cells"]), f"{name}: not executed"


def test_equations_are_numbered_and_math_is_rendered_by_the_vendored_mathjax(html):
    numbered = [p for p in PAGES if 'class="eqno"' in (html / p).read_text(encoding="utf-8")]
    assert numbered, "no numbered equation in the book"
    assert (html / "mathjax" / "tex-svg-full.js").is_file()
    assert (html / "mathjax" / "LICENSE").is_file()
    for page in numbered:
        scripts = [a["src"] for tag, a in tags(html / page) if tag == "script" and a.get("src")]
        mathjax = [s for s in scripts if "mathjax" in s.lower()]
        assert len(mathjax) == 1 and "tex-svg-full.js" in mathjax[0], (page, mathjax)


def test_bibliography_lists_the_paper_and_citations_link_to_it(html):
    references = (html / "references.html").read_text(encoding="utf-8")
    assert "Tiny Autoregressive Recursive Models" in references
    assert "Rauba" in references and "2603.08082" in references
    intro = (html / "intro.html").read_text(encoding="utf-8")
    assert "references.html#" in intro, "the introduction's citations do not link to the list"


def test_pages_load_nothing_from_the_network(html):
    for page in html.rglob("*.html"):
        for tag, attrs in tags(page):
            if tag in ("script", "img", "iframe", "source", "video", "audio"):
                url = attrs.get("src") or ""
            elif tag == "link" and attrs.get("rel") != "canonical":
                url = attrs.get("href") or ""
            else:
                continue
            assert not is_remote(url), f"{page.relative_to(html)} loads {url}"
    for sheet in html.rglob("*.css"):
        remote = re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", sheet.read_text("utf-8"))
        assert not remote, f"{sheet.relative_to(html)} loads {remote}"


def test_internal_links_resolve(html):
    broken = []
    for page in (p for p in html.rglob("*.html") if "_static" not in p.relative_to(html).parts):
        for tag, attrs in tags(page):
            url = attrs.get("href") if tag in ("a", "link") else None
            if not url or is_remote(url) or url.startswith(("#", "mailto:", "javascript:")):
                continue
            if url == PDF_NAME:  # written by `make pdf`; tests/test_pdf.py checks it is there
                continue
            target = (page.parent / unquote(urlsplit(url).path)).resolve()
            if not target.exists():
                broken.append(f"{page.relative_to(html)} -> {url}")
    assert not broken, "broken links:\n" + "\n".join(broken[:20])


def test_the_introduction_answers_whether_the_paper_was_reproduced(html):
    """Page one: the answer in words with glued numbers (no glue left unresolved), then the
    paper-against-ours figure, before the question is even set out."""
    intro = (html / "intro.html").read_text(encoding="utf-8")
    answer = intro.index('id="was-the-paper-reproduced"')
    question = intro.index('id="the-question"')
    summary = intro[answer:question]
    assert "In part, and at a reduced scale." in summary
    assert "glue:" not in summary and "{glue" not in summary
    assert summary.count("<img") == 1 and 'id="fig-paper-against-ours"' in summary
    words = " ".join(re.sub(r"<[^>]+>", "", summary).split())
    assert re.search(r"the Dual UT reaches \d+% \(the paper \d+%\)", words), words[:400]


@pytest.mark.slow
def test_every_notebook_runs_on_the_smoke_profile_into_an_empty_results_folder(
        tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("ARTRM_DATA", str(data))
    repo_runs = REPO / "data" / "runs"
    before = sorted(repo_runs.glob("*.json")) if repo_runs.exists() else []
    done = run_notebooks("smoke", "cpu", out_dir=tmp_path / "chapters", log=lambda _: None)
    assert [p.stem for p in done] == list(notebook_names())
    after = sorted(repo_runs.glob("*.json")) if repo_runs.exists() else []
    assert after == before, "the notebooks wrote results outside ARTRM_DATA"
    assert runs_dir() == data / "runs"
