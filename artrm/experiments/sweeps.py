"""Two analyses of the authors' repository that are not in the camera-ready paper, and the
runs that separate what the first of them found, on a profile's addition task, each a grid of
its own:

hl         the H-L structure: one budget split into different (H cycles, L reasoning updates)
           for the nested rungs, with and without the bounded state (`state_norm`);
mechanism  the Dual Nested UT runs that separate gradient coverage, the number of ACT steps N
           and H: the 2x2 split with gradient through both cycles (every pass, N = 4), the
           splits 1x2 (N = 8) and 1x5 (N = 4, as 2x2), and 1x1 at budget 8 (N = 4: the
           authors' own H-L setting, which fixes four ACT steps);
budget     compute scaling: budgets 6, 12, 24 and 48 block passes for every weight-tied rung;
flat       why the Dense Transformer stays on the plateau at the cpu profile's width: the
           paper's batch and dropout, a wider model, fewer layers, more steps, one at a time;
           and a cheap setting tried on all three flat rungs.
"""

from __future__ import annotations

from dataclasses import replace

from artrm.experiments.profiles import Profile
from artrm.models.ladder import RUNGS
from artrm.run_config import RunConfig

HL_SPLITS = ((1, 1), (2, 1), (2, 2), (4, 2), (8, 2))  # (H, L); H(L+1) divides 24
MECHANISM = (  # (budget, H, L, grad_cycles) of the Dual Nested UT: what each run holds fixed
    (24, 2, 2, 2),  # every pass with gradient at N = 4: coverage without the change of N
    (24, 1, 2, 1),  # H = 1 at N = 8
    (24, 1, 5, 1),  # H = 1 at N = 4, the N of the 2x2 split
    (8, 1, 1, 1),  # the authors' H-L setting: 1x1 with four ACT steps
)
MECHANISM_SEEDS = (1337, 1338, 1339, 1340)
BUDGETS = (6, 12, 24, 48)
FLAT: dict[str, dict[str, dict[str, object]]] = {  # setting -> {config section: changes}
    "batch 64, dropout 0.1": {"optim": {"batch_size": 64}, "arch": {"dropout": 0.1}},
    "width 192": {"arch": {"n_embd": 192}},
    "budget 6": {"arch": {"budget": 6}},
    "budget 12": {"arch": {"budget": 12}},
    "20,000 steps": {"optim": {"steps": 20_000}},
    "budget 6, 10,000 steps": {"arch": {"budget": 6}, "optim": {"steps": 10_000}},
    "budget 6, 20,000 steps": {"arch": {"budget": 6}, "optim": {"steps": 20_000}},
}
FLAT_RUNGS = ("gpt", "gpt_level1", "gpt_level2")  # Dense, Iterative, Iterative Step
ALL_FLAT = ("budget 6, 10,000 steps", "budget 6, 20,000 steps", "20,000 steps")  # every flat rung
TASK = "addition"


def hl_configs(profile: Profile, seeds: tuple[int, ...] | None = None) -> list[RunConfig]:
    """The nested rungs at the profile's budget, split into each (H, L) of HL_SPLITS whose
    H(L+1) divides it, faithful and with `state_norm`."""
    out = []
    for seed in seeds or profile.seeds:
        for model, cls in RUNGS.items():
            if not cls.nested:
                continue
            for h, inner in HL_SPLITS:
                if profile.arch.budget % (h * (inner + 1)):
                    continue
                for state_norm in (False, True):
                    cfg = profile.config(model, TASK, seed)
                    out.append(cfg.replace(arch=replace(cfg.arch, n_outer=h, n_inner=inner,
                                                        state_norm=state_norm)))
    return out


def budget_configs(profile: Profile, seeds: tuple[int, ...] | None = None) -> list[RunConfig]:
    """Every weight-tied rung at each budget of BUDGETS (faithful)."""
    out = []
    for seed in seeds or profile.seeds:
        for budget in BUDGETS:
            for model, cls in RUNGS.items():
                if cls.tied:
                    cfg = profile.config(model, TASK, seed)
                    out.append(cfg.replace(arch=replace(cfg.arch, budget=budget)))
    return out


def mechanism_configs(profile: Profile, seeds: tuple[int, ...] | None = None
                      ) -> list[RunConfig]:
    """The Dual Nested UT (faithful but for `grad_cycles`) at each setting of MECHANISM, for
    MECHANISM_SEEDS unless `seeds` are given, seed by seed."""
    out = []
    for seed in seeds or MECHANISM_SEEDS:
        for budget, h, inner, grad_cycles in MECHANISM:
            cfg = profile.config("ut_level2", TASK, seed)
            out.append(cfg.replace(arch=replace(cfg.arch, budget=budget, n_outer=h,
                                                n_inner=inner, grad_cycles=grad_cycles)))
    return out


def flat_configs(profile: Profile, seeds: tuple[int, ...] | None = None) -> list[RunConfig]:
    """The Dense Transformer on addition with each setting of FLAT changed from the profile's
    (the profile's seeds unless `seeds` are given), and every flat rung in ALL_FLAT's."""
    out = []
    for seed in seeds or profile.seeds:
        for name, changes in FLAT.items():
            for model in FLAT_RUNGS if name in ALL_FLAT else ("gpt",):
                cfg = profile.config(model, TASK, seed)
                sections = {section: replace(getattr(cfg, section), **fields)
                            for section, fields in changes.items()}
                out.append(cfg.replace(**sections))
    return out


def flat_setting(cfg: RunConfig, profile: Profile) -> str:
    """The FLAT setting `cfg` is, or "profile" for the profile's own configuration."""
    base = profile.config(cfg.model, cfg.task, cfg.seed)
    for name, changes in FLAT.items():
        sections = {s: replace(getattr(base, s), **f) for s, f in changes.items()}
        if base.replace(**sections).hash == cfg.hash:
            return name
    return "profile" if base.hash == cfg.hash else "other"
