"""Statistics over seeds, all exact and all from `scipy.stats`: a run's outcome mode, how many
seeds learned a task with its Clopper-Pearson interval, Fisher's test on those counts, the
sign-flip test on paired accuracies, Holm's correction over a chapter's family of tests, and
the verdict word.

There are three to five seeds per cell, and outcomes jump between modes (chance, the
first-digit plateau, learned), so a mean with a Student-t interval says little and overstates
what a few seeds show. Every test here is exact, and `min_p` gives the smallest p a test can
reach with the seeds at hand: with three paired seeds no two-sided sign-flip test can go below
0.25, however consistent the differences.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from math import comb

import numpy as np
import torch
from scipy import stats

from artrm.data.tasks import get_task

LEARNED = 0.9  # character accuracy from which a run counts as having learned the task
PLATEAU_WIDTH = 0.1  # the plateau spans this much above the first-digit level (a digit in ten)
TRAIN_LEN = 10  # the training length of the study's profiles (cpu and paper)
LEVEL = 0.95  # the confidence level of every interval
ALPHA = 0.05  # the significance level of every test
MODES = ("chance", "plateau", "between", "learned")  # a run's outcome, in increasing accuracy
_PROBLEMS = 100_000  # problems drawn to find each answer position's most frequent digit


@cache
def _position_chance(task: str, length: int) -> tuple[float, ...]:
    """Per answer position, the accuracy of the best guess that ignores the prompt (the
    position's most frequent token): 0.1 for a uniform digit, about 0.5 for addition's leading
    carry digit. Estimated on `_PROBLEMS` problems from a fixed generator."""
    t = get_task(task)
    generator = torch.Generator().manual_seed(0)
    digits = torch.randint(0, 10, (_PROBLEMS, t.operand_digits(length)), generator=generator)
    _, answer = t.build(digits, length)
    return tuple(float(torch.bincount(answer[:, i]).max()) / _PROBLEMS
                 for i in range(answer.shape[1]))


def chance_level(task: str, length: int = TRAIN_LEN) -> float:
    """Character accuracy of guessing every answer position without reading the prompt, to two
    decimals: 0.10 on copy and reverse, 0.14 on addition at length 10."""
    p = _position_chance(task, length)
    return round(sum(p) / len(p), 2)


def first_digit_level(task: str, length: int = TRAIN_LEN) -> float:
    """Character accuracy of a run with the first answer digit right and the rest guessed, to
    two decimals: 0.19 on copy and reverse, 0.18 on addition at length 10."""
    p = _position_chance(task, length)
    return round((1 + sum(p[1:])) / len(p), 2)


def plateau_top(task: str, length: int = TRAIN_LEN) -> float:
    """The accuracy from which a run has left the first-digit plateau (its "between" and
    "learned" modes): PLATEAU_WIDTH above the first-digit level."""
    return first_digit_level(task, length) + PLATEAU_WIDTH


def outcome(acc: float, task: str, length: int = TRAIN_LEN) -> str:
    """A run's mode from its character accuracy, with thresholds fixed before looking at runs:
    "chance" below the first-digit level; "plateau" from it to PLATEAU_WIDTH above it (the
    first answer digit right, little else); "learned" from LEARNED on; "between" for the rest:
    the few runs that learned part of the answer, which any of the three modes would
    mislabel."""
    first = first_digit_level(task, length)
    if acc >= LEARNED:
        return "learned"
    if acc < first:
        return "chance"
    return "plateau" if acc < plateau_top(task, length) else "between"


def mean_range(values: Iterable[float]) -> tuple[float, float, float]:
    """Mean, lowest and highest value over seeds (NaN when there are none). The range is what
    the seeds did, not a confidence interval: at three to five seeds with outcomes in modes no
    interval for a mean is honest."""
    x = np.asarray(list(values), dtype=float)
    if len(x) == 0:
        return (float("nan"),) * 3
    return float(x.mean()), float(x.min()), float(x.max())


def learned_count(values: Iterable[float], level: float = LEARNED) -> tuple[int, int]:
    """(k, n): how many of n seeds reached `level` (LEARNED: learned the task; `plateau_top`:
    left the plateau)."""
    x = np.asarray(list(values), dtype=float)
    return int((x >= level).sum()), len(x)


def proportion_interval(k: int, n: int) -> tuple[float, float]:
    """Exact (Clopper-Pearson) 95% interval of the probability that a seed learns, from k of
    n seeds; assumes seeds are independent draws of one training set-up. (NaN, NaN) for n = 0."""
    if n == 0:
        return float("nan"), float("nan")
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=LEVEL, method="exact")
    return float(ci.low), float(ci.high)


def fisher(k1: int, n1: int, k2: int, n2: int, alternative: str = "two-sided") -> float:
    """Fisher's exact p that k1 of n1 and k2 of n2 seeds learning differ ("greater": the
    first learns more often); assumes independent seeds, so it ignores any pairing."""
    table = [[k1, n1 - k1], [k2, n2 - k2]]
    return float(stats.fisher_exact(table, alternative=alternative).pvalue)


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def sign_flip(differences: Sequence[float], alternative: str = "two-sided") -> float:
    """Exact sign-flip p of per-seed differences a - b (all 2^n flips of the mean difference;
    "greater": a above b). Paired: the two runs of a seed share data and initialisation, so
    under the null each difference is as likely negated. NaN without differences."""
    d = np.asarray(differences, dtype=float)
    if len(d) == 0:
        return float("nan")
    if len(d) == 1:  # scipy needs two; the flips of one difference are +d and -d
        flips = np.array([d[0], -d[0]])
        greater, less = (flips >= d[0]).mean(), (flips <= d[0]).mean()
        return float({"greater": greater, "less": less,
                      "two-sided": min(1.0, 2 * min(greater, less))}[alternative])
    result = stats.permutation_test((d,), _mean, permutation_type="samples", vectorized=True,
                                    n_resamples=np.inf, alternative=alternative)
    return float(result.pvalue)


def min_p(n: int, paired: bool = True, other: int | None = None,
          alternative: str = "two-sided") -> float:
    """The smallest p the seeds allow: paired, the sign-flip test on n differences (2/2^n
    two-sided: 0.25 at 3, 0.125 at 4, 0.0625 at 5); unpaired, Fisher's test on learned counts
    of n and `other` (default n) seeds, at the most extreme table."""
    if n == 0 or other == 0:
        return 1.0
    if paired:
        return min(1.0, (1 if alternative != "two-sided" else 2) / 2**n)
    m = n if other is None else other
    if alternative == "two-sided":
        return min(fisher(n, n, 0, m), fisher(0, n, m, m))
    return 1 / comb(n + m, n)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p values (NaN stays NaN and does not count
    towards the family): controls the chance of any false rejection at ALPHA, with no
    assumption on how the tests depend on each other."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(len(p), np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


def verdict(p_corrected: float, p_raw: float, n: int) -> str:
    """"supported" when the Holm-corrected p is below ALPHA, "suggestive" when only the
    uncorrected one is, else "not resolved by n seeds"."""
    if p_corrected < ALPHA:
        return "supported"
    if p_raw < ALPHA:
        return "suggestive"
    return f"not resolved by {n} seed{'s' if n != 1 else ''}"
