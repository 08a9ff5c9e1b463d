"""Which row to choose under budgets, from measured rows only, with a paragraph of reasons.

The best row by the primary metric among those meeting every budget; when a cheaper qualifying row (faster at
batch 1, else smaller) is within noise of it, the cheaper one is recommended and the reasons say so. When
nothing qualifies, the reasons name the budget that binds and what the nearest row would need. Latency is the
batch-1 p50 measured on the machine that ran each row. Baselines and runs that failed to learn are not
candidates, but the reasons end with how the choice stands against the best baseline (beats it, cannot be told
apart from it, or is beaten by it). A recommendation is made within one ``Ranking`` (one task, one split):
``ranking_for`` picks it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bakeoff.errors import BakeoffError
from bakeoff.report.leaderboard import Leaderboard, Ranking, Row, compare_rows

LATENCY_NOTE = "latency is the batch-1 p50 measured on the machine that ran each row"


@dataclass(frozen=True)
class Budgets:
    max_latency_ms: float | None = None
    max_size_mb: float | None = None
    min_metric: float | None = None
    max_train_seconds: float | None = None


@dataclass
class Recommendation:
    choice: str | None  # the row's label; None when nothing meets the budgets
    reasons: list[str] = field(default_factory=list)
    best: str | None = None  # the best qualifying row by the metric (differs from choice when a cheaper tie won)
    binding: str | None = None  # the budget that rules most rows out when nothing qualifies

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def paragraph(self) -> str:
        return " ".join(self.reasons)


def ranking_for(board: Leaderboard, task: str | None = None, split: str = "validation") -> Ranking:
    """The ranking of ``task`` on ``split``; without ``task``, the only task the board has on that split. A ranking
    of frozen embeddings is named by its task and kind (``mrpc pairs``) when the task alone is ambiguous.

    >>> ranking_for(Leaderboard("p", [Ranking("sst2", "validation", "accuracy", True, [])])).task
    'sst2'
    """
    found = [r for r in board.rankings if r.split == split and (task is None or task in (r.task, r.name))]
    if len(found) > 1 and task is not None:
        found = [r for r in found if r.name == task] or found
    if len(found) == 1:
        return found[0]
    tasks = sorted({r.name for r in board.rankings if r.split == split})
    if not found:
        raise BakeoffError(f"project {board.project!r} has no {split} ranking" + (f" for task {task!r}" if task else "")
                           + (f": its tasks on {split} are {', '.join(tasks)}" if tasks else ""))
    raise BakeoffError(f"project {board.project!r} ranks several tasks ({', '.join(tasks)}): name one with --task")


def recommend(ranking: Ranking, budgets: Budgets | None = None) -> Recommendation:
    """The row to choose in one ranking (one task on one split) under ``budgets``.

    >>> recommend(Ranking("sst2", "validation", "accuracy", True, [])).choice is None
    True
    """
    budgets = budgets or Budgets()
    candidates = [row for row in ranking.rows if not row.baseline and not row.failed_to_learn.startswith("failed")]
    if not candidates:
        return Recommendation(None, ["No trained row to recommend (only baselines or runs that failed to learn)."])
    misses = {id(row): _misses(row, budgets, ranking.higher_is_better) for row in candidates}
    qualifying = [row for row in candidates if not misses[id(row)]]
    if not qualifying:
        return _nothing_qualifies(candidates, misses, ranking.metric)
    best = max(qualifying, key=lambda r: r.mean if ranking.higher_is_better else -r.mean)
    reasons = [f"{best.label} has the best {ranking.metric} ({best.mean:.4f}, mean of {len(best.seeds)} seed(s)) "
               f"among the {len(qualifying)} of {len(candidates)} rows that meet every budget{_stated(budgets)}."]
    ties = []
    for row in qualifying:
        if row is best or _cost(row) >= _cost(best):
            continue
        comparison = compare_rows(best, row, ranking.metric)
        if comparison is not None and not comparison.significant:
            ties.append((row, comparison))
    choice = best
    if ties:
        choice, comparison = min(ties, key=lambda t: _cost(t[0]))
        reasons.append(f"{choice.label} is within noise of it ({ranking.metric} {choice.mean:.4f}, "
                       f"{comparison.text.split(' ', 1)[1]}) and {_cheaper(best, choice)}: choose {choice.label}.")
    else:
        reasons.append(f"Choose {best.label}.")
    if choice.latency_p50_ms is not None:
        reasons.append(f"It answers one text in {choice.latency_p50_ms:.1f} ms ({LATENCY_NOTE}).")
    against = _against_baselines(ranking, choice)
    if against:
        reasons.append(against)
    return Recommendation(choice.label, reasons, best.label)


def _against_baselines(ranking: Ranking, choice: Row) -> str:
    """Does the choice beat a linear model, and by how much? The first question a reviewer asks, answered with the
    same verdict; a baseline that beats the choice is said plainly, not left in the table."""
    baselines = [row for row in ranking.rows if row.baseline]
    if not baselines:
        return ""
    best = max(baselines, key=lambda r: r.mean if ranking.higher_is_better else -r.mean)
    comparison = compare_rows(choice, best, ranking.metric)
    gap = choice.mean - best.mean
    points = f"{abs(gap) * (100 if ranking.metric != 'loss' else 1):.1f} points"
    ahead = gap > 0 if ranking.higher_is_better else gap < 0
    if comparison is None:
        return f"The best baseline, {best.model}, scores {best.mean:.4f} (no verdict: scored on different rows)."
    p = comparison.text.split(" ", 1)[1]
    if not comparison.significant:
        return (f"It cannot be told apart from the best baseline, {best.model} ({best.mean:.4f}, {p}): here a "
                "simple model does about as well.")
    if ahead:
        return f"It beats the best baseline, {best.model} ({best.mean:.4f}), by {points} ({p})."
    return (f"But the baseline {best.model} is significantly better ({best.mean:.4f}, {points} ahead, {p}): no "
            "trained row here beats a linear model; train longer or on more data before choosing a transformer.")


def _misses(row: Row, budgets: Budgets, higher: bool) -> dict[str, tuple[float | None, float]]:
    """Budget name -> (the row's value, the limit) for every budget the row does not meet (unmeasured: None)."""
    checks = {"max_latency_ms": (row.latency_p50_ms, budgets.max_latency_ms, True),
              "max_size_mb": (row.size_mb, budgets.max_size_mb, True),
              "max_train_seconds": (row.train_seconds, budgets.max_train_seconds, True),
              "min_metric": (row.mean, budgets.min_metric, not higher)}
    out = {}
    for name, (value, limit, at_most) in checks.items():
        if limit is None:
            continue
        if value is None or (value > limit if at_most else value < limit):
            out[name] = (value, limit)
    return out


def _nothing_qualifies(rows: list[Row], misses: dict[int, dict[str, Any]], metric: str) -> Recommendation:
    counts: dict[str, int] = {}
    for row in rows:
        for name in misses[id(row)]:
            counts[name] = counts.get(name, 0) + 1
    binding = max(counts, key=lambda n: counts[n])

    def distance(row: Row) -> float:  # the largest relative shortfall over the budgets it misses
        return max(abs((value or float("inf")) - limit) / (abs(limit) or 1.0)
                   for value, limit in misses[id(row)].values())

    nearest = min(rows, key=distance)
    needs = "; ".join(f"{_name(name, metric)} {_value(value)} against a budget of {_value(limit)}"
                      for name, (value, limit) in misses[id(nearest)].items())
    reasons = [f"No row meets every budget: {_name(binding, metric)} rules out {counts[binding]} of {len(rows)} rows.",
               f"Nearest: {nearest.label}, which has {needs}."]
    if "max_latency_ms" in misses[id(nearest)]:
        reasons.append(f"({LATENCY_NOTE}; a compressed copy (`bakeoff compress`) is often faster.)")
    return Recommendation(None, reasons, binding=binding)


def _cost(row: Row) -> tuple[float, float]:
    return (row.latency_p50_ms if row.latency_p50_ms is not None else float("inf"),
            row.size_mb if row.size_mb is not None else float("inf"))


def _cheaper(best: Row, choice: Row) -> str:
    if best.latency_p50_ms and choice.latency_p50_ms and choice.latency_p50_ms < best.latency_p50_ms:
        busy = best.latency_busy or choice.latency_busy
        return (f"{best.latency_p50_ms / choice.latency_p50_ms:.1f}x faster at batch 1"
                + (" (measured while the machine was busy: ratio unreliable)" if busy else ""))
    return f"{best.size_mb / choice.size_mb:.1f}x smaller" if best.size_mb and choice.size_mb else "cheaper"


def _stated(budgets: Budgets) -> str:
    given = [f"{name} {value:g}" for name, value in asdict(budgets).items() if value is not None]
    return f" ({', '.join(given)})" if given else ""


def _name(budget: str, metric: str) -> str:
    return {"max_latency_ms": "batch-1 latency (ms)", "max_size_mb": "size (MB)",
            "max_train_seconds": "training time (s)", "min_metric": metric}[budget]


def _value(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.4g}"
