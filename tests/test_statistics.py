"""The seed statistics against textbook values: Fisher's exact test, the exact sign-flip test
and the smallest p they can reach, Clopper-Pearson intervals, Holm's
correction, the outcome modes and the verdict's wording."""

from __future__ import annotations

import math

import pytest

from artrm.book.statistics import (
    LEARNED,
    chance_level,
    first_digit_level,
    fisher,
    holm,
    learned_count,
    mean_range,
    min_p,
    outcome,
    proportion_interval,
    sign_flip,
    verdict,
)


def test_fisher_on_learned_counts():
    assert fisher(4, 5, 0, 5, "greater") == pytest.approx(5 / 210)  # 0.0238
    assert fisher(4, 5, 0, 5) == pytest.approx(10 / 210)  # two-sided: both tails
    assert fisher(3, 4, 0, 3, "greater") == pytest.approx(4 / 35)  # 0.114
    assert fisher(0, 5, 4, 5, "less") == pytest.approx(5 / 210)
    assert fisher(2, 5, 2, 5) == 1.0


@pytest.mark.parametrize("n,p", [(3, 0.25), (4, 0.125), (5, 0.0625), (10, 2 / 1024)])
def test_the_sign_flip_cannot_go_below_two_in_two_to_the_n(n, p):
    """All n differences of one sign: the most extreme of the 2^n flips, on both sides."""
    assert sign_flip([0.8] * n) == pytest.approx(p) == min_p(n)
    one_sided = min_p(n, alternative="greater")
    assert sign_flip([0.8] * n, "greater") == pytest.approx(p / 2) == one_sided
    assert sign_flip([0.8] * n, "less") == 1.0  # every flip is at most the observed mean


def test_the_sign_flip_is_exact_and_weighs_the_differences():
    # of the 8 flips of (0.7, 0.01, -0.01), three have a mean at least the observed one; of
    # (0.7, -0.01, -0.01), the four that keep +0.7 (a sign test would count 1 of 3 positive)
    assert sign_flip([0.7, 0.01, -0.01], "greater") == pytest.approx(3 / 8)
    assert sign_flip([0.7, -0.01, -0.01], "greater") == pytest.approx(4 / 8)
    assert sign_flip([0.5, -0.5, 0.5, -0.5]) == 1.0
    assert math.isnan(sign_flip([]))
    assert sign_flip([0.3]) == 1.0 == min_p(1)  # one seed: +0.3 and -0.3, nothing to reject
    assert sign_flip([0.3], "greater") == 0.5 and sign_flip([0.3], "less") == 1.0


def test_fishers_smallest_p():
    assert min_p(5, paired=False) == pytest.approx(2 / 252)
    assert min_p(4, paired=False, other=3) == pytest.approx(1 / 35)  # the other tail is likelier
    assert min_p(3, paired=False, alternative="greater") == pytest.approx(1 / 20)
    assert min_p(0) == 1.0 and min_p(3, paired=False, other=0) == 1.0


def test_clopper_pearson_intervals():
    assert proportion_interval(5, 5) == pytest.approx((0.478, 1.0), abs=5e-4)
    assert proportion_interval(0, 5) == pytest.approx((0.0, 0.522), abs=5e-4)
    assert proportion_interval(4, 5) == pytest.approx((0.284, 0.995), abs=5e-4)
    assert all(math.isnan(x) for x in proportion_interval(0, 0))


def test_learned_counts_from_the_threshold_on():
    assert learned_count([LEARNED, 0.89, 1.0, 0.1]) == (2, 4)
    assert learned_count([]) == (0, 0)


def test_holm_on_known_vectors():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.2]) == pytest.approx([0.5, 0.4])  # monotone: never below an earlier one
    assert holm([0.9, 0.9, 0.9]) == [1.0, 1.0, 1.0]
    p = holm([0.01, float("nan"), 0.02])  # NaN: no test, not part of the family
    assert p[0] == pytest.approx(0.02) and math.isnan(p[1]) and p[2] == pytest.approx(0.02)


def test_chance_and_the_first_digit_level_come_from_the_answer():
    assert chance_level("copy") == chance_level("reverse") == 0.1
    assert chance_level("addition") == 0.14  # the leading carry digit is 0 about half the time
    assert first_digit_level("copy") == 0.19 and first_digit_level("addition") == 0.18


@pytest.mark.parametrize("acc,task,mode", [
    (0.13, "addition", "chance"), (0.163, "addition", "chance"), (0.0, "copy", "chance"),
    (0.21, "addition", "plateau"), (0.273, "addition", "plateau"), (0.19, "copy", "plateau"),
    (0.262, "reverse", "plateau"), (0.36, "reverse", "between"), (0.818, "addition", "between"),
    (LEARNED, "addition", "learned"), (1.0, "copy", "learned")])
def test_outcome_modes(acc, task, mode):
    assert outcome(acc, task) == mode


def test_the_mean_comes_with_the_range_over_seeds_not_an_interval():
    assert mean_range([1.0, 1.0, 0.25]) == (0.75, 0.25, 1.0)
    assert all(math.isnan(x) for x in mean_range([]))


def test_verdict_wording():
    assert verdict(0.01, 0.001, 5) == "supported"
    assert verdict(0.3, 0.024, 5) == "suggestive"
    assert verdict(1.0, 0.25, 3) == "not resolved by 3 seeds"
    assert verdict(1.0, 1.0, 1) == "not resolved by 1 seed"
    assert verdict(0.05, 0.05, 4) == "not resolved by 4 seeds"  # p must be below 0.05
