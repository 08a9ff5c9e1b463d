"""Scores for frozen embeddings: average precision, a threshold chosen on one split, and retrieval metrics.

``PER_EXAMPLE`` says how each ranking metric is recomputed from a run's stored per-example values (``score`` and
``label`` per pair, ``rank`` per query), so a leaderboard's paired verdict (``report/verdict.py``) can leave one
example out of both rows and recompute it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bakeoff.metrics import average_precision
from bakeoff.problems.regression import spearman, spearman_left_out


def average_precision_left_out(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Average precision with each row left out in turn, (rows,), exact and in O(n log n) (not n recomputations).

    Removing a negative moves every later positive up one rank; removing a positive also takes one hit from each
    later positive's count. Prefix sums over the ranking give every left-out value at once.

    >>> average_precision_left_out(np.array([1, 0, 1]), np.array([0.9, 0.8, 0.1])).tolist()
    [0.5, 1.0, 1.0]
    """
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="stable")  # the same ranking as average_precision
    hits = (labels[order] == 1).astype(float)
    positives = hits.sum()
    rank = np.arange(1, hits.size + 1, dtype=float)
    count = np.cumsum(hits)  # hits at or above each rank
    before = np.concatenate([[0.0], np.cumsum(hits * count / rank)])[:-1]  # positives above position j, as is
    shifted = hits * count / np.maximum(rank - 1, 1)  # a positive one rank up
    lifted = hits / np.maximum(rank - 1, 1)  # ... and one hit fewer above it
    after_shifted = np.concatenate([np.cumsum(shifted[::-1])[::-1][1:], [0.0]])
    after_lifted = np.concatenate([np.cumsum(lifted[::-1])[::-1][1:], [0.0]])
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(hits == 1, (before + after_shifted - after_lifted) / (positives - 1),
                         (before + after_shifted) / positives)
    out = np.empty_like(value)
    out[order] = value
    return out


def best_threshold(labels: np.ndarray, scores: np.ndarray, metric: str = "accuracy") -> float:
    """The score threshold (predict 1 at or above it) that maximises ``accuracy`` or ``f1`` on these rows.

    >>> best_threshold(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.6, 0.9]))
    0.5
    """
    ordered = np.unique(scores)
    candidates = np.concatenate([[ordered[0] - 1e-6], (ordered[:-1] + ordered[1:]) / 2, [ordered[-1] + 1e-6]])
    values = [_binary_score(labels, scores >= t, metric) for t in candidates]
    return float(candidates[int(np.argmax(values))])


def _binary_score(labels: np.ndarray, predicted: np.ndarray, metric: str) -> float:
    if metric == "accuracy":
        return float((predicted == (labels == 1)).mean())
    true_positive = float((predicted & (labels == 1)).sum())
    denominator = float(predicted.sum() + (labels == 1).sum())
    return 2 * true_positive / denominator if denominator else 0.0


def binary_f1(labels: np.ndarray, predicted: np.ndarray) -> float:
    return _binary_score(labels, predicted.astype(bool), "f1")


def retrieval_scores(ranks: np.ndarray) -> dict[str, float]:
    """recall@1/@10, MRR@10 and nDCG@10 from each query's 1-based rank of its one relevant document.

    >>> retrieval_scores(np.array([1, 2, 20]))["recall@10"]
    0.6666666666666666
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    within = ranks <= 10
    return {"recall@1": float((ranks == 1).mean()), "recall@10": float(within.mean()),
            "mrr@10": float(np.where(within, 1 / ranks, 0).mean()),
            "ndcg@10": float(np.where(within, 1 / np.log2(ranks + 1), 0).mean())}


@dataclass(frozen=True)
class PerExample:
    """A metric as a function of one run's per-example values.

    ``field``: the ``per_example`` key holding the values (``score`` or ``rank``); ``labels``: the key of the
    labels the statistic also needs, or None. ``gains``: when the metric is the mean of a per-example gain (every
    retrieval metric), that gain, so leave-one-out is exact arithmetic; ``left_out``, when given, computes every
    leave-one-out value at once (average precision); else ``statistic`` is called with one example left out, each
    in turn.
    """

    field: str
    statistic: Callable[[np.ndarray, np.ndarray | None], float]
    gains: Callable[[np.ndarray], np.ndarray] | None = None
    labels: str | None = None
    left_out: Callable[[np.ndarray, np.ndarray | None], np.ndarray] | None = None  # every leave-one-out at once


def _gain_metric(gains: Callable[[np.ndarray], np.ndarray]) -> PerExample:
    return PerExample("rank", lambda ranks, _: float(gains(ranks).mean()), gains)


PER_EXAMPLE: dict[str, PerExample] = {
    "average_precision": PerExample("score", lambda scores, labels: average_precision(labels, scores),
                                    labels="label",
                                    left_out=lambda scores, labels: average_precision_left_out(labels, scores)),
    "spearman": PerExample("score", spearman, labels="label", left_out=spearman_left_out),  # --kind sts
    "recall@1": _gain_metric(lambda ranks: (ranks == 1).astype(float)),
    "recall@10": _gain_metric(lambda ranks: (ranks <= 10).astype(float)),
    "mrr@10": _gain_metric(lambda ranks: np.where(ranks <= 10, 1 / ranks, 0.0)),
    "ndcg@10": _gain_metric(lambda ranks: np.where(ranks <= 10, 1 / np.log2(ranks + 1), 0.0)),
}
