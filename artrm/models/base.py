"""What every rung shares: embeddings, the loop skeleton, the readout and the loss (book:
chapter 1, the Dense Transformer).

    x = E_tok[idx] + E_pos[0..T-1]                       (B, T, C)
    state_0 = init(x);  state_t = refine(x, state_{t-1}, t)  for t < steps
    logits = W_head LN_f(answer(state)) + b_head          (B, T, V)

With `pos_encoding` "rope" or "none" (a correction) E_pos is dropped; RoPE then rotates
queries and keys inside every attention.

Execution modes that leave every output, loss and gradient unchanged live apart: `set_static`
(`artrm.models.execution`) runs the halting loops (`artrm.models.loop`) to their static length
with the early exit emulated on the device, and a `KVCache` passed to `forward` runs a prompt
or one new position against the cached keys and values of the positions before it.

A rung overrides only what it changes: `make_blocks`, `initial_state`, `refine`, `answer`,
or the whole `core` loop (the ACT and Q-halt rungs), and states its facts as class attributes
(listed in `artrm.models.ladder.LADDER`). Where each hook of the last rung, `trm`, is
defined:

    make_blocks    IterativeTransformer (one shared block)      gpt_level1.py
    step (e_t)     IterativeStepTransformer                     gpt_level2.py
    halt head      AutoregressiveTRM.make_halt_head             trm.py (UT's is replaced)
    initial_state  DualUT (learned y_0, z_0)                    ut_level1.py
    cycle          DualUT (L z-updates, one y-update)           ut_level1.py
    refine         DualNestedUT (detach, H cycles, last with grad)  ut_level2.py
    answer         DualUT (reads y)                             ut_level1.py
    core           AutoregressiveTRM (Q-halt loop, terminal y)  trm.py
    loop_plan      DualNestedUT (the H x L budget search)       ut_level2.py
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from artrm.config import ArchConfig, changed_switches
from artrm.data.tasks import IGNORE
from artrm.errors import ConfigError, check_positive
from artrm.models.block import Block, normal_init
from artrm.models.compute import LoopPlan, PassCount, PassCounter
from artrm.models.execution import Execution, Stat
from artrm.models.kvcache import KVCache

Pair = tuple[torch.Tensor, torch.Tensor]  # (y, z) of the dual-stream rungs, each (B, T, C)
State = torch.Tensor | Pair  # h (B, T, C), or the pair (y, z)


@dataclass
class CoreOutput:
    h: torch.Tensor  # (B, T, C): what the head reads
    aux_loss: torch.Tensor | None = None  # e.g. the ACT ponder cost, already weighted
    stats: dict[str, Stat] = field(default_factory=dict)  # 0-d tensors in static loops


@dataclass
class ModelOutput:
    logits: torch.Tensor  # (B, T, V)
    loss: torch.Tensor | None
    stats: dict[str, Stat]


class ARModel(nn.Module):
    """Base of the ladder: a causal next-token model around a shared block loop."""

    # -- the rung's facts, read by configs, tables, plots, the notebooks and the CLI ----------
    name: ClassVar[str] = "base"  # registry key, as the authors' `--model`
    display: ClassVar[str] = ""  # the paper's name
    short: ClassVar[str] = ""  # compact label for tables and legends
    group: ClassVar[str] = ""  # the paper's grouping
    colour: ClassVar[str] = "#000000"  # used by every plot
    change: ClassVar[str] = ""  # what this rung changes versus the previous one
    chapter: ClassVar[str] = ""  # its book chapter (notebook name)
    tied: ClassVar[bool] = True  # one shared block: inference may run more or fewer steps
    nested: ClassVar[bool] = False  # H x L cycles per step (tables show H and L)
    switches: ClassVar[tuple[str, ...]] = ()  # rung-specific ArchConfig switches it accepts

    @classmethod
    def loop_plan(cls, arch: ArchConfig) -> LoopPlan:
        """The budget rule: B block passes are N = B steps of one pass."""
        return LoopPlan(steps=arch.budget)

    def __init__(self, arch: ArchConfig, plan: LoopPlan) -> None:
        super().__init__()
        for switch in changed_switches(arch):
            if switch not in self.switches:
                raise ConfigError(f"{switch} does not apply to {self.name}; it accepts "
                                  f"{', '.join(self.switches) or 'no switches'}")
        self.arch, self.plan = arch, plan
        C = arch.n_embd
        self.tok_emb = normal_init(nn.Embedding(arch.vocab_size, C))
        if arch.pos_encoding == "learned":
            self.pos_emb = normal_init(nn.Embedding(arch.block_size, C))
        self.blocks = nn.ModuleList(normal_init(b) for b in self.make_blocks())
        self.ln_f = nn.LayerNorm(C)
        self.lm_head = normal_init(nn.Linear(C, arch.vocab_size))
        self.steps = plan.steps  # loop steps; `set_inference_steps` may change it
        self.full_compute = arch.full_compute  # ACT rungs and trm: never exit early
        self.execution = Execution()  # how the halting loops run (`set_static`)
        self.cache: KVCache | None = None  # attached during a cached forward
        self.counter = PassCounter(self.blocks)

    # -- what a rung may override -------------------------------------------------------------
    def make_blocks(self) -> list[Block]:
        return [self.new_block()]

    def new_block(self) -> Block:
        rope_len = self.arch.block_size if self.arch.pos_encoding == "rope" else 0
        return Block(self.arch.n_embd, self.arch.n_head, self.arch.dropout, rope_len)

    def initial_state(self, x: torch.Tensor) -> State:
        return x

    def refine(self, x: torch.Tensor, state: State, t: int) -> State:
        raise NotImplementedError

    def answer(self, state: State) -> torch.Tensor:
        return state

    def core(self, x: torch.Tensor, targets: torch.Tensor | None = None) -> CoreOutput:
        """The rung's loop; `targets` (B, T) serve the per-step losses of some corrections."""
        state = self.initial_state(x)
        for t in range(self.steps):
            state = self.refine(x, state, t)
        return CoreOutput(self.answer(state))

    # -- shared machinery ---------------------------------------------------------------------
    @property
    def f(self) -> Block:
        """The shared block of the weight-tied rungs."""
        return self.blocks[0]

    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.tok_emb(idx)  # (B, T, C)
        if self.arch.pos_encoding == "learned":
            positions = (torch.arange(idx.shape[1], device=idx.device) if self.cache is None
                         else self.cache.positions)
            x = x + self.pos_emb(positions)
        return x

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) of a state (B, T, C)."""
        return self.lm_head(self.ln_f(h))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                cache: KVCache | None = None) -> ModelOutput:
        """Logits for every position of `idx` (B, T); the loss when `targets` (B, T) is given.
        With `cache`, `idx` holds the prompt or one new position (see `KVCache`)."""
        self.counter.reset()
        with self.attached(cache, idx.shape[1]):
            out = self.core(self.embed(idx), targets)
            if cache is not None and "act_steps" in out.stats:
                out.stats["act_steps"] = cache.merge_steps(out.stats["act_steps"])
        logits = self.readout(out.h)  # (B, T, V)
        loss = None
        if targets is not None:
            loss = token_loss(logits, targets)
            if out.aux_loss is not None:
                loss = loss + out.aux_loss
        return ModelOutput(logits, loss, out.stats)

    @contextlib.contextmanager
    def attached(self, cache: KVCache | None, length: int) -> Iterator[None]:
        """Attach `cache` to the model and every attention for one forward of `length`."""
        if cache is None:
            yield
            return
        cache.begin(length)
        self.cache = cache
        for block in self.blocks:
            block.attn.cache = cache
        try:
            yield
        finally:
            self.cache = None
            for block in self.blocks:
                block.attn.cache = None

    def set_static(self, static: bool) -> None:
        """Static halting loops: every step runs, the early exit is emulated on the device
        (`artrm.models.loop`), so a forward needs no host synchronisation; outputs, losses
        and gradients are unchanged. Call again after loading other weights."""
        self.execution = Execution.of(self, static, self.execution.graph_free)

    @property
    def passes(self) -> PassCount:
        """Block passes of the last forward, and of its backward once that has run."""
        return self.counter.count

    def set_inference_steps(self, steps: int) -> None:
        """Run `steps` loop steps instead of the trained number (tied rungs only)."""
        if not self.tied:
            raise ConfigError(f"steps cannot change for {self.name}: its layers are distinct")
        check_positive("steps", steps)
        self.steps = steps

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy averaged over the supervised tokens (targets != IGNORE)   (eq. loss)."""
    return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE)
