"""Rank intervals on hand-built rows: a clear winner holds rank 1 alone, rows that cannot be told apart share
their ranks, and the leaderboard says which adjacent rows cannot be told apart."""

from __future__ import annotations

import numpy as np

from bakeoff.report.leaderboard import Row, _rank
from bakeoff.report.ranks import rank_intervals
from bakeoff.report.sections import leaderboard_section
from bakeoff.report.verdict import Comparison

ROWS = 872  # SST-2's validation size
TRUTH = np.arange(ROWS) % 2


def _row(label: str, accuracy: float, seed_offset: int) -> Row:
    """Three seeds, each predicting ``accuracy`` of the rows right (its own random errors)."""
    rng = np.random.default_rng(seed_offset)
    predictions, values = {}, []
    for seed in (1, 2, 3):
        wrong = rng.permutation(ROWS)[: round(ROWS * (1 - accuracy))]
        predicted = TRUTH.copy()
        predicted[wrong] = 1 - predicted[wrong]
        predictions[seed] = (predicted, TRUTH, "same-rows")
        values.append(float((predicted == TRUTH).mean()))
    return Row(rank=0, medal="", label=label, model=label, task="t", split="validation", method="trained",
               seeds=[1, 2, 3], metric="accuracy", mean=float(np.mean(values)), low=None, high=None, values=values,
               train_seconds=1.0, latency_p50_ms=None, size_mb=None, config={"model": label, "seed": 1},
               predictions=predictions)


def _ranked(*rows: Row):
    return _rank("t", "validation", list(rows), None, [])  # no project folder: no baselines


def test_a_clear_winner_holds_rank_one_alone():
    ranking = _ranked(_row("strong", 0.92, 1), _row("weak", 0.70, 2))
    assert [(r.label, r.rank_low, r.rank_high) for r in ranking.rows] == [("strong", 1, 1), ("weak", 2, 2)]
    assert ranking.adjacent_ties == []
    sentences = leaderboard_section(ranking).sentences
    assert "Every pair of adjacent rows can be told apart." in sentences


def test_two_tied_rows_share_ranks_one_and_two_and_the_report_says_so():
    ranking = _ranked(_row("a", 0.85, 1), _row("b", 0.85, 2), _row("far behind", 0.60, 3))
    intervals = {r.label: (r.rank_low, r.rank_high) for r in ranking.rows}
    assert intervals == {"a": (1, 2), "b": (1, 2), "far behind": (3, 3)}
    assert ranking.adjacent_ties == [0]
    section = leaderboard_section(ranking)
    assert section.table[0][:3] == ["rank", "plausible ranks", "row"]
    assert [line[1] for line in section.table[1:]] == ["1-2", "1-2", "3"]
    told = [s for s in section.sentences if s.startswith("Adjacent rows cannot be told apart")]
    # the two have the same accuracy exactly, so they share rank 1 (and the plausible ranks 1-2)
    assert [row.rank for row in ranking.rows] == [1, 1, 3]
    assert len(told) == 1 and "in 1 of 2 places" in told[0] and told[0].endswith(
        f"1 {ranking.rows[0].label} and 1 {ranking.rows[1].label}.")
    assert ranking.to_dict()["rows"][2]["rank_low"] == 3


def test_a_chain_of_ties_widens_every_interval_it_touches():
    """a ~ b ~ c but a beats c: a is surely not last, c surely not first (p-values given directly)."""
    class R:
        def __init__(self, mean: float) -> None:
            self.mean = mean

    rows = [R(0.9), R(0.85), R(0.8)]
    p = {(0.9, 0.85): 0.4, (0.85, 0.8): 0.4, (0.9, 0.8): 0.001}
    found = rank_intervals(rows, lambda a, b: Comparison(a.mean - b.mean, None, None, p[(a.mean, b.mean)], ""),
                           higher_is_better=True)
    assert found.intervals == [(1, 2), (1, 3), (2, 3)]
    assert found.untold_neighbours() == [0, 1] and found.told_apart == {(0, 2)}
    lower = rank_intervals(rows[::-1], lambda a, b: Comparison(0.0, None, None, p[(b.mean, a.mean)], ""),
                           higher_is_better=False)  # loss-like: the 0.8 row is now the best
    assert lower.intervals == [(1, 2), (1, 3), (2, 3)]


def test_pairs_that_cannot_be_compared_count_as_not_told_apart():
    rows = [_row("a", 0.95, 1), _row("b", 0.5, 2)]
    assert rank_intervals(rows, lambda a, b: None, True).intervals == [(1, 2), (1, 2)]


def test_holm_over_all_pairs_keeps_a_lone_small_p_from_splitting_many_rows():
    """Six rows, one pair at p = 0.02: significant alone, not after Holm over the 15 pairs."""
    class R:
        def __init__(self, mean: float) -> None:
            self.mean = mean

    rows = [R(0.9 - 0.01 * i) for i in range(6)]
    found = rank_intervals(rows, lambda a, b: Comparison(0, None, None, 0.02 if b is rows[5] and a is rows[0] else 0.9,
                                                         ""), True)
    assert found.intervals == [(1, 6)] * 6 and found.told_apart == set()
