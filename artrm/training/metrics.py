"""Task metrics with the authors' definitions (book: the results chapter, "What is
measured").

For predictions and targets of shape (N, A): char_acc pools every character (eq. char-acc),
seq_acc counts exact matches, first/last_char_acc score one position, and pos_q{1..4}_acc pool
the output quartiles split at floor(A k / 4). A quartile with no position (A < 4) has no value
(None).
"""

from __future__ import annotations

import torch

METRICS = ("char_acc", "seq_acc", "first_char_acc", "last_char_acc",
           "pos_q1_acc", "pos_q2_acc", "pos_q3_acc", "pos_q4_acc")


def score(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float | None]:
    """Metrics of generated answers `pred` against `target`, both (N, A) token ids."""
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have one shape; got {tuple(pred.shape)} and "
                         f"{tuple(target.shape)}")
    correct = (pred == target).float()  # (N, A)
    n_chars = correct.shape[1]
    bounds = [0, n_chars // 4, n_chars // 2, 3 * n_chars // 4, n_chars]
    out: dict[str, float | None] = {
        "char_acc": correct.mean().item(),
        "seq_acc": correct.min(dim=1).values.mean().item(),
        "first_char_acc": correct[:, 0].mean().item(),
        "last_char_acc": correct[:, -1].mean().item(),
    }
    for q in range(4):
        part = correct[:, bounds[q]:bounds[q + 1]]
        out[f"pos_q{q + 1}_acc"] = part.mean().item() if part.numel() else None
    return out
