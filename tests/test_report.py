"""Tables and statistics behind the book, on hand-made records and a tiny real grid."""

from __future__ import annotations

import pandas as pd
import pytest

from artrm.book import chapter, report
from artrm.errors import ConfigError


def test_bootstrap_interval_is_deterministic_and_covers_the_mean():
    mean, lo, hi = report.bootstrap_mean([0.1, 0.2, 0.3, 0.4, 0.5])
    assert mean == pytest.approx(0.3) and lo < mean < hi
    assert (mean, lo, hi) == report.bootstrap_mean([0.1, 0.2, 0.3, 0.4, 0.5])
    assert report.bootstrap_mean([0.7])[1] != report.bootstrap_mean([0.7])[1]  # NaN: no interval


def test_paired_difference_flags_only_consistent_gaps():
    df = pd.DataFrame({"seed": [1, 2, 3, 4, 5] * 2, "variant": ["a"] * 5 + ["b"] * 5,
                       "char_acc": [0.9, 0.8, 0.85, 0.95, 0.9, 0.1, 0.2, 0.15, 0.1, 0.2]})
    d = report.paired_difference(df, {"variant": "a"}, {"variant": "b"})
    assert d["reliable"] and d["difference"] == pytest.approx(0.73) and d["seeds"] == 5
    noisy = df.assign(char_acc=[0.5, 0.1, 0.9, 0.2, 0.6, 0.4, 0.6, 0.3, 0.5, 0.5])
    assert not report.paired_difference(noisy, {"variant": "a"}, {"variant": "b"})["reliable"]
    two = df[df["seed"] <= 2]  # consistent, but two seeds are too few to call it
    assert not report.paired_difference(two, {"variant": "a"}, {"variant": "b"})["reliable"]


@pytest.mark.parametrize("kwargs,message", [
    (dict(profile="huge"), "profile must be one of paper, cpu, smoke"),
    (dict(device="tpu"), "device must be one of cpu, cuda, auto"),
    (dict(tasks=["sort"]), "task must be one of copy, reverse, addition"),
    (dict(seeds=[]), "seeds must be a non-empty list of integers"),
    (dict(force_retrain="yes"), "force_retrain must be True or False"),
])
def test_notebook_parameters_are_checked(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        chapter.chapter(**kwargs)


def test_a_gpu_profile_refuses_to_train_on_a_cpu(data_dir):
    with pytest.raises(ConfigError, match="profile paper needs a GPU"):
        chapter.runs(chapter.chapter("paper", "cpu"), ["gpt"])
    assert not data_dir.exists() or not any(data_dir.rglob("*.json"))


def test_chapter_tables_on_a_tiny_grid(data_dir):
    ch = chapter.chapter("smoke", "cpu", tasks=["copy"])
    records = chapter.runs(ch, ["gpt", "trm"])
    final = report.final_frame(records)
    assert set(final["model"]) == {"gpt", "trm"} and set(final["length"]) == {3, 4}
    assert list(report.compute_table(records)["nominal"]) == [6.0, 6.0]
    comparison = report.paper_comparison(records, length=3)
    assert set(comparison["model"]) == {"Dense Transformer", "Autoregressive TRM"}
    versus = chapter.versus(final, "trm", "gpt", length=3)
    assert versus.loc["copy", "previous rung: paper"] == 1.0
    assert chapter.causality_gap(chapter.build(ch, "trm")) == 0.0
    passes = chapter.counted_passes(ch, chapter.build(ch, "trm"))["block passes"]
    assert passes["forward (counted)"] == 6 and passes["backward (counted)"] == 3
    swept = chapter.evaluations(ch, records, "greedy", steps=lambda r: (1, 2))
    sweep = report.sweep_frame(swept)
    assert sorted(sweep["steps"].unique()) == [1, 2]
    assert (sweep[sweep["model"] == "trm"]["passes"] == sweep["steps"] * 6).all()
