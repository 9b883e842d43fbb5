"""The one Transformer block f that every rung of the ladder uses (book: chapter 1, the
Dense Transformer).

Pre-LN GPT block:  h <- h + Attn(LN1(h)),  then  h <- h + MLP(LN2(h)).
Causal multi-head attention with bias-free Q, K, V (one C -> 3C projection, which equals the
authors' separate per-head projections), an output projection with bias and dropout; an MLP
C -> 4C -> C with exact (erf) GELU and dropout. 12C^2 + 10C parameters.

Optionally (a correction, not the paper) queries and keys are rotated by their position
(RoPE, Su et al. 2021), which gives relative positions and a chance at length generalisation.

During KV-cached generation (`artrm.models.kvcache`) the model attaches its cache to every
attention; the attention then stores its keys and values in the cache's slot for this block
call and attends to the cached prefix.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from artrm.models.kvcache import KVCache


class Rotary(nn.Module):
    """Rotary position embedding of one head size: rotates feature pairs (i, i + hs/2) of
    position t by angle t / 10000^(2i/hs)."""

    def __init__(self, head_size: int, max_len: int) -> None:
        super().__init__()
        inv_freq = 10000.0 ** (-torch.arange(0, head_size, 2).float() / head_size)
        angles = torch.outer(torch.arange(max_len).float(), inv_freq)  # (max_len, hs/2)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, t: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        """Rotate t (B, nh, T, hs) by position: 0..T-1, or `positions` (T,)."""
        if positions is None:
            T = t.shape[-2]
            cos, sin = self.cos[:T], self.sin[:T]  # (T, hs/2)
        else:
            cos, sin = self.cos.index_select(0, positions), self.sin.index_select(0, positions)
        cos, sin = cos.to(t.dtype), sin.to(t.dtype)
        a, b = t.chunk(2, dim=-1)
        return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int, dropout: float, rope_len: int = 0) -> None:
        super().__init__()
        self.n_head, self.dropout = n_head, dropout
        self.qkv = nn.Linear(n_embd, 3 * n_embd, bias=False)
        self.proj = nn.Linear(n_embd, n_embd)
        self.drop = nn.Dropout(dropout)
        self.rotary = Rotary(n_embd // n_head, rope_len) if rope_len else None
        self.cache: KVCache | None = None  # attached by the model during cached generation

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        B, T, C = h.shape
        q, k, v = self.qkv(h).split(C, dim=2)  # 3 x (B, T, C)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        cache = self.cache
        if self.rotary is not None:
            positions = None if cache is None else cache.positions
            q, k = self.rotary(q, positions), self.rotary(k, positions)
        if cache is not None:
            out = cache.attend(q, k, v)  # (B, nh, T, hs)
        else:
            p = self.dropout if self.training else 0.0
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        out = out.transpose(1, 2).reshape(B, T, C)
        return self.drop(self.proj(out))


class MLP(nn.Module):
    def __init__(self, n_embd: int, dropout: float) -> None:
        super().__init__()
        self.fc = nn.Linear(n_embd, 4 * n_embd)
        self.proj = nn.Linear(4 * n_embd, n_embd)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(F.gelu(self.fc(h))))


class Block(nn.Module):
    """f(h): one pre-LN Transformer block, (B, T, C) -> (B, T, C)   (eq. block)."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, rope_len: int = 0) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, rope_len)
        self.ln2 = nn.LayerNorm(n_embd)
        self.mlp = MLP(n_embd, dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = h + self.attn(self.ln1(h))
        return h + self.mlp(self.ln2(h))


def normal_init(module: nn.Module) -> nn.Module:
    """The authors' init (book: chapter 1): every Linear and Embedding weight ~ N(0, 0.02),
    biases 0; LayerNorms keep (1, 0). Returns `module` so it can wrap a constructor."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
    return module
