"""The authors' metric definitions, on hand-made predictions."""

from __future__ import annotations

import pytest
import torch

from artrm.training.metrics import score


def test_metrics_on_hand_made_predictions():
    target = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1],
                           [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]])
    pred = target.clone()
    pred[1, 0] = 0  # row 1 wrong in Q1 (positions 0-1)
    pred[1, 10] = 0  # and in Q4 (positions 8-10)
    m = score(pred, target)
    assert m["char_acc"] == pytest.approx(20 / 22)
    assert m["seq_acc"] == 0.5
    assert m["first_char_acc"] == 0.5 and m["last_char_acc"] == 0.5
    assert m["pos_q1_acc"] == pytest.approx(3 / 4)  # boundaries 2, 5, 8 for 11 characters
    assert m["pos_q2_acc"] == 1.0 and m["pos_q3_acc"] == 1.0
    assert m["pos_q4_acc"] == pytest.approx(5 / 6)


def test_quartiles_of_ten_and_of_three_characters():
    target = torch.arange(10).unsqueeze(0)
    pred = target.clone()
    pred[0, 2:5] = -1  # exactly Q2 (2, 3 | 3 | 2 | 3 characters)
    m = score(pred, target)
    assert (m["pos_q1_acc"], m["pos_q2_acc"], m["pos_q3_acc"], m["pos_q4_acc"]) == (1, 0, 1, 1)
    short = score(torch.tensor([[1, 2, 3]]), torch.tensor([[1, 2, 0]]))
    assert short["pos_q1_acc"] is None  # floor(3/4) = 0: an empty quartile has no value
    assert short["char_acc"] == pytest.approx(2 / 3)


def test_shapes_must_agree():
    with pytest.raises(ValueError, match="one shape"):
        score(torch.zeros(2, 3), torch.zeros(2, 4))
