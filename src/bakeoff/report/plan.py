"""What a decision needs: for a comparison still undecided, how many seeds per row (or how many evaluation rows)
would decide it, and when seeds cannot help because the evaluation set limits it.

A comparison's variance has two parts (``verdict.py`` keeps them on the ``Comparison``): the **examples** part
(the jackknife over the evaluation rows) shrinks as ``rows / rows'`` with more rows; each **seed** part shrinks as
``seeds / seeds'`` with more seeds per row. The plan projects both from the study's own spread and asks, if the
difference stayed at its observed value, when the answer would stop being "undecided":

- **equivalent**: the ``1 - 2 alpha`` interval inside ``±tolerance`` (only when ``|difference| < tolerance``), or
- **different**: the two-sided test at ``alpha`` rejecting "no difference" (only when the difference is not 0),

whichever comes first, each read against Student's t on the projected Welch-Satterthwaite degrees of freedom. The
example part does not shrink with seeds: when it alone keeps the interval too wide, no number of seeds decides
it (872 SST-2 dev rows cannot resolve half a point): the plan says so, and how many evaluation rows would.

It is a projection, not a promise: the true difference is not the observed one, and a new seed's spread is not
the old seeds'. ``seeds_needed`` is the piece a sequential design (racing) can call between rounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bakeoff.report.decision import Answer, points
from bakeoff.report.verdict import ALPHA, Comparison

if TYPE_CHECKING:  # leaderboard.py's types; it does not import this module
    from bakeoff.report.leaderboard import Leaderboard, Ranking

MAX_SEEDS = 64  # the planning horizon: beyond this many seeds per row, "more seeds" is no plan
MAX_ROWS_FACTOR = 1000.0  # nor beyond a thousand times the evaluation rows


@dataclass(frozen=True)
class Need:
    """What would decide one comparison (``row`` against ``leader``); differences in the metric's units.

    ``seeds``: seeds per row that would decide it (None: no number up to ``MAX_SEEDS`` would); ``rows``: the
    evaluation rows that would, with ``rows_seeds`` seeds per row (the seeds there are now, or the fewest more
    that let rows decide it; None: unknown, or no number would);
    ``examples_limit``: the evaluation set alone keeps it undecided, however many seeds.
    """

    row: str
    leader: str
    difference: float
    tolerance: float
    target: str  # "equivalent" or "different": which answer the projection reaches first
    seeds_now: int
    seeds: int | None
    rows_now: int | None
    rows: int | None
    rows_seeds: int  # the seeds per row ``rows`` assumes (more than now when rows alone cannot decide it)
    examples_limit: bool
    example_half_width: float | None  # the interval's half-width from the examples alone, now

    def text(self, scale: float = 100.0) -> str:
        """One sentence: what would decide it, in points (``scale`` = ``points(metric)``)."""
        unit = "points" if scale == 100 else "units"
        stays = f"if the difference stays at {self.difference * scale:+.1f} {unit}"
        reach = ("its interval would lie inside the tolerance" if self.target == "equivalent" else
                 "its interval would lie away from zero")
        parts = []
        if self.seeds is not None:
            parts.append(f"about {self.seeds} seeds per row (now {self.seeds_now}) would decide it ({stays}, {reach})")
        elif self.examples_limit and self.rows_now:
            parts.append(f"seeds cannot help: the {self.rows_now} evaluation rows alone leave ±"
                         f"{(self.example_half_width or 0) * scale:.1f} {unit} of noise, too wide for a "
                         f"{self.tolerance * scale:g}-{unit[:-1]} tolerance")
        else:
            parts.append(f"no number of seeds up to {MAX_SEEDS} would decide it ({stays})")
        if self.rows is not None and self.rows_now and (self.seeds is None or self.examples_limit):
            with_seeds = f" with {self.rows_seeds} seeds per row" if self.rows_seeds != self.seeds_now else ""
            parts.append(f"about {self.rows:,} evaluation rows would{with_seeds} ({reach}; use the test split or "
                         "more data)")
        elif self.seeds is None and self.rows is None and self.rows_now:
            parts.append("nor would more evaluation rows alone: both are needed, or a larger tolerance")
        return f"{self.row} against {self.leader}: " + "; ".join(parts) + "."


def seeds_needed(comparison: Comparison, tolerance: float, *, alpha: float = ALPHA,
                 max_seeds: int = MAX_SEEDS) -> int | None:
    """Seeds per row that would decide ``comparison`` if its difference and spreads stayed as measured; None when
    no number up to ``max_seeds`` would (the example noise alone is too wide, or no seed noise was measured).

    >>> from bakeoff.report.verdict import Comparison, SeedPart
    >>> wide = Comparison(-0.03, None, None, 0.2, "", example_variance=1e-5, rows=872,
    ...                   seed_parts=(SeedPart(4e-4, 1, 2), SeedPart(4e-4, 1, 2)))
    >>> seeds_needed(wide, 0.01)
    9
    """
    now = _seeds_now(comparison)
    if not comparison.seed_parts:
        return None
    for seeds in range(now + 1, max_seeds + 1):
        if _decided(comparison, tolerance, alpha, seeds, 1.0) is not None:
            return seeds
    return None


def need(comparison: Comparison, tolerance: float, row: str = "row", leader: str = "leader", *,
         alpha: float = ALPHA, max_seeds: int = MAX_SEEDS) -> Need:
    """The plan for one comparison (``row`` minus ``leader``, or either way round: only its size matters).

    >>> from bakeoff.report.verdict import Comparison
    >>> close = Comparison(0.002, None, None, 0.6, "", example_variance=2.5e-5, rows=872)
    >>> plan = need(close, 0.005)
    >>> plan.examples_limit, plan.rows
    (True, 6559)
    """
    seeds_now = _seeds_now(comparison)
    seeds = seeds_needed(comparison, tolerance, alpha=alpha, max_seeds=max_seeds)
    rows_now = comparison.rows if comparison.example_variance is not None else None
    examples_limit = bool(rows_now) and _decided(comparison, tolerance, alpha, math.inf, 1.0) is None
    rows, rows_seeds = None, seeds_now
    candidates = [seeds_now] + [k for k in (2 * seeds_now, 4 * seeds_now, 8 * seeds_now, max_seeds) if k > seeds_now]
    for rows_seeds in candidates if rows_now else []:  # rows alone, else rows with the fewest more seeds that do
        rows = _rows_needed(comparison, tolerance, alpha, rows_seeds)
        if rows is not None:
            break
    target = (_decided(comparison, tolerance, alpha, seeds, 1.0) if seeds is not None else
              _decided(comparison, tolerance, alpha, rows_seeds, rows / rows_now) if rows and rows_now else None)
    half = None
    if rows_now and comparison.example_variance is not None:
        from scipy import special

        half = float(special.stdtrit(max(rows_now - 1, 1), 1 - alpha)) * math.sqrt(comparison.example_variance)
    return Need(row, leader, comparison.difference, tolerance, target or "equivalent", seeds_now, seeds, rows_now,
                rows, rows_seeds if rows is not None else seeds_now, examples_limit, half)


def ranking_plan(ranking: Ranking, *, alpha: float = ALPHA) -> list[Need]:
    """A ``Need`` for every row of ``ranking`` still undecided against its leader."""
    from bakeoff.report.leaderboard import compare_rows

    leader = ranking.rows[0] if ranking.rows else None
    out = []
    for row in ranking.rows[1:]:  # baselines are no candidates: no runs are planned for them
        if row.baseline or row.decision is None or row.decision.answer is not Answer.UNDECIDED or leader is None:
            continue
        comparison = compare_rows(row, leader, ranking.metric)  # row minus leader, as the leaderboard shows it
        if comparison is not None:
            out.append(need(comparison, ranking.tolerance, row.label, leader.label, alpha=alpha))
    return out


def plan_lines(board: Leaderboard) -> list[str]:
    """What the study's undecided comparisons need, one line each, per ranking; or that every one is decided."""
    lines = []
    for ranking in board.rankings:
        scale = points(ranking.metric)
        needs = ranking_plan(ranking)
        trained = [row for row in ranking.rows[1:] if not row.baseline]
        decided = sum(1 for row in trained if row.decision and row.decision.answer is not Answer.UNDECIDED)
        head = (f"{ranking.name} ({ranking.split}, tolerance ±{ranking.tolerance * scale:g}): {decided} of "
                f"{len(trained)} trained rows decided against the leader, {ranking.rows[0].label}")
        lines.append(head + (f"; {len(needs)} undecided:" if needs else ""))
        lines += [f"  {item.text(scale)}" for item in needs]
    return lines


# -- the projection ------------------------------------------------------------------------------------
def _seeds_now(comparison: Comparison) -> int:
    return max((part.seeds for part in comparison.seed_parts), default=1)


def _decided(comparison: Comparison, tolerance: float, alpha: float, seeds: float,
             rows_factor: float) -> str | None:
    """Which answer the comparison would reach with ``seeds`` per row and ``rows_factor`` times the rows, if its
    difference stayed put: "equivalent", "different", or None."""
    from scipy import special

    parts = []
    if comparison.example_variance is not None and comparison.rows:
        rows = comparison.rows * rows_factor
        parts.append((comparison.example_variance / rows_factor, rows - 1))
    for part in comparison.seed_parts:
        if math.isinf(seeds):
            continue
        shrink = part.seeds / max(seeds, part.seeds)  # never fewer seeds than measured
        parts.append((part.variance * shrink, max(seeds, part.seeds) - 1))
    variance = sum(v for v, _ in parts)
    size = abs(comparison.difference)
    if variance <= 0:
        return "equivalent" if size < tolerance else "different" if size > 0 else None
    df = variance**2 / sum(v**2 / d for v, d in parts if d > 0 and v > 0)
    error = math.sqrt(variance)
    if size < tolerance and size + float(special.stdtrit(df, 1 - alpha)) * error < tolerance:
        return "equivalent"
    if size > 0 and size > float(special.stdtrit(df, 1 - alpha / 2)) * error:
        return "different"
    return None


def _rows_needed(comparison: Comparison, tolerance: float, alpha: float, seeds: int) -> int | None:
    """The fewest evaluation rows that would decide it with ``seeds`` per row (bisection on the row count)."""
    rows = comparison.rows or 0
    if not rows or _decided(comparison, tolerance, alpha, seeds, MAX_ROWS_FACTOR) is None:
        return None
    if _decided(comparison, tolerance, alpha, seeds, 1.0) is not None:
        return rows
    low, high = rows, int(rows * MAX_ROWS_FACTOR)
    while high - low > max(1, low // 200):  # to within half a percent: it is a plan
        middle = (low + high) // 2
        if _decided(comparison, tolerance, alpha, seeds, middle / rows) is None:
            low = middle
        else:
            high = middle
    return high
