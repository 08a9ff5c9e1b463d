"""Which row to choose under budgets, from measured rows only, with a paragraph of reasons.

The best row by the primary metric among those meeting every budget; a cheaper qualifying row (faster at batch 1,
else smaller) is recommended in its place only when it is **equivalent** to it within the ranking's tolerance (the
whole interval of the difference inside ``±tolerance``: ``decision.py``) or better. "Not significantly different"
is not enough: two seeds cannot exclude a 14-point gap, and a row whose interval allows a loss larger than the
tolerance is never recommended; the reasons name the rows set aside so, and for an undecided one what would decide
it (``plan.py``). When nothing qualifies, the reasons name the budget that binds and what the nearest row would
need. Latency is the batch-1 p50 measured on the machine that ran each row. Baselines and runs that failed to learn
are not candidates, but the reasons end with how the choice stands against the best baseline (beats it, is
equivalent to it, cannot be told apart from it, or is beaten by it). A recommendation is made within one
``Ranking`` (one task, one split): ``ranking_for`` picks it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bakeoff.errors import BakeoffError
from bakeoff.report.decision import Answer, Decision, decide, points, points_text
from bakeoff.report.leaderboard import Leaderboard, Learning, Ranking, Row, compare_rows
from bakeoff.report.plan import need
from bakeoff.report.verdict import Comparison, holm

LATENCY_NOTE = "latency is the batch-1 p50 measured on the machine that ran each row"


@dataclass(frozen=True)
class Budgets:
    """Limits a recommended row must meet; each refused in one line when it is not a usable number."""

    max_latency_ms: float | None = None
    max_size_mb: float | None = None
    min_metric: float | None = None
    max_train_seconds: float | None = None

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value is None:
                continue
            flag = "--" + name.replace("_", "-")
            if math.isnan(value):
                raise BakeoffError(f"{flag} nan: not a number; give the budget as a number, e.g. {flag} "
                                   f"{_EXAMPLES[name]}, or leave the option out")
            if math.isinf(value) or (name != "min_metric" and value <= 0):
                what = "a finite number" if name == "min_metric" else "a positive, finite number"
                raise BakeoffError(f"{flag} {value:g}: the budget must be {what}, e.g. {flag} {_EXAMPLES[name]}, "
                                   "or leave the option out for no limit")


_EXAMPLES = {"max_latency_ms": "10", "max_size_mb": "100", "min_metric": "0.85", "max_train_seconds": "600"}


@dataclass
class SetAside:
    """A cheaper row not recommended in place of the best one, and why (its answer against the best row)."""

    label: str
    answer: Answer  # WORSE, UNDECIDED, or NO_VERDICT (scored on different rows)
    difference: float | None = None  # row minus best, metric units
    low: float | None = None  # the 90% interval TOST reads
    high: float | None = None
    would_decide: str = ""  # for an undecided row: what would decide it (plan.py)


@dataclass
class Recommendation:
    choice: str | None  # the row's label; None when nothing meets the budgets
    reasons: list[str] = field(default_factory=list)
    best: str | None = None  # the best qualifying row by the metric (differs from choice when a cheaper row won)
    binding: str | None = None  # the budget that rules most rows out when nothing qualifies
    tolerance: float | None = None  # in the metric's units: a smaller difference from the best row does not matter
    equivalent: list[str] = field(default_factory=list)  # cheaper rows equivalent to the best (or better)
    set_aside: list[SetAside] = field(default_factory=list)  # cheaper rows not recommended, and why
    aside: list[str] = field(default_factory=list)  # a sentence per set-aside row: listed apart, not a wall of text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def paragraph(self) -> str:
        """Every reason and every set-aside row, as one paragraph."""
        return " ".join(self.reasons + self.aside)


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
    if len({r.task for r in found}) == 1 and all(r.data for r in found):  # one task on several data sets
        names = ", ".join(repr(r.name) for r in found)
        raise BakeoffError(f"project {board.project!r} ranks {found[0].task} on {len(found)} different data sets, "
                           f"never compared with each other: name one with --task ({names})")
    raise BakeoffError(f"project {board.project!r} ranks several tasks ({', '.join(tasks)}): name one with --task")


def recommend(ranking: Ranking, budgets: Budgets | None = None) -> Recommendation:
    """The row to choose in one ranking (one task on one split) under ``budgets``.

    >>> recommend(Ranking("sst2", "validation", "accuracy", True, [])).choice is None
    True
    """
    budgets = budgets or Budgets()
    candidates = [row for row in ranking.rows if not row.baseline and row.learning is not Learning.FAILED]
    if not candidates:
        return Recommendation(None, ["No trained row to recommend (only baselines or runs that failed to learn)."])
    misses = {id(row): _misses(row, budgets, ranking.higher_is_better) for row in candidates}
    qualifying = [row for row in candidates if not misses[id(row)]]
    if not qualifying:
        return _nothing_qualifies(candidates, misses, ranking.metric)
    best = max(qualifying, key=lambda r: r.mean if ranking.higher_is_better else -r.mean)
    scale, tolerance = points(ranking.metric), ranking.tolerance
    reasons = [f"{best.label} has the best {ranking.metric} ({best.mean:.4f}, mean of {len(best.seeds)} seed(s)) "
               f"among the {len(qualifying)} of {len(candidates)} rows that meet every budget{_stated(budgets)}; "
               f"a cheaper row replaces it only if equivalent within ±{points_text(tolerance * scale)} (the "
               "tolerance) or better."]
    cheaper = sorted((row for row in qualifying if row is not best and _cost(row) < _cost(best)), key=_cost)
    judged = _against_best(best, cheaper, ranking)
    accepted = [(row, decision) for row, _, decision in judged if decision is not None
                and decision.answer in (Answer.EQUIVALENT, Answer.BETTER)
                and not decision.allows_a_loss_beyond_the_tolerance]
    choice = min(accepted, key=lambda t: _cost(t[0]))[0] if accepted else best
    if accepted:
        decision = next(d for row, d in accepted if row is choice)
        relation = "better than it" if decision.answer is Answer.BETTER else "equivalent to it within the tolerance"
        reasons.append(f"{choice.label} is {relation} ({ranking.metric} "
                       f"{choice.mean:.4f}; {_gap(decision, scale)}) and {_cheaper(best, choice)}: "
                       f"choose {choice.label}.")
    else:
        reasons.append(f"Choose {best.label}.")
    chosen = {id(row) for row, _ in accepted}
    set_aside = [_set_aside(row, comparison, decision, best, scale) for row, comparison, decision in judged
                 if _cost(row) < _cost(choice) and id(row) not in chosen]
    aside = _set_aside_sentences(set_aside, best, tolerance, scale)
    if choice.latency_p50_ms is not None:
        reasons.append(f"It answers one text in {choice.latency_p50_ms:.1f} ms ({LATENCY_NOTE}).")
    against = _against_baselines(ranking, choice)
    if against:
        reasons.append(against)
    return Recommendation(choice.label, reasons, best.label, tolerance=tolerance,
                          equivalent=[row.label for row, _ in accepted], set_aside=set_aside, aside=aside)


def _against_best(best: Row, cheaper: list[Row], ranking: Ranking) -> list[tuple[Row, Comparison | None,
                                                                                Decision | None]]:
    """Each cheaper row minus the best row, Holm-adjusted over the cheaper rows, and its answer."""
    comparisons = [(row, compare_rows(row, best, ranking.metric)) for row in cheaper]
    adjusted = iter(holm([c.p_value for _, c in comparisons if c is not None]))
    comparisons = [(row, replace(c, p_adjusted=next(adjusted)) if c is not None else None) for row, c in comparisons]
    return [(row, comparison, decide(comparison, ranking.tolerance) if comparison is not None else None)
            for row, comparison in comparisons]


def _set_aside(row: Row, comparison: Comparison | None, decision: Decision | None, best: Row,
               scale: float) -> SetAside:
    if decision is None or comparison is None:
        return SetAside(row.label, Answer.NO_VERDICT)
    plan = need(comparison, decision.tolerance, row.label, best.label).text(scale) \
        if decision.answer is Answer.UNDECIDED else ""
    return SetAside(row.label, decision.answer, decision.difference, decision.low, decision.high, plan)


def _set_aside_sentences(set_aside: list[SetAside], best: Row, tolerance: float, scale: float) -> list[str]:
    """A sentence per cheaper row not recommended, and why; the undecided first, each with what would decide it
    (the ones more seeds or rows could still change), then the worse and those with no verdict."""
    out = []
    unit = "points" if scale == 100 else "units"
    order = {Answer.UNDECIDED: 0, Answer.WORSE: 1}
    for item in sorted(set_aside, key=lambda item: order.get(item.answer, 2)):
        if item.answer is Answer.NO_VERDICT:
            out.append(f"{item.label}: no verdict against {best.label} (scored on different rows).")
            continue
        gap = (f"{(item.difference or 0) * scale:+.1f} {unit}, 90% interval "
               f"[{(item.low or 0) * scale:+.1f}, {(item.high or 0) * scale:+.1f}]")
        if item.answer is Answer.WORSE:
            out.append(f"{item.label}: worse than {best.label} ({gap}).")
        else:
            out.append(f"{item.label}: undecided against {best.label} ({gap}): the interval allows a loss larger "
                       f"than the {tolerance * scale:g}-{unit[:-1]} tolerance, and the gap is not significant "
                       f"either, so {item.label} was set aside. {item.would_decide}")
    return out


def _gap(decision: Decision, scale: float) -> str:
    unit = "points" if scale == 100 else "units"
    return (f"{decision.difference * scale:+.1f} {unit} against it, 90% interval [{decision.low * scale:+.1f}, "
            f"{decision.high * scale:+.1f}] inside ±{decision.tolerance * scale:g}")


def _against_baselines(ranking: Ranking, choice: Row) -> str:
    """Does the choice beat a linear model, and by how much? The first question a reviewer asks, answered with the
    same verdict; a baseline that beats the choice is said plainly, not left in the table."""
    baselines = [row for row in ranking.rows if row.baseline]
    if not baselines:
        return ""
    best = max(baselines, key=lambda r: r.mean if ranking.higher_is_better else -r.mean)
    comparison = compare_rows(choice, best, ranking.metric)
    gap = choice.mean - best.mean
    size = f"{abs(gap) * points(ranking.metric):.1f} points"
    if comparison is None:
        return f"The best baseline, {best.model}, scores {best.mean:.4f} (no verdict: scored on different rows)."
    p = comparison.text.split(" ", 1)[1]
    answer = decide(comparison, ranking.tolerance).answer
    if answer is Answer.EQUIVALENT:
        return (f"It is equivalent to the best baseline, {best.model} ({best.mean:.4f}), within the tolerance: here a "
                "simple model does as well.")
    if answer is Answer.UNDECIDED:
        return (f"It cannot be told apart from the best baseline, {best.model} ({best.mean:.4f}, {p}): here a "
                "simple model may do about as well.")
    if answer is Answer.BETTER:
        return f"It beats the best baseline, {best.model} ({best.mean:.4f}), by {size} ({p})."
    return (f"But the baseline {best.model} is significantly better ({best.mean:.4f}, {size} ahead, {p}): no "
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
