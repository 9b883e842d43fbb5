"""The book layer takes a rung and a task it has never seen: registered in a test file, they
appear in the ladder and budget tables, the comparison tables (the paper reports neither), the
figures, the table of contents and the introduction, and the runner writes and executes a
chapter for the rung from its class alone."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pytest

from artrm.book import chapter, plots, report
from artrm.book.build.notebooks import run_notebooks
from artrm.book.build.template import chapter_notebook, intro_ladder, notebook_names, toc
from artrm.book.chapters import ladder, prose
from artrm.book.paper import NOT_REPORTED, PARAMS, reported
from artrm.data.tasks import unregister_task
from artrm.experiments.profiles import SMOKE
from artrm.models.ladder import unregister

matplotlib.use("Agg")

TOY = '''
"""A toy rung and a toy task, registered on import."""

from artrm.data.tasks import Copy, register_task
from artrm.models.gpt_level1 import IterativeTransformer
from artrm.models.ladder import register


@register
class ToyRung(IterativeTransformer):
    """Change from `trm`: none that matters; the iterative rung under another name.

        h_t = f(h_{t-1}),   t = 1..N                      (eq. toy)

    It exists to show that a new rung needs no edit of the book.
    """

    name = "toy"
    display, short, group = "Toy Rung", "Toy", "Single stream"
    colour = "#888888"
    change = "nothing that matters: a rung for the tests"
    chapter = "08_toy"


class Echo(Copy):
    name = "echo"


register_task(Echo())
'''


@pytest.fixture
def toy(tmp_path: Path) -> Iterator[Path]:
    """The toy rung and task registered from a module in `tmp_path` (on sys.path), removed
    afterwards; yields that folder."""
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "toy_rung.py").write_text(TOY)
    sys.path.insert(0, str(folder))
    try:
        importlib.import_module("toy_rung")
        yield folder
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("toy_rung", None)
        unregister("toy")
        unregister_task("echo")


def test_tables_figures_and_the_paper_take_a_new_rung_and_task(toy, data_dir):
    table = ladder.ladder_table()
    assert table.iloc[-1]["name"] == "Toy Rung" and table.iloc[-1]["the paper"] == NOT_REPORTED
    assert reported(PARAMS, "toy") == NOT_REPORTED
    assert ladder.budget_table().loc["Toy Rung", "B=24"] == "24 x 1"
    assert "echo      input  " in ladder.task_samples(length=3)
    assert "echo" in ladder.overlap_check().index

    ch = chapter.chapter("smoke", "cpu", tasks=["echo", "copy"])
    configs = [SMOKE.config(m, t) for m in ("toy", "trm") for t in ch.tasks]
    runs = {"smoke": chapter.train_or_load(ch, configs), "paper": []}
    final, history = report.final_frame(runs), report.history_frame(runs)
    versus = report.versus(final, "toy", "trm")
    assert versus.loc[("echo", "Toy Rung"), "the paper"] == NOT_REPORTED
    assert versus.loc[("copy", "Autoregressive TRM"), "the paper"] == 11.0
    assert "ours, paper scale" not in versus.columns  # nothing stored there: no column
    takeaways = prose.takeaways(final, runs, "toy", "trm", "sample")
    assert "**echo**: character accuracy" in takeaways.data
    assert "at 1 seed no test can resolve a difference" in takeaways.data  # one seed, said once
    answer = prose.answer(final, "toy", "trm").data
    assert "the Toy Rung " in answer and "Autoregressive TRM" in answer and "echo (" in answer
    assert report.ranking(final, task="echo").loc["Toy Rung", "paper"] == "-"

    bars = plots.accuracy_bars(final)
    assert [ax.get_title() for ax in bars.axes] == ["copy", "echo"]
    assert "Toy Rung" in [t.get_text() for t in bars.axes[0].get_yticklabels()]
    curves = plots.learning_curves(history, task="echo")
    assert "Toy Rung" in [t.get_text() for t in curves.axes[1].get_legend().get_texts()]
    for figure in (plots.curves_by_task(history, ["toy"]), plots.length_generalisation(final),
                   plots.training_curves(runs, "passes_forward", ["toy"]),
                   plots.quartile_profile(final, task="echo"), plots.ladder_diagram(),
                   plots.paper_against_ours(final), bars, curves):
        assert figure.axes
        assert plots.smallest_printed_pt(figure) >= plots.PRINT_MIN_PT


def test_the_book_lists_a_new_rung_without_an_edit(toy):
    names = notebook_names()
    assert names.index("08_toy") == names.index("07_autoregressive_trm") + 1
    assert "      - file: chapters/08_toy\n  - caption: Results" in toc()
    assert intro_ladder().splitlines()[-1] == (
        "| 8 | [Toy Rung](chapters/08_toy.ipynb) | Single stream | nothing that matters: a rung "
        "for the tests |")
    cells = chapter_notebook("toy").cells
    assert cells[0].source.startswith(
        "# 8. Toy Rung\n\nNothing that matters: a rung for the tests.\n\n**The question.** Does "
        "this change help: nothing that matters: a rung for the tests?\n\n**The answer, in "
        "short.** {glue:md}`toy-answer:myst`\n\n## What changes\n\nThe Toy Rung changes one "
        "thing against the Autoregressive TRM")
    assert "```text\nh_t = f(h_{t-1})," in cells[0].source
    assert any("models = ['toy', 'trm']" in c.source for c in cells)


def test_the_runner_writes_and_executes_the_chapter_of_a_new_rung(toy, tmp_path, monkeypatch,
                                                                   data_dir):
    # the kernel registers the toy rung too: site imports `sitecustomize` at start-up
    (toy / "sitecustomize.py").write_text("import toy_rung  # noqa: F401\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(toy), os.environ.get("PYTHONPATH")) if p))
    done = run_notebooks("smoke", "cpu", tmp_path / "out", ["08_toy"], log=lambda _: None,
                         stored_only=True)
    assert [p.name for p in done] == ["08_toy.ipynb"]
    cells = json.loads(done[0].read_text())["cells"]
    out = "".join("".join(o.get("text", "")) for c in cells if c["cell_type"] == "code"
                  for o in c["outputs"])
    assert "smoke: 0 of 6 runs stored (stored_only: not trained here)" in out
    assert "paper scale: 0 of 6 runs stored (they need a GPU" in out
    assert cells[0]["source"][0] == "# 8. Toy Rung\n"
    assert not data_dir.exists() or not any(data_dir.rglob("*.json"))
    assert not (Path("notebooks") / "08_toy.ipynb").exists()
