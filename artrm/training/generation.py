"""Generation, uncached and KV-cached, with the same tokens.

The uncached reference runs a full forward over prompt + generated tokens for every new
token, as the authors' `generate` does. The cached path runs the prompt once and then one
position per token against the cached keys and values of every block call
(`artrm.models.kvcache`): per token one position instead of P + i. Both pick each token
with the same operations (argmax, or one multinomial draw from `generator` per token), so
they give the same tokens whenever the logits agree; they agree to float rounding (the
matrix products have other shapes), which is checked in tests/test_kvcache.py.

Past the context window the uncached reference crops the context to its last `block_size`
tokens, which shifts every position: no cached key or value stays valid (learned positions
move, and the deeper calls of every position have seen the dropped token), so each token
past the window takes a full forward over the cropped context, exactly as the reference.

A decode step has static shapes and no host synchronisation; on CUDA a `GraphDecoder`
(`artrm.training.graphs`) replays it as a CUDA graph.
"""

from __future__ import annotations

import torch

from artrm.errors import check_choice
from artrm.models.base import ARModel, ModelOutput
from artrm.models.execution import Stat, head_inert
from artrm.models.kvcache import KVCache
from artrm.training.passes import forward_passes

DECODINGS = ("sample", "greedy")


class Tally:
    """Block passes of the model forwards of an evaluation (as the faithful, uncached
    generation realises them), summed on the device and read once."""

    def __init__(self) -> None:
        self.passes: Stat = 0.0
        self.forwards = 0

    def add(self, passes: Stat) -> None:
        self.passes = self.passes + passes
        self.forwards += 1

    def mean(self) -> float:
        return float(self.passes) / max(1, self.forwards)


def pick(logits: torch.Tensor, decoding: str, generator: torch.Generator | None) -> torch.Tensor:
    """The next token (B, 1) from last-position logits (B, V) in fp32."""
    if decoding == "greedy":
        return logits.argmax(dim=-1, keepdim=True)
    return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)


def cacheable(model: ARModel) -> bool:
    """Whether cached generation reproduces the model's uncached outputs: always, except a
    TRM halting per position on a head that can fire but freezes nothing (then the loop's
    exit, decided by every position, changes earlier outputs: that model is not causal)."""
    if model.name != "trm" or model.arch.halt_per != "position" or model.arch.halt_loss:
        return True
    return model.full_compute or head_inert(model)


class Decoder:
    """Where a cached generation keeps its cache and how it runs a decode step: here a new
    cache per generation and an eager forward."""

    def cache(self, model: ARModel, batch: int, max_len: int, device: torch.device) -> KVCache:
        steps = model.steps
        return KVCache(steps * model.plan.passes_per_step, steps, batch, max_len, device)

    def step(self, model: ARModel, token: torch.Tensor, cache: KVCache) -> ModelOutput:
        """Run `token` (B, 1) at the cache's decode position."""
        return model(token, cache=cache)


@torch.no_grad()
def generate(model: ARModel, prompt: torch.Tensor, n_new: int, decoding: str,
             generator: torch.Generator | None = None, cached: bool = True,
             tally: Tally | None = None, decoder: Decoder | None = None) -> torch.Tensor:
    """Append `n_new` tokens to `prompt` (B, P); returns them (B, n_new). `cached` uses the
    KV cache where it is exact (`cacheable`), through `decoder` (default: eager)."""
    check_choice("decoding", decoding, DECODINGS)
    tally = tally or Tally()
    if cached and cacheable(model):
        return _cached(model, prompt, n_new, decoding, generator, tally, decoder or Decoder())
    return _uncached(model, prompt, n_new, decoding, generator, tally)


def _uncached(model: ARModel, prompt: torch.Tensor, n_new: int, decoding: str,
              generator: torch.Generator | None, tally: Tally) -> torch.Tensor:
    idx = prompt
    for _ in range(n_new):
        out = model(idx[:, -model.arch.block_size:])
        tally.add(forward_passes(model, out.stats))
        nxt = pick(out.logits[:, -1].float(), decoding, generator)  # (B, 1)
        idx = torch.cat([idx, nxt], dim=1)
    return idx[:, prompt.shape[1]:]


def _cached(model: ARModel, prompt: torch.Tensor, n_new: int, decoding: str,
            generator: torch.Generator | None, tally: Tally, decoder: Decoder) -> torch.Tensor:
    """The tokens whose forwards see the whole sequence (P + i <= block_size) from the
    cache; those past the window from full forwards over the cropped context."""
    fits = min(n_new, model.arch.block_size - prompt.shape[1] + 1)
    if fits < 1:
        return _uncached(model, prompt, n_new, decoding, generator, tally)
    head = _decode(model, prompt, fits, decoding, generator, tally, decoder)
    if fits == n_new:
        return head
    rest = _uncached(model, torch.cat([prompt, head], dim=1), n_new - fits, decoding,
                     generator, tally)
    return torch.cat([head, rest], dim=1)


def _decode(model: ARModel, prompt: torch.Tensor, n_new: int, decoding: str,
            generator: torch.Generator | None, tally: Tally, decoder: Decoder) -> torch.Tensor:
    B, P = prompt.shape
    cache = decoder.cache(model, B, P + n_new - 1, prompt.device)
    cache.start_prefill(P)
    out = model(prompt, cache=cache)
    tokens = torch.empty(B, n_new, dtype=torch.long, device=prompt.device)
    for i in range(n_new):
        tally.add(forward_passes(model, out.stats))
        nxt = pick(out.logits[:, -1].float(), decoding, generator)  # (B, 1)
        tokens[:, i] = nxt[:, 0]
        if i + 1 < n_new:
            cache.start_decode(P + i)
            out = decoder.step(model, nxt, cache)
    return tokens
