"""KV-cached generation gives the tokens of full forward passes, for every rung and switch.

Bit for bit? The prompt's logits are (the prefill runs the same operations); a decode
step's logits differ from the full forward's by float rounding (its matrix products have
one row instead of P + i; measured: at most 1.5e-7 here, 1.2e-6 at the paper width), which
the tokens never feel unless two tokens tie to that precision. Prompts of mixed lengths in
one batch are not supported: every evaluation batch holds one task at one length.
"""

from __future__ import annotations

import pytest
import torch

from artrm import build_model, model_names
from artrm.config import ExecConfig
from artrm.data.tasks import eval_problems
from artrm.models.base import ARModel
from artrm.training.evaluate import evaluate, predict
from artrm.training.generation import Decoder, Tally, cacheable, generate
from artrm.training.train import Trainer
from tests.conftest import tiny_arch, tiny_run

SWITCHED = [("ut_level1", dict(state_norm=True)), ("ut_level2", dict(state_norm=True)),
            ("trm", dict(halt_loss=0.5, halt_per="sequence")),
            ("trm", dict(halt_loss=0.5, halt_per="position")),
            ("trm", dict(pos_encoding="rope")), ("ut", dict(pos_encoding="rope")),
            ("gpt", dict(pos_encoding="rope")), ("gpt_level2", dict(pos_encoding="none")),
            ("ut", dict(full_compute=True))]


def model_for(name: str, **switches) -> ARModel:
    torch.manual_seed(0)
    model = build_model(name, tiny_arch(block_size=40, budget=12, **switches)).eval()
    if switches.get("halt_loss"):  # a trained head fires: rows halt at different steps
        with torch.no_grad():
            model.halt.weight.normal_(0, 1.0)
            model.halt.bias.fill_(0.5)
    return model


def both(model: ARModel, task: str, length: int, decoding: str, n: int = 12
         ) -> tuple[tuple[torch.Tensor, float], tuple[torch.Tensor, float]]:
    """Tokens and mean passes per forward, uncached then cached, from one seed."""
    problems = eval_problems(task, length, n, seed=2)
    out = []
    for cached in (False, True):
        generator, tally = torch.Generator().manual_seed(9), Tally()
        tokens = generate(model, problems.prompt, problems.answer.shape[1], decoding,
                          generator, cached, tally)
        out.append((tokens, tally.mean()))
    return out[0], out[1]


@pytest.mark.parametrize("length", [3, 8])
@pytest.mark.parametrize("decoding", ["greedy", "sample"])
@pytest.mark.parametrize("name", model_names())
def test_cached_generation_gives_the_uncached_tokens(name, decoding, length):
    (tokens, passes), (cached_tokens, cached_passes) = both(model_for(name), "addition",
                                                            length, decoding)
    assert torch.equal(cached_tokens, tokens)
    assert cached_passes == passes  # the realised passes of the uncached generation


@pytest.mark.parametrize("decoding", ["greedy", "sample"])
@pytest.mark.parametrize("name,switches", SWITCHED,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in s.items())}"
                              for n, s in SWITCHED])
def test_cached_generation_with_corrections_switched_on(name, switches, decoding):
    (tokens, passes), (cached_tokens, cached_passes) = both(model_for(name, **switches),
                                                            "reverse", 6, decoding)
    assert torch.equal(cached_tokens, tokens)
    assert cached_passes == passes


@pytest.mark.parametrize("prompt_len,n_new", [(5, 7), (8, 3), (11, 4)])
@pytest.mark.parametrize("pos_encoding", ["learned", "rope", "none"])
@pytest.mark.parametrize("name", model_names())
def test_cached_generation_past_the_window_crops_as_the_uncached(name, pos_encoding,
                                                                 prompt_len, n_new):
    """Past block_size (8) the uncached reference crops the context to its last 8 tokens;
    the cached generation gives its tokens and passes, from a prompt within the window or
    already beyond it."""
    torch.manual_seed(0)
    model = build_model(name, tiny_arch(block_size=8, dropout=0.0,
                                        pos_encoding=pos_encoding)).eval()
    prompt = torch.randint(0, 14, (4, prompt_len), generator=torch.Generator().manual_seed(4))
    for decoding in ("greedy", "sample"):
        runs = []
        for cached in (False, True):
            generator, tally = torch.Generator().manual_seed(9), Tally()
            runs.append((generate(model, prompt, n_new, decoding, generator, cached, tally),
                         tally.mean()))
        (tokens, passes), (cached_tokens, cached_passes) = runs
        assert tokens.shape == (4, n_new)
        assert torch.equal(cached_tokens, tokens), decoding
        assert cached_passes == passes


def test_a_live_trm_head_per_sequence_is_replayed_from_the_prompt():
    """Without frozen rows the terminal y is read at the exit step, which position 0 (in the
    prompt) decides: the cache keeps those decisions and the exit."""
    model = model_for("trm")
    with torch.no_grad():
        model.halt.weight.normal_(0, 1.0)
        model.halt.bias.fill_(50.0)  # every row halts after the first of the two steps
    (tokens, passes), (cached_tokens, cached_passes) = both(model, "copy", 6, "greedy", 16)
    assert torch.equal(cached_tokens, tokens) and cached_passes == passes
    assert passes < model.plan.nominal_passes  # the loop did exit early
    model.full_compute = True  # y of the last step instead: other tokens
    assert not torch.equal(both(model, "copy", 6, "greedy", 16)[1][0], tokens)


def test_a_trm_halting_per_position_without_frozen_rows_is_generated_uncached():
    """Its exit depends on every position, so earlier outputs depend on later tokens (not
    causal): the cache cannot reproduce it and generation takes the uncached path."""
    model = model_for("trm", halt_per="position")
    with torch.no_grad():
        model.halt.weight.normal_(0, 1.0)
    assert not cacheable(model)
    (tokens, _), (cached_tokens, _) = both(model, "copy", 4, "greedy")
    assert torch.equal(cached_tokens, tokens)
    assert cacheable(model_for("trm", halt_per="position"))  # the untrained head is inert


@pytest.mark.parametrize("name", ["gpt_level2", "ut", "trm"])
def test_prefill_is_exact_and_decode_steps_agree_to_rounding(name):
    model = model_for(name)
    idx = torch.randint(0, 14, (4, 24), generator=torch.Generator().manual_seed(3))
    decoder, P = Decoder(), 16
    with torch.no_grad():
        full = model(idx).logits
        cache = decoder.cache(model, 4, 24, idx.device)
        cache.start_prefill(P)
        parts = [model(idx[:, :P], cache=cache).logits]
        for position in range(P, 24):
            cache.start_decode(position)
            parts.append(decoder.step(model, idx[:, position:position + 1], cache).logits)
    cached = torch.cat(parts, dim=1)
    assert torch.equal(cached[:, :P], full[:, :P])
    torch.testing.assert_close(cached, full, rtol=0, atol=1e-6)


def test_greedy_evaluation_keeps_its_one_pass_shortcut_with_the_cache():
    trainer = Trainer(tiny_run("ut", "copy", steps=80), ExecConfig(progress=False), None)
    trainer.run()
    model = trainer.model.eval()
    problems = eval_problems("copy", 3, 64, seed=7)
    fast = predict(model, problems, "greedy", one_pass=True, cached=True)
    right = (fast == problems.answer).all(1).float().mean()
    assert 0.05 < right < 1.0  # some rows take the one pass, the others are generated
    assert torch.equal(fast, predict(model, problems, "greedy", one_pass=False, cached=False))
    for decoding in ("greedy", "sample"):
        a = evaluate(model, "copy", (3, 4), 32, 7, decoding, cached=True)
        assert a == evaluate(model, "copy", (3, 4), 32, 7, decoding, cached=False)
