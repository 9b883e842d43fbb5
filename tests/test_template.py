"""The book's sources: the ladder chapters are the template's output, the table of contents
and the introduction's ladder table follow the registry, every equation tag of the code has
its book label and back, and no chapter types a result into its prose."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from artrm.book.build.template import (
    BOOK,
    LADDER_DIR,
    SOURCE_DIR,
    book_labels,
    cell_sources,
    chapter_notebook,
    intro_text,
    ladder_chapters,
    parse_source,
    rung_source,
    toc,
)
from artrm.book.listing import EQ_TAG
from artrm.errors import ConfigError
from artrm.paths import REPO


@pytest.mark.parametrize("chapter,model", list(ladder_chapters().items()))
def test_each_committed_ladder_notebook_is_the_templates_output(chapter, model):
    committed = nbformat.read(SOURCE_DIR / f"{chapter}.ipynb", as_version=4)
    assert cell_sources(committed) == cell_sources(chapter_notebook(model)), (
        f"notebooks/{chapter}.ipynb differs from its template: edit notebooks/ladder/"
        f"{chapter}.md or artrm/book/build/template.py, then run python -m artrm notebooks "
        f"--generate")


def test_every_rung_has_a_source_file_and_every_source_file_a_rung():
    assert sorted(p.stem for p in LADDER_DIR.glob("*.md")) == sorted(ladder_chapters())


def test_the_table_of_contents_and_the_introductions_ladder_table_are_generated():
    assert (BOOK / "_toc.yml").read_text(encoding="utf-8") == toc()
    intro = (BOOK / "intro.md").read_text(encoding="utf-8")
    assert intro == intro_text(intro)
    for chapter in ladder_chapters():
        assert f"](chapters/{chapter}.ipynb)" in intro


SOURCE = "---\nlede: One line.\nquestion: Does it help?\ncode: [refine]\n---\n\n" \
         "## What changes\n\nProse.\n\n## Takeaways\n\n- A point.\n"


def test_a_source_file_has_a_lede_what_changes_and_optional_takeaways():
    source = parse_source(SOURCE, "x.md")
    assert (source.lede, source.question, source.what_changes, source.takeaways,
            source.code) == ("One line.", "Does it help?", "Prose.", "- A point.", ("refine",))
    assert parse_source(SOURCE.split("## Takeaways")[0], "x.md").takeaways == ""


@pytest.mark.parametrize("text,message", [
    ("## What changes\n\nProse.\n", "must start with front matter"),
    ("---\ncode: [refine]\n---\n## What changes\n", "takes a `lede`"),
    ("---\nlede: x\nauthor: y\n---\n## What changes\n", "takes a `lede`"),
    ("---\nlede: x\n---\n## What changes\n", "and a `question`"),
    ("---\nlede: x\nquestion: y\n---\nIntro.\n## What changes\n",
     "text before `## What changes`"),
    ("---\nlede: x\nquestion: y\n---\n## Takeaways\n- a\n", "sections must be `## What changes`"),
    ("---\nlede: x\nquestion: y\n---\n## What changes\nx\n## Results\ny\n",
     "got ['What changes', 'Results']"),
])
def test_a_malformed_source_file_is_refused_naming_the_file(text, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        parse_source(text, "05_dual_ut.md")
    assert str(err.value).startswith("05_dual_ut.md: ")


def test_a_rung_without_a_source_file_gets_its_chapter_from_its_class(tmp_path):
    source = rung_source("ut_level1", ladder_dir=tmp_path)
    assert source.what_changes.startswith("The Dual UT changes one thing against the Universal "
                                          "Transformer: two streams")
    assert "```text\nz_t = f(x + y_{t-1} + z_{t-1} + e_t)" in source.what_changes
    assert source.what_changes.count("```") % 2 == 0 and source.takeaways == ""
    cells = chapter_notebook("ut_level1", source).cells
    assert cells[0].source.startswith("# 5. Dual UT\n\nTwo streams: reasoning z sees the input")


def docstring_tags() -> set[str]:
    return {tag for path in (REPO / "artrm").rglob("*.py")
            for tag in EQ_TAG.findall(path.read_text(encoding="utf-8"))}


def test_every_equation_tag_of_the_code_is_a_label_of_the_book_and_back():
    tags = {f"eq-{tag}" for tag in docstring_tags()}
    labels = book_labels()
    assert tags - labels == set(), "tagged in a docstring, but no book equation has the label"
    assert labels - tags == set(), "labelled in the book, but no docstring tags the equation"


# -- no typed results in prose ------------------------------------------------------------
CODE_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)\n.*?^(?P=fence)[ \t]*$",
                        re.MULTILINE | re.DOTALL)
PROSE_DIRECTIVES = ("{admonition}", "{note}", "{tip}", "{warning}", "{important}")
HIDDEN = [
    re.compile(r"\$\$.*?\$\$", re.DOTALL),  # display math
    re.compile(r"\$[^$\n]+\$"),  # inline math
    re.compile(r"\{[\w:-]+\}`[^`]*`"),  # roles: {glue:text}`key`, {eq}`label`, {doc}`page`
    re.compile(r"`[^`\n]*`"),  # inline code and config values
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"^:[\w-]+:.*$", re.MULTILINE),  # directive options
    re.compile(r"\b\d+%\s+(?:bootstrap\s+)?(?:confidence\s+)?intervals?\b"),  # a level
]
TYPED = re.compile(r"\d+(?:\.\d+)?\s?%|(?<![\w.])[01]?\.\d+(?![\w.])")


def typed_results(markdown: str) -> list[str]:
    """Percentages and accuracy-like decimals (0.83, .5, 1.000) in prose: outside math, code,
    roles (glued values), link targets and the level of an interval."""
    def strip(fence: re.Match) -> str:
        prose = fence.group("info").strip().startswith(PROSE_DIRECTIVES)
        return fence.group(0) if prose else ""

    text = CODE_FENCE.sub(strip, markdown)
    for pattern in HIDDEN:
        text = pattern.sub(" ", text)
    return TYPED.findall(text)


@pytest.mark.parametrize("text", [
    "The Dual UT reaches 83.5% on addition.", "accuracy 0.83 at length 10",
    "at chance (0.10 to 0.15)", "a perfect 1.000 on copy", "about 12 % of runs",
    "```{admonition} Note\n:class: note\nDense reaches .8 here.\n```",
])
def test_a_typed_result_is_found(text):
    assert typed_results(text)


@pytest.mark.parametrize("text", [
    "budget 24 and 5000 steps on 2 cores", "$p \\approx 0.5$ at initialisation",
    "weight `0.1` and `dropout=0.1`", "{glue:text}`acc` on copy", "Python 3.11 and torch 2.13",
    "```{math}\n:label: eq-x\nx = 0.5\n```", "```python\nlr = 0.001\n```",
    "means with 95% bootstrap intervals", "[the paper](https://arxiv.org/abs/2603.08082)",
    "$$\nN(h) = h / 0.5\n$$",
])
def test_numbers_that_are_not_typed_results_pass(text):
    assert typed_results(text) == []


def markdown_of(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text(encoding="utf-8")]
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("path", [*sorted(SOURCE_DIR.glob("*.ipynb")), BOOK / "intro.md"],
                         ids=lambda p: p.name)
def test_no_chapter_types_a_result_into_its_prose(path):
    found = [hit for text in markdown_of(path) for hit in typed_results(text)]
    assert not found, f"{path.name} types {found}: glue them, or generate the sentence"


@pytest.mark.parametrize("path", sorted(SOURCE_DIR.glob("*.ipynb")), ids=lambda p: p.name)
def test_a_cell_that_glues_a_figure_is_not_compared_by_nbval(path):
    """A glued figure is an image in the cell's outputs: comparing it is slow (minutes for a
    large one) and breaks on any pixel, so such cells carry `nbval-ignore-output`."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    untagged = [i for i, c in enumerate(cells) if c["cell_type"] == "code"
                and re.search(r"glue(_figure)?\(\"fig-", "".join(c["source"]))
                and "nbval-ignore-output" not in c["metadata"].get("tags", [])]
    assert not untagged, f"{path.name}: cells {untagged} glue a figure without the tag"
