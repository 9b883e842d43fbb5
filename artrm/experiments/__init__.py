"""The experiments: named profiles and the grids run on them (the ladder, the corrections
study, the H-L and budget analyses), each a function of a profile, seeds and tasks."""

from __future__ import annotations

from collections.abc import Callable

from artrm.experiments.profiles import Profile
from artrm.experiments.study import study_configs
from artrm.experiments.sweeps import (
    budget_configs,
    flat_configs,
    hl_configs,
    mechanism_configs,
)
from artrm.run_config import RunConfig

Grid = Callable[[Profile, "tuple[int, ...] | None", "tuple[str, ...] | None"], list[RunConfig]]

EXPERIMENTS: dict[str, Grid] = {
    "ladder": lambda profile, seeds, tasks: profile.configs(None, tasks, seeds),
    "study": study_configs,
    "hl": lambda profile, seeds, tasks: hl_configs(profile, seeds),
    "mechanism": lambda profile, seeds, tasks: mechanism_configs(profile, seeds),
    "budget": lambda profile, seeds, tasks: budget_configs(profile, seeds),
    "flat": lambda profile, seeds, tasks: flat_configs(profile, seeds),
}
