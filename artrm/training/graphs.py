"""CUDA graphs of the training step and of the decode step (the `graphs` switch).

A CUDA graph records the kernels of a step once and replays them with one launch, which
removes the per-kernel launch cost that dominates the small models of the ladder (a paper
step is a few thousand kernels). What a graph needs, and how it is met:

- no host synchronisation inside the step: the models run static loops (`set_static`) and
  the statistics stay on the device (`artrm.training.stats`);
- fixed input buffers: a trimmed batch of one task and length always has the same shape;
  each step's batch is copied into the captured buffers;
- an optimiser whose step count lives on the device: AdamW with `capturable=True`;
- random numbers: dropout and the TRM's exploration draw from the CUDA generator, which
  graphs support; each replay draws new numbers (at other offsets than an eager step would:
  equivalent in distribution, not bit for bit);
- lazy initialisation (AdamW state, cuBLAS workspaces, autograd) before the capture: the
  first `WARMUP` steps run eagerly on a side stream;
- bf16 autocast without its weight-cast cache (`numerics(graph_safe=True)`), so the casts of
  the current weights are replayed too.

A capture that fails leaves the run on the eager path (same numerics) and says why.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch

from artrm.models.base import ARModel, ModelOutput
from artrm.models.execution import Stat
from artrm.models.kvcache import KVCache
from artrm.training.generation import Decoder

WARMUP = 2  # eager steps before the capture
MAX_DECODERS = 8  # decode graphs kept per model (one per batch and cache length)

StepFn = Callable[[torch.Tensor, torch.Tensor], dict[str, Stat]]


def _side_stream_call(fn: Callable[[], object]) -> object:
    """Run `fn` on a side stream that waits for, and is waited for by, the current one."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        out = fn()
    torch.cuda.current_stream().wait_stream(side)
    return out


class TrainGraph:
    """The training step `step(inputs, targets)` (forward, backward and optimiser update,
    without zeroing gradients) replayed as one CUDA graph after WARMUP eager steps; `zero`
    zeroes the gradients (set to None) between eager steps and before the capture."""

    def __init__(self, step: StepFn, zero: Callable[[], None], log: Callable[[str], None]
                 ) -> None:
        self.step, self.zero, self.log = step, zero, log
        self.graph: torch.cuda.CUDAGraph | None = None
        self.inputs: tuple[torch.Tensor, torch.Tensor] | None = None
        self.order: list[str] = []  # the statistics' names, in the step's order
        self.keys: list[str] = []  # those held in `vector`, in its order
        self.fixed: dict[str, Stat] = {}  # statistics known at capture (host values)
        self.vector: torch.Tensor | None = None  # the captured tensor statistics
        self.calls = 0
        self.failed: str | None = None

    def __call__(self, inputs: torch.Tensor, targets: torch.Tensor) -> dict[str, Stat]:
        self.calls += 1
        if self.graph is None and (self.failed or self.calls <= WARMUP):
            return self._eager(inputs, targets)
        if self.graph is None and not self._capture(inputs, targets):
            return self._eager(inputs, targets)
        assert self.inputs is not None and self.graph is not None and self.vector is not None
        self.inputs[0].copy_(inputs, non_blocking=True)
        self.inputs[1].copy_(targets, non_blocking=True)
        self.graph.replay()
        vector = self.vector.clone()
        return {k: self.fixed[k] if k in self.fixed else vector[self.keys.index(k)]
                for k in self.order}

    def _eager(self, inputs: torch.Tensor, targets: torch.Tensor) -> dict[str, Stat]:
        stats = _side_stream_call(lambda: self.step(inputs, targets))
        self.zero()
        return stats  # type: ignore[return-value]

    def _capture(self, inputs: torch.Tensor, targets: torch.Tensor) -> bool:
        self.inputs = (inputs.clone(), targets.clone())
        self.zero()
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                stats = self.step(*self.inputs)
                self.order = list(stats)
                self.keys = [k for k, v in stats.items() if isinstance(v, torch.Tensor)]
                self.fixed = {k: v for k, v in stats.items() if not isinstance(v, torch.Tensor)}
                self.vector = torch.stack([stats[k].float() for k in self.keys])
        except Exception as err:  # noqa: BLE001  any capture failure: train on eagerly
            self.failed = f"{type(err).__name__}: {err}".splitlines()[0][:200]
            self.log(f"CUDA graph capture failed, training eagerly: {self.failed}")
            self.zero()
            torch.cuda.synchronize()
            return False
        self.graph = graph
        return True


@dataclass
class _DecodeEntry:
    cache: KVCache
    graph: torch.cuda.CUDAGraph | None = None
    token: torch.Tensor | None = None  # the captured input (B, 1)
    out: ModelOutput | None = None  # the captured output
    eager: int = 0


class GraphDecoder(Decoder):
    """Cached generation whose decode step is a CUDA graph, one per (batch, cache length,
    loop steps), kept across evaluation rounds: the cache and the step's input and output
    stay in fixed buffers, and the graph reads the weights in place, so it follows
    training. The first decode step of an entry runs eagerly, the second is captured."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.entries: OrderedDict[tuple[int, int, int], _DecodeEntry] = OrderedDict()
        self.log = log
        self.failed: str | None = None

    def cache(self, model: ARModel, batch: int, max_len: int, device: torch.device) -> KVCache:
        key = (batch, max_len, model.steps)
        if key not in self.entries:
            self.entries[key] = _DecodeEntry(super().cache(model, batch, max_len, device))
            while len(self.entries) > MAX_DECODERS:
                self.entries.popitem(last=False)
        self.entries.move_to_end(key)
        return self.entries[key].cache

    def step(self, model: ARModel, token: torch.Tensor, cache: KVCache) -> ModelOutput:
        entry = next(e for e in self.entries.values() if e.cache is cache)
        if entry.graph is None and (self.failed or entry.eager < 1):
            entry.eager += 1  # the first step runs eagerly: lazy initialisation before capture
            return model(token, cache=cache)
        if entry.graph is None:
            entry.token = token.clone()
            graph = torch.cuda.CUDAGraph()
            try:
                with torch.cuda.graph(graph):
                    entry.out = model(entry.token, cache=cache)
            except Exception as err:  # noqa: BLE001  decode eagerly from now on: same tokens
                self.failed = f"{type(err).__name__}: {err}".splitlines()[0][:200]
                self.log(f"CUDA graph capture of the decode step failed: {self.failed}")
                torch.cuda.synchronize()
                return model(token, cache=cache)
            entry.graph = graph
        assert entry.token is not None and entry.out is not None
        entry.token.copy_(token)
        entry.graph.replay()
        return entry.out
