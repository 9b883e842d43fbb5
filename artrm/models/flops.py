"""Analytic model FLOPs of a training step, from the realised block passes.

Per token and block pass (forward), with width C and sequence length T:

    matmuls    24 C^2         QKV 6C^2, attention output 2C^2, MLP 8C^2 + 8C^2
    attention  2 C (T + 1)    QK^T and AV over the causal triangle: a token attends to
                              (T + 1) / 2 keys on average, 2 FLOPs per multiply-add

The readout adds 2 C V per token (V = vocabulary). A pass that receives gradient costs
twice its forward again in the backward (input and weight gradients). These are model
FLOPs: work that a kernel repeats (flash attention recomputes scores in its backward) or
wastes (dense kernels over the masked half of the attention matrix) is not counted, and
neither are LayerNorms, GELUs, the embeddings, the optimiser or the 1-wide halting heads.
"""

from __future__ import annotations

from dataclasses import dataclass

from artrm.data.tasks import VOCAB


def block_matmul_flops(n_embd: int) -> int:
    """Forward matmul FLOPs of one block pass for one token."""
    return 24 * n_embd * n_embd


def block_attention_flops(n_embd: int, length: int) -> float:
    """Forward attention FLOPs of one block pass for one token, averaged over a causal
    sequence of `length` tokens."""
    return 2.0 * n_embd * (length + 1)


def head_flops(n_embd: int, vocab_size: int = len(VOCAB)) -> int:
    """Forward FLOPs of the readout (C -> V) for one token."""
    return 2 * n_embd * vocab_size


@dataclass(frozen=True)
class StepFlops:
    """Model FLOPs of one training step, split by kind."""

    matmul: float  # linear layers of the blocks and the readout
    attention: float  # the two attention products

    @property
    def total(self) -> float:
        return self.matmul + self.attention


def train_step_flops(n_embd: int, batch: int, length: int, forward_passes: float,
                     backward_passes: float) -> StepFlops:
    """FLOPs of one step on `batch` sequences of `length` positions, with the realised block
    passes of the forward (every call, with or without a graph) and of the backward."""
    tokens = batch * length
    pass_units = forward_passes + 2 * backward_passes
    return StepFlops(
        matmul=tokens * (pass_units * block_matmul_flops(n_embd) + 3 * head_flops(n_embd)),
        attention=tokens * pass_units * block_attention_flops(n_embd, length))
