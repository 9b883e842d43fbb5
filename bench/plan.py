"""What the benchmark measures: its settings and the measurement specs built from them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from artrm.config import DataConfig, ExecConfig
from artrm.experiments.profiles import CPU, PAPER, SMOKE, Profile
from artrm.models.ladder import accepting
from artrm.run_config import RunConfig

# the official code at the paper configuration (block padding) on the project's 2-core CPU,
# seconds per step (official-code-spec section 8)
REFERENCE_S_PER_STEP = {"gpt": 27.8, "trm": 14.2}

CONFIGS: dict[str, tuple[Profile, str | None]] = {  # name -> (profile, padding override)
    "paper": (PAPER, None),  # block padding: every sequence computed at 180 positions
    "paper-trim": (PAPER, "trim"),
    "cpu": (CPU, None),
    "smoke": (SMOKE, None),
}
ACT_RUNGS = tuple(m for m in accepting("full_compute") if m != "trm")


@dataclass(frozen=True)
class Settings:
    device: str
    quick: bool
    models: tuple[str, ...]
    configs: tuple[str, ...]
    task: str
    warmup: int
    steps: int  # timed steps at the paper configurations
    cheap_steps: int  # timed steps at the cpu and smoke configurations
    eval_problems: int
    precisions: tuple[str, ...]
    compile: bool
    fused_adamw: bool
    threads: int | None  # CPU threads of every measurement but the layouts; None = torch's
    act: str  # "full": ACT rungs run every step (their nominal cost); "as-is": halt at will
    scaling_arch: str | None  # profile whose width the scaling sweeps use; None = no sweeps
    scaling_models: tuple[str, ...]
    budgets: tuple[int, ...]
    lengths: tuple[int, ...]
    concurrency_models: tuple[str, ...]  # empty = no concurrency layouts
    layouts: tuple[tuple[int, int | None], ...]  # (processes, threads per process)

    def exec_dict(self, threads: int | None = None) -> dict[str, Any]:
        return dataclasses.asdict(ExecConfig(device=self.device, compile=self.compile,
                                             fused_adamw=self.fused_adamw,
                                             threads=threads or self.threads, progress=False))

    def steps_for(self, profile: Profile) -> int:
        return self.steps if profile is PAPER else self.cheap_steps


def run_config(s: Settings, config: str, model: str, precision: str) -> RunConfig:
    """The run of `model` at benchmark configuration `config`."""
    profile, padding = CONFIGS[config]
    cfg = profile.config(model, s.task)
    changes: dict[str, Any] = {"precision": precision}
    if padding is not None:
        changes["data"] = dataclasses.replace(cfg.data, padding=padding)
    if s.act == "full" and model in ACT_RUNGS:
        changes["arch"] = dataclasses.replace(cfg.arch, full_compute=True)
    return cfg.replace(**changes)


def train_spec(s: Settings, label: str, cfg: RunConfig, steps: int, eval_length: int | None,
               threads: int | None = None) -> dict[str, Any]:
    return {"kind": "train", "label": label, "config": cfg.to_dict(),
            "exec": s.exec_dict(threads), "warmup": s.warmup, "steps": steps,
            "eval_length": eval_length, "eval_problems": s.eval_problems}


def main_specs(s: Settings) -> list[dict[str, Any]]:
    """Every model at every configuration and precision; evaluation is measured once per
    width (generation never pads, so `paper` and `paper-trim` evaluate alike)."""
    specs = []
    for precision in s.precisions:
        evaluated: set[str] = set()
        for config in s.configs:
            profile = CONFIGS[config][0]
            for model in s.models:
                cfg = run_config(s, config, model, precision)
                eval_length = None if profile.name in evaluated else cfg.data.train_len
                label = config if s.device == "cpu" else f"{config}/{precision}"
                specs.append(train_spec(s, label, cfg, s.steps_for(profile), eval_length))
            evaluated.add(profile.name)
    return specs


def scaling_specs(s: Settings) -> list[dict[str, Any]]:
    """Step time against the block-pass budget (at the training length) and against the task
    length (at budget 24), trimmed, at the width of `scaling_arch`."""
    if s.scaling_arch is None:
        return []
    profile = {"paper": PAPER, "cpu": CPU}[s.scaling_arch]
    base_len = 10
    points = [("budget", b, base_len) for b in s.budgets]
    points += [("length", 24, length) for length in s.lengths]
    specs = []
    for model in s.scaling_models:
        for axis, budget, length in points:
            cfg = profile.config(model, s.task).replace(
                arch=dataclasses.replace(profile.arch, budget=budget, block_size=180),
                data=DataConfig(train_len=length, padding="trim"), precision=s.precisions[0],
                eval=dataclasses.replace(profile.eval, lengths=(length,), curve_lengths=None))
            value = budget if axis == "budget" else length
            specs.append(train_spec(s, f"scale-{axis}-{value}", cfg, s.steps_for(PAPER), None))
    return specs


def layout_specs(s: Settings, model: str, processes: int,
                 threads: int | None) -> list[dict[str, Any]]:
    """`processes` copies of one run timed at once: the cpu profile on a CPU, the paper
    configuration on a GPU (every process on the first GPU)."""
    config = "cpu" if s.device == "cpu" else "paper"
    cfg = run_config(s, config, model, s.precisions[0])
    steps = s.steps_for(CONFIGS[config][0])
    label = f"layout-{processes}x{threads or 'default'}"
    return [{**train_spec(s, label, cfg, steps, None, threads), "rank": rank, "world": processes}
            for rank in range(processes)]
