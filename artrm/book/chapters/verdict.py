"""The corrections study's verdict, written from the data: each finding is a sentence whose
numbers (seeds that learned with exact intervals, outcome modes, comparisons with exact tests
corrected over the chapter's family) and whose wording (supported, suggestive or not resolved)
come from the runs, so the verdict cannot go stale when runs are added.

Every function takes a frame of final metrics at the training length (`report.final_frame`,
one evaluation, with the study's `variant` column) and, where it compares cells, the name of
that evaluation's decoding ("greedy" or "sample"), which the comparison names.
"""

from __future__ import annotations

import pandas as pd

from artrm.book.plots import label
from artrm.book.report import (
    NOT_RUN,
    comparison_text,
    learned_text,
    study_comparisons,
)
from artrm.book.statistics import MODES, TRAIN_LEN, min_p, outcome
from artrm.data.tasks import task_names
from artrm.experiments.study import BASELINES, FIXES_OF
from artrm.models.ladder import model_names

NESTED = tuple(m for m in model_names() if m in FIXES_OF)  # ladder order



def _rows(df: pd.DataFrame, model: str, variant: str, task: str) -> pd.Series:
    rows = df[(df["model"] == model) & (df["variant"] == variant) & (df["task"] == task)]
    return rows.set_index("seed")["char_acc"]


def _length(df: pd.DataFrame) -> int:
    return int(df["train_len"].iloc[0]) if "train_len" in df and len(df) else TRAIN_LEN


def _modes(df: pd.DataFrame, x: pd.Series, task: str) -> list[str]:
    return [outcome(v, task, _length(df)) for v in x]


def cell(df: pd.DataFrame, model: str, variant: str, task: str) -> str:
    """"4/5 learned [28, 99] (1 chance), mean 0.80": `report.learned_text` and the mean."""
    x = _rows(df, model, variant, task)
    if x.empty:
        return NOT_RUN
    return f"{learned_text(x, task, _length(df))}, mean {x.mean():.2f}"


def outcome_table(df: pd.DataFrame, variants: tuple[str, ...]) -> pd.DataFrame:
    """Model x variant rows, task columns: seeds that learned with the exact interval, the
    modes of the others, and the mean (`cell`)."""
    rows = {}
    for model in df["model"].cat.categories if hasattr(df["model"], "cat") else []:
        for variant in variants:
            if ((df["model"] == model) & (df["variant"] == variant)).any():
                rows[(label(model), variant)] = {task: cell(df, model, variant, task)
                                                 for task in present_tasks(df)}
    return pd.DataFrame(rows).T


def present_tasks(df: pd.DataFrame) -> list[str]:
    return [t for t in task_names() if (df["task"] == t).any()]


def _comparison(df: pd.DataFrame, decoding: str, task: str, a: dict, b: dict
                ) -> pd.Series | None:
    """a against b on `task` from the study's family (`report.study_comparisons`), or None
    when it is not in the family."""
    table = study_comparisons(df, decoding)
    hit = table[(table["task"] == task) & (table["model"] == a["model"])
                & (table["variant"] == a["variant"]) & (table["minus"] == b["model"])
                & (table["minus variant"] == b["variant"])]
    return hit.iloc[0] if len(hit) else None


def difference(df: pd.DataFrame, decoding: str, task: str, a: dict, b: dict) -> str:
    """a against b (`report.comparison_text`), or "not run yet"."""
    row = _comparison(df, decoding, task, a, b)
    return NOT_RUN if row is None else comparison_text(row)


def faithful_nested(df: pd.DataFrame) -> str:
    """Claim 1: faithful, the nested rungs stay at chance on every task (every seed in the
    "chance" mode)."""
    parts, at_chance = [], True
    for model in NESTED:
        for task in present_tasks(df):
            x = _rows(df, model, "faithful", task)
            if len(x):
                at_chance &= set(_modes(df, x, task)) == {"chance"}
                parts.append(f"{label(model)} on {task} {cell(df, model, 'faithful', task)}")
    if not parts:
        return "The faithful nested rungs: " + NOT_RUN + "."
    holds = "holds" if at_chance else "does not hold everywhere"
    return (f"**The faithful nested rungs stay at chance: {holds}.** " + "; ".join(parts)
            + ".")


def addition_ranking(df: pd.DataFrame, decoding: str) -> str:
    """Claim 2: on addition the Dual UT beats Dense (the paper's 83 against 80 percent)."""
    a, b = {"model": "ut_level1", "variant": "faithful"}, {"model": "gpt", "variant": "faithful"}
    row = _comparison(df, decoding, "addition", a, b)
    if row is None:
        return "Dual UT against Dense on addition: " + NOT_RUN + "."
    word = row["verdict"]
    if row["difference"] < 0 and not word.startswith("not resolved"):
        word = f"reversed ({word})"
    return (f"**The Dual UT ahead of Dense on addition ({decoding}): {word}.** Dual UT "
            f"{cell(df, 'ut_level1', 'faithful', 'addition')}; Dense "
            f"{cell(df, 'gpt', 'faithful', 'addition')}; difference {comparison_text(row)}.")


def correction(df: pd.DataFrame, decoding: str, variant: str, against: str = "faithful"
               ) -> str:
    """What `variant` does to each nested rung on each task, against `against`."""
    parts = []
    for model in NESTED:
        for task in present_tasks(df):
            if _rows(df, model, variant, task).empty:
                continue
            parts.append(f"{label(model)} on {task}: {cell(df, model, variant, task)} "
                         f"(against {against}: "
                         + difference(df, decoding, task, {"model": model, "variant": variant},
                                      {"model": model, "variant": against}) + ")")
    return "; ".join(parts) if parts else NOT_RUN


def best_against_baselines(df: pd.DataFrame, decoding: str, variants: tuple[str, ...]) -> str:
    """Per task, the corrected nested variant with the highest mean against Dense and the Dual
    UT."""
    parts = []
    for task in present_tasks(df):
        means = {(m, v): _rows(df, m, v, task).mean() for m in NESTED for v in variants
                 if not _rows(df, m, v, task).empty}
        if not means:
            continue
        (model, variant), _ = max(means.items(), key=lambda kv: kv[1])
        gaps = ", ".join(
            f"minus {label(base)} "
            + difference(df, decoding, task, {"model": model, "variant": variant},
                         {"model": base, "variant": "faithful"})
            for base in BASELINES)
        parts.append(f"{task}: {label(model)} with {variant} ({gaps})")
    return "; ".join(parts) if parts else NOT_RUN


def near_chance_everywhere(df: pd.DataFrame, task: str, variants: tuple[str, ...]) -> str:
    """Whether every seed of every nested variant on `task` stays at chance: "yes", "no: <the
    variants with seeds in other modes>", or "not run yet"."""
    found = {(m, v): _modes(df, _rows(df, m, v, task), task) for m in NESTED for v in variants
             if not _rows(df, m, v, task).empty}
    if not found:
        return NOT_RUN
    above = [f"{label(m)} with {v} ("
             + ", ".join(f"{modes.count(k)} {k}" for k in MODES[1:] if k in modes) + ")"
             for (m, v), modes in found.items() if set(modes) != {"chance"}]
    return "yes" if not above else "no: " + ", ".join(above)


def seed_coverage(df: pd.DataFrame, variants: tuple[str, ...], planned: int) -> str:
    """How many seeds the study's cells (baselines and the nested rungs in `variants`) hold per
    task against the `planned` number, and the smallest p those seeds allow."""
    cells = [(m, "faithful") for m in BASELINES] + [(m, v) for m in NESTED for v in variants]
    parts, floors, short = [], [], False
    for task in present_tasks(df):
        counts = [len(_rows(df, m, v, task)) for m, v in cells]
        low, high = min(counts), max(counts)
        parts.append(f"{task} {low}" + (f" to {high}" if high > low else ""))
        floors.append(f"{task} {min_p(low):.3g} and {min_p(low, paired=False):.3g}")
        short |= low < planned
    if not parts:
        return NOT_RUN
    text = (f"Seeds per cell: {', '.join(parts)}, of the {planned} planned. The smallest p "
            f"those seeds allow (two-sided, at the fewest seeds of a task), for the sign-flip "
            f"test on paired accuracies and Fisher's test on seeds that learned: "
            f"{', '.join(floors)}. Where both are above 0.05, no comparison of that task can "
            "be significant, whatever the runs show.")
    if short:
        text += (" The CPU time of this edition ran out before the remaining seeds "
                 "(`python -m artrm grid --profile cpu --experiment study` trains them, "
                 "resuming where it stopped).")
    return text
