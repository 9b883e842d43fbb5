"""The study's verdict is written from the data: its wording turns with the numbers."""

from __future__ import annotations

import pandas as pd

from artrm.book import verdict
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


def test_faithful_nested_near_chance_holds_or_not():
    chance = frame(runs("trm", "faithful", "copy", [0.1, 0.12, 0.09, 0.11, 0.1])
                   + runs("ut_level2", "faithful", "copy", [0.1] * 5))
    assert "near chance: holds" in verdict.faithful_nested(chance)
    learned = frame(runs("trm", "faithful", "copy", [0.1, 0.95, 0.99, 0.97, 0.98]))
    text = verdict.faithful_nested(learned)
    assert "does not hold everywhere" in text and "4 of 5 seeds learned" in text


def test_the_addition_ranking_needs_a_reliable_difference():
    ahead = frame(runs("ut_level1", "faithful", "addition", [0.8, 0.82, 0.79, 0.81, 0.8])
                  + runs("gpt", "faithful", "addition", [0.3, 0.25, 0.28, 0.24, 0.3]))
    assert "holds reliably" in verdict.addition_ranking(ahead)
    mixed = frame(runs("ut_level1", "faithful", "addition", [0.8, 0.2, 0.79, 0.21, 0.5])
                  + runs("gpt", "faithful", "addition", [0.3, 0.7, 0.28, 0.74, 0.5]))
    assert "not reliable either way" in verdict.addition_ranking(mixed)


def test_a_correction_is_paired_with_its_reference_and_addition_near_chance_is_checked():
    df = frame(runs("trm", "faithful", "copy", [0.1] * 5)
               + runs("trm", "state_norm", "copy", [0.95, 0.97, 0.99, 0.96, 0.98])
               + runs("trm", "faithful", "addition", [0.12] * 5)
               + runs("trm", "state_norm", "addition", [0.3, 0.25, 0.4, 0.33, 0.35]))
    text = verdict.correction(df, "state_norm")
    assert "5 of 5 seeds learned" in text and "reliable" in text and "not reliable" not in \
        text.split("copy")[1].split(";")[0]
    assert verdict.near_chance_everywhere(df, "addition", ("faithful",)) == "yes"
    assert verdict.near_chance_everywhere(df, "addition", ("state_norm",)).startswith("no: ")
    assert verdict.near_chance_everywhere(df, "reverse", ("faithful",)) == "not run yet"


def test_seed_coverage_counts_seeds_per_cell_and_names_the_shortfall():
    cells = [("gpt", "faithful"), ("ut_level1", "faithful"), ("trm", "faithful"),
             ("ut_level2", "faithful")]
    full = frame([row for m, v in cells for row in runs(m, v, "copy", [0.9] * 5)])
    text = verdict.seed_coverage(full, ("faithful",), planned=5)
    assert text == "Seeds per cell: copy 5, of the 5 planned."
    short = frame([row for m, v in cells for row in runs(m, v, "copy", [0.9] * 5)]
                  + [row for m, v in cells for row in runs(m, v, "addition", [0.2] * (
                      1 if m == "trm" else 2))])
    text = verdict.seed_coverage(short, ("faithful",), planned=5)
    assert "copy 5, addition 1 to 2, of the 5 planned" in text
    assert "fewer than 3 seeds (addition)" in text and "copy)" not in text
    assert "ran out before the remaining seeds" in text
    three = frame([row for m, v in cells for row in runs(m, v, "copy", [0.9] * 3)])
    text = verdict.seed_coverage(three, ("faithful",), planned=5)
    assert text.startswith("Seeds per cell: copy 3, of the 5 planned. On copy every cell has")
    assert "fewer than" not in text and "ran out before the remaining seeds" in text
