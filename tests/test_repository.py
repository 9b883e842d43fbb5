"""Where to get the code: the repository's address is set once (`repository.url` in
book/_config.yml), no file names another repository address of this project, CITATION.cff
agrees with it, and the book says where the code is (an address, or while there is none, the
commit the book was built from) without linking anywhere made up."""

from __future__ import annotations

import re

import yaml

from artrm.book.build.repository import (
    BOOK,
    companion_bibtex,
    get_the_code,
    launch_providers,
    repository_url,
)
from artrm.paths import REPO

HOSTS = re.compile(r"https?://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org|codeberg\.org)"
                   r"/[^\s)\"'>}]+")
# The project's own text: the package, the book's sources, the notebooks, the top-level files.
OWN = ["*.md", "*.cff", "*.toml", "Makefile", "artrm/**/*.py", "book/*.md", "book/*.yml",
       "notebooks/*.ipynb", "notebooks/ladder/*.md"]


def test_the_address_is_set_in_one_place_and_nothing_else_names_one():
    url = repository_url()
    config = yaml.safe_load((BOOK / "_config.yml").read_text(encoding="utf-8"))
    assert "url" in config["repository"], "book/_config.yml has no repository.url"
    named = {f"{path.relative_to(REPO)}: {address}"
             for pattern in OWN for path in REPO.glob(pattern)
             for address in HOSTS.findall(path.read_text(encoding="utf-8"))
             if not url or not address.startswith(url)}
    # other projects' repositories (the authors' code) are cited as such, never as ours
    ours = {line for line in named if "artrm" in line.split(": ", 1)[1].lower()}
    assert not ours, f"repository addresses outside book/_config.yml: {sorted(ours)}"


def test_citation_cff_names_the_same_address_or_none():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    url = repository_url()
    assert cff.get("repository-code", "") == url, (
        f"CITATION.cff's repository-code must be book/_config.yml's repository.url ({url!r})")


def test_without_an_address_the_book_names_the_commit_and_links_nowhere():
    line = get_the_code("")
    assert "commit" in line and "no public address" in line
    assert not HOSTS.search(line) and "http" not in line
    assert "url" not in companion_bibtex("") and launch_providers("") == {}


def test_an_address_appears_in_the_line_the_bibtex_and_the_launch_buttons():
    url = "https://github.com/example-owner/example-repo"  # an example, never published
    assert f"<{url}>" in get_the_code(url)
    assert f"url     = {{{url}}}" in companion_bibtex(url)
    assert set(launch_providers(url)) == {"binderhub_url", "colab_url"}
    assert set(launch_providers("https://example.org/artrm.git")) == {"binderhub_url"}


def test_the_built_book_says_where_the_code_is(built_book):
    assert built_book.returncode == 0, built_book.log[-5000:]
    intro = (built_book.html / "intro.html").read_text(encoding="utf-8")
    cite = (built_book.html / "cite.html").read_text(encoding="utf-8")
    assert "Get the code:" in intro and "artrm2026" in cite
    if not repository_url():
        assert "no public address" in intro
        pages = [p.read_text(encoding="utf-8") for p in built_book.html.rglob("*.html")]
        assert not any("mybinder.org" in page or "colab.research" in page for page in pages)
