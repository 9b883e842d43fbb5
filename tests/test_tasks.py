"""Task formats, loss masks, the train/eval partition and the padding modes."""

from __future__ import annotations

import itertools

import pytest
import torch

from artrm import build_model, model_names
from artrm.data.tasks import (
    EOS,
    IGNORE,
    TrainStream,
    decode,
    draw_problems,
    encode,
    eval_problems,
    lm_batch,
    make_problems,
    split_of,
    text_length,
)
from tests.conftest import tiny_arch


def one(task: str, digits: str, length: int):
    return make_problems(task, length, encode(digits).unsqueeze(0))


def test_formats():
    assert decode(one("copy", "0123", 4).text()[0]) == "0123|0123"
    assert decode(one("reverse", "0123", 4).text()[0]) == "0123|3210"
    assert decode(one("addition", "95" + "07", 2).text()[0]) == "95+07=102"
    assert decode(one("addition", "01" + "02", 2).text()[0]) == "01+02=003"
    assert text_length("addition", 10) == 33 and text_length("copy", 10) == 21


def test_addition_is_exact_for_long_operands():
    g = torch.Generator().manual_seed(0)
    p = draw_problems("addition", 50, 20, g, "train")
    for row in range(len(p)):
        a, b = (int(decode(x)) for x in decode(p.prompt[row]).rstrip("=").split("+"))
        assert decode(p.answer[row]) == str(a + b).zfill(51)


@pytest.mark.parametrize("padding,width", [("block", 40), ("trim", 33)])
def test_loss_mask_covers_answer_and_one_end_of_sequence(padding, width):
    p = draw_problems("addition", 10, 4, torch.Generator().manual_seed(0), "train")
    inputs, targets = lm_batch(p, 40, padding)
    assert inputs.shape == targets.shape == (4, width)
    supervised = (targets != IGNORE).nonzero()[:, 1].view(4, -1)
    assert supervised[0].tolist() == list(range(21, 33))  # positions 21..32: 11 digits + EOS
    assert torch.equal(targets[:, 21:32], p.answer)
    assert torch.all(targets[:, 32] == EOS)
    assert torch.equal(inputs[:, :33], p.text())


def test_copy_mask_at_length_ten():
    p = draw_problems("copy", 10, 2, torch.Generator().manual_seed(0), "train")
    _, targets = lm_batch(p, 180, "block")
    assert (targets[0] != IGNORE).nonzero().flatten().tolist() == list(range(10, 21))


def test_partition_is_disjoint_and_balanced_exhaustively():
    digits = torch.tensor(list(itertools.product(range(10), repeat=3)))
    side = split_of(digits)
    assert 0.4 < side.float().mean() < 0.6
    train = draw_problems("copy", 3, 500, torch.Generator().manual_seed(1), "train")
    test = draw_problems("copy", 3, 500, torch.Generator().manual_seed(1), "eval")
    train_set = {tuple(r) for r in train.prompt.tolist()}
    assert train_set.isdisjoint({tuple(r) for r in test.prompt.tolist()})


def test_eval_sets_never_meet_the_training_stream():
    stream = TrainStream("addition", 2, 64, seed=1337)
    seen = {tuple(r) for _ in range(30) for r in stream.next().prompt.tolist()}
    evals = {tuple(r) for r in eval_problems("addition", 2, 500, seed=1337).prompt.tolist()}
    assert len(seen) > 1000 and seen.isdisjoint(evals)


def test_streams_are_seeded_and_resumable():
    a, b = TrainStream("copy", 10, 8, seed=1), TrainStream("copy", 10, 8, seed=1)
    assert torch.equal(a.next().prompt, b.next().prompt)
    state = a.state_dict()
    x = a.next().prompt
    b.load_state_dict(state)
    assert torch.equal(x, b.next().prompt)
    assert not torch.equal(TrainStream("copy", 10, 8, seed=2).next().prompt, x)
    again = eval_problems("copy", 10, 5, 3).prompt
    assert torch.equal(eval_problems("copy", 10, 5, 3).prompt, again)


@pytest.mark.parametrize("name", model_names())
def test_trimming_the_padding_leaves_loss_and_gradients_unchanged(name):
    """Causality makes the padded positions irrelevant to every supervised logit, for every
    rung (the ACT rungs only run more steps on padding, which then carry zero weight)."""
    torch.manual_seed(0)
    model = build_model(name, tiny_arch(dropout=0.0, block_size=40))
    p = draw_problems("addition", 5, 6, torch.Generator().manual_seed(0), "train")
    grads = []
    for padding in ("block", "trim"):
        model.zero_grad()
        out = model(*lm_batch(p, 40, padding))
        out.loss.backward()
        grads.append((out.loss.detach(), [q.grad.clone() for q in model.parameters()
                                          if q.grad is not None]))
    (loss_block, g_block), (loss_trim, g_trim) = grads
    torch.testing.assert_close(loss_block, loss_trim, rtol=1e-6, atol=1e-7)
    assert len(g_block) == len(g_trim)
    for a, b in zip(g_block, g_trim):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-7)
