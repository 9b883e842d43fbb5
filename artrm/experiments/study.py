"""The "does the negative result hold?" study: the corrections of the reference's defects, and
the bounded state, on `trm` and `ut_level2`, against `gpt` and `ut_level1`, over seeds.

Every study seed trains the core variants of each nested rung: faithful, `state_norm`, deep
supervision, both, all corrections but `state_norm`, and all corrections: so the bounded
state is measured alone, on top of deep supervision, and on top of every other correction.
The first study seed also trains, on copy and reverse, each remaining correction alone (a
one-seed screen) and, for the Dual Nested UT, "all (first edition)", the combination the first
edition of the study used (for the TRM that is "all but state_norm"). On addition the screen
would cost two hours a seed for single corrections the core variants already contain.
`yz_trained` alone (trm) and `full_compute` (ut_level2) are controls: identical to faithful by
construction (the tests prove it), so they are never trained anew; their stored runs show it.

Greedy decoding is an evaluation-only correction: every trained run of the study is
re-evaluated greedily afterwards (see `artrm.training.reevaluate`), so it needs no training.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from artrm.config import ArchConfig
from artrm.experiments.profiles import Profile
from artrm.run_config import RunConfig

FIXES: dict[str, dict[str, Any]] = {
    "state_norm": dict(state_norm=True),  # RMS-normalised y and z: a bounded state
    "deep_supervision": dict(deep_supervision=True),  # a next-token loss at every ACT step
    "halting": dict(halt_loss=0.5, halt_per="position"),  # a trained, causal halting head
    "grad_cycles": dict(grad_cycles=2),  # gradient through both cycles of every ACT step
    "yz_trained": dict(yz_init="trained"),
    "rope": dict(pos_encoding="rope"),
    "full_compute": dict(full_compute=True),  # never exit early: more passes, same outputs
}
FIXES_OF: dict[str, tuple[str, ...]] = {
    "trm": ("state_norm", "deep_supervision", "halting", "grad_cycles", "yz_trained", "rope"),
    "ut_level2": ("state_norm", "deep_supervision", "grad_cycles", "yz_trained", "rope"),
}
FIRST_EDITION: dict[str, tuple[str, ...]] = {  # what "all" combined before state_norm
    "trm": ("halting", "deep_supervision", "grad_cycles", "yz_trained", "rope"),
    "ut_level2": ("grad_cycles", "yz_trained", "full_compute", "rope"),
}
BASELINES = ("gpt", "ut_level1")
CORE = ("faithful", "state_norm", "deep_supervision", "state_norm+deep_supervision",
        "all but state_norm", "all")
CONTROLS = {("trm", "yz_trained"), ("ut_level2", "full_compute")}  # = faithful, proven
SCREEN_TASKS = ("copy", "reverse")


@dataclass(frozen=True)
class Variant:
    model: str
    name: str  # "faithful", a fix, "a+b", "all" or "all (first edition)"
    switches: tuple[tuple[str, Any], ...] = ()

    @property
    def core(self) -> bool:
        return self.name in CORE

    def arch(self, base: ArchConfig) -> ArchConfig:
        return dataclasses.replace(base, **dict(self.switches))


def _combined(model: str, name: str, fixes: tuple[str, ...]) -> Variant:
    switches: dict[str, Any] = {}
    for fix in fixes:
        switches.update(FIXES[fix])
    return Variant(model, name, tuple(switches.items()))


def variants() -> list[Variant]:
    """Every variant of the study: core first, then the first seed's screen."""
    out = [Variant(m, "faithful") for m in BASELINES]
    for model, fixes in FIXES_OF.items():
        out += [Variant(model, "faithful"),
                _combined(model, "state_norm", ("state_norm",)),
                _combined(model, "deep_supervision", ("deep_supervision",)),
                _combined(model, "state_norm+deep_supervision", ("state_norm", "deep_supervision")),
                _combined(model, "all but state_norm", tuple(f for f in fixes
                                                             if f != "state_norm")),
                _combined(model, "all", fixes)]
    for model, fixes in FIXES_OF.items():
        out += [_combined(model, fix, (fix,)) for fix in fixes if fix not in CORE]
        if set(FIRST_EDITION[model]) != set(fixes) - {"state_norm"}:
            out.append(_combined(model, "all (first edition)", FIRST_EDITION[model]))
    out.append(_combined("ut_level2", "full_compute", ("full_compute",)))
    return out


def _config(profile: Profile, v: Variant, task: str, seed: int) -> RunConfig:
    cfg = profile.config(v.model, task, seed)
    return cfg.replace(arch=v.arch(cfg.arch))


def study_configs(profile: Profile, seeds: tuple[int, ...] | None = None,
                  tasks: tuple[str, ...] | None = None) -> list[RunConfig]:
    """The runs to train, seed by seed (so a partly run study holds whole seeds): the core
    variants for every seed (the profile's study seeds by default), and the screen of single
    corrections for the profile's first study seed on SCREEN_TASKS; controls are never
    trained."""
    first = profile.study_seeds[0]
    return [_config(profile, v, task, seed)
            for seed in seeds or profile.study_seeds
            for task in tasks or profile.study_tasks
            for v in variants()
            if (v.core or (seed == first and task in SCREEN_TASKS))
            and (v.model, v.name) not in CONTROLS]


def every_study_config(profile: Profile, tasks: tuple[str, ...] | None = None
                       ) -> list[RunConfig]:
    """Every variant (controls included) for every planned study seed: what a stored study
    may hold (older runs of the screen for later seeds too)."""
    return [_config(profile, v, task, seed) for seed in profile.study_seeds
            for task in tasks or profile.study_tasks for v in variants()]


def variant_of(cfg: RunConfig | dict[str, Any]) -> str:
    """The study variant a config belongs to (a name from `variants()`, or "other")."""
    if isinstance(cfg, dict):
        cfg = RunConfig.from_dict(cfg)
    base = ArchConfig()
    touched = {k for fix in FIXES.values() for k in fix}
    changed = {f.name: getattr(cfg.arch, f.name) for f in dataclasses.fields(ArchConfig)
               if f.name in touched and getattr(cfg.arch, f.name) != getattr(base, f.name)}
    if not changed:
        return "faithful"
    for v in variants():
        if v.model == cfg.model and dict(v.switches) == changed:
            return v.name
    return "other"


def sweep_steps(trained: int) -> tuple[int, ...]:
    """Loop steps for a test-time compute sweep: below, at and above the trained number."""
    n = trained
    return tuple(sorted({1, max(1, n // 4), max(1, n // 2), max(1, 3 * n // 4), n,
                         n + max(1, n // 2), 2 * n}))
