"""The KV cache of generation: keys and values of every block call, for every position
generated so far.

Slot k holds the k-th block call of one forward. The looped rungs call their block once per
loop step and cycle, so each step and cycle has its own slot, and a new position runs all
of its block calls against the cached prefix of the same call. While a cache is attached
the model runs its loops to their static length (`artrm.models.loop`): the early exit
changes no output (a position's ACT output depends only on its own halting; TRM's frozen or
per-sequence decisions are kept), so the cached tokens are the uncached ones.

`prefill` runs the prompt (positions 0..P-1, causal attention within it); `decode` then
runs one new position per call at `pos`, a device scalar written in place, so a decode step
has static shapes and no host synchronisation (a CUDA graph can replay it). What TRM's
per-sequence halting decided on position 0 (in the prompt) is kept in `trace`, and
`needed` keeps the loop steps the uncached forward would run (the largest halting step of
the sequence so far), for the realised-pass statistic.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from artrm.models.execution import Stat


class KVCache:
    def __init__(self, calls: int, steps: int, batch: int, max_len: int,
                 device: torch.device) -> None:
        self.calls, self.steps, self.batch, self.max_len = calls, steps, batch, max_len
        self.k: torch.Tensor | None = None  # (calls, B, nh, max_len, hs), made by the prefill
        self.v: torch.Tensor | None = None
        self.pos = torch.zeros((), dtype=torch.long, device=device)  # decode: the position
        self.trace = torch.zeros(steps, batch, dtype=torch.bool, device=device)  # halted, per step
        self.needed = torch.zeros((), device=device)  # loop steps the uncached forward runs
        self.decoding = False
        self.cursor = 0  # the block call of the running forward
        self.positions = torch.zeros(0, dtype=torch.long, device=device)  # of the chunk
        self.mask: torch.Tensor | None = None  # decode: (1, 1, 1, max_len) keys up to pos

    def start_prefill(self, length: int) -> None:
        if length > self.max_len:
            raise ValueError(f"the prompt has {length} positions, the cache {self.max_len}")
        self.decoding = False
        self.positions = torch.arange(length, device=self.pos.device)

    def start_decode(self, position: int) -> None:
        """The next forward runs one token at `position` (written in place on the device)."""
        if not 0 < position < self.max_len:
            raise ValueError(f"position {position} lies outside the cache (1..{self.max_len - 1})")
        self.decoding = True
        self.pos.fill_(position)

    def begin(self, length: int) -> None:
        """A forward of `length` new positions starts (called by the model)."""
        if self.decoding and length != 1:
            raise ValueError(f"a decode step runs one position; got {length}")
        self.cursor = 0
        if self.decoding:
            self.positions = self.pos.view(1)
            keys = torch.arange(self.max_len, device=self.pos.device)
            self.mask = (keys <= self.pos).view(1, 1, 1, self.max_len)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Causal attention of q (B, nh, T, hs) over the cached prefix and k, v (B, nh, T, hs)
        of this block call, which are stored in its slot."""
        slot, self.cursor = self.cursor, self.cursor + 1
        if self.k is None:
            B, nh, _, hs = k.shape
            shape = (self.calls, B, nh, self.max_len, hs)
            self.k = torch.zeros(shape, dtype=k.dtype, device=k.device)
            self.v = torch.zeros(shape, dtype=k.dtype, device=k.device)
        assert self.v is not None
        if not self.decoding:
            T = k.shape[2]
            self.k[slot, :, :, :T] = k
            self.v[slot, :, :, :T] = v
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        self.k[slot].index_copy_(2, self.positions, k)
        self.v[slot].index_copy_(2, self.positions, v)
        assert self.mask is not None
        return F.scaled_dot_product_attention(q, self.k[slot], self.v[slot],
                                              attn_mask=self.mask)

    def record(self, t: int, halted: torch.Tensor) -> None:
        """Prefill: keep the per-sequence halting decisions (B,) after loop step t."""
        if not self.decoding:
            self.trace[t].copy_(halted)

    def merge_steps(self, steps: Stat) -> Stat:
        """The loop steps the uncached forward runs: the largest over every position so far
        (the prefill's, then each new position's); a float when the loop is not adaptive."""
        if isinstance(steps, float):
            return steps
        if self.decoding:
            torch.maximum(self.needed, steps, out=self.needed)
        else:
            self.needed.copy_(steps)
        return self.needed.clone()
