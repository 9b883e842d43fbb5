"""Tables and statistics behind the book, on hand-made records and a tiny real grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from artrm.book import chapter, report
from artrm.book.chapters import ladder, prose
from artrm.errors import ConfigError


def cells(a: list[float], b: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"seed": list(range(1, len(a) + 1)) + list(range(1, len(b) + 1)),
                         "variant": ["a"] * len(a) + ["b"] * len(b), "char_acc": a + b})


def test_a_comparison_tests_learned_counts_and_paired_seeds_exactly():
    """Fisher on every seed of each cell; the sign flip on the seeds both cells have."""
    df = cells([0.95, 0.13, 0.97, 0.99, 0.98], [0.1, 0.12, 0.11, 0.1])
    d = report.compare(df, {"variant": "a"}, {"variant": "b"}, "greedy")
    assert (d["decoding"], d["learned"], d["against"], d["seeds"]) == ("greedy", "4/5", "0/4", 4)
    assert d["fisher p"] == pytest.approx(6 / 126)  # 4/5 against 0/4: tables as unlikely
    assert d["sign-flip p"] == pytest.approx(0.125) and d["min p"] == pytest.approx(0.125)
    assert d["difference"] == pytest.approx((0.85 + 0.01 + 0.86 + 0.89) / 4)
    with pytest.raises(ConfigError, match="decoding must be one of sample, greedy"):
        report.compare(df, {"variant": "a"}, {"variant": "b"}, "beam")
    none = report.compare(df, {"variant": "a"}, {"variant": "c"}, "sample")
    assert none["seeds"] == 0 and np.isnan(none["fisher p"]) and np.isnan(none["sign-flip p"])


def test_a_family_is_corrected_by_holm_and_worded_by_its_verdict():
    """Holm runs over both tests of every comparison: 5/5 against 0/5 (Fisher p 0.0079) is
    supported alone (2 tests) but only suggestive among four comparisons (8 tests); 4/5
    against 0/5 (p 0.048) is suggestive even alone; one seed of three decides nothing."""
    def of(a: list[float], b: list[float]) -> dict:
        return report.compare(cells(a, b), {"variant": "a"}, {"variant": "b"}, "greedy")

    strong = of([0.95, 0.97, 0.99, 0.98, 0.96], [0.1] * 5)
    four = of([0.95] * 4 + [0.1], [0.1] * 5)
    assert strong["fisher p"] == pytest.approx(2 / 252)
    assert four["fisher p"] == pytest.approx(10 / 210)
    alone = report.with_verdicts([{"name": "x", **strong}], ["name"])
    assert alone["verdict"][0] == "supported"
    alone = report.with_verdicts([{"name": "x", **four}], ["name"])
    assert alone["holm p"][0] == pytest.approx(20 / 210) and alone["verdict"][0] == "suggestive"
    weak = of([0.99, 1.0, 1.0], [0.25, 0.99, 0.98])
    assert weak["sign-flip p"] == pytest.approx(0.25) and weak["fisher p"] == 1.0
    family = report.with_verdicts([{"name": n, **c} for n, c in
                                   [("x", strong), ("y", weak), ("z", weak), ("w", weak)]],
                                  ["name"])
    assert family["holm p"][0] == pytest.approx(8 * 2 / 252)
    assert family["verdict"].tolist() == ["suggestive"] + ["not resolved by 3 seeds"] * 3
    assert family.columns.tolist() == ["name", *report.COMPARISON]


def test_learned_text_gives_the_exact_interval_and_the_other_modes():
    assert report.learned_text([1.0] * 5, "copy") == "5/5 learned [48, 100]"
    assert report.learned_text([0.13, 0.25, 0.5, 0.95], "addition") == \
        "1/4 learned [1, 81] (1 chance, 1 plateau, 1 between)"


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
    assert "ours, paper scale" not in versus.columns  # no run at that scale: no column
    ours = final[(final["model"] == "trm") & (final["length"] == 3)]["char_acc"].item()
    assert versus.loc[("copy", "Autoregressive TRM"), "ours, smoke"] == round(100 * ours, 1)
    table = report.metrics_table(final, "trm")
    assert list(table.index) == [("smoke", "copy", 3), ("smoke", "copy", 4)]
    bullets = prose.takeaways(final, runs, "trm", "gpt", "sample").data
    assert f"{100 * ours:.1f}% (smoke, 1 seed); the paper: 11.0%" in bullets
    assert "(smoke, sampled, 1 seed): copy" in bullets  # one seed: the differences, no tests
    assert "no test can resolve a difference" in bullets and "of the nominal 6" in bullets
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
    assert gpt["cpu: difference"] == -5.0 and gpt["cpu: range"] == "[90.0, 100.0]"
    assert cells.loc[("Dual UT", "addition", "L10 char"), "cpu: ours"] == "-"
    assert cells.loc[("Dual UT", "addition", "L10 seq"), "paper scale: seeds"] == 0
    assert "paper scale: range" not in cells  # no scale has the seeds for one
    headline = report.headline(final)  # a scale with no stored run gets no column
    assert headline.loc[("Dense Transformer", "copy")].tolist() == ["100", "95 [90, 100], 3 seeds"]
    assert headline.loc[("Dual UT", "addition")].tolist() == ["83", report.NOT_RUN]
    assert report.seeds_text(pd.Series([0.8])) == "80, 1 seed"
    assert report.ranking(final, task="copy").loc["Dense Transformer", "rank (ours, cpu)"] == 1


def test_seed_table_and_rung_differences_count_learned_seeds_and_test_each_step():
    rows = [{"model": m, "task": "copy", "seed": s, "variant": "faithful", "scale": "cpu",
             "train_len": 10, "length": 10, "char_acc": acc}
            for m, accs in (("gpt", (0.9, 0.95, 1.0)), ("trm", (0.1, 0.12, 0.2)))
            for s, acc in zip((1, 2, 3), accs)]
    final = pd.DataFrame(rows).astype({"scale": pd.CategoricalDtype(["cpu"]),
                                       "model": pd.CategoricalDtype(["gpt", "trm"])})
    table = report.seed_table(final)
    trm = table.loc[("cpu", "copy", "Autoregressive TRM")]
    assert (trm["mean"], trm["range"], trm["seeds"]) == (14.0, "[10.0, 20.0]", 3)
    assert trm["learned"] == "0/3 learned [0, 71] (2 chance, 1 plateau)"
    steps = report.rung_differences(final, "sample")
    row = steps.loc[("cpu", "copy", "Autoregressive TRM", "Dense Transformer")]
    assert row["difference (points)"] == -81.0 and row["decoding"] == "sample"
    assert (row["learned"], row["against"]) == ("0/3", "3/3")
    assert row["fisher p"] == pytest.approx(0.1) and row["sign-flip p"] == pytest.approx(0.25)
    assert row["verdict"] == "not resolved by 3 seeds"


def test_takeaways_test_the_rung_against_the_one_before_when_the_seeds_allow_it():
    rows = [{"scale": "cpu", "task": t, "model": m, "seed": s, "char_acc": acc}
            for t in ("copy", "addition") for s in range(5)
            for m, acc in (("ut", 0.95 + 0.01 * s), ("gpt", 0.2))]
    df = pd.DataFrame(rows).astype({"scale": pd.CategoricalDtype(["cpu", "paper"])})
    bullet = prose._against(df, "ut", "gpt", "sample")[0]
    assert bullet.startswith("Against the Dense Transformer (cpu, sampled decoding, exact tests")
    # Fisher's p for 5 of 5 against 0 of 5 is 1/126, times the 4 tests of the family (Holm)
    assert "learned 5/5 against 0/5; supported, Holm p 0.0317" in bullet
