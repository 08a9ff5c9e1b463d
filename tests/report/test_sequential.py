"""The race's boundary against published values, and the race on simulated bake-offs (tests/report/race_simulation.py):
an A/A race over 10 looks stays within 5% false "significant"; a true 3-point gap is decided "better" in >= 80% of
races within max_seeds; and the race spends fewer runs than the fixed design of the same power (printed)."""

from __future__ import annotations

import numpy as np
import pytest

from bakeoff.report.decision import Answer
from bakeoff.report.sequential import at_seeds, boundaries, judge, plan, row_key, seed_degrees, spent
from bakeoff.report.verdict import Comparison
from tests.report.race_simulation import GAP_3_POINTS, TOLERANCE, draw, fixed, race, row

RACES = 300  # per simulation: the rate's own noise is about 1.3 points at 5%


def test_the_boundaries_are_the_published_lan_demets_ones():
    # gsDesign sfLDOF / rpact asOF and sfLDPocock / asP, five equally spaced looks, alpha 0.025 a side
    assert boundaries((0.2, 0.4, 0.6, 0.8, 1.0)) == pytest.approx([4.8769, 3.3569, 2.6803, 2.2898, 2.0310], abs=2e-3)
    assert boundaries((0.2, 0.4, 0.6, 0.8, 1.0), spending="pocock") == pytest.approx(
        [2.4380, 2.4268, 2.4101, 2.3966, 2.3859], abs=2e-3)


def test_one_look_is_the_fixed_design_and_more_looks_cost_level_at_the_end():
    (only,) = plan(3, 3)
    assert only.difference_alpha == pytest.approx(0.05) and only.equivalence_alpha == pytest.approx(0.05)
    looks = plan(3, 8)
    assert [look.seeds for look in looks] == [3, 4, 5, 6, 7, 8] and looks[-1].last and not looks[0].last
    levels = [look.difference_alpha for look in looks]
    assert levels == sorted(levels) and levels[0] < 0.001 and 0.03 < levels[-1] < 0.05
    assert spent(0.5) < spent(0.5, spending="pocock") < spent(1.0) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        plan(4, 3)


def test_a_look_reads_the_seeds_own_degrees_of_freedom():
    predicted_a, predicted_b, labels = draw(np.random.default_rng(0), 0.0, 0.3, 3)
    first, second = row("a", predicted_a, labels), row("b", predicted_b, labels)
    from bakeoff.report.leaderboard import compare_rows

    welch = compare_rows(first, second, "accuracy")
    read = seed_degrees(welch, first, second)
    assert read.degrees_of_freedom == 2 and read.difference == welch.difference
    assert read.p_value >= welch.p_value  # fewer degrees of freedom: a heavier tail
    one = seed_degrees(welch, at_seeds(first, {1}), at_seeds(second, {1}))
    assert one.p_value == 1.0  # one seed a row: no seed spread measured, nothing to decide on


def test_decisions_are_final_and_the_leader_is_the_best_row_still_racing():
    rng = np.random.default_rng(5)
    good, bad, labels = draw(rng, 3.0, 0.05, 4)  # a huge gap: decided at once
    rows = [row("good", good, labels), row("bad", bad, labels)]
    looks = plan(4, 6)
    first = judge(rows, looks[0], TOLERANCE)
    assert first.leader == row_key(rows[0]) and first.decisions[row_key(rows[1])].answer is Answer.WORSE
    assert first.done and first.decided_at == {row_key(rows[1]): 0}
    again = judge(rows, looks[1], TOLERANCE, first)
    assert again.decided_at == first.decided_at and again.decisions[row_key(rows[1])] == \
        first.decisions[row_key(rows[1])]


def test_an_equal_pair_with_no_noise_is_equivalent_not_undecided():
    truth = np.array([0, 1] * 50)
    same = np.tile(truth, (3, 1))
    judged = judge([row("a", same, truth), row("b", same, truth)], plan(3, 8)[0], TOLERANCE)
    assert [d.answer for d in judged.decisions.values()] == [Answer.EQUIVALENT] and judged.done


@pytest.mark.parametrize("seed_jitter", [0.05, 0.6])  # seed spread about 0.8 and 3.1 points
def test_an_a_a_race_over_10_looks_says_significant_at_most_5_percent(seed_jitter):
    rng = np.random.default_rng(2026)
    outcomes = [race(rng, 0.0, first=2, max_seeds=11, seed_jitter=seed_jitter) for _ in range(RACES)]
    assert max(o.looks for o in outcomes) == 10  # some races looked 10 times
    false = np.mean([o.answer in (Answer.BETTER, Answer.WORSE) for o in outcomes])
    print(f"\nA/A race, seed jitter {seed_jitter}: false 'significant' in {false:.1%} of {RACES} races")
    assert false <= 0.05


def test_a_3_point_gap_is_decided_better_and_the_race_spends_less_than_the_fixed_design_of_equal_power():
    rng = np.random.default_rng(2026)
    outcomes = [race(rng, GAP_3_POINTS, first=3, max_seeds=8) for _ in range(RACES)]
    power = np.mean([o.answer is Answer.BETTER for o in outcomes])
    assert power >= 0.80
    assert not any(o.answer is Answer.WORSE for o in outcomes)
    race_runs = float(np.mean([o.runs for o in outcomes]))
    # the fixed design: the fewest seeds per row whose single test (the same statistic, at the full 5%) reaches the
    # race's power
    for seeds in range(3, 16):
        rng = np.random.default_rng(2027)
        fixed_power = np.mean([fixed(rng, GAP_3_POINTS, seeds) is Answer.BETTER for _ in range(RACES)])
        if fixed_power >= power:
            break
    fixed_runs = 2 * seeds
    print(f"\n3-point gap: the race decided 'better' in {power:.1%} of {RACES} races with {race_runs:.2f} runs on "
          f"average (at most 16); the fixed design needs {seeds} seeds a row ({fixed_runs} runs, power "
          f"{fixed_power:.1%}): the race saves {1 - race_runs / fixed_runs:.0%} of the runs")
    assert race_runs < fixed_runs


def test_a_comparison_without_spread_at_a_look_reads_as_the_fact_it_is():
    decided = seed_degrees(Comparison(0.0, 0.0, 0.0, 1.0, "", standard_error=0.0), *(
        row(name, np.array([[0, 1]]), np.array([0, 1])) for name in "ab"))
    assert decided.standard_error == 0.0 and decided.p_value == 1.0
