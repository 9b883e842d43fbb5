"""Analytic model FLOPs of training steps and of evaluation (generation), from block passes.

Per token and block pass (forward), with width C and sequence length T:

    matmuls    24 C^2         QKV 6C^2, attention output 2C^2, MLP 8C^2 + 8C^2
    attention  2 C (T + 1)    QK^T and AV over the causal triangle: a token attends to
                              (T + 1) / 2 keys on average, 2 FLOPs per multiply-add

The readout adds 2 C V per token (V = vocabulary). A pass that receives gradient costs
twice its forward again in the backward (input and weight gradients). These are model
FLOPs: work that a kernel repeats (flash attention recomputes scores in its backward) or
wastes (dense kernels over the masked half of the attention matrix) is not counted, and
neither are LayerNorms, GELUs, the embeddings, the optimiser or the 1-wide halting heads.

Generation of A tokens after a prompt of P: uncached, A full forwards of P, P+1, .., P+A-1
positions (every position read out); cached, one forward of the prompt, then A-1 forwards
of one position whose attention reads the j+1 cached keys of its position j. A run's
evaluation is its rounds (every `eval.every` steps at the periodic lengths, all lengths at
the last step) of `n_problems` generations per length; greedy decoding adds one
teacher-forced pass per problem and is bounded by generating every problem.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from artrm.data.tasks import VOCAB, get_task, text_length
from artrm.run_config import RunConfig


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


def forward_flops(n_embd: int, length: int, passes: float, vocab_size: int = len(VOCAB)
                  ) -> float:
    """FLOPs of one forward of one sequence of `length` positions, every position read out."""
    per_token = passes * (block_matmul_flops(n_embd) + block_attention_flops(n_embd, length))
    return length * (per_token + head_flops(n_embd, vocab_size))


def generation_flops(n_embd: int, prompt: int, n_new: int, passes: float, cached: bool,
                     vocab_size: int = len(VOCAB)) -> float:
    """FLOPs of generating `n_new` tokens after a prompt of `prompt` positions (one
    sequence), with or without the KV cache."""
    if not cached:
        return sum(forward_flops(n_embd, prompt + i, passes, vocab_size) for i in range(n_new))
    decode = sum(passes * (block_matmul_flops(n_embd) + 4.0 * n_embd * (position + 1))
                 + head_flops(n_embd, vocab_size) for position in range(prompt, prompt + n_new - 1))
    return forward_flops(n_embd, prompt, passes, vocab_size) + decode


def step_passes(cfg: RunConfig) -> tuple[int, int]:
    """Forward and backward block passes of a training step of `cfg` with every loop step
    run (the ACT rungs' full compute: their cost once halting no longer exits early),
    counted on one short sequence of a narrow copy of the model."""
    from artrm.models import build_model  # the models import this module's package

    arch = dataclasses.replace(cfg.arch, n_embd=8, n_head=2, block_size=8)
    model = build_model(cfg.model, arch)
    model.full_compute = "full_compute" in model.switches or model.full_compute
    idx = torch.randint(0, arch.vocab_size, (1, 4), generator=torch.Generator().manual_seed(0))
    model(idx, idx).loss.backward()
    return model.passes.forward, model.passes.backward


@dataclass(frozen=True)
class RunFlops:
    """Model FLOPs of a whole run: training, and evaluation with and without the cache."""

    train: float
    eval_cached: float
    eval_uncached: float


def eval_rounds(cfg: RunConfig) -> list[tuple[int, ...]]:
    """The lengths evaluated at each round of `cfg`."""
    e, steps = cfg.eval, cfg.optim.steps
    rounds = [e.periodic_lengths for s in range(e.every, steps, e.every)]
    return rounds + [e.lengths]


def run_flops(cfg: RunConfig) -> RunFlops:
    """Training and evaluation FLOPs of `cfg` at full compute (an upper bound for the ACT
    rungs) on trimmed or block-padded batches as configured."""
    forward, backward = step_passes(cfg)
    C, V, task = cfg.arch.n_embd, cfg.arch.vocab_size, get_task(cfg.task)
    T = (cfg.arch.block_size if cfg.data.padding == "block"
         else text_length(cfg.task, cfg.data.train_len) - 1)
    step = train_step_flops(C, cfg.optim.batch_size, T, forward, backward).total
    evals = {}
    for cached in (True, False):
        total = 0.0
        for lengths in eval_rounds(cfg):
            for length in lengths:
                P, A = task.prompt_length(length), task.answer_length(length)
                per = generation_flops(C, P, A, forward, cached, V)
                if cfg.eval.decoding == "greedy":  # the teacher-forced pass, then (at most) all
                    per += forward_flops(C, P + A - 1, forward, V)
                total += cfg.eval.n_problems * per
        evals[cached] = total
    return RunFlops(step * cfg.optim.steps, evals[True], evals[False])
