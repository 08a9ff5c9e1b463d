"""Rank intervals: the ranks a row could plausibly hold, given which pairs of rows can be told apart.

A leaderboard's order is partly luck: mteb found 176 of 180 adjacent leaderboard pairs statistically tied
(mteb#5208) and proposed showing each row's rank as an interval instead (mteb PR #5117). Here a row's interval
runs from ``1 + (rows significantly better than it)`` to ``N - (rows significantly worse than it)``: a clear
winner reads [1, 1]; two rows that cannot be told apart at the top both read [1, 2].

"Significantly" is the same verdict as the leaderboard's (seed and example noise, ``verdict.py``), now for every
pair of rows, with Holm's correction over all ``N (N - 1) / 2`` pairs so the intervals hold together (a family-wise
5%). That makes them more cautious than the "vs leader" column, which corrects only over the comparisons with
the leader: a row can read "sig." against the leader and still share rank 1 in its interval when the evidence
is thin. Pairs that cannot be compared (scored on different rows) count as not told apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bakeoff.report.verdict import ALPHA, Comparison, holm


class Ranked(Protocol):
    """What a row needs to get an interval (``leaderboard.Row`` has it)."""

    mean: float


@dataclass
class RankIntervals:
    """Each row's (best, worst) plausible rank, in the order the rows were given, and the pairs told apart."""

    intervals: list[tuple[int, int]]
    told_apart: set[tuple[int, int]]  # (i, j) with i < j: significantly different after Holm over all pairs

    def untold_neighbours(self) -> list[int]:
        """Indices ``i`` where row ``i`` and row ``i + 1`` cannot be told apart (rows given in rank order).

        >>> RankIntervals([(1, 2), (1, 2), (3, 3)], {(0, 2), (1, 2)}).untold_neighbours()
        [0]
        """
        return [i for i in range(len(self.intervals) - 1) if (i, i + 1) not in self.told_apart]


def rank_intervals(rows: Sequence[Ranked], compare: Callable[[Ranked, Ranked], Comparison | None],
                   higher_is_better: bool) -> RankIntervals:
    """Each row's plausible ranks; ``compare(a, b)`` tests ``a`` against ``b`` (None: they cannot be compared).

    Args:
        rows: the rows of one ranking, best first.
        compare: the pairwise test; only its raw p-value is read (Holm-adjusted here over every pair).
        higher_is_better: the metric's direction.

    >>> from types import SimpleNamespace as Row
    >>> rows = [Row(mean=0.9), Row(mean=0.89), Row(mean=0.5)]
    >>> far = lambda a, b: Comparison(a.mean - b.mean, None, None, 0.0 if abs(a.mean - b.mean) > 0.1 else 0.5, "")
    >>> rank_intervals(rows, far, True).intervals
    [(1, 2), (1, 2), (3, 3)]
    """
    count = len(rows)
    pairs = [(i, j) for i in range(count) for j in range(i + 1, count)]
    p_values = []
    for i, j in pairs:
        comparison = compare(rows[i], rows[j])
        p_values.append(1.0 if comparison is None else comparison.p_value)
    better = [0] * count  # rows significantly better than row i
    worse = [0] * count
    told_apart = set()
    for (i, j), p in zip(pairs, holm(p_values) if p_values else [], strict=True):
        if p >= ALPHA or rows[i].mean == rows[j].mean:
            continue
        told_apart.add((i, j))
        i_wins = rows[i].mean > rows[j].mean if higher_is_better else rows[i].mean < rows[j].mean
        winner, loser = (i, j) if i_wins else (j, i)
        better[loser] += 1
        worse[winner] += 1
    return RankIntervals([(1 + better[i], count - worse[i]) for i in range(count)], told_apart)


def interval_text(low: int, high: int) -> str:
    """``3`` for a rank that is certain, ``1-4`` for a range.

    >>> interval_text(2, 2), interval_text(1, 4)
    ('2', '1-4')
    """
    return str(low) if low == high else f"{low}-{high}"
