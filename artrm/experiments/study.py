"""The "does the negative result hold?" study: each correction of the reference's defects
alone and all together, on `trm` and `ut_level2`, against `gpt` and `ut_level1`, over seeds.

Greedy decoding is an evaluation-only correction: every trained run of the study is
re-evaluated greedily afterwards (see `artrm.training.reevaluate`), so it needs no extra training.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from artrm.config import ArchConfig, RunConfig
from artrm.experiments.profiles import Profile

FIXES: dict[str, dict[str, Any]] = {
    "halting": dict(halt_loss=0.5, halt_per="position"),  # a trained, causal halting head
    "deep_supervision": dict(deep_supervision=True),
    "grad_cycles": dict(grad_cycles=2),  # gradient through both cycles of every ACT step
    "yz_trained": dict(yz_init="trained"),
    "full_compute": dict(full_compute=True),
    "rope": dict(pos_encoding="rope"),
}
FIXES_OF: dict[str, tuple[str, ...]] = {
    "trm": ("halting", "deep_supervision", "grad_cycles", "yz_trained", "rope"),
    "ut_level2": ("grad_cycles", "yz_trained", "full_compute", "rope"),
}
BASELINES = ("gpt", "ut_level1")
# Alone, trained initial states change nothing in trm (no loss reaches its first step; a
# test proves the runs bit-identical), so that variant is trained for the first seed only.
FIRST_SEED_ONLY = {("trm", "yz_trained")}


@dataclass(frozen=True)
class Variant:
    model: str
    name: str  # "faithful", a fix, or "all"
    switches: tuple[tuple[str, Any], ...] = ()

    def arch(self, base: ArchConfig) -> ArchConfig:
        return dataclasses.replace(base, **dict(self.switches))


def variants() -> list[Variant]:
    out = [Variant(m, "faithful") for m in BASELINES]
    for model, fixes in FIXES_OF.items():
        out.append(Variant(model, "faithful"))
        combined: dict[str, Any] = {}
        for fix in fixes:
            out.append(Variant(model, fix, tuple(FIXES[fix].items())))
            combined.update(FIXES[fix])
        out.append(Variant(model, "all", tuple(combined.items())))
    return out


def study_configs(profile: Profile, seeds: tuple[int, ...] | None = None,
                  tasks: tuple[str, ...] | None = None) -> list[RunConfig]:
    """Every variant x task x seed (the profile's study seeds by default), seed by seed, so
    that a partly run study holds whole seeds. FIRST_SEED_ONLY variants run for the profile's
    first study seed only."""
    first = profile.study_seeds[0]
    configs = []
    for seed in seeds or profile.study_seeds:
        for task in tasks or profile.study_tasks:
            for v in variants():
                if seed == first or (v.model, v.name) not in FIRST_SEED_ONLY:
                    cfg = profile.config(v.model, task, seed)
                    configs.append(cfg.replace(arch=v.arch(cfg.arch)))
    return configs


def variant_of(cfg: RunConfig | dict[str, Any]) -> str:
    """The study variant a config belongs to ("faithful", a fix name, "all" or "other")."""
    if isinstance(cfg, dict):
        cfg = RunConfig.from_dict(cfg)
    base = ArchConfig()
    changed = {f.name: getattr(cfg.arch, f.name) for f in dataclasses.fields(ArchConfig)
               if f.name in {k for fix in FIXES.values() for k in fix}
               and getattr(cfg.arch, f.name) != getattr(base, f.name)}
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
