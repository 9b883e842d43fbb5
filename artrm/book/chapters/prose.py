"""Sentences written from the results, so that no number in the book's prose is typed by hand:
a ladder chapter's takeaways, and values glued into a chapter's Markdown (`{glue:text}`)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from IPython.display import Markdown

from artrm.book.paper import CHANCE, L10_CHAR_ACC
from artrm.book.report import (
    PAPER_SCALE,
    at_train_len,
    compare,
    scale_label,
    scales_of,
    seeds_word,
    span,
    stored_scales,
    with_verdicts,
)
from artrm.book.statistics import ALPHA, learned_count, outcome
from artrm.data.tasks import task_names
from artrm.models.ladder import rung
from artrm.results.store import Record

DECODED = {"sample": "sampled", "greedy": "greedy"}  # a decoding as an adjective


def percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def points(x: float) -> str:
    return f"{100 * x:+.1f} points"


def _accuracy(df: pd.DataFrame, model: str) -> list[str]:
    """One bullet per task: the rung's accuracy at the training length at each scale, and
    the paper's."""
    bullets = []
    for task in task_names():
        parts = []
        for scale in scales_of(df):
            x = df[(df["model"] == model) & (df["task"] == task) & (df["scale"] == scale)]
            if len(x):
                parts.append(f"{percent(x['char_acc'].mean())} ({scale_label(scale)}, "
                             f"{seeds_word(x['seed'].nunique())})")
        if not parts:
            continue
        ref = L10_CHAR_ACC.get((model, task))
        paper = f"the paper: {percent(ref.value)}" if ref else "the paper does not report it"
        bullets.append(f"**{task}**: character accuracy {' and '.join(parts)}; {paper}.")
    return bullets


def _against(df: pd.DataFrame, model: str, previous: str, decoding: str) -> list[str]:
    """One bullet per scale with both rungs: the difference on every task with its verdict,
    the chapter's comparisons (every scale and task) being one family (`report.compare`,
    `report.with_verdicts`)."""
    rows = [{"scale": scale, "task": task,
             **compare(df[(df["scale"] == scale) & (df["task"] == task)], {"model": model},
                       {"model": previous}, decoding)}
            for scale in scales_of(df) for task in task_names()]
    table = with_verdicts([r for r in rows if r["seeds"]], ["scale", "task"])
    bullets = []
    for scale, group in table.groupby("scale", observed=True, sort=False):
        floor = group[["min p", "fisher min p"]].min(axis=None)  # the smallest p possible
        if floor >= ALPHA:  # too few seeds for either test to resolve anything
            seeds = int(group["seeds"].max())
            parts = [f"{r['task']} {points(r['difference'])}" for _, r in group.iterrows()]
            bullets.append(f"Against the {rung(previous).display} ({scale_label(scale)}, "
                           f"{DECODED[decoding]}, {seeds_word(seeds)}): {'; '.join(parts)}; "
                           f"at {seeds_word(seeds)} no test can resolve a difference (the "
                           f"smallest p the seeds allow is {floor:.3g}).")
            continue
        parts = [f"{r['task']} {points(r['difference'])} (learned {r['learned']} against "
                 f"{r['against']}; {r['verdict']}, Holm p {r['holm p']:.3g}; the paired seeds "
                 f"allow a sign-flip p of {r['min p']:.3g} at least)"
                 for _, r in group.iterrows()]
        bullets.append(f"Against the {rung(previous).display} ({scale_label(scale)}, "
                       f"{DECODED[decoding]} decoding, exact tests over seeds): "
                       f"{'; '.join(parts)}.")
    return bullets


def _longest(final: pd.DataFrame, model: str) -> list[str]:
    """One bullet per scale: accuracy at the longest evaluation length, against chance."""
    bullets = []
    for scale in scales_of(final):
        x = final[(final["model"] == model) & (final["scale"] == scale)]
        if x.empty:
            continue
        length = int(x["length"].max())
        if length == int(x["train_len"].max()):
            continue
        at = x[x["length"] == length].groupby("task", observed=True)["char_acc"].mean()
        tasks = ", ".join(f"{percent(v)} on {t}" for t, v in at.items())
        bullets.append(f"At length {length}, beyond the training length "
                       f"({scale_label(scale)}): {tasks} (chance: {percent(CHANCE)}).")
    return bullets


def _passes(runs: Mapping[str, list[Record]], model: str) -> list[str]:
    """One bullet per scale: realised forward and backward passes against the nominal."""
    bullets = []
    for scale, records in runs.items():
        mine = [r for r in records if r["model"] == model]
        if not mine:
            continue
        forward = [r["passes"]["forward_mean"] for r in mine]
        backward = [r["passes"]["backward_mean"] for r in mine]
        nominal = mine[0]["passes"]["nominal"]
        bullets.append(f"Realised block passes per training step ({scale_label(scale)}, mean "
                       f"over each run): forward {span(forward, 1)} and backward "
                       f"{span(backward, 1)} of the nominal {nominal}.")
    return bullets


def takeaways(final: pd.DataFrame, runs: Mapping[str, list[Record]], model: str,
              previous: str | None, decoding: str) -> Markdown:
    """A ladder chapter's takeaways from its runs (`final` evaluated with `decoding`), as
    Markdown bullets."""
    df = at_train_len(final[final["variant"] == "faithful"])
    bullets = _accuracy(df, model)
    if previous is not None:
        bullets += _against(df, model, previous, decoding)
    bullets += _longest(final, model) + _passes(runs, model)
    if not bullets:
        return Markdown(f"No run of the {rung(model).display} is stored yet, at any scale.")
    return Markdown("\n".join(f"- {b}" for b in bullets))


def findings(final: pd.DataFrame, task: str = "addition", margin: float = 0.05,
             solved: float = 0.95) -> Markdown:
    """What the results show at each scale, from the means over seeds at the training length:
    the best rung on `task` against the paper's best, the rungs that solve each task (at least
    `solved`), and the rungs within `margin` of chance on every task."""
    df = at_train_len(final[final["variant"] == "faithful"])
    ref_model, ref = max(((m, v) for (m, t), v in L10_CHAR_ACC.items() if t == task),
                         key=lambda mv: mv[1].value)
    bullets = []
    for scale in scales_of(df):
        means = df[df["scale"] == scale].groupby(["model", "task"], observed=True)[
            "char_acc"].mean()
        if means.empty:
            bullets.append(f"**{scale_label(scale)}**: no run stored yet.")
            continue
        parts = []
        on_task = means.xs(task, level="task") if task in means.index.get_level_values(1) \
            else pd.Series(dtype=float)
        if len(on_task):
            best = on_task.idxmax()
            parts.append(f"the best rung on {task} is the {rung(best).display} "
                         f"({percent(on_task.max())}; the paper's best, the "
                         f"{rung(ref_model).display}, {percent(ref.value)})")
        for t in task_names():
            if t != task and t in means.index.get_level_values(1):
                above = [rung(m).display for m, v in means.xs(t, level="task").items()
                         if v >= solved]
                parts.append(f"{', '.join(above) or 'no rung'} solve{'s' * (len(above) < 2)} "
                             f"{t} (at least {percent(solved)})")
        at_chance = [rung(m).display for m, g in means.groupby(level="model", observed=True)
                     if (abs(g - CHANCE) <= margin).all()]
        parts.append(f"at chance on every task (within {100 * margin:.0f} points of "
                     f"{percent(CHANCE)}): {', '.join(at_chance) or 'no rung'}")
        bullets.append(f"**{scale_label(scale)}**: " + "; ".join(parts) + ".")
    return Markdown("\n".join(f"- {b}" for b in bullets))


MODE_PHRASES = {  # a run's outcome (artrm.book.statistics.MODES) as a verb phrase
    "learned": "learns {}",
    "between": "learns part of {}",
    "plateau": "stays on the first-digit plateau on {}",
    "chance": "stays at chance on {}",
}


def _modes(df: pd.DataFrame, model: str, scale: str) -> dict[str, tuple[str, float, int]]:
    """Per task: the outcome of the rung's seeds (when they agree; else "k of n learned"), the
    mean accuracy and the seed count."""
    out = {}
    for task in task_names():
        x = df[(df["model"] == model) & (df["task"] == task) & (df["scale"] == scale)]
        if x.empty:
            continue
        modes = {outcome(a, task) for a in x["char_acc"]}
        mode = modes.pop() if len(modes) == 1 else (
            f"mixed:{learned_count(x['char_acc'])[0]} of {len(x)}")
        out[task] = (mode, float(x["char_acc"].mean()), x["seed"].nunique())
    return out


def _describe(modes: dict[str, tuple[str, float, int]]) -> str:
    """"learns copy (100%) and reverse (100%) and stays on the first-digit plateau on addition
    (25%)": the tasks grouped by outcome, in the order of the tasks."""
    groups: dict[str, list[str]] = {}
    for task, (mode, mean, _) in modes.items():
        groups.setdefault(mode, []).append(f"{task} ({percent(mean)})")
    parts = []
    for mode, tasks in groups.items():
        names = " and ".join([", ".join(tasks[:-1]), tasks[-1]] if len(tasks) > 1 else tasks)
        if mode.startswith("mixed:"):
            parts.append(f"learns {names} on {mode.removeprefix('mixed:')} seeds")
        else:
            parts.append(MODE_PHRASES[mode].format(names))
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def answer(final: pd.DataFrame, model: str, previous: str | None,
           decoding: str = "sample") -> Markdown:
    """A ladder chapter's answer in one sentence, from its runs at the book's own scale: what
    the rung learns (by outcome mode, mean accuracy at the training length), against the rung
    before, and the paper's numbers (the guide to the ladder chapters says what one seed per
    task cannot tell)."""
    df = at_train_len(final[final["variant"] == "faithful"])
    scales = [s for s in stored_scales(df) if s != PAPER_SCALE]
    if not scales:
        return Markdown(f"No run of the {rung(model).display} is stored yet.")
    scale = scales[0]
    mine = _modes(df, model, scale)
    seeds = max(n for _, _, n in mine.values())
    paper = [L10_CHAR_ACC[(model, t)].value for t in mine if (model, t) in L10_CHAR_ACC]
    text = (f"At the {scale_label(scale)} profile ({seeds_word(seeds)} per task, "
            f"{DECODED[decoding]} decoding, character accuracy at the training length) the "
            f"{rung(model).display} {_describe(mine)}")
    if previous is not None:
        theirs = _modes(df, previous, scale)
        same = all(theirs.get(t, ("",))[0] == m for t, (m, _, _) in mine.items())
        text += (f", as the {rung(previous).display} does" if same else
                 f", where the {rung(previous).display} {_describe(theirs)}")
    if len(paper) == len(mine):
        values = [percent(v) for v in paper]
        text += (f"; the paper reports {', '.join(values[:-1])} and {values[-1]} on "
                 f"{', '.join(list(mine)[:-1])} and {list(mine)[-1]}")
    text += "."
    return Markdown(text)
