"""The three answers' logic on hand-made comparisons (the simulated error rates live beside the verdict tests)."""

from __future__ import annotations

import pytest

from bakeoff.report.decision import Answer, decide
from bakeoff.report.verdict import Comparison


def _comparison(difference: float, error: float, p: float, df: float = 30.0) -> Comparison:
    return Comparison(difference, None, None, p, "", standard_error=error, degrees_of_freedom=df)


def test_a_wide_interval_is_undecided_not_equivalent():
    # the issue's case: 14 points behind with 2 seeds' worth of noise: not significant, and not equivalent either
    decision = decide(_comparison(-0.14, 0.12, 0.32, df=1.5), 0.01)
    assert decision.answer is Answer.UNDECIDED
    assert decision.low < -0.14 < decision.high


def test_equivalence_needs_the_whole_interval_inside_the_tolerance():
    inside = decide(_comparison(0.001, 0.002, 0.6), 0.01)
    assert inside.answer is Answer.EQUIVALENT and -0.01 < inside.low < inside.high < 0.01
    edge = decide(_comparison(0.008, 0.002, 0.001), 0.01)
    assert edge.high > 0.01 and edge.answer is Answer.BETTER  # significant, and its interval crosses the tolerance


def test_a_significant_gap_inside_the_tolerance_is_equivalent():
    assert decide(_comparison(-0.003, 0.0005, 1e-6), 0.01).answer is Answer.EQUIVALENT


def test_better_and_worse_follow_the_sign():
    assert decide(_comparison(0.05, 0.005, 1e-6), 0.01).answer is Answer.BETTER
    assert decide(_comparison(-0.05, 0.005, 1e-6), 0.01).answer is Answer.WORSE


def test_a_smaller_alpha_decides_less():
    comparison = _comparison(0.004, 0.0025, 0.12)
    assert decide(comparison, 0.01).answer is Answer.EQUIVALENT
    assert decide(comparison, 0.01, alpha=0.001).answer is Answer.UNDECIDED


def test_no_noise_reads_the_difference_as_a_fact():
    assert decide(_comparison(0.002, 0.0, 0.0), 0.01).answer is Answer.EQUIVALENT
    assert decide(_comparison(0.02, 0.0, 0.0), 0.01).answer is Answer.BETTER


@pytest.mark.parametrize("tolerance", [0.0, -1.0, float("nan"), float("inf")])
def test_the_tolerance_must_be_positive(tolerance):
    with pytest.raises(ValueError, match="tolerance"):
        decide(_comparison(0.0, 0.01, 1.0), tolerance)
