"""What a decision needs (``report/plan.py``) on hand-made comparisons; the rerun check of its seed counts is in
``test_decision_calibration.py``."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from bakeoff.report.plan import MAX_SEEDS, need, seeds_needed
from bakeoff.report.verdict import Comparison, SeedPart, compare_values


def _comparison(difference, example_variance=None, rows=None, seed_variance=0.0, seeds=2):
    parts = tuple(SeedPart(seed_variance / seeds, seeds - 1, seeds) for _ in range(2)) if seed_variance else ()
    return Comparison(difference, None, None, 0.5, "", example_variance=example_variance, rows=rows, seed_parts=parts)


def test_the_seeds_it_asks_for_are_the_fewest_that_put_the_interval_inside_the_tolerance():
    # seeds only: variance 2 * s^2 / k, equivalence when |d| + t(0.95, df) * se < tolerance, df by Welch (2k - 2)
    comparison = _comparison(0.0, seed_variance=0.01**2, seeds=3)
    seeds = seeds_needed(comparison, 0.01)

    def inside(k):
        return stats.t.ppf(0.95, 2 * k - 2) * math.sqrt(2 * 0.01**2 / k) < 0.01

    assert seeds is not None and inside(seeds) and not inside(seeds - 1)


def test_a_larger_gap_is_decided_by_moving_away_from_zero_and_sooner_the_larger_it_is():
    wide = [_comparison(gap, seed_variance=0.05**2) for gap in (-0.05, -0.10)]
    plans = [need(c, 0.01) for c in wide]
    assert all(plan.target == "different" for plan in plans)
    assert plans[1].seeds < plans[0].seeds


def test_seeds_cannot_help_when_the_examples_alone_are_too_noisy():
    # 872 rows whose example noise alone gives an interval of about +-2 points: a 0.5-point tolerance needs rows
    comparison = _comparison(0.0, example_variance=0.012**2, rows=872, seed_variance=0.008**2, seeds=3)
    plan = need(comparison, 0.005)
    assert plan.seeds is None and plan.examples_limit and plan.rows > 872 * 10
    assert plan.rows_seeds > 3  # the seed part alone (0.65 points now) is too wide too: rows need more seeds
    assert plan.example_half_width == pytest.approx(stats.t.ppf(0.95, 871) * 0.012)
    text = plan.text()
    assert "seeds cannot help: the 872 evaluation rows alone leave ±2.0 points of noise" in text
    assert f"about {plan.rows:,} evaluation rows would with {plan.rows_seeds} seeds per row" in text
    assert "test split or more data" in text


def test_rows_without_seed_noise_can_only_be_decided_by_more_rows():
    fixed = _comparison(0.004, example_variance=0.006**2, rows=500)
    plan = need(fixed, 0.01)
    assert plan.seeds is None and plan.rows is not None and plan.rows > 500
    assert need(_comparison(0.0, example_variance=1e-12, rows=500), 0.01).rows == 500  # already inside


def test_seeds_only_comparisons_plan_seeds_and_no_rows():
    comparison = compare_values([0.80, 0.84], [0.79, 0.86])
    plan = need(comparison, 0.02)
    assert plan.rows is None and plan.rows_now is None and plan.seeds is not None and plan.seeds <= MAX_SEEDS
    assert f"about {plan.seeds} seeds per row (now 2) would decide it" in plan.text()
