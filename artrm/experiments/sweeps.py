"""Two analyses of the authors' repository that are not in the camera-ready paper, on a
profile's addition task, each a grid of its own:

hl      the H-L structure: one budget split into different (H cycles, L reasoning updates)
        for the nested rungs, with and without the bounded state (`state_norm`);
budget  compute scaling: budgets 6, 12, 24 and 48 block passes for every weight-tied rung.
"""

from __future__ import annotations

from dataclasses import replace

from artrm.experiments.profiles import Profile
from artrm.models.ladder import RUNGS
from artrm.run_config import RunConfig

HL_SPLITS = ((1, 1), (2, 1), (2, 2), (4, 2), (8, 2))  # (H, L); H(L+1) divides 24
BUDGETS = (6, 12, 24, 48)
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
