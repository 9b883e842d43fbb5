"""The H-L and budget chapters' tables and figures are computed from the stored records."""

from __future__ import annotations

import dataclasses
import math

from artrm.book import chapter
from artrm.book.chapters import sweeps
from artrm.experiments.profiles import PROFILES
from artrm.experiments.sweeps import ALL_FLAT, FLAT, FLAT_RUNGS, flat_configs, flat_setting


def record(model: str, seed: int, h: int, inner: int, state_norm: bool, acc: float,
           budget: int = 24) -> dict:
    metrics = {m: acc for m in sweeps.METRICS}
    return {"model": model, "seed": seed,
            "config": {"arch": {"state_norm": state_norm, "budget": budget}},
            "plan": {"n_outer": h, "n_inner": inner, "n_layer": budget // (h * (inner + 1))},
            "passes": {"forward_mean": float(budget), "backward_mean": float(inner + 1)},
            "final": {"10": metrics}}


def test_hl_table_averages_seeds_and_counts_the_passes_with_gradient():
    df = sweeps.frame([record("trm", 1, 2, 2, False, 0.1), record("trm", 2, 2, 2, False, 0.3),
                         record("trm", 1, 4, 2, False, 0.5), record("trm", 1, 2, 2, True, 0.9)],
                        10)
    table = sweeps.hl_table(df)
    assert table.loc[("Autoregressive TRM", "faithful", 2, 2, 4), "char_acc"] == 0.2
    assert table.loc[("Autoregressive TRM", "faithful", 2, 2, 4), "seeds"] == 2
    # only the last cycle carries gradient
    assert table.loc[("Autoregressive TRM", "faithful", 4, 2, 2), "grad_passes"] == 3


def test_coverage_names_a_partial_grid_and_how_to_finish_it():
    assert sweeps.coverage_text(20, 20, "hl") == "All 20 runs of the grid are stored."
    text = sweeps.coverage_text(4, 20, "hl")
    assert "4 of the 20 runs" in text and "--experiment hl" in text


def curve_record(model: str, budget: int, accs: list[float], seed: int = 1) -> dict:
    history = [{"step": 100 * (i + 1), "eval": {"10": {m: a for m in sweeps.METRICS}}}
               for i, a in enumerate(accs)]
    return {"model": model, "seed": seed, "config": {"arch": {"budget": budget}},
            "history": history}


def test_plateau_exits_name_the_first_step_past_the_threshold_or_never():
    curves = sweeps.curves_frame([curve_record("ut", 6, [0.1, 0.6, 0.9]),
                                    curve_record("ut", 12, [0.1, 0.2, 0.25]),
                                    curve_record("gpt_level1", 6, [0.1, 0.2, 0.7]),
                                    curve_record("gpt_level1", 12, [0.1, 0.55, 0.9]),
                                    curve_record("trm", 6, [0.1, 0.1, 0.1])], 10)
    exits = sweeps.plateau_exits(curves).set_index(["model", "budget"])["exit"]
    assert exits[("ut", 6)] == 200 and exits[("gpt_level1", 6)] == 300
    assert math.isnan(exits[("ut", 12)])
    text = sweeps.plateau_text(curves)
    assert "Universal Transformer at 6 only (step 200)" in text
    assert "at every budget (steps 200 to 300)" in text
    assert "Autoregressive TRM at no budget (in 300 steps)" in text


def test_accuracy_at_reads_one_evaluation_round_or_says_there_is_none():
    r = curve_record("gpt", 24, [0.2, 0.5, 0.8])  # rounds at steps 100, 200, 300
    assert sweeps.accuracy_at(r, 200, 10) == 0.5
    assert math.isnan(sweeps.accuracy_at(r, 400, 10))  # the run is shorter
    assert math.isnan(sweeps.accuracy_at(r, 200, 20))  # that round did not evaluate L20


def test_the_loss_at_a_step_is_read_from_the_history_or_said_missing():
    r = curve_record("gpt", 24, [0.2, 0.5])
    r["history"][1]["train_loss"] = 1.5
    assert sweeps.loss_at(r, 200) == 1.5 and math.isnan(sweeps.loss_at(r, 300))


def test_plateau_exit_is_read_from_the_mean_over_seeds():
    curves = sweeps.curves_frame([curve_record("ut", 6, [0.1, 0.4], seed=1),
                                    curve_record("ut", 6, [0.1, 0.1], seed=2)], 10)
    assert math.isnan(sweeps.plateau_exits(curves)["exit"][0])  # mean 0.25 at step 200


def test_budget_curves_wrap_into_rows_of_three_with_a_label_per_row():
    curves = sweeps.curves_frame([curve_record(m, b, [0.1, 0.6]) for m in
                                    ("gpt_level1", "gpt_level2", "ut", "ut_level1")
                                    for b in (6, 12)], 10)
    fig = sweeps.budget_curves_figure(curves)
    axes = fig.axes
    assert len(axes) == 4  # the unused sixth panel is removed
    assert [len(ax.lines) for ax in axes] == [3, 3, 3, 3]  # two budgets and the chance line
    assert [bool(ax.get_ylabel()) for ax in axes] == [True, False, False, True]


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


def mechanism_record(seed: int, budget: int, h: int, inner: int, grad_cycles: int, acc: float,
                     greedy: float | None = None, at_2000: float = 0.2) -> dict:
    r = record("ut_level2", seed, h, inner, False, acc, budget)
    r["config"]["arch"] |= {"grad_cycles": grad_cycles, "n_outer": h, "n_inner": inner}
    r["history"] = [{"step": 2000, "eval": {"10": {"char_acc": at_2000}}}]
    if greedy is not None:
        r["evaluations"] = [{"decoding": "greedy", "steps": None, "full_compute": False,
                             "metrics": {"10": {"char_acc": greedy}}}]
    return r


def test_the_mechanism_table_counts_seeds_off_the_plateau_with_exact_intervals():
    runs = [mechanism_record(s, 24, 1, 1, 1, a, at_2000=0.3) for s, a in
            enumerate([0.94, 0.86, 0.22, 0.80])]
    runs += [mechanism_record(s, 24, 2, 2, 1, 0.13) for s in range(4)]
    runs += [mechanism_record(0, 8, 1, 1, 1, 0.94, greedy=0.96)]
    m = sweeps.mechanism_frame(runs, 10)
    table = sweeps.mechanism_table(m)
    assert sweeps.PLATEAU_EXIT == 0.28  # the first-digit level of addition, 0.18, plus 0.1
    assert table.loc["1x1", "off the plateau"] == "3 of 4 [19, 99]"  # Clopper-Pearson
    assert table.loc["2x2 (the authors' rule)", "off the plateau"] == "0 of 4 [0, 60]"
    assert table.loc["1x1", "sampled at step 2,000"] == "30, 30, 30, 30"
    assert table.loc["1x1 at budget 8 (the authors' H-L grid)", "greedy"] == "96"
    assert table.loc["1x1", "greedy"] == "-, -, -, -"  # no greedy evaluation stored
    tests = sweeps.mechanism_tests(m)
    assert list(tests["reference"]) == list(sweeps.REFERENCES)
    row = tests.set_index(["setting", "reference"]).loc[
        ("1x1 at budget 8 (the authors' H-L grid)", "2x2 (the authors' rule)")]
    assert row["learned"] == "1/1" and row["against"] == "0/4"  # seeds off the plateau
    assert math.isclose(row["fisher p"], 0.2)  # 1 of 1 against 0 of 4, two-sided


def test_the_gradient_table_splits_the_norm_by_act_step():
    r = mechanism_record(1337, 24, 2, 2, 1, 0.13)
    r["state_trace"] = {"halt_p": [0.1, 0.0, 0.0, 0.0], "act_weight": [0.1, 0, 0, 0.9]}
    r["gradient_trace"] = {"grad_norm": [0.0] * 3 + [1.0] * 3 + [0.0] * 3 + [3.0] * 3
                           + [0.0] * 6 + [0.0] * 3 + [6.0] * 3}
    traced = sweeps.traced_frame([r])
    assert traced.loc[0, "gradient"] == [0.1, 0.3, 0.0, 0.6]
    row = sweeps.gradient_table(traced).loc[("2x2 (the authors' rule)", 1337)]
    assert row["gradient (%)"] == "10, 30, 0, 60"
    assert row["readout weight (%)"] == "10, 0, 0, 90"
    assert row["passes reached"] == 9


def test_the_mechanism_tables_say_when_no_run_is_stored():
    m = sweeps.mechanism_frame([], 10)
    assert list(sweeps.mechanism_table(m).index) == ["no run stored"]
    assert sweeps.mechanism_tests(m).empty
    assert list(sweeps.gradient_table(sweeps.traced_frame([])).index) == ["no run stored"]


def test_the_flat_grid_changes_one_setting_and_tries_some_on_every_flat_rung():
    profile = PROFILES["cpu"]
    configs = flat_configs(profile, (1337,))
    names = [(c.model, flat_setting(c, profile)) for c in configs]
    assert len(set(names)) == len(names) == len(FLAT) - len(ALL_FLAT) + 3 * len(ALL_FLAT)
    assert {m for m, s in names if s in ALL_FLAT} == set(FLAT_RUNGS)
    assert all(m == "gpt" for m, s in names if s not in ALL_FLAT)
    assert flat_setting(profile.config("gpt", "addition", 1337), profile) == "profile"
    tried = sorted((c.arch.budget, c.optim.steps) for c in configs if c.model == "gpt_level1")
    assert tried == [(6, 10_000), (6, 20_000), (24, 20_000)]
