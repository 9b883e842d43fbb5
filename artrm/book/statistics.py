"""Statistics over seeds: a mean with its 95% Student-t interval, and the rule that calls a
difference between two cells reliable.

A seed's outcome is one number (an accuracy), and there are few seeds (three to five), so the
interval is the textbook one for a small sample, mean +- t(n-1) * sd / sqrt(n), clipped to the
range the quantity can take, from MIN_SEEDS seeds on. Its width follows t(n-1): 4.30 at three
seeds, 2.78 at five. A percentile bootstrap is much narrower at these sample sizes: with three
seeds its interval of a difference excludes zero whenever the three differences share a sign,
however small one of them is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

LEARNED = 0.9  # character accuracy from which a run counts as having learned the task
MIN_SEEDS = 3  # the fewest seeds a difference may be called reliable on, or an interval shown
ACCURACY = (0.0, 1.0)  # the range of an accuracy
DIFFERENCE = (-1.0, 1.0)  # the range of a difference of two accuracies
UNBOUNDED = (-math.inf, math.inf)


def bounds_of(metric: str, difference: bool = False) -> tuple[float, float]:
    """The range a metric (or a difference of two) can take: accuracies (`*_acc`) are bounded,
    anything else (block passes) is not."""
    if not metric.endswith("_acc"):
        return UNBOUNDED
    return DIFFERENCE if difference else ACCURACY


def student_t_cdf(t: float, dof: int) -> float:
    """P(T <= t) for Student's t with an integer number of degrees of freedom (the closed form
    in theta = atan(t / sqrt(dof)); Abramowitz and Stegun 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(dof))
    c2, term, total = math.cos(theta) ** 2, 1.0, 1.0
    if dof % 2:  # odd: 1/2 + (theta + sin cos (1 + 2/3 c2 + 2*4/(3*5) c2^2 + ...)) / pi
        for k in range(1, (dof - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            total += term
        tail = math.sin(theta) * math.cos(theta) * total if dof > 1 else 0.0
        return 0.5 + (theta + tail) / math.pi
    for k in range(1, dof // 2):  # even: 1/2 + sin (1 + 1/2 c2 + 1*3/(2*4) c2^2 + ...) / 2
        term *= c2 * (2 * k - 1) / (2 * k)
        total += term
    return 0.5 + math.sin(theta) * total / 2


def student_t_quantile(p: float, dof: int) -> float:
    """The t with P(T <= t) = p, for 1/2 <= p < 1 (bisection on the closed-form CDF)."""
    lo, hi = 0.0, 1.0
    while student_t_cdf(hi, dof) < p:
        lo, hi = hi, 2 * hi
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if student_t_cdf(mid, dof) < p else (lo, mid)
    return (lo + hi) / 2


def mean_interval(values: Iterable[float], level: float = 0.95,
                  bounds: tuple[float, float] = ACCURACY) -> tuple[float, float, float]:
    """Mean and its Student-t interval at `level`, clipped to `bounds`; the interval is NaN
    from fewer than MIN_SEEDS values."""
    x = np.asarray(list(values), dtype=float)
    if len(x) == 0:
        return (float("nan"),) * 3
    mean = float(x.mean())
    if len(x) < MIN_SEEDS:
        return mean, float("nan"), float("nan")
    half = student_t_quantile((1 + level) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return mean, float(max(bounds[0], mean - half)), float(min(bounds[1], mean + half))


def reliable(lo: float, hi: float, seeds: int) -> bool:
    """A difference is reliable when its interval excludes zero on at least MIN_SEEDS seeds."""
    return seeds >= MIN_SEEDS and (lo > 0 or hi < 0)
