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


def test_faithful_nested_at_chance_holds_or_not():
    chance = frame(runs("trm", "faithful", "copy", [0.1, 0.12, 0.09, 0.11, 0.1])
                   + runs("ut_level2", "faithful", "copy", [0.1] * 5))
    assert "at chance: holds" in verdict.faithful_nested(chance)
    plateau = frame(runs("trm", "faithful", "copy", [0.1, 0.1, 0.1, 0.1, 0.21]))
    assert "does not hold everywhere" in verdict.faithful_nested(plateau)
    learned = frame(runs("trm", "faithful", "copy", [0.1, 0.95, 0.99, 0.97, 0.98]))
    text = verdict.faithful_nested(learned)
    assert "does not hold everywhere" in text and "4/5 learned [28, 99] (1 chance)" in text


def test_the_addition_ranking_names_its_decoding_and_follows_the_tests():
    """Dual UT 5/5 learned against Dense 0/5 (Fisher p 0.008; sign flip 0.0625 at best): a
    family of one comparison, so Holm leaves Fisher's p below 0.05."""
    ahead = frame(runs("ut_level1", "faithful", "addition", [0.95, 0.97, 0.99, 0.96, 0.98])
                  + runs("gpt", "faithful", "addition", [0.25, 0.22, 0.26, 0.24, 0.25]))
    text = verdict.addition_ranking(ahead, "greedy")
    assert text.startswith("**The Dual UT ahead of Dense on addition (greedy): supported.**")
    assert "learned 5/5 against 0/5, Fisher p 0.00794" in text
    assert "sign-flip p 0.0625, at least 0.0625" in text
    behind = frame(runs("ut_level1", "faithful", "addition", [0.25, 0.22, 0.26, 0.24, 0.25])
                   + runs("gpt", "faithful", "addition", [0.95, 0.97, 0.99, 0.96, 0.98]))
    assert "(sample): reversed (supported)" in verdict.addition_ranking(behind, "sample")
    three = frame(runs("ut_level1", "faithful", "addition", [0.82, 0.97, 0.96, 0.92])
                  + runs("gpt", "faithful", "addition", [0.25, 0.25, 0.27]))
    text = verdict.addition_ranking(three, "greedy")  # 3/4 against 0/3: p 0.11 and 0.25
    assert "(greedy): not resolved by 3 seeds" in text and "Fisher p 0.143" in text


def test_a_correction_is_tested_within_the_chapters_family():
    df = frame(runs("trm", "faithful", "copy", [0.1] * 5)
               + runs("trm", "state_norm", "copy", [0.95, 0.97, 0.99, 0.96, 0.98])
               + runs("trm", "faithful", "addition", [0.12] * 5)
               + runs("trm", "state_norm", "addition", [0.3, 0.25, 0.4, 0.33, 0.35]))
    text = verdict.correction(df, "greedy", "state_norm")
    on_copy, on_addition = text.split("Autoregressive TRM on addition")
    assert on_copy.startswith("Autoregressive TRM on copy: 5/5 learned [48, 100], mean 0.97 "
                              "(against faithful: +0.87 over 5 seeds (greedy; learned 5/5 "
                              "against 0/5, Fisher p 0.00794;")
    assert on_copy.endswith("Holm p 0.0317): supported); ")  # 4 tests: 4 x 0.0079
    # on addition no seed learns (Fisher p 1) and the sign flip's best, 0.0625, is not enough
    assert on_addition.endswith("sign-flip p 0.0625, at least 0.0625; Holm p 0.188): not "
                                "resolved by 5 seeds)")
    assert verdict.correction(df, "greedy", "all") == "not run yet"
    assert verdict.near_chance_everywhere(df, "addition", ("faithful",)) == "yes"
    assert verdict.near_chance_everywhere(df, "addition", ("state_norm",)) == \
        "no: Autoregressive TRM with state_norm (1 plateau, 4 between)"
    assert verdict.near_chance_everywhere(df, "reverse", ("faithful",)) == "not run yet"


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
