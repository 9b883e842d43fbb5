"""The corrections study: its configurations, their variant names, the loop-step sweep, and
how a chapter combines trained seeds with stored runs of further seeds."""

from __future__ import annotations

import dataclasses

from artrm.book import chapter
from artrm.config import EvalConfig, OptimConfig
from artrm.experiments.profiles import SMOKE
from artrm.experiments.study import (
    BASELINES,
    CONTROLS,
    CORE,
    FIXES_OF,
    every_study_config,
    study_configs,
    sweep_steps,
    variant_of,
)
from artrm.results.store import ResultStore
from artrm.training.train import train

# Two planned seeds, two-step runs: the whole study of one seed trains in seconds.
PROFILE = dataclasses.replace(
    SMOKE, study_seeds=(1337, 1338),
    optim=OptimConfig(steps=2, batch_size=4, lr=1e-3),
    eval=EvalConfig(lengths=(3,), n_problems=4, every=2, curve_lengths=(3,)))


def test_core_variants_every_seed_the_screen_on_the_first_and_controls_never():
    first = study_configs(PROFILE, (1337,))
    later = study_configs(PROFILE, (1338,))
    core = len(BASELINES) + len(FIXES_OF) * len(CORE)
    assert len(later) == core
    assert {variant_of(c) for c in later} == {"faithful", *CORE}
    singles = sum(len([f for f in fixes if f not in CORE]) for fixes in FIXES_OF.values())
    # trm's yz_trained alone is a control; its first edition is its "all but state_norm"
    assert len(first) == core + singles - 1 + 1
    names = [(c.model, variant_of(c)) for c in first]
    assert len(set(names)) == len(names)  # each config names exactly one variant
    assert not CONTROLS & set(names)
    assert CONTROLS <= {(c.model, variant_of(c)) for c in every_study_config(PROFILE)}
    assert len({c.hash for c in study_configs(PROFILE)}) == len(first) + len(later)


def test_all_combines_every_correction_of_the_rung():
    cfg = next(c for c in study_configs(PROFILE, (1337,)) if c.model == "trm"
               and variant_of(c) == "all")
    a = cfg.arch
    assert (a.state_norm, a.deep_supervision, a.halt_loss, a.grad_cycles, a.yz_init,
            a.pos_encoding) == (True, True, 0.5, 2, "trained", "rope")


def test_sweep_goes_below_at_and_above_the_trained_steps():
    assert sweep_steps(8) == (1, 2, 4, 6, 8, 12, 16)
    assert sweep_steps(1) == (1, 2)


def test_a_chapter_trains_its_seeds_and_only_loads_the_others(data_dir):
    extra = next(c for c in every_study_config(PROFILE) if c.seed == 1338
                 and variant_of(c) == "rope")  # a stored screen run of a later seed
    ResultStore().save(train(extra, keep_checkpoint=False))  # a stored run of the 2nd seed
    ch = chapter.Chapter(PROFILE, "cpu", ("copy",), (1337,))
    records = chapter.study_runs(ch)
    trained = len(study_configs(PROFILE, (1337,)))
    assert sorted(r["seed"] for r in records) == [1337] * trained + [1338]
    assert len(ResultStore().records()) == len(records)  # nothing of seed 1338 was trained


def test_the_screen_runs_on_copy_and_reverse_only():
    on_addition = study_configs(PROFILE, (1337,), ("addition",))
    assert {variant_of(c) for c in on_addition} == {"faithful", *CORE}
