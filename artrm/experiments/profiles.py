"""Named configurations of the whole grid, each defined once here.

paper  the camera-ready run: budget 24, n_embd 384, 6 heads, block 180, dropout 0.1, batch
       64, 5000 steps at lr 3e-4, 100 problems per length, sampling decode, seed 1337. Two
       exact economies: trimmed padding (positions are causal and the padding follows the
       text, so every supervised logit, loss and gradient is the padded run's, ACT rungs
       included; only the count of passes spent on padding differs), and periodic evaluation
       rounds (every 250 steps) at L_train only, all five lengths 10..50 at the last step (the
       learning-dynamics figures read L10 only). Needs a GPU.
cpu    a reduced configuration for a 2-core CPU: the paper's ladder, budget 24 with the same
       loop plans, L_train 10, batch 32 and sampling decode, but width 64 (4 heads), lr 1e-3,
       lengths 10/20/30 (block 100), trimmed padding and no dropout (every training problem is
       fresh, so dropout has nothing to regularise, while on a CPU its masks cost half of
       every step). Copy and reverse train 1500 steps (both are solved by then); addition
       trains the paper's 5000 (about 13 minutes a run on one core), which it needs.
smoke  seconds per run, for tests and for exercising the notebooks end to end.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from artrm.config import ArchConfig, DataConfig, EvalConfig, OptimConfig
from artrm.data.tasks import get_task
from artrm.errors import check_choice
from artrm.models.ladder import model_names
from artrm.run_config import RunConfig

PAPER_TASKS = ("copy", "reverse", "addition")


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    arch: ArchConfig = field(default_factory=ArchConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    task_steps: dict[str, int] = field(default_factory=dict)  # tasks that train longer/shorter
    seeds: tuple[int, ...] = (1337,)
    study_seeds: tuple[int, ...] = (1337, 1338, 1339, 1340, 1341)  # the corrections study
    study_tasks: tuple[str, ...] = PAPER_TASKS
    models: tuple[str, ...] | None = None  # None: every registered rung
    tasks: tuple[str, ...] = PAPER_TASKS
    device: str = "cpu"  # where the profile is meant to run

    def config(self, model: str, task: str, seed: int | None = None) -> RunConfig:
        """The profile's run of `model` on `task` (its vocabulary and step count)."""
        arch = dataclasses.replace(self.arch, vocab_size=get_task(task).vocab_size)
        optim = dataclasses.replace(self.optim, steps=self.task_steps.get(task, self.optim.steps))
        return RunConfig(model=model, task=task, seed=self.seeds[0] if seed is None else seed,
                         arch=arch, data=self.data, optim=optim, eval=self.eval)

    def configs(self, models: tuple[str, ...] | None = None, tasks: tuple[str, ...] | None = None,
                seeds: tuple[int, ...] | None = None) -> list[RunConfig]:
        """The grid: models x tasks x seeds, in ladder order."""
        return [self.config(m, t, s) for t in (tasks or self.tasks)
                for m in (models or self.models or model_names()) for s in (seeds or self.seeds)]


PAPER = Profile(
    name="paper",
    description="the authors' camera-ready protocol (GPU)",
    data=DataConfig(padding="trim"),
    eval=EvalConfig(curve_lengths=(10,)),
    device="cuda",
)

CPU = Profile(
    name="cpu",
    description="reduced width for a 2-core CPU; same ladder, budget and tasks",
    arch=ArchConfig(n_embd=64, n_head=4, block_size=100, dropout=0.0, budget=24),
    data=DataConfig(train_len=10, padding="trim"),
    optim=OptimConfig(steps=1500, batch_size=32, lr=1e-3),
    eval=EvalConfig(lengths=(10, 20, 30), n_problems=100, every=100, curve_lengths=(10,)),
    task_steps={"addition": 5000},
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
