"""Tables and statistics behind the book, on hand-made records and a tiny real grid."""

from __future__ import annotations

import pandas as pd
import pytest

from artrm.book import chapter, ladder, prose, report
from artrm.errors import ConfigError


def test_paired_difference_flags_only_consistent_gaps():
    df = pd.DataFrame({"seed": [1, 2, 3, 4, 5] * 2, "variant": ["a"] * 5 + ["b"] * 5,
                       "char_acc": [0.9, 0.8, 0.85, 0.95, 0.9, 0.1, 0.2, 0.15, 0.1, 0.2]})
    d = report.paired_difference(df, {"variant": "a"}, {"variant": "b"})
    assert d["reliable"] and d["difference"] == pytest.approx(0.73) and d["seeds"] == 5
    noisy = df.assign(char_acc=[0.5, 0.1, 0.9, 0.2, 0.6, 0.4, 0.6, 0.3, 0.5, 0.5])
    assert not report.paired_difference(noisy, {"variant": "a"}, {"variant": "b"})["reliable"]
    two = df[df["seed"] <= 2]  # consistent, but two seeds are too few to call it
    assert not report.paired_difference(two, {"variant": "a"}, {"variant": "b"})["reliable"]


def test_one_seed_of_three_does_not_make_a_difference_reliable():
    """Three differences of one sign, one of them large and two near zero: a percentile
    bootstrap would exclude zero, the t interval does not."""
    df = pd.DataFrame({"seed": [1, 2, 3] * 2, "variant": ["a"] * 3 + ["b"] * 3,
                       "char_acc": [0.99, 1.0, 1.0, 0.25, 0.99, 0.98]})
    d = report.paired_difference(df, {"variant": "a"}, {"variant": "b"})
    assert d["ci_low"] < 0 < d["difference"] and not d["reliable"]


@pytest.mark.parametrize("kwargs,message", [
    (dict(profile="huge"), "profile must be one of paper, cpu, smoke"),
    (dict(device="tpu"), "device must be one of cpu, cuda, auto"),
    (dict(tasks=["sort"]), "task must be one of copy, reverse, addition"),
    (dict(seeds=[]), "seeds must be a non-empty list of integers"),
    (dict(force_retrain="yes"), "force_retrain must be True or False"),
    (dict(stored_only=1), "stored_only must be True or False"),
    (dict(force_retrain=True, stored_only=True), "force_retrain and stored_only exclude"),
])
def test_notebook_parameters_are_checked(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        chapter.chapter(**kwargs)


def test_a_gpu_profile_on_a_cpu_renders_its_stored_runs_and_trains_nothing(data_dir, capsys):
    ch = chapter.chapter("paper", "cpu")
    assert chapter.train_or_load(ch, [ch.profile.config("gpt", t) for t in ch.tasks]) == []
    assert capsys.readouterr().out == ("paper: 0 of 3 runs stored (they need a GPU: see "
                                       "bench/NOTES.md)\n")
    assert not data_dir.exists() or not any(data_dir.rglob("*.json"))


def test_the_environment_makes_every_chapter_read_only(monkeypatch):
    monkeypatch.setenv("ARTRM_STORED_ONLY", "1")
    assert chapter.chapter("smoke").stored_only
    with pytest.raises(ConfigError, match="force_retrain and stored_only exclude"):
        chapter.chapter("smoke", force_retrain=True)
    monkeypatch.setenv("ARTRM_STORED_ONLY", "yes")
    with pytest.raises(ConfigError, match="ARTRM_STORED_ONLY must be 1"):
        chapter.chapter("smoke")
    monkeypatch.setenv("ARTRM_STORED_ONLY", "0")
    assert not chapter.chapter("smoke").stored_only


def test_stored_only_names_the_missing_runs_in_one_line_and_trains_nothing(data_dir, capsys):
    ch = chapter.chapter("smoke", "cpu", tasks=["copy"])
    chapter.train_or_load(ch, [ch.profile.config("gpt", "copy")])
    capsys.readouterr()
    read_only = chapter.chapter("smoke", "cpu", tasks=["copy", "reverse"], stored_only=True)
    configs = [read_only.profile.config(m, t) for m in ("gpt", "trm") for t in read_only.tasks]
    records = chapter.train_or_load(read_only, configs)
    assert [(r["model"], r["task"]) for r in records] == [("gpt", "copy")]
    assert capsys.readouterr().out == ("smoke: 1 of 4 runs stored (stored_only: not trained "
                                       "here); missing reverse s1337: gpt, trm; copy s1337: "
                                       "trm\n")
    assert len(list((data_dir / "runs").glob("*.json"))) == 1
    assert chapter.stored(configs[1:2]) == []
    assert capsys.readouterr().out == ("paper scale: 0 of 1 runs stored (they need a GPU: see "
                                       "bench/NOTES.md)\n")


def test_chapter_tables_on_a_tiny_grid(data_dir):
    ch = chapter.chapter("smoke", "cpu", tasks=["copy"])
    records = chapter.train_or_load(ch, [ch.profile.config(m, "copy") for m in ("gpt", "trm")])
    runs = {"smoke": records, "paper": []}
    final = report.final_frame(runs)
    assert set(final["model"]) == {"gpt", "trm"} and set(final["length"]) == {3, 4}
    assert list(final["scale"].cat.categories) == ["smoke", "paper"]
    assert list(report.compute_table(runs)["nominal"]) == [6.0, 6.0]
    versus = report.versus(final, "trm", "gpt")
    assert versus.loc[("copy", "Dense Transformer"), "the paper"] == 100.0
    assert versus.loc[("copy", "Autoregressive TRM"), "ours, paper scale"] == report.NOT_RUN
    ours = final[(final["model"] == "trm") & (final["length"] == 3)]["char_acc"].item()
    assert versus.loc[("copy", "Autoregressive TRM"), "ours, smoke"] == round(100 * ours, 1)
    table = report.metrics_table(final, "trm")
    assert list(table.index) == [("smoke", "copy", 3), ("smoke", "copy", 4)]
    bullets = prose.takeaways(final, runs, "trm", "gpt").data
    assert f"{100 * ours:.1f}% (smoke, 1 seed); the paper: 11.0%" in bullets
    assert "too few to call any reliable" in bullets and "of the nominal 6" in bullets
    model = ladder.build(ch.profile, "trm")
    assert ladder.causality_gap(model) == 0.0
    passes = ladder.counted_passes(ch.profile, model)["block passes"]
    assert passes["forward (counted)"] == 6 and passes["backward (counted)"] == 3
    swept = chapter.evaluations(ch, records, "greedy", steps=lambda r: (1, 2))
    sweep = report.sweep_frame(swept)
    assert sorted(sweep["steps"].unique()) == [1, 2]
    assert (sweep[sweep["model"] == "trm"]["passes"] == sweep["steps"] * 6).all()


def test_every_number_the_paper_reports_against_ours_with_deltas_and_intervals():
    rows = [{"model": "gpt", "task": "copy", "seed": s, "variant": "faithful", "scale": "cpu",
             "train_len": 10, "length": 10, "char_acc": acc, "seq_acc": acc}
            for s, acc in zip((1, 2, 3), (0.9, 0.95, 1.0))]
    final = pd.DataFrame(rows).astype({"scale": pd.CategoricalDtype(["cpu", "paper"])})
    cells = report.paper_cells(final)
    gpt = cells.loc[("Dense Transformer", "copy", "L10 char")]
    assert (gpt["paper"], gpt["cpu: ours"], gpt["cpu: seeds"]) == (100.0, 95.0, 3)
    assert gpt["cpu: difference"] == -5.0 and gpt["cpu: 95% interval"] == "[82.6, 100.0]"
    assert cells.loc[("Dual UT", "addition", "L10 char"), "cpu: ours"] == "-"
    assert cells.loc[("Dual UT", "addition", "L10 seq"), "paper scale: seeds"] == 0
    assert "paper scale: 95% interval" not in cells  # no scale has the seeds for one
    headline = report.headline(final)
    assert headline.loc[("Dense Transformer", "copy")].tolist() == ["100.0%", "95.0%",
                                                                     report.NOT_RUN]
    assert report.ranking(final, task="copy").loc["Dense Transformer", "rank (ours, cpu)"] == 1
