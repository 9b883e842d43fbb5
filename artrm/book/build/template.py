"""The ladder chapters from one template, and the book files that list the rungs.

A rung's chapter is the template below filled with the rung's facts (registry) and its source
file `notebooks/ladder/<chapter>.md`:

    ---
    lede: one sentence under the title
    question: what the rung's change asks (the answer is written from the runs)
    code: [refine, step]        # optional: the methods to list (default: all it defines)
    ---
    ## What changes
    prose, labelled equations, tables and admonitions
    ## Takeaways
    qualitative takeaways (the data's takeaways are generated)

A rung without a source file gets its chapter from its class: the change it states and its
docstring. `python -m artrm notebooks --generate` writes every ladder notebook, book/_toc.yml
and the introduction's ladder table; the runner generates a missing ladder chapter on the fly.
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from artrm.errors import ConfigError
from artrm.experiments.profiles import PROFILES
from artrm.models.ladder import RUNGS, model_names, previous, rung
from artrm.paths import REPO

SOURCE_DIR = REPO / "notebooks"
LADDER_DIR = SOURCE_DIR / "ladder"
BOOK = REPO / "book"
OVERVIEW = "00_overview"
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (  # the rung chapters follow the overview
    ("The ladder", (OVERVIEW,)),
    ("Results", ("08_results", "09_does_the_negative_result_hold", "10_the_exploding_state",
                 "11_hl_structure", "12_compute_scaling")),
    ("Reproducibility", ("13_reproducibility",)),
)
PAGES = ("Citing", ("cite", "references"))  # Markdown pages of book/
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
INTRO_START = "% The ladder table below is generated (python -m artrm notebooks --generate)."
INTRO_END = "% End of the generated ladder table."
LABEL = re.compile(r":label:\s*(eq-[a-z0-9-]+)")


def parts() -> list[tuple[str, tuple[str, ...]]]:
    """The book's parts and their notebooks; the rung chapters follow the overview."""
    rungs = tuple(cls.chapter for cls in RUNGS.values())
    return [(caption, names + rungs if names == (OVERVIEW,) else names)
            for caption, names in PARTS]


def notebook_names() -> tuple[str, ...]:
    """The book's notebooks in order: the overview, one chapter per registered rung (its
    `chapter`), then results, the corrections study and reproducibility."""
    return tuple(name for _, names in parts() for name in names)


def ladder_chapters() -> dict[str, str]:
    """Chapter name -> rung name, in ladder order."""
    return {cls.chapter: name for name, cls in RUNGS.items()}


# -- a rung's source ------------------------------------------------------------------------
@dataclass(frozen=True)
class RungSource:
    lede: str
    question: str
    what_changes: str
    takeaways: str
    code: tuple[str, ...]  # methods or dotted paths to list; () lists all it defines


def parse_source(text: str, where: str) -> RungSource:
    """A source file: YAML front matter (lede, question, code), then `## What changes` and
    optionally `## Takeaways`; anything else is refused with a message naming the file."""
    match = re.fullmatch(r"---\n(.*?)\n---\n(.*)", text, re.DOTALL)
    if not match:
        raise ConfigError(f"{where}: must start with front matter between '---' lines")
    meta = yaml.safe_load(match.group(1)) or {}
    unknown = set(meta) - {"lede", "question", "code"}
    if unknown or not all(isinstance(meta.get(key), str) for key in ("lede", "question")):
        raise ConfigError(f"{where}: front matter takes a `lede` and a `question` (text) and "
                          f"optionally `code` (a list); got {sorted(meta)}")
    sections = re.split(r"^## (.+)\n", match.group(2).strip() + "\n", flags=re.MULTILINE)
    if sections[0].strip():
        raise ConfigError(f"{where}: text before `## What changes`")
    found = {name.strip(): body.strip() for name, body in zip(sections[1::2], sections[2::2])}
    if list(found) not in (["What changes"], ["What changes", "Takeaways"]):
        raise ConfigError(f"{where}: sections must be `## What changes` and optionally "
                          f"`## Takeaways`; got {list(found)}")
    return RungSource(meta["lede"].strip(), " ".join(meta["question"].split()),
                      found["What changes"], found.get("Takeaways", ""),
                      tuple(meta.get("code") or ()))


def from_class(model: str) -> RungSource:
    """The source of a rung without a file: its stated change and its class docstring (the
    indented lines, its equations, as a text block)."""
    cls, before = rung(model), previous(model)
    intro = (f"The {cls.display} changes one thing against the {rung(before).display}: "
             f"{cls.change}." if before else f"{cls.change[:1].upper()}{cls.change[1:]}.")
    blocks, fenced = [], False
    for line in (inspect.getdoc(cls) or "").splitlines():
        indented = line.startswith("    ")
        if indented != fenced and line.strip():
            blocks.append("```text" if indented else "```")
            fenced = indented
        blocks.append(line[4:] if fenced else line)
    if fenced:
        blocks.append("```")
    return RungSource(f"{cls.change[:1].upper()}{cls.change[1:]}.",
                      f"Does this change help: {cls.change}?",
                      intro + "\n\n" + "\n".join(blocks).strip(), "", ())


def rung_source(model: str, ladder_dir: Path = LADDER_DIR) -> RungSource:
    path = ladder_dir / f"{rung(model).chapter}.md"
    if not path.is_file():
        return from_class(model)
    return parse_source(path.read_text(encoding="utf-8"), path.name)


# -- the chapter template ------------------------------------------------------------------
GUIDE = "ladder_guide"  # book/ladder_guide.md: what every ladder chapter shares, said once
GUIDE_LINK = f"{{doc}}`/{GUIDE}`"
HIDE_INPUT = ["hide-input"]  # plumbing with an output to show: the code folds away
REMOVE_INPUT = ["remove-input"]  # plumbing without output: the cell stays in the notebook only
PRINT_FOLD = "artrm-print-fold"  # a cell whose output the PDF folds away (the code listings)

READING_TEXT = f"""How every ladder chapter is laid out, its parameters (the cell below), runs,
tables and figures: {GUIDE_LINK}."""

CODE_TEXT = """## The code

What the {display} defines, printed from the package; everything else it inherits from the
rung before."""

CODE_TEXT_FIRST = """## The code

What the {display} is made of, printed from the package; every later rung inherits all of it
and overrides a few methods."""

BUILD_TEXT = "## Build and check"

RUNS_TEXT = """## Train or load

{which} on every task and seed of the profile."""

EVALUATE_TEXT = """## Evaluate

The {display} at every evaluation length, in percent (mean over seeds)."""

PLOTS_TEXT = "## Plots"

NO_EARLY_EXIT_TEXT = """Every training step of the {display} runs all its nominal block passes: it
has no early exit."""

VERSUS_TEXT = """## Compared with the previous rung and with the paper

Character accuracy at the training length, in percent (mean over seeds)."""

VERSUS_TEXT_FIRST = """## Compared with the paper

Character accuracy at the training length, in percent (mean over seeds)."""

TAKEAWAYS_TEXT = """## Takeaways

What the runs above show (generated from them):"""


def _figure(source: str, name: str, caption: str) -> nbformat.NotebookNode:
    return new_code_cell(source, metadata={"tags": ["nbval-ignore-output"], "mystnb": {
        "figure": {"name": name, "caption": caption}}})


VALIDATE_SOURCE = "from artrm.book import chapter\n\nch = chapter.parameters(globals())"
"""The cell after every notebook's parameters cell: the parameters (papermill's injected ones
included) checked before any work, unknown names refused."""


def parameters_source() -> str:
    return "\n".join([
        f'profile = "cpu"  # {" | ".join(PROFILES)}',
        'device = "cpu"  # cpu | cuda | auto',
        "seeds = None  # None: the profile's seeds",
        "tasks = None  # None: the profile's tasks",
        "force_retrain = False  # True: train again even if the run is stored",
        "stored_only = False  # True: show the stored runs only and train nothing"])


def early_exit(model: str) -> bool:
    """Whether rung `model` can stop before its nominal passes (it accepts `full_compute`)."""
    return "full_compute" in rung(model).switches


def plot_cells(model: str, models: list[str], compared: str) -> list[nbformat.NotebookNode]:
    """The chapter's figures; the realised passes only for a rung that can exit early (for any
    other they are a flat line at the budget, said in a sentence)."""
    cls = rung(model)
    cells = [
        _figure("plots.curves_by_task(history, models);", f"fig-{model}-curves",
                f"Character accuracy at the training length during training, {compared}."),
        _figure("plots.length_generalisation(final, models);", f"fig-{model}-length",
                f"Character accuracy against evaluation length, {compared} (trained at one "
                f"length; learned absolute positions past it never receive a gradient)."),
    ]
    if not early_exit(model):
        return [*cells, new_markdown_cell(NO_EARLY_EXIT_TEXT.format(display=cls.display))]
    return [*cells, _figure(f'plots.training_curves(runs, "passes_forward", [{model!r}]);',
                            f"fig-{model}-passes",
                            f"Realised forward block passes per training step of the "
                            f"{cls.display} (dotted: the nominal budget).")]


def chapter_notebook(model: str, source: RungSource | None = None) -> nbformat.NotebookNode:
    """The notebook of rung `model` (source: its file, or its class when it has none)."""
    cls, before = rung(model), previous(model)
    source = source or rung_source(model)
    number = model_names().index(model) + 1
    models = [model, before] if before else [model]
    which = (f"The {cls.display} and the rung before, the {rung(before).display},"
             if before else f"The {cls.display}")
    compared = "this rung and the one before" if before else "this rung"
    listed = ", ".join(repr(n) for n in (model, *source.code))
    if len(listed) > 64:  # one name a line
        listed = "\n    " + ",\n    ".join(repr(n) for n in (model, *source.code)) + ",\n"
    cells = [
        new_markdown_cell(f"# {number}. {cls.display}\n\n{source.lede}\n\n"
                          f"**The question.** {source.question}\n\n"
                          f"**The answer, in short.** {{glue:md}}`{model}-answer:myst`\n\n"
                          f"## What changes\n\n{source.what_changes}"),
        new_markdown_cell(READING_TEXT),
        new_code_cell(parameters_source(), metadata={"tags": ["parameters"]}),
        new_code_cell(VALIDATE_SOURCE, metadata={"tags": REMOVE_INPUT}),
        new_code_cell("from myst_nb import glue\n\n"
                      "from artrm.book import listing, plots, report, tables\n"
                      "from artrm.book.chapters import ladder, prose\n"
                      "from artrm.experiments.profiles import PAPER",
                      metadata={"tags": REMOVE_INPUT}),
        new_markdown_cell((CODE_TEXT if before else CODE_TEXT_FIRST).format(
            display=cls.display)),
        new_code_cell(f"listing.show({listed})", metadata={"tags": [PRINT_FOLD]}),
        new_markdown_cell(BUILD_TEXT),
        new_code_cell(f"model = ladder.build(ch.profile, {model!r})\n"
                      "tables.show(ladder.describe(model))"),
        new_code_cell('print(f"largest change of an earlier logit when later tokens change: "\n'
                      '      f"{ladder.causality_gap(model):.1e}")\n'
                      "tables.show(ladder.counted_passes(ch.profile, model))"),
        new_markdown_cell(RUNS_TEXT.format(which=which)),
        new_code_cell(
            f"models = {models!r}  # {compared}\n"
            "configs = [ch.profile.config(m, t, s)\n"
            "           for m in models for t in ch.tasks for s in ch.seeds]\n"
            "paper_configs = [PAPER.config(m, t, s)\n"
            "                 for m in models for t in ch.tasks for s in PAPER.seeds]\n"
            "runs = {ch.profile.name: chapter.train_or_load(ch, configs),\n"
            '        "paper": chapter.stored(paper_configs)}\n'
            "final = report.final_frame(runs)\n"
            "history = report.history_frame(runs)", metadata={"tags": HIDE_INPUT}),
        new_markdown_cell(EVALUATE_TEXT.format(display=cls.display)),
        new_code_cell(f"tables.show(report.metrics_table(final, {model!r}))",
                      metadata={"tags": HIDE_INPUT}),
        new_markdown_cell(PLOTS_TEXT),
        *plot_cells(model, models, compared),
        new_markdown_cell(VERSUS_TEXT if before else VERSUS_TEXT_FIRST),
        new_code_cell(f"tables.show(report.versus(final, {model!r}, {before!r}))",
                      metadata={"tags": HIDE_INPUT}),
        new_markdown_cell(TAKEAWAYS_TEXT),
        new_code_cell(f"prose.takeaways(final, runs, {model!r}, {before!r}, decoding=\"sample\")",
                      metadata={"tags": HIDE_INPUT}),
        new_code_cell(f'glue("{model}-answer", prose.answer(final, {model!r}, {before!r}), '
                      "display=False)", metadata={"tags": REMOVE_INPUT}),
    ]
    if source.takeaways:
        cells.append(new_markdown_cell(f"And from the design of the rung:\n\n{source.takeaways}"))
    nb = new_notebook(cells=cells)
    nb.metadata.kernelspec = KERNELSPEC
    nb.metadata.language_info = {"name": "python"}
    return nb


def cell_sources(nb: nbformat.NotebookNode) -> list[tuple[str, str, tuple[str, ...], str]]:
    """What the template decides of each cell: type, source, tags and figure metadata."""
    return [(c.cell_type, c.source, tuple(c.metadata.get("tags", [])),
             json.dumps(c.metadata.get("mystnb", {}), sort_keys=True)) for c in nb.cells]


# -- the book files that list the rungs ---------------------------------------------------
def toc() -> str:
    """book/_toc.yml: the parts of the book, with one chapter per registered rung."""
    lines = ["# Generated from the rung registry by `python -m artrm notebooks --generate`.",
             "# Chapters are the executed notebooks under chapters/ (written by",
             "# `python -m artrm notebooks` from notebooks/ at the repository root; git-ignored).",
             "format: jb-book", "root: intro", "parts:"]
    for folder, (caption, names) in [*(("chapters/", part) for part in parts()), ("", PAGES)]:
        lines += [f"  - caption: {caption}", "    chapters:"]
        for name in names:  # the guide to the ladder chapters follows the overview
            lines += [f"      - file: {folder}{name}"] + ([f"      - file: {GUIDE}"]
                                                         if name == OVERVIEW else [])
    return "\n".join(lines) + "\n"


def intro_ladder() -> str:
    """The introduction's table of rungs, each linked to its chapter."""
    rows = ["| # | Model | Group | What changes versus the rung before |",
            "|---|-------|-------|-------------------------------------|"]
    rows += [f"| {i} | [{cls.display}](chapters/{cls.chapter}.ipynb) | {cls.group} | "
             f"{cls.change} |" for i, cls in enumerate(RUNGS.values(), 1)]
    return "\n".join(rows)


def intro_text(intro: str) -> str:
    """book/intro.md with its ladder table (between the two marker comments) regenerated."""
    start, end = intro.find(INTRO_START), intro.find(INTRO_END)
    if start < 0 or end < start:
        raise ConfigError(f"book/intro.md lacks the lines {INTRO_START!r} ... {INTRO_END!r}")
    return (intro[:start] + INTRO_START + "\n\n" + intro_ladder() + "\n\n"
            + intro[end:])


def book_labels(src_dir: Path = SOURCE_DIR) -> set[str]:
    """The equation labels the book defines (in the notebooks and the ladder sources)."""
    texts = [p.read_text(encoding="utf-8") for p in (src_dir / "ladder").glob("*.md")]
    for path in src_dir.glob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        texts += ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    return {label for text in texts for label in LABEL.findall(text)}


def generate(src_dir: Path = SOURCE_DIR, book: Path = BOOK) -> list[Path]:
    """Write every ladder notebook (sources, no outputs), book/_toc.yml and the introduction's
    ladder table; return the paths written."""
    written = []
    for chapter, model in ladder_chapters().items():
        path = src_dir / f"{chapter}.ipynb"
        nbformat.write(chapter_notebook(model, rung_source(model, src_dir / "ladder")), path)
        written.append(path)
    (book / "_toc.yml").write_text(toc(), encoding="utf-8")
    intro = book / "intro.md"
    intro.write_text(intro_text(intro.read_text(encoding="utf-8")), encoding="utf-8")
    return written + [book / "_toc.yml", intro]
