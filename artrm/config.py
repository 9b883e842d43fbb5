"""Frozen, validated configs of a run, and the hash that decides whether a result is reused.

Every default reproduces the authors' camera-ready protocol (spec 6). A `RunConfig` defines an
experiment and is hashed; an `ExecConfig` says where and how fast it runs and is only recorded.
The hash covers the fields that differ from their defaults (plus `RESULTS_VERSION`), so a new
option whose default keeps the old behaviour leaves every stored result valid.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from artrm.compute import LoopPlan, match_budget
from artrm.errors import ConfigError, check_choice, check_fraction, check_positive
from artrm.ladder import MODEL_NAMES
from artrm.tasks import TASKS, text_length

RESULTS_VERSION = 1  # bump when a code change alters what a config produces
DECODINGS = ("sample", "greedy")
PADDINGS = ("block", "trim")
PRECISIONS = ("fp32", "tf32", "bf16")
POS_ENCODINGS = ("learned", "rope", "none")
YZ_INITS = ("learned", "trained", "fixed")
HALT_PER = ("sequence", "position")


@dataclass(frozen=True)
class ArchConfig:
    """Architecture shared by the ladder (spec 1) and the compute budget (spec 3)."""

    n_embd: int = 384
    n_head: int = 6
    block_size: int = 180
    dropout: float = 0.1
    budget: int = 24  # block passes per forward
    n_outer: int = 2  # H to start the budget search from (nested models)
    n_inner: int = 2  # L to start the budget search from (nested models)
    ponder_weight: float = 0.0  # ACT ponder cost; 0 in every paper run
    halt_exploration: float = 0.25  # TRM: share of sequences given a random minimum of steps
    # -- corrections of the reference's defects; every default is the faithful behaviour ----
    pos_encoding: str = "learned"  # "rope" or "none" instead of learned absolute positions
    full_compute: bool = False  # ACT rungs and trm: never exit early (train and eval)
    grad_cycles: int = 1  # nested rungs: trailing cycles of each ACT step that carry gradient
    yz_init: str = "learned"  # dual rungs: "trained" (not detached at step 0) or "fixed" buffers
    halt_loss: float = 0.0  # trm: weight of the BCE halting loss (TRM uses 0.5)
    halt_per: str = "sequence"  # trm: halt whole sequences (read position 0) or each position
    deep_supervision: bool = False  # trm: a next-token loss at every ACT step

    def __post_init__(self) -> None:
        for name in ("n_embd", "n_head", "block_size", "budget", "n_outer"):
            check_positive(name, getattr(self, name))
        if self.n_embd % self.n_head:
            raise ConfigError(f"n_embd must be divisible by n_head ({self.n_head}); "
                              f"got {self.n_embd}")
        check_fraction("dropout", self.dropout)
        check_fraction("halt_exploration", self.halt_exploration, closed=True)
        if self.ponder_weight < 0:
            raise ConfigError(f"ponder_weight must be zero or positive; got {self.ponder_weight}")
        check_choice("pos_encoding", self.pos_encoding, POS_ENCODINGS)
        check_choice("yz_init", self.yz_init, YZ_INITS)
        check_choice("halt_per", self.halt_per, HALT_PER)
        check_positive("grad_cycles", self.grad_cycles)
        if self.halt_loss < 0:
            raise ConfigError(f"halt_loss must be zero or positive; got {self.halt_loss}")
        if self.pos_encoding == "rope" and (self.n_embd // self.n_head) % 2:
            raise ConfigError(f"pos_encoding rope needs an even head size; got "
                              f"{self.n_embd // self.n_head}")


# which rungs each correction applies to (a switch set on any other rung is an error)
SWITCH_RUNGS: dict[str, tuple[str, ...]] = {
    "full_compute": ("ut", "ut_level1", "ut_level2", "trm"),
    "grad_cycles": ("ut_level2", "trm"),
    "yz_init": ("ut_level1", "ut_level2", "trm"),
    "halt_loss": ("trm",),
    "halt_per": ("trm",),
    "deep_supervision": ("trm",),
    "ponder_weight": ("ut", "ut_level1", "ut_level2"),
}


def check_switches(model: str, arch: ArchConfig, plan: LoopPlan) -> None:
    """A correction switch may only be set on the rungs it applies to."""
    defaults = ArchConfig()
    for name, rungs in SWITCH_RUNGS.items():
        if getattr(arch, name) != getattr(defaults, name) and model not in rungs:
            raise ConfigError(f"{name} applies to {', '.join(rungs)} only; model is {model}")
    if arch.grad_cycles > plan.n_outer:
        raise ConfigError(f"grad_cycles must be at most the {plan.n_outer} cycles of an ACT step "
                          f"(H); got {arch.grad_cycles}")

@dataclass(frozen=True)
class DataConfig:
    train_len: int = 10
    padding: str = "block"  # "block": pad to block_size as the authors do; "trim": exact, faster

    def __post_init__(self) -> None:
        check_positive("train_len", self.train_len)
        check_choice("padding", self.padding, PADDINGS)


@dataclass(frozen=True)
class OptimConfig:
    """AdamW on every parameter, constant learning rate, no clipping (spec 5.1)."""

    steps: int = 5000
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "lr", "eps"):
            check_positive(name, getattr(self, name))
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be zero or positive; got {self.weight_decay}")
        check_fraction("beta1", self.beta1)
        check_fraction("beta2", self.beta2)


@dataclass(frozen=True)
class EvalConfig:
    """Generation-based task evaluation (spec 5.2)."""

    lengths: tuple[int, ...] = (10, 20, 30, 40, 50)
    n_problems: int = 100
    every: int = 250
    decoding: str = "sample"  # temperature-1 sampling, as the paper; "greedy" is the fix
    curve_lengths: tuple[int, ...] | None = None  # lengths at periodic rounds; None = all

    def __post_init__(self) -> None:
        object.__setattr__(self, "lengths", tuple(self.lengths))
        if self.curve_lengths is not None:
            object.__setattr__(self, "curve_lengths", tuple(self.curve_lengths))
        if not self.lengths:
            raise ConfigError("eval lengths must name at least one length")
        for length in self.lengths + (self.curve_lengths or ()):
            check_positive("eval length", length)
        check_positive("n_problems", self.n_problems)
        check_positive("eval every", self.every)
        check_choice("decoding", self.decoding, DECODINGS)

    @property
    def periodic_lengths(self) -> tuple[int, ...]:
        return self.lengths if self.curve_lengths is None else self.curve_lengths


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one training run and its evaluation."""

    model: str
    task: str
    seed: int = 1337
    arch: ArchConfig = field(default_factory=ArchConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    precision: str = "fp32"  # "tf32" and "bf16" change numerics, so they are part of the hash

    def __post_init__(self) -> None:
        check_choice("model", self.model, MODEL_NAMES)
        check_choice("task", self.task, TASKS)
        check_choice("precision", self.precision, PRECISIONS)
        check_switches(self.model, self.arch, self.plan)  # also raises if the budget cannot be met
        check_fits(self.task, (self.data.train_len,) + self.eval.lengths
                   + (self.eval.curve_lengths or ()), self.arch.block_size)

    @property
    def plan(self) -> LoopPlan:
        return match_budget(self.model, self.arch.budget, self.arch.n_outer, self.arch.n_inner)

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (tuples become lists), as the record stores it."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        parts = {"arch": ArchConfig, "data": DataConfig, "optim": OptimConfig, "eval": EvalConfig}
        kwargs = {k: parts[k](**v) if k in parts else v for k, v in d.items()}
        return cls(**kwargs)

    @property
    def hash(self) -> str:
        payload = {"results_version": RESULTS_VERSION, "config": _non_default(self)}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def check_fits(task: str, lengths: tuple[int, ...], block_size: int) -> None:
    """Every problem of `task` at `lengths` must fit in the context window."""
    for length in lengths:
        need = text_length(task, length)
        if need > block_size:
            raise ConfigError(f"length {length} is too long for {task} with block_size "
                              f"{block_size}: it needs {need} positions")


def _non_default(obj: Any) -> Any:
    if not dataclasses.is_dataclass(obj):
        return list(obj) if isinstance(obj, tuple) else obj
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING and value == f.default:
            continue
        if f.default_factory is not dataclasses.MISSING and value == f.default_factory():
            continue
        out[f.name] = _non_default(value)
    return out


DEVICES = ("cpu", "cuda", "auto")


@dataclass(frozen=True)
class ExecConfig:
    """Where and how a run executes: recorded in each record's provenance, not hashed.

    Like the device, `compile` and `fused_adamw` (CUDA only) reorder floating-point work, and
    with dropout a compiled block draws different random masks: such runs are equivalent in
    distribution, not bit for bit, and a stored run is reused whichever of them produced it.
    Switches that change the arithmetic itself (`RunConfig.precision`) are hashed.
    """

    device: str = "cpu"
    compile: bool = False
    fused_adamw: bool = False
    threads: int | None = None  # torch intra-op threads; None keeps torch's default
    checkpoint_every: int | None = None  # steps; None = at every evaluation round
    progress: bool = True

    def __post_init__(self) -> None:
        base = self.device.split(":")[0]
        check_choice("device", base, DEVICES)
        if self.threads is not None:
            check_positive("threads", self.threads)
        if self.checkpoint_every is not None:
            check_positive("checkpoint_every", self.checkpoint_every)
