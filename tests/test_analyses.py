"""The H-L and budget analyses' tables and texts are computed from the stored records."""

from __future__ import annotations

import dataclasses
import math

from artrm.book import analyses, chapter


def record(model: str, seed: int, h: int, inner: int, state_norm: bool, acc: float,
           budget: int = 24) -> dict:
    metrics = {m: acc for m in analyses.METRICS}
    return {"model": model, "seed": seed,
            "config": {"arch": {"state_norm": state_norm, "budget": budget}},
            "plan": {"n_outer": h, "n_inner": inner, "n_layer": budget // (h * (inner + 1))},
            "passes": {"forward_mean": float(budget), "backward_mean": float(inner + 1)},
            "final": {"10": metrics}}


def test_hl_table_averages_seeds_and_best_text_names_the_best_split():
    df = analyses.frame([record("trm", 1, 2, 2, False, 0.1), record("trm", 2, 2, 2, False, 0.3),
                         record("trm", 1, 4, 2, False, 0.5), record("trm", 1, 2, 2, True, 0.9)],
                        10)
    table = analyses.hl_table(df)
    assert table.loc[("Autoregressive TRM", "faithful", 2, 2, 4), "char_acc"] == 0.2
    assert table.loc[("Autoregressive TRM", "faithful", 2, 2, 4), "seeds"] == 2
    # only the last cycle carries gradient
    assert table.loc[("Autoregressive TRM", "faithful", 4, 2, 2), "grad_passes"] == 3
    assert analyses.best_text(df, "faithful").endswith("at 4x2 (0.50)")
    assert analyses.best_text(df, "state_norm").endswith("at 2x2 (0.90)")


def test_coverage_names_a_partial_grid_and_how_to_finish_it():
    assert analyses.coverage_text(20, 20, "hl") == "All 20 runs of the grid are stored."
    text = analyses.coverage_text(4, 20, "hl")
    assert "4 of the 20 runs" in text and "--experiment hl" in text


def test_hl_verdict_names_the_splits_off_the_plateau_and_what_that_means():
    none = analyses.frame([record("trm", 1, 2, 2, False, 0.1), record("trm", 1, 4, 2, False, 0.2),
                           record("trm", 1, 2, 2, True, 0.95)], 10)
    text = analyses.hl_verdict_text(none)
    assert ("Faithful, the Autoregressive TRM leaves the plateau at 0 of 2 splits. With "
            "state_norm, the Autoregressive TRM leaves the plateau at 1 of 1 splits (2x2 (0.95); "
            "1 reach 0.9).") in text
    assert text.endswith("not an artefact of the H-L choice (1 seed per split).")
    # a split counts on its mean over seeds: 0.2 and 0.7 average below 0.5, 0.4 and 0.7 not
    below = analyses.frame([record("trm", 1, 4, 2, False, 0.2),
                            record("trm", 2, 4, 2, False, 0.7)], 10)
    assert "No split lifts" in analyses.hl_verdict_text(below)
    some = analyses.frame([record("trm", 1, 4, 2, False, 0.4),
                           record("trm", 2, 4, 2, False, 0.7)], 10)
    text = analyses.hl_verdict_text(some)
    assert ("(the Autoregressive TRM at 4x2 (0.55, 1 of 2 seeds)): at this budget the H-L "
            "choice matters") in text
    assert text.endswith("(2 seeds per split).")
    uneven = analyses.frame([record("trm", 1, 4, 2, False, 0.4), record("trm", 2, 4, 2, False, 0.7),
                             record("trm", 1, 2, 2, False, 0.1)], 10)
    assert analyses.hl_verdict_text(uneven).endswith("(1 to 2 seeds per split).")
    assert analyses.hl_verdict_text(analyses.frame([], 10)) == "No split is stored yet."


def curve_record(model: str, budget: int, accs: list[float], seed: int = 1) -> dict:
    history = [{"step": 100 * (i + 1), "eval": {"10": {m: a for m in analyses.METRICS}}}
               for i, a in enumerate(accs)]
    return {"model": model, "seed": seed, "config": {"arch": {"budget": budget}},
            "history": history}


def test_plateau_exits_name_the_first_step_past_the_threshold_or_never():
    curves = analyses.curves_frame([curve_record("ut", 6, [0.1, 0.6, 0.9]),
                                    curve_record("ut", 12, [0.1, 0.2, 0.3]),
                                    curve_record("gpt_level1", 6, [0.1, 0.2, 0.7]),
                                    curve_record("gpt_level1", 12, [0.1, 0.55, 0.9]),
                                    curve_record("trm", 6, [0.1, 0.1, 0.1])], 10)
    exits = analyses.plateau_exits(curves).set_index(["model", "budget"])["exit"]
    assert exits[("ut", 6)] == 200 and exits[("gpt_level1", 6)] == 300
    assert math.isnan(exits[("ut", 12)])
    text = analyses.plateau_text(curves)
    assert "Universal Transformer at 6 only (step 200)" in text
    assert "at every budget (steps 200 to 300)" in text
    assert "Autoregressive TRM at no budget (in 300 steps)" in text


def test_plateau_exit_is_read_from_the_mean_over_seeds():
    curves = analyses.curves_frame([curve_record("ut", 6, [0.1, 0.9], seed=1),
                                    curve_record("ut", 6, [0.1, 0.05], seed=2)], 10)
    assert math.isnan(analyses.plateau_exits(curves)["exit"][0])  # mean 0.475 at step 200


def test_budget_curves_wrap_into_rows_of_three_with_a_label_per_row():
    curves = analyses.curves_frame([curve_record(m, b, [0.1, 0.6]) for m in
                                    ("gpt_level1", "gpt_level2", "ut", "ut_level1")
                                    for b in (6, 12)], 10)
    fig = analyses.budget_curves_figure(curves)
    axes = fig.axes
    assert len(axes) == 4  # the unused sixth panel is removed
    assert [len(ax.lines) for ax in axes] == [3, 3, 3, 3]  # two budgets and the chance line
    assert [bool(ax.get_ylabel()) for ax in axes] == [True, False, False, True]


def test_hl_gradient_text_says_whether_full_gradient_separates_the_splits():
    def run(model, h, inner, grad, acc):
        r = record(model, 1, h, inner, False, acc)
        r["passes"]["backward_mean"] = float(grad)
        return r

    exact = analyses.frame([run("ut_level2", 1, 1, 24, 0.8), run("ut_level2", 2, 2, 12, 0.1),
                            run("trm", 1, 1, 2, 0.1)], 10)
    text = analyses.hl_gradient_text(exact)
    assert text.startswith("Faithful, the share of passes that carry gradient: the Dual Nested "
                           "UT 50% to 100%, the Autoregressive TRM 8%.")
    assert text.endswith("exactly those in which every pass carries gradient.")
    partly = analyses.frame([run("ut_level2", 1, 1, 24, 0.8), run("trm", 1, 1, 24, 0.1)], 10)
    assert "(Autoregressive TRM 1x1 do not)" in analyses.hl_gradient_text(partly)
    neither = analyses.frame([run("ut_level2", 1, 1, 12, 0.8), run("trm", 1, 1, 24, 0.1)], 10)
    assert analyses.hl_gradient_text(neither).endswith("does not separate the splits off the "
                                                       "plateau from the rest.")
    flat = analyses.frame([run("trm", 1, 1, 2, 0.1)], 10)
    assert analyses.hl_gradient_text(flat).endswith("No faithful split leaves the plateau.")


def test_hl_dual_ut_text_compares_the_one_by_one_split_with_the_dual_ut_seed_by_seed():
    df = analyses.frame([record("ut_level2", 2, 1, 1, False, 0.8),
                         record("ut_level2", 1, 1, 1, False, 0.2),
                         record("ut_level2", 1, 1, 1, True, 0.3),
                         record("ut_level2", 1, 2, 2, False, 0.1)], 10)
    dual = [{"seed": s, "final": {"10": {"char_acc": a}}} for s, a in [(1, 0.7), (2, 0.9),
                                                                        (3, 0.5)]]
    assert analyses.hl_dual_ut_text(df, dual, 10) == (
        "the Dual Nested UT at 1x1 reaches 0.20, 0.80 (faithful, seeds 1, 2) and 0.30 "
        "(state_norm, seed 1); the Dual UT, 0.70, 0.90 on the faithful seeds")
    assert analyses.hl_dual_ut_text(df, dual[:1], 10) == "not run yet"  # seed 2 unpaired


def test_an_analysis_shows_the_further_seeds_stored_but_trains_none():
    ch = chapter.chapter("smoke")
    ch = dataclasses.replace(ch, profile=dataclasses.replace(ch.profile, study_seeds=(1337, 7)))
    cfg = ch.profile.config("gpt_level1", "copy", 1337)
    own = chapter.train_or_load(ch, [cfg])
    chapter.train_or_load(ch, [cfg.replace(seed=7), cfg.replace(seed=8)])  # 8: not planned
    records = chapter.with_stored_seeds(ch, [cfg], own)
    assert [r["seed"] for r in records] == [1337, 7]
    assert chapter.with_stored_seeds(ch, [cfg, cfg.replace(seed=9)], own) == records  # 9: none
    both = chapter.with_stored_seeds(ch, [cfg, cfg.replace(seed=7)], records)
    assert [r["seed"] for r in both] == [1337, 7]  # a run already there is not added twice
