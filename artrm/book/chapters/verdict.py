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
    learned_text,
)
from artrm.book.statistics import TRAIN_LEN, min_p, outcome
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
