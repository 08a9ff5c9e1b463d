"""The leaderboard's verdict column on hand-built rows: Holm across rows, rows without shared seeds, failures."""

from __future__ import annotations

import numpy as np

from bakeoff.report.leaderboard import Row, _placed, _power


def _row(label, predicted, truth, seeds, baseline=False, fingerprint="val"):
    values = [float((p == truth).mean()) for p in predicted]
    return Row(rank=0, medal="", label=label, model=label, task="t", split="validation", method="baseline" if baseline else "trained",
               seeds=seeds, metric="accuracy", mean=float(np.mean(values)), low=None, high=None, values=values,
               train_seconds=1.0, latency_p50_ms=None, size_mb=None, baseline=baseline,
               predictions={s: (p, truth, fingerprint) for s, p in zip(seeds or [0], predicted, strict=True)})


def _noisy(truth, accuracy, rng):
    return np.where(rng.random(truth.size) < accuracy, truth, 1 - truth)


def test_rows_without_shared_seeds_still_get_a_verdict_and_single_class_runs_are_named():
    rng = np.random.default_rng(0)
    truth = rng.integers(2, size=872)
    truth[:10] = 1  # class 1 is the majority, so the one-class runs below sit at the majority share
    leader = _row("good", [_noisy(truth, 0.85, rng) for _ in range(3)], truth, [1, 2, 3])
    close = _row("close", [_noisy(truth, 0.845, rng) for _ in range(3)], truth, [1, 2, 3])
    collapsed = _row("collapsed", [np.full(truth.size, 1)] * 3, truth, [11, 12, 13])
    majority = _row("majority class", [np.full(truth.size, 1)], truth, [], baseline=True)
    rows = [leader, close, collapsed, majority]
    notes = []
    leader, close, collapsed, majority = rows = _placed(rows, "accuracy", True, 0.01, notes)[0]
    assert leader.verdict == "leader" and close.verdict.startswith("undecided")  # 0.5 points apart, 3 seeds
    assert close.decision.low < -0.01 < close.decision.high  # its interval reaches past the 1-point tolerance
    assert collapsed.verdict.startswith("failed to learn; worse") and "predicts one class" in collapsed.failed_to_learn
    assert any("Mosbach" in note for note in notes)
    # Holm: three comparisons, the adjusted p is at least the raw one
    assert close.p_value is not None and close.difference_low < close.difference < close.difference_high
    assert majority.verdict.startswith("worse") and not majority.failed_to_learn
    mde, caption = _power(rows, "validation", "")
    assert 0.01 < mde < 0.1 and "872 validation rows and 3 seed(s)" in caption


def test_rows_on_different_validation_rows_get_no_verdict():
    rng = np.random.default_rng(1)
    truth = rng.integers(2, size=100)
    leader = _row("a", [_noisy(truth, 0.9, rng)], truth, [1])
    other = _row("b", [_noisy(truth, 0.8, rng)], truth, [1], fingerprint="other rows")
    leader, other = _placed([leader, other], "accuracy", True, 0.01, [])[0]
    assert other.verdict.startswith("n/a") and other.p_value is None


def test_exact_ties_share_their_rank_and_medal():
    """Four rows at the same score (all predicting the majority class) are not gold, silver and bronze."""
    from bakeoff.report.leaderboard import _rank

    truth = np.array([1] * 51 + [0] * 49)
    best = _row("best", [np.where(np.arange(100) < 80, truth, 1 - truth)], truth, [1])
    same = [_row(f"one-class-{i}", [np.full(100, 1)], truth, [i + 2]) for i in range(4)]
    ranking = _rank("t", "validation", [*same, best], None, [])
    assert [(row.label, row.rank, row.medal) for row in ranking.rows] == [
        ("best", 1, "🥇"), *[(f"one-class-{i}", 2, "🥈") for i in range(4)]]


def test_training_seconds_read_as_a_person_reads_them():
    """The majority baseline trains in ~1e-4 s: the tables said 7.899e-05."""
    from bakeoff.report.sections import seconds_text

    assert [seconds_text(v) for v in (7.899e-05, 2.456, 89.51, 323.5, None)] == ["<0.01", "2.46", "89.5", "324", "-"]
