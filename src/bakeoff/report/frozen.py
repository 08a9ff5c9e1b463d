"""Frozen-embedding rows of a leaderboard (and any row of per-example values: a regression's scores, a
multi-label run's label sets, through their problem type's ``PerRow``): what an embedding run contributes to a
paired verdict, its interval, and its comparisons (``leaderboard.py`` builds the rows and calls these).

An embedding run (``EmbeddingEvalResult``) stores per-example values: a probe's predicted labels (paired like a
trained run's predictions), a pair task's similarity scores and labels (average precision), a retrieval task's
per-query ranks (nDCG@10, MRR@10, recall@k). A frozen encoder scored once has no training noise; a seed only
draws the training subset (``train_fraction``), which average precision and the retrieval metrics never read
(it sets the pairs' accuracy thresholds only). So a frozen row's interval and verdicts count the examples, plus
the seeds where a seed can change the score.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from bakeoff.embedding.metrics import PER_EXAMPLE
from bakeoff.metrics import metric_range
from bakeoff.report.verdict import (
    ALPHA,
    Comparison,
    compare_scores,
    compare_values,
    score_interval,
)
from bakeoff.runs.results import EmbeddingEvalResult

if TYPE_CHECKING:  # the rows are leaderboard.py's; it imports this module, not the other way round
    from bakeoff.report.leaderboard import Row

Scores = tuple[np.ndarray, "np.ndarray | None", str]  # per-example values, their labels (or None), fingerprint
Predictions = tuple[np.ndarray, np.ndarray, str]  # predicted label ids, true label ids, fingerprint


def per_example_of(result: EmbeddingEvalResult) -> tuple[Scores | None, Predictions | None]:
    """One run's per-example values for its primary metric: scores/ranks, or a probe's predictions (or neither,
    when the examples cannot be identified by a fingerprint: such rows are never paired)."""
    fingerprint = (result.data.get("fingerprints") or {}).get(result.split, "")
    stored: dict[str, Any] = result.per_example
    if not fingerprint:
        return None, None
    if result.primary_metric in PER_EXAMPLE:
        how = PER_EXAMPLE[result.primary_metric]
        labels = np.asarray(stored[how.labels]) if how.labels else None
        return (np.asarray(stored[how.field], dtype=float), labels, fingerprint), None
    if stored.get("predicted") is not None:
        return None, (np.asarray(stored["predicted"]), np.asarray(stored["true"]), fingerprint)
    return None, None


def is_deterministic(result: EmbeddingEvalResult) -> bool:
    """Can no seed change this run's primary metric? (a probe on every training row is exact: lbfgs)"""
    return result.kind != "probe" or float(result.config.get("train_fraction") or 1.0) >= 1.0


def example_interval(row: Row) -> tuple[float | None, float | None]:
    """A frozen row's 95% interval counting the examples (jackknife) and, unless deterministic, its seeds."""
    if row.scores and len(row.scores) == len(row.seeds) and len({v[2] for v in row.scores.values()}) == 1:
        how = row.per_row or PER_EXAMPLE[row.metric]
        values, labels = stack_scores(row)
        low, high = score_interval(values, how.statistic, labels=labels, gains=how.gains, fixed=row.deterministic,
                                   left_out=how.left_out)
    elif row.predictions and row.metric == "accuracy" and len(row.predictions) == len(row.seeds):
        keys = sorted(row.predictions)
        predicted = np.stack([row.predictions[k][0] for k in keys])
        correct = (predicted == row.predictions[keys[0]][1][None]).astype(float)  # accuracy: mean correctness
        low, high = score_interval(correct, lambda v, _: float(v.mean()), gains=lambda v: v,
                                   fixed=row.deterministic)
    else:
        return row.low, row.high
    floor, ceiling = metric_range(row.metric)
    return max(low, floor), min(high, ceiling)


def stack_scores(row: Row) -> tuple[np.ndarray, np.ndarray | None]:
    """(seeds, examples) values in seed order, and the examples' labels (or None)."""
    keys = sorted(row.scores)
    return np.stack([row.scores[k][0] for k in keys]), row.scores[keys[0]][1]


def compare_scored(leader: Row, row: Row, metric: str, same_runs: bool = False) -> Comparison | None:
    """Two rows of a metric of scores or ranks: paired on the same examples (and on the seeds when ``same_runs``:
    copies of the same runs); by seeds alone when either row's examples are unknown; None when they were scored on
    different examples."""
    fingerprint = _fingerprint(leader)
    how = leader.per_row or row.per_row or PER_EXAMPLE.get(metric)  # a trained row's problem type's, or a frozen's
    if how is not None and fingerprint is not None and fingerprint == _fingerprint(row):
        (first, labels), (second, _) = stack_scores(leader), stack_scores(row)
        return compare_scores(first, second, how.statistic, labels=labels, gains=how.gains, first_seeds=leader.seeds,
                              second_seeds=row.seeds, first_fixed=leader.deterministic,
                              second_fixed=row.deterministic, left_out=how.left_out, same_runs=same_runs)
    if fingerprint is not None and _fingerprint(row) is not None:
        return None  # scored on different examples: never compared
    return compare_values(leader.values, row.values)


def score_power(rows: list[Row], comparisons: list[Comparison | None], split: str,
                method: str) -> tuple[float | None, str]:
    """The minimum detectable effect of a ranking of scores or ranks (from the standard errors of its leader's
    comparisons), and the caption (starting with ``method``: how 'vs leader' reads) that states it."""
    errors = [c.standard_error for c in comparisons if c is not None and c.standard_error]
    if not errors or not rows[0].scores:
        return None, method
    examples = next(iter(rows[0].scores.values()))[0].size
    seeds = int(np.median([len(row.seeds) for row in rows if not row.baseline] or [1]))  # baselines have none
    normal = NormalDist()
    mde = (normal.inv_cdf(1 - ALPHA / 2) + normal.inv_cdf(0.8)) * float(np.median(errors))
    return mde, (f"{method}. Minimum detectable effect: with {examples} {split} examples and {seeds} seed(s), gaps "
                 f"under {mde * 100:.1f} points cannot be told from noise at 80% power")


def _fingerprint(row: Row) -> str | None:
    found = {scores[2] for scores in row.scores.values()}
    if len(found) != 1 or len(row.scores) != max(len(row.seeds), 1):
        return None
    return found.pop()
