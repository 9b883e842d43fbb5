"""The config of one run: its sections, the rung and the task, checked together, and the hash
that decides whether a stored result is reused.

A `RunConfig` defines an experiment and is hashed; an `ExecConfig` (`artrm.config`) says
where and how fast it runs and is only recorded. The hash covers the full config, every
field included. This module sits above `artrm.models` and `artrm.data`: it checks a config
against the rung's accepted switches and budget rule and against the task's vocabulary.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import typing
from dataclasses import dataclass, field
from typing import Any

from artrm.config import (
    PRECISIONS,
    SECTIONS,
    SEED_RANGE,
    ArchConfig,
    DataConfig,
    EvalConfig,
    OptimConfig,
    Section,
    changed_switches,
    checked,
    param,
)
from artrm.data.tasks import get_task, text_length
from artrm.errors import ConfigError
from artrm.models.compute import LoopPlan
from artrm.models.ladder import accepting, rung

HASH_VERSION = 2  # bump (with a migration in artrm.results.migrate) when a config's meaning changes


def check_switches(model: str, arch: ArchConfig) -> None:
    """A rung-specific field may differ from its default only on rungs that accept it."""
    for name in changed_switches(arch):
        if name not in rung(model).switches:
            raise ConfigError(f"{name} applies to {', '.join(accepting(name))} only; "
                              f"model is {model}")


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one training run and its evaluation."""

    model: str
    task: str
    seed: int = param(1337, "seed of the data, the initialisation and the evaluation",
                      low=SEED_RANGE[0], high=SEED_RANGE[1])
    arch: ArchConfig = field(default_factory=ArchConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    precision: str = param("fp32", "fp32, or tf32 / bf16 on CUDA (they change the numerics)",
                           choices=PRECISIONS)

    def __post_init__(self) -> None:
        for name in ("model", "task"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"{name} must be a string; got {getattr(self, name)!r}")
        rung(self.model)
        task = get_task(self.task)
        seed = checked("seed", self.seed, int, _meta(RunConfig, "seed"))
        object.__setattr__(self, "seed", seed)
        checked("precision", self.precision, str, _meta(RunConfig, "precision"))
        for name, cls in SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(f"{name} must be a {cls.__name__}; got {getattr(self, name)!r}")
        if self.arch.vocab_size != task.vocab_size:
            raise ConfigError(f"vocab_size must be {task.vocab_size} for task {self.task} (its "
                              f"vocabulary); got {self.arch.vocab_size}")
        check_switches(self.model, self.arch)
        _ = self.plan  # computed once; raises if the budget cannot be met
        check_fits(self.task, (self.data.train_len,) + self.eval.lengths
                   + (self.eval.curve_lengths or ()), self.arch.block_size)

    @functools.cached_property
    def plan(self) -> LoopPlan:
        """The rung's loop plan for this budget (its budget rule), computed once."""
        return rung(self.model).loop_plan(self.arch)

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (tuples become lists), as the record stores it."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: Any) -> RunConfig:
        """The config of a stored dict; unknown or malformed keys are a ConfigError."""
        if not isinstance(d, dict):
            raise ConfigError(f"config must be an object; got {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in d.items():
            if key not in known:
                raise ConfigError(f"config has an unknown field {key!r}")
            if key in SECTIONS:
                kwargs[key] = section_from_dict(key, value)
            else:
                kwargs[key] = value
        for key in ("model", "task"):
            if key not in kwargs:
                raise ConfigError(f"config has no {key}")
        return cls(**kwargs)

    @property
    def hash(self) -> str:
        """The run's identity: every field of the config."""
        return _digest({"version": HASH_VERSION, "config": self.to_dict()})

    @property
    def train_hash(self) -> str:
        """The trained weights' identity: every field but the evaluation's (which draws from
        its own generators, so it never changes what training does). Keys the checkpoint."""
        d = self.to_dict()
        d.pop("eval")
        return _digest({"version": HASH_VERSION, "train": d})

    def same_training(self, other: RunConfig) -> bool:
        return self.train_hash == other.train_hash

    @property
    def eval_schedule(self) -> tuple[int, tuple[int, ...] | None]:
        """When and at which lengths the periodic evaluation rounds run (`eval.every`,
        `eval.curve_lengths`): a record's history holds them, and they need the weights of
        earlier steps."""
        return self.eval.every, self.eval.curve_lengths

    def derivable_from(self, other: RunConfig) -> bool:
        """Whether `other`'s trained run serves this one by evaluating its final weights
        again: the same training and the same periodic rounds; only the final evaluation
        (lengths, decoding, n_problems) differs."""
        return self.same_training(other) and self.eval_schedule == other.eval_schedule


def section_from_dict(name: str, value: Any) -> Section:
    cls = SECTIONS[name]
    if not isinstance(value, dict):
        raise ConfigError(f"config.{name} must be an object; got {value!r}")
    known = {f.name for f in dataclasses.fields(cls)}
    for key in value:
        if key not in known:
            raise ConfigError(f"config.{name} has an unknown field {key!r}")
    return cls(**value)


def _meta(cls: type, name: str) -> typing.Mapping[str, Any]:
    return next(f.metadata for f in dataclasses.fields(cls) if f.name == name)


def _digest(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def check_fits(task: str, lengths: tuple[int, ...], block_size: int) -> None:
    """Every problem of `task` at `lengths` must fit in the context window."""
    for length in lengths:
        need = text_length(task, length)
        if need > block_size:
            raise ConfigError(f"length {length} is too long for {task} with block_size "
                              f"{block_size}: it needs {need} positions")


