"""Named configurations of the whole grid, each defined once here.

paper  the camera-ready run (spec 6): budget 24, n_embd 384, 6 heads, block 180, dropout 0.1,
       batch 64, 5000 steps, evaluation every 250 steps on 100 problems at lengths 10..50,
       sampling decode, seed 1337. Needs a GPU (about 40 h per run on a 2-core CPU).
cpu    a reduced configuration for a 2-core CPU (the whole 7 x 3 grid in about an hour with
       two workers): the paper's ladder, budget 24 with the same loop plans, L_train 10,
       batch 32 and sampling decode, but width 64 (4 heads), 1500 steps at lr 1e-3 (15% of
       the paper's training problems, hence the larger step size), lengths 10/20/30 (block
       100), trimmed padding and no dropout. Every training problem is fresh, so dropout has
       nothing to regularise, while on a CPU its random masks cost half of every step; with
       dropout off, trimming the padding is exactly the paper's padded computation.
smoke  seconds per run, for tests and for exercising the notebooks end to end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from artrm.config import ArchConfig, DataConfig, EvalConfig, OptimConfig, RunConfig
from artrm.errors import check_choice
from artrm.ladder import MODEL_NAMES
from artrm.tasks import TASKS


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    arch: ArchConfig = field(default_factory=ArchConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seeds: tuple[int, ...] = (1337,)
    study_seeds: tuple[int, ...] = (1337, 1338, 1339, 1340, 1341)  # the corrections study
    study_tasks: tuple[str, ...] = TASKS
    models: tuple[str, ...] = MODEL_NAMES
    tasks: tuple[str, ...] = TASKS
    device: str = "cpu"  # where the profile is meant to run

    def config(self, model: str, task: str, seed: int | None = None) -> RunConfig:
        return RunConfig(model=model, task=task, seed=self.seeds[0] if seed is None else seed,
                         arch=self.arch, data=self.data, optim=self.optim, eval=self.eval)

    def configs(self, models: tuple[str, ...] | None = None, tasks: tuple[str, ...] | None = None,
                seeds: tuple[int, ...] | None = None) -> list[RunConfig]:
        """The grid: models x tasks x seeds, in ladder order."""
        return [self.config(m, t, s) for t in (tasks or self.tasks) for m in (models or self.models)
                for s in (seeds or self.seeds)]


PAPER = Profile(
    name="paper",
    description="the authors' camera-ready protocol (GPU)",
    device="cuda",
)

CPU = Profile(
    name="cpu",
    description="reduced width and steps for a 2-core CPU; same ladder, budget and tasks",
    arch=ArchConfig(n_embd=64, n_head=4, block_size=100, dropout=0.0, budget=24),
    data=DataConfig(train_len=10, padding="trim"),
    optim=OptimConfig(steps=1500, batch_size=32, lr=1e-3),
    eval=EvalConfig(lengths=(10, 20, 30), n_problems=100, every=100, curve_lengths=(10,)),
)

SMOKE = Profile(
    name="smoke",
    description="tiny and fast: for tests and end-to-end checks of the notebooks",
    arch=ArchConfig(n_embd=32, n_head=2, block_size=16, dropout=0.0, budget=6),
    data=DataConfig(train_len=3, padding="trim"),
    optim=OptimConfig(steps=20, batch_size=16, lr=1e-3),
    eval=EvalConfig(lengths=(3, 4), n_problems=16, every=10, curve_lengths=(3,)),
    study_seeds=(1337,),
    study_tasks=("copy",),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (PAPER, CPU, SMOKE)}


def get_profile(name: str) -> Profile:
    check_choice("profile", name, tuple(PROFILES))
    return PROFILES[name]
