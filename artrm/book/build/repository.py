"""Where to get the code: the repository's address, set in one place, `repository.url` in
book/_config.yml. It is empty until the project is published; nothing may invent one.

Jupyter Book passes the address to the theme; this module is also a Sphinx extension (listed
in book/_config.yml) that gives the pages two substitutions, `{{ get_the_code }}` (a line
naming the address, or the commit the book was built from) and `{{ companion_bibtex }}` (the
companion's BibTeX, with `url` when the address is set), and, once the address is set, turns
on the Binder (and, on GitHub, Colab) launch buttons of each chapter, pointed at the chapter's
notebook in notebooks/ (book/chapters/ is not committed).
CITATION.cff is a static file: tests/test_repository.py checks that its `repository-code`
is the same address, or absent while the address is empty.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from artrm.paths import REPO
from artrm.results.provenance import git_commit

BOOK = REPO / "book"
# The HTML book's link to its PDF, which `make pdf` puts next to the site's root page; the
# PDF itself leaves the sentence out.
PDF_LINK = ('<span class="artrm-html-only">The whole book is also one PDF: '
            '<a href="artrm-book.pdf">artrm-book.pdf</a> (<code>make pdf</code>).</span>')


def repository_url(book: Path = BOOK) -> str:
    """The address set in `book`/_config.yml (`repository.url`), or "" while unpublished."""
    config = yaml.safe_load((book / "_config.yml").read_text(encoding="utf-8"))
    return str((config.get("repository") or {}).get("url") or "").strip()


def built_from() -> str:
    """The commit the book is built from, as text (with a note when the checkout differs)."""
    commit = git_commit()
    if not commit["commit"]:
        return "a checkout without git history"
    return f"commit `{commit['commit'][:12]}`" + (" with local changes" if commit["dirty"] else "")


def get_the_code(url: str) -> str:
    """The book's "Get the code" line for the address `url` ("" while unpublished)."""
    if url:
        return (f"**Get the code:** <{url}> (this book was built from {built_from()}). "
                + PDF_LINK)
    return ("**Get the code:** the repository has no public address yet. This book was built "
            f"from {built_from()} of the artrm repository; until it is published, ask the "
            "artrm contributors for that commit. The HTML book offers each chapter's executed "
            "notebook for download. " + PDF_LINK)


def companion_bibtex(url: str) -> str:
    """The companion's BibTeX entry as a fenced block, with `url` when the address is set."""
    fields = [("title", "artrm: an executable companion to Tiny Autoregressive Recursive Models"),
              ("author", "{The artrm contributors}"), ("year", "2026"), ("version", "0.1.0"),
              *([("url", url)] if url else []),
              ("note", "Software companion to arXiv:2603.08082")]
    body = ",\n".join(f"  {key:<7} = {{{value}}}" for key, value in fields)
    return f"```bibtex\n@software{{artrm2026,\n{body}\n}}\n```"


def launch_providers(url: str) -> dict[str, str]:
    """The launch services for a repository at `url` (none while it is unpublished)."""
    if not url:
        return {}
    colab = {"colab_url": "https://colab.research.google.com"} if "github.com" in url else {}
    return {"binderhub_url": "https://mybinder.org", **colab}


def _configure(app: Any, config: Any) -> None:
    url = str(config.html_theme_options.get("repository_url") or "").strip()
    config.myst_substitutions = {**config.myst_substitutions,
                                 "get_the_code": get_the_code(url),
                                 "companion_bibtex": companion_bibtex(url)}
    config.html_theme_options.setdefault("launch_buttons", {}).update(launch_providers(url))


def _launch_from_notebooks(app: Any, pagename: str, templatename: str, context: dict[str, Any],
                           doctree: Any) -> None:
    """Point the launch buttons of a chapter at notebooks/NN.ipynb, not book/chapters/."""
    book = str(app.config.html_theme_options.get("path_to_docs", "")).strip("/")
    chapters = f"{book}/chapters/" if book else "chapters/"
    for button in context.get("header_buttons", []):
        for entry in button.get("buttons", []):
            if "url" in entry:
                entry["url"] = entry["url"].replace(chapters, "notebooks/")


def setup(app: Any) -> dict[str, bool]:
    """Sphinx extension: the substitutions and launch buttons from the repository address."""
    app.connect("config-inited", _configure)
    app.connect("html-page-context", _launch_from_notebooks, priority=502)
    return {"parallel_read_safe": True}
