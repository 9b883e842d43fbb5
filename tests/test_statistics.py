"""The seed statistics: Student's t against tabulated quantiles, the interval's clipping and
the reliability rule."""

from __future__ import annotations

import math

import pytest

from artrm.book.statistics import (
    DIFFERENCE,
    MIN_SEEDS,
    bounds_of,
    mean_interval,
    reliable,
    student_t_cdf,
    student_t_quantile,
)


@pytest.mark.parametrize("dof,quantile", [  # two-sided 95% points of Student's t, from tables
    (1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (10, 2.228), (30, 2.042)])
def test_t_quantile_matches_the_table(dof, quantile):
    assert student_t_quantile(0.975, dof) == pytest.approx(quantile, abs=5e-4)


@pytest.mark.parametrize("dof", [1, 2, 3, 6, 7])
def test_t_cdf_is_symmetric_and_known_at_one(dof):
    assert student_t_cdf(0.0, dof) == pytest.approx(0.5)
    assert student_t_cdf(-1.3, dof) == pytest.approx(1 - student_t_cdf(1.3, dof))
    assert student_t_cdf(50.0, dof) > student_t_cdf(5.0, dof) > student_t_cdf(1.0, dof)
    if dof == 1:  # Cauchy
        assert student_t_cdf(1.0, dof) == pytest.approx(0.75)
    if dof == 2:
        assert student_t_cdf(1.0, dof) == pytest.approx(0.5 + 0.5 / math.sqrt(3))


def test_mean_interval_is_the_t_interval_clipped_to_the_range():
    mean, lo, hi = mean_interval([0.2, 0.3, 0.4])
    half = 4.303 * 0.1 / math.sqrt(3)
    assert mean == pytest.approx(0.3) and (lo, hi) == pytest.approx((0.3 - half, 0.3 + half),
                                                                    abs=1e-3)
    assert mean_interval([1.0, 1.0, 0.25])[1:] == (0.0, 1.0)  # bimodal: the whole range
    assert mean_interval([-0.9, 0.8, 0.9], bounds=DIFFERENCE)[1] == -1.0
    assert mean_interval([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5)


def test_no_interval_below_the_fewest_seeds():
    assert all(math.isnan(v) for v in mean_interval([]))
    for n in range(1, MIN_SEEDS):
        mean, lo, hi = mean_interval([0.5] * n)
        assert mean == 0.5 and math.isnan(lo) and math.isnan(hi)


def test_reliable_needs_the_interval_clear_of_zero_and_enough_seeds():
    assert reliable(0.1, 0.5, MIN_SEEDS) and reliable(-0.5, -0.1, MIN_SEEDS)
    assert not reliable(-0.1, 0.5, 5)
    assert not reliable(0.1, 0.5, MIN_SEEDS - 1)


def test_only_accuracies_are_clipped():
    assert bounds_of("char_acc") == (0.0, 1.0)
    assert bounds_of("seq_acc", difference=True) == DIFFERENCE
    passes = [10.0, 24.0, 24.0]  # block passes: no range to clip to
    mean, lo, hi = mean_interval(passes, bounds=bounds_of("passes"))
    assert lo < min(passes) and hi > max(passes) and lo + hi == pytest.approx(2 * mean)
