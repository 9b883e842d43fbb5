"""The study's verdict is written from the data: its wording turns with the numbers."""

from __future__ import annotations

import pandas as pd

from artrm.book.chapters import verdict
from artrm.data.tasks import task_names
from artrm.models.ladder import model_names


def frame(rows: list[tuple[str, str, str, int, float]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["model", "variant", "task", "seed", "char_acc"])
    df["model"] = pd.Categorical(df["model"], categories=model_names(), ordered=True)
    df["task"] = pd.Categorical(df["task"], categories=task_names(), ordered=True)
    return df


SEEDS = (1, 2, 3, 4, 5)


def runs(model, variant, task, values):
    return [(model, variant, task, s, v) for s, v in zip(SEEDS, values)]


def test_a_cell_counts_learned_seeds_with_the_exact_interval_and_the_modes():
    df = frame(runs("trm", "state_norm", "copy", [0.95, 0.13, 0.97, 0.99, 0.98]))
    assert verdict.cell(df, "trm", "state_norm", "copy") == \
        "4/5 learned [28, 99] (1 chance), mean 0.80"
    assert verdict.cell(df, "trm", "faithful", "copy") == "not run yet"


def test_seed_coverage_gives_the_smallest_p_the_seeds_allow():
    cells = [("gpt", "faithful"), ("ut_level1", "faithful"), ("trm", "faithful"),
             ("ut_level2", "faithful")]
    full = frame([row for m, v in cells for row in runs(m, v, "copy", [0.9] * 5)])
    text = verdict.seed_coverage(full, ("faithful",), planned=5)
    assert text.startswith("Seeds per cell: copy 5, of the 5 planned. The smallest p")
    assert "copy 0.0625 and 0.00794" in text and "ran out" not in text
    short = frame([row for m, v in cells for row in runs(m, v, "copy", [0.9] * 5)]
                  + [row for m, v in cells for row in runs(m, v, "addition", [0.2] * (
                      1 if m == "trm" else 2))])
    text = verdict.seed_coverage(short, ("faithful",), planned=5)
    assert "copy 5, addition 1 to 2, of the 5 planned" in text
    assert "addition 1 and 1" in text and "ran out before the remaining seeds" in text
