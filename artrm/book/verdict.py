"""The corrections study's verdict, written from the data: each finding is a sentence whose
numbers (means with 95% intervals over seeds, counts of seeds that learned a task,
paired differences and whether they are reliable) and whose wording (holds or not) come from
the runs, so the verdict cannot go stale when runs are added.

Every function takes a frame of final metrics at the training length (`report.final_frame`,
one evaluation), with the study's `variant` column.
"""

from __future__ import annotations

import pandas as pd

from artrm.book.plots import label
from artrm.book.report import NOT_RUN, paired_difference
from artrm.book.statistics import LEARNED, MIN_SEEDS, mean_interval
from artrm.data.tasks import task_names
from artrm.experiments.study import BASELINES, FIXES_OF
from artrm.models.ladder import model_names

NEAR_CHANCE = 0.2  # one digit in ten is chance; below this a mean is "near chance"
NESTED = tuple(m for m in model_names() if m in FIXES_OF)  # ladder order


def _seeds(n: int) -> str:
    return f"{n} seed" if n == 1 else f"{n} seeds"


def _rows(df: pd.DataFrame, model: str, variant: str, task: str) -> pd.Series:
    rows = df[(df["model"] == model) & (df["variant"] == variant) & (df["task"] == task)]
    return rows.set_index("seed")["char_acc"]


def cell(df: pd.DataFrame, model: str, variant: str, task: str) -> str:
    """"0.95 [0.90, 0.99], 4 of 5 seeds learned" (the interval from 3 seeds on)."""
    x = _rows(df, model, variant, task)
    if x.empty:
        return NOT_RUN
    mean, lo, hi = mean_interval(x)
    interval = f" [{lo:.2f}, {hi:.2f}]" if len(x) >= MIN_SEEDS else ""
    return f"{mean:.2f}{interval}, {int((x >= LEARNED).sum())} of {_seeds(len(x))} learned"


def outcome_table(df: pd.DataFrame, variants: tuple[str, ...]) -> pd.DataFrame:
    """Model x variant rows, task columns: mean [95% interval], seeds that learned."""
    rows = {}
    for model in df["model"].cat.categories if hasattr(df["model"], "cat") else []:
        for variant in variants:
            if ((df["model"] == model) & (df["variant"] == variant)).any():
                rows[(label(model), variant)] = {task: cell(df, model, variant, task)
                                                 for task in present_tasks(df)}
    return pd.DataFrame(rows).T


def present_tasks(df: pd.DataFrame) -> list[str]:
    return [t for t in task_names() if (df["task"] == t).any()]


def difference(df: pd.DataFrame, task: str, a: dict, b: dict) -> str:
    """"+0.85 [0.80, 0.90] over 5 seeds, reliable" for a - b, paired by seed."""
    d = paired_difference(df[df["task"] == task], a, b)
    if not d["seeds"]:
        return NOT_RUN
    interval = f" [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]" if d["seeds"] >= MIN_SEEDS else ""
    verdict = "reliable" if d["reliable"] else "not reliable"
    return f"{d['difference']:+.2f}{interval} over {_seeds(d['seeds'])}, {verdict}"


def _reliable(df: pd.DataFrame, task: str, a: dict, b: dict) -> bool:
    return paired_difference(df[df["task"] == task], a, b)["reliable"]


def faithful_nested(df: pd.DataFrame) -> str:
    """Claim 1: faithful, the nested rungs stay near chance on every task."""
    parts, near = [], True
    for model in NESTED:
        for task in present_tasks(df):
            x = _rows(df, model, "faithful", task)
            if len(x):
                near &= bool(x.mean() < NEAR_CHANCE)
                parts.append(f"{label(model)} on {task} {cell(df, model, 'faithful', task)}")
    if not parts:
        return "The faithful nested rungs: " + NOT_RUN + "."
    holds = "holds" if near else "does not hold everywhere"
    return (f"**The faithful nested rungs stay near chance: {holds}.** " + "; ".join(parts)
            + ".")


def addition_ranking(df: pd.DataFrame) -> str:
    """Claim 2: on addition the Dual UT beats Dense (the paper's 83 against 80 percent)."""
    a, b = {"model": "ut_level1", "variant": "faithful"}, {"model": "gpt", "variant": "faithful"}
    if "addition" not in present_tasks(df):
        return "Dual UT against Dense on addition: " + NOT_RUN + "."
    d = difference(df, "addition", a, b)
    ahead = _reliable(df, "addition", a, b) and d.startswith("+")
    behind = _reliable(df, "addition", a, b) and d.startswith("-")
    word = ("holds reliably" if ahead else "is reversed, reliably" if behind
            else "is not reliable either way")
    return (f"**The Dual UT ahead of Dense on addition {word}:** Dual UT "
            f"{cell(df, 'ut_level1', 'faithful', 'addition')}; Dense "
            f"{cell(df, 'gpt', 'faithful', 'addition')}; difference {d}.")


def correction(df: pd.DataFrame, variant: str, against: str = "faithful") -> str:
    """What `variant` does to each nested rung on each task, paired with `against`."""
    parts = []
    for model in NESTED:
        for task in present_tasks(df):
            if _rows(df, model, variant, task).empty:
                continue
            parts.append(f"{label(model)} on {task}: {cell(df, model, variant, task)} "
                         f"(against {against}: "
                         + difference(df, task, {"model": model, "variant": variant},
                                      {"model": model, "variant": against}) + ")")
    return "; ".join(parts) if parts else NOT_RUN


def best_against_baselines(df: pd.DataFrame, variants: tuple[str, ...]) -> str:
    """Per task, the best corrected nested variant against Dense and the Dual UT."""
    parts = []
    for task in present_tasks(df):
        means = {(m, v): _rows(df, m, v, task).mean() for m in NESTED for v in variants
                 if not _rows(df, m, v, task).empty}
        if not means:
            continue
        (model, variant), _ = max(means.items(), key=lambda kv: kv[1])
        gaps = ", ".join(
            f"minus {label(base)} " + difference(df, task, {"model": model, "variant": variant},
                                                 {"model": base, "variant": "faithful"})
            for base in ("gpt", "ut_level1"))
        parts.append(f"{task}: {label(model)} with {variant} ({gaps})")
    return "; ".join(parts) if parts else NOT_RUN


def near_chance_everywhere(df: pd.DataFrame, task: str, variants: tuple[str, ...]) -> str:
    """Whether every nested variant's mean on `task` stays near chance: "yes", "no: <the
    variants that leave it>", or "not run yet"."""
    means = {(m, v): _rows(df, m, v, task).mean() for m in NESTED for v in variants
             if not _rows(df, m, v, task).empty}
    if not means:
        return NOT_RUN
    above = [f"{label(m)} with {v} ({x:.2f})" for (m, v), x in means.items()
             if x >= NEAR_CHANCE]
    return "yes" if not above else "no: " + ", ".join(above)


def seed_coverage(df: pd.DataFrame, variants: tuple[str, ...], planned: int) -> str:
    """How many seeds the study's cells (baselines and the nested rungs in `variants`) hold per
    task against the `planned` number, and what a shortfall means for the verdict."""
    cells = [(m, "faithful") for m in BASELINES] + [(m, v) for m in NESTED for v in variants]
    parts, short, partial = [], [], []
    for task in present_tasks(df):
        counts = [len(_rows(df, m, v, task)) for m, v in cells]
        low, high = min(counts), max(counts)
        parts.append(f"{task} {low}" + (f" to {high}" if high > low else ""))
        if low < MIN_SEEDS:
            short.append(task)
        elif low < planned:
            partial.append(task)
    if not parts:
        return NOT_RUN
    text = f"Seeds per cell: {', '.join(parts)}, of the {planned} planned."
    if short:
        text += (f" Where a cell has fewer than {MIN_SEEDS} seeds ({', '.join(short)}), no "
                 "interval is shown and no difference can be called reliable: its numbers are "
                 "observations of single runs, not yet results.")
    if partial:
        text += (f" On {', '.join(partial)} every cell has at least {MIN_SEEDS} seeds, so "
                 "intervals and paired differences are shown, but they are wider than the "
                 "planned seeds would give.")
    if short or partial:
        text += (" The CPU time of this edition ran out before the remaining seeds "
                 "(`python -m artrm grid --profile cpu --experiment study` trains them, "
                 "resuming where it stopped).")
    return text
