"""The sections of a run's config, frozen and validated, and the execution config.

Every default reproduces the authors' camera-ready protocol (book: "Reproducibility"). Each
field declares its type, its allowed values and its help text (`param`); one generic check
validates every field when a section is made, whether it comes from Python, the command
line (whose flags are generated from these fields), a notebook or a stored record. The
sections know nothing of rungs or tasks: the run-level checks (a rung's switches, the task's
vocabulary, the loop plan) and the hash live one layer up, in `artrm.run_config`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from dataclasses import dataclass, field
from typing import Any

from artrm.errors import ConfigError, check_choice

DECODINGS = ("sample", "greedy")
PADDINGS = ("block", "trim")
PRECISIONS = ("fp32", "tf32", "bf16")
POS_ENCODINGS = ("learned", "rope", "none")
YZ_INITS = ("learned", "trained", "fixed")
HALT_PER = ("sequence", "position")
DEVICES = ("cpu", "cuda", "auto")
SEED_RANGE = (-(2**63), 2**63 - 1)  # what torch.manual_seed accepts on both sides


def param(default: Any, help: str, *, low: float | None = None, high: float | None = None,
          open_low: bool = False, open_high: bool = False, choices: tuple[str, ...] = (),
          rung_specific: bool = False, correction: bool = False, flag: str | None = None,
          cli: bool = True) -> Any:
    """A config field: its default, help text and allowed values. `rung_specific` fields may
    be changed only on the rungs that list them in `switches`; a `correction` fixes a defect
    of the reference (its default is the faithful behaviour); `flag` renames the CLI flag."""
    return field(default=default, metadata=dict(
        help=help, low=low, high=high, open_low=open_low, open_high=open_high, choices=choices,
        rung_specific=rung_specific, correction=correction, flag=flag, cli=cli))


class Section:
    """Validation shared by the config dataclasses: every field is checked against its type
    and `param` metadata, and normalised (ints given for floats become floats, length lists
    become sorted tuples), so equivalent configs are equal and hash alike."""

    def __post_init__(self) -> None:
        hints = field_types(type(self))
        for f in dataclasses.fields(self):
            value = checked(f.name, getattr(self, f.name), hints[f.name], f.metadata)
            object.__setattr__(self, f.name, value)
        self.check()

    def check(self) -> None:
        """Checks that involve several fields."""


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """The resolved type of every field of a config dataclass."""
    return typing.get_type_hints(cls)


def checked(name: str, value: Any, kind: Any, meta: typing.Mapping[str, Any]) -> Any:
    """`value` converted to `kind`, or a ConfigError naming `name` and what is allowed."""
    args = typing.get_args(kind)
    if type(None) in args:  # Optional[X]
        if value is None:
            return None
        kind = next(a for a in args if a is not type(None))
        args = typing.get_args(kind)
    origin = typing.get_origin(kind)
    if origin is tuple:  # tuple[int, ...]: a set of lengths, kept sorted and unique
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
            raise ConfigError(f"{name} must be a non-empty list of integers; got {value!r}")
        return tuple(sorted({checked(name, v, args[0], meta) for v in value}))
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false; got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string; got {value!r}")
        if meta.get("choices"):
            check_choice(name, value, meta["choices"])
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer; got {value!r}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number; got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number; got {value!r}")
        value = float(value)
    else:
        raise TypeError(f"unsupported config type {kind} for {name}")
    _check_range(name, value, meta)
    return value


def _check_range(name: str, value: float, meta: typing.Mapping[str, Any]) -> None:
    low, high = meta.get("low"), meta.get("high")
    ok_low = low is None or (value > low if meta.get("open_low") else value >= low)
    ok_high = high is None or (value < high if meta.get("open_high") else value <= high)
    if ok_low and ok_high:
        return
    if low is not None and high is not None:
        left, right = "(" if meta.get("open_low") else "[", ")" if meta.get("open_high") else "]"
        allowed = f"lie in {left}{_num(low)}, {_num(high)}{right}"
    elif low is not None:
        allowed = f"be {'greater than' if meta.get('open_low') else 'at least'} {_num(low)}"
    else:
        allowed = f"be {'less than' if meta.get('open_high') else 'at most'} {_num(high)}"
    raise ConfigError(f"{name} must {allowed}; got {value!r}")


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def check_param(name: str, value: Any, cls: type, field_name: str) -> Any:
    """`value` checked against the type and bounds of field `field_name` of config `cls`, and
    normalised as the config would; a ConfigError names `name`."""
    meta = next(f.metadata for f in dataclasses.fields(cls) if f.name == field_name)
    return checked(name, value, field_types(cls)[field_name], meta)


@dataclass(frozen=True)
class ArchConfig(Section):
    """The architecture shared by the ladder, and the compute budget."""

    n_embd: int = param(384, "width C of the block and the embeddings", low=1, high=65536)
    n_head: int = param(6, "attention heads (n_embd must be divisible by it)", low=1, high=4096)
    block_size: int = param(180, "context window: positions the model can see", low=2,
                            high=1_000_000)
    dropout: float = param(0.1, "dropout in attention and MLP", low=0, high=1, open_high=True)
    vocab_size: int = param(14, "tokens in the vocabulary (set from the task)", low=2,
                            high=1_000_000, cli=False)
    budget: int = param(24, "block passes per forward, matched across rungs", low=1, high=100_000)
    n_outer: int = param(2, "H the nested rungs' budget search starts from", low=1, high=100_000,
                         rung_specific=True)
    n_inner: int = param(2, "L the nested rungs' budget search starts from", low=0,
                         high=100_000, rung_specific=True)
    ponder_weight: float = param(0.0, "weight of the ACT ponder cost (0 in every paper run)",
                                 low=0, rung_specific=True)
    halt_exploration: float = param(0.25, "TRM: share of sequences given a random minimum of "
                                    "steps in training", low=0, high=1, rung_specific=True)
    # -- corrections of the reference's defects; every default is the faithful behaviour ----
    pos_encoding: str = param("learned", "positions: learned absolute (paper), rope or none",
                              choices=POS_ENCODINGS, correction=True)
    full_compute: bool = param(False, "never exit the ACT / Q-halt loop early (same outputs, "
                               "more passes)", rung_specific=True, correction=True)
    grad_cycles: int = param(1, "trailing cycles of each ACT step that carry gradient", low=1,
                             high=100_000, rung_specific=True, correction=True)
    yz_init: str = param("learned", "initial y, z: learned (detached in the nested rungs), "
                         "trained, or fixed buffers", choices=YZ_INITS, rung_specific=True,
                         correction=True)
    state_norm: bool = param(False, "RMS-normalise the summed input of every block pass of the "
                             "dual streams (bounded state)",
                             rung_specific=True, correction=True)
    halt_loss: float = param(0.0, "weight of the BCE loss that trains the TRM halting head",
                             low=0, rung_specific=True, correction=True)
    halt_per: str = param("sequence", "TRM halting per sequence (position 0) or per position",
                          choices=HALT_PER, rung_specific=True, correction=True)
    deep_supervision: bool = param(False, "a next-token loss at every ACT step",
                                   rung_specific=True, correction=True)

    def check(self) -> None:
        if self.n_embd % self.n_head:
            raise ConfigError(f"n_embd must be divisible by n_head ({self.n_head}); "
                              f"got {self.n_embd}")
        if self.pos_encoding == "rope" and (self.n_embd // self.n_head) % 2:
            raise ConfigError(f"pos_encoding rope needs an even head size; got "
                              f"{self.n_embd // self.n_head}")


def changed_switches(arch: ArchConfig) -> tuple[str, ...]:
    """The rung-specific fields of `arch` that differ from their defaults."""
    return tuple(f.name for f in dataclasses.fields(ArchConfig)
                 if f.metadata["rung_specific"] and getattr(arch, f.name) != f.default)


@dataclass(frozen=True)
class DataConfig(Section):
    train_len: int = param(10, "digits per operand in training", low=1, high=100_000)
    padding: str = param("block", "block: pad to block_size as the authors do; trim: only the "
                         "text (the same outputs, less work)", choices=PADDINGS)


@dataclass(frozen=True)
class OptimConfig(Section):
    """AdamW on every parameter, constant learning rate, no clipping."""

    steps: int = param(5000, "optimiser steps", low=1, high=10_000_000)
    batch_size: int = param(64, "problems per step", low=1, high=1_000_000)
    lr: float = param(3e-4, "AdamW learning rate", low=0, open_low=True, high=10)
    weight_decay: float = param(0.01, "AdamW weight decay (on every parameter)", low=0, high=10)
    beta1: float = param(0.9, "AdamW beta1", low=0, high=1, open_high=True)
    beta2: float = param(0.999, "AdamW beta2", low=0, high=1, open_high=True)
    eps: float = param(1e-8, "AdamW epsilon", low=0, open_low=True, high=1)


@dataclass(frozen=True)
class EvalConfig(Section):
    """Generation-based task evaluation on problems disjoint from training."""

    lengths: tuple[int, ...] = param((10, 20, 30, 40, 50), "evaluation lengths (digits per "
                                     "operand) at the final step", low=1, high=100_000)
    n_problems: int = param(100, "problems per length", low=1, high=1_000_000)
    every: int = param(250, "steps between evaluation rounds", low=1, high=10_000_000,
                       flag="eval-every")
    decoding: str = param("sample", "sample (temperature 1, the paper) or greedy",
                          choices=DECODINGS)
    curve_lengths: tuple[int, ...] | None = param(None, "lengths of the periodic rounds "
                                                  "(default: all)", low=1, high=100_000)

    @property
    def periodic_lengths(self) -> tuple[int, ...]:
        return self.lengths if self.curve_lengths is None else self.curve_lengths


SECTIONS: dict[str, type[Section]] = {"arch": ArchConfig, "data": DataConfig,
                                      "optim": OptimConfig, "eval": EvalConfig}


@dataclass(frozen=True)
class ExecConfig(Section):
    """Where and how a run executes: recorded in each record's provenance, not hashed.

    Like the device, `compile` and `fused_adamw` (CUDA only) reorder floating-point work, and
    with dropout a compiled block draws different random masks: such runs are equivalent in
    distribution, not bit for bit, and a stored run is reused whichever of them produced it.
    The same holds for `sync_free` (its static ACT loops draw dropout masks for the steps
    after the exit, so later steps draw others) and `graphs` (CUDA graphs: the same kernels,
    other random offsets). `kv_cache` gives the same tokens as full forward passes (logits
    agree to float rounding). Switches that change the arithmetic itself
    (`RunConfig.precision`) are hashed.
    """

    device: str = param("cpu", "cpu, cuda[:i] or auto (CUDA when present)")
    compile: bool = param(False, "torch.compile the block (CUDA)")
    fused_adamw: bool = param(False, "fused AdamW (CUDA)")
    threads: int | None = param(None, "torch CPU threads (default: torch's)", low=1, high=4096)
    checkpoint_every: int | None = param(None, "steps between checkpoints (default: every "
                                         "evaluation round)", low=1, high=10_000_000)
    progress: bool = param(True, "show progress bars")
    kv_cache: bool = param(True, "KV-cached generation in evaluation (the same tokens as full "
                           "forward passes)")
    sync_free: bool | None = param(None, "no host synchronisation per step: static ACT/Q-halt "
                                   "loops, statistics read at evaluation rounds (default: on "
                                   "CUDA only)")
    graphs: bool = param(True, "CUDA graphs for the training and decode steps (with sync_free "
                         "on CUDA; ignored on a CPU)")

    def check(self) -> None:
        base, _, index = self.device.partition(":")
        check_choice("device", base, DEVICES)
        if index and (base != "cuda" or not index.isdigit()):
            raise ConfigError(f"device must be cpu, cuda, cuda:<index> or auto; got "
                              f"{self.device!r}")

