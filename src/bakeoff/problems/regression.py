"""Regression: one number per row (STS-B's similarity 0-5), one output unit, mean squared error.

Scores stay on the task's own scale (no rescaling to 0-1), so MSE and MAE read in the task's units and a
checkpoint's raw output is the answer (``transformers.pipeline(..., function_to_apply="none")``).

Metrics: Pearson and Spearman correlation with the gold scores, MSE and MAE. The primary metric is **Spearman**:
it asks only that the model orders pairs as the annotators did, which is what a similarity score is used for
(ranking, thresholds chosen later), and it is the figure sentence-transformers and MTEB report for STS; GLUE's
mean of Pearson and Spearman is in the metrics too as ``pearson_spearman``.

Verdicts pair the rows: both models' scores on the same pairs, the correlation recomputed with each pair left out
of both (the jackknife; exact and vectorized below), plus the seed spread (``report/verdict.compare_scores``).
Baselines: the training mean for every row, and TF-IDF cosine similarity of the two texts of a pair mapped to the
task's scale by a least-squares line fitted on the training pairs (the classic unsupervised STS baseline; for
single texts: TF-IDF + ridge regression).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from bakeoff.problems.base import LabelError, PerRow, Problem, Scored

MEAN = "mean score"
TFIDF_COSINE = "tf-idf cosine"
TFIDF_RIDGE = "tf-idf + ridge"
SAME_SCORE = 0.01  # two scores closer than this are the same answer (compression's "flips")
CHUNK = 512  # rows per block of the leave-one-out correlations: (CHUNK, rows) floats at a time


class Regression(Problem):
    name = "regression"
    hf_problem_type = "regression"
    default_metric = "spearman"
    metric_names = ("spearman", "pearson", "pearson_spearman", "mse", "mae")
    changed_answers = f"scores move by {SAME_SCORE} or more"
    paired_test = "sign test (which copy is closer to the gold score)"

    def outputs(self, label_names: list[str]) -> int:
        return 1

    def label_names_from(self, values: list[str], source: str, separator: str | None) -> list[str]:
        return ["score"]

    def parse_labels(self, values: list[str], label_names: list[str], source: str, lines: list[int],
                     custom: bool, separator: str | None) -> np.ndarray:
        scores = np.empty(len(values), dtype=np.float32)
        for row, value in enumerate(values):
            try:
                scores[row] = float(value)
            except ValueError:
                raise LabelError(f"{source}, line {lines[row]}: label {value!r} is not a number: a regression task "
                                 "needs a number per row (e.g. 3.8); check --label-column, or train a classifier "
                                 "with --problem-type single_label") from None
            if not math.isfinite(scores[row]):
                raise LabelError(f"{source}, line {lines[row]}: label {value!r} is not a finite number")
        return scores

    def initial_bias(self, train_labels: np.ndarray) -> np.ndarray | None:
        """The training mean: a head that starts at 0 on STS-B's 0-5 scale spends its first hundreds of steps
        moving its bias (measured: MiniLM-L3, 72 steps at 1e-4, Spearman -0.04, MSE 2.15 = predicting a constant)."""
        return np.array([float(np.mean(train_labels))])

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return functional.mse_loss(logits.view(-1), labels.view(-1).to(logits.dtype))

    def decide(self, logits: np.ndarray, thresholds: list[float] | None = None) -> np.ndarray:
        return logits.reshape(len(logits), -1)[:, 0].astype(np.float64)

    def score(self, labels: np.ndarray, logits: np.ndarray, label_names: list[str],
              thresholds: list[float] | None = None) -> Scored:
        return Scored(regression_metrics(labels, self.decide(logits)))

    def per_row_metrics(self, label_count: int) -> dict[str, PerRow]:
        return PER_ROW

    def baselines(self, train: Any, scored: Any) -> list[tuple[str, Callable[[], np.ndarray]]]:
        mean = (MEAN, lambda: np.full(len(scored), float(np.mean(train.labels))))
        if train.pairs is not None and scored.pairs is not None:
            return [mean, (TFIDF_COSINE, lambda: tfidf_cosine(train, scored))]
        return [mean, (TFIDF_RIDGE, lambda: tfidf_ridge(train, scored))]

    def paired_rows(self, first: np.ndarray, second: np.ndarray,
                    truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A score "flips" when it moves by SAME_SCORE or more; "right" is closer to the gold score than the other
        model, so McNemar on these is the sign test of which model is closer."""
        first_error, second_error = np.abs(first - truth), np.abs(second - truth)
        return np.abs(first - second) < SAME_SCORE, first_error < second_error, second_error < first_error

    def predict_rows(self, logits: np.ndarray, label_names: list[str],
                     thresholds: list[float] | None = None) -> list[dict[str, Any]]:
        return [{"score": float(value)} for value in self.decide(logits)]


def regression_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Pearson, Spearman (and GLUE's mean of the two), MSE and MAE of ``predicted`` against ``truth``.

    >>> round(regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))["spearman"], 6)
    1.0
    """
    truth, predicted = np.asarray(truth, np.float64), np.asarray(predicted, np.float64)
    pearson_value, spearman_value = pearson(predicted, truth), spearman(predicted, truth)
    error = predicted - truth
    return {"spearman": spearman_value, "pearson": pearson_value,
            "pearson_spearman": (pearson_value + spearman_value) / 2,
            "mse": float(np.mean(error**2)), "mae": float(np.mean(np.abs(error)))}


def pearson(values: np.ndarray, truth: np.ndarray | None) -> float:
    """Pearson's r (0 when either side is constant: a model that answers one number has no correlation)."""
    from scipy import stats

    assert truth is not None
    if np.ptp(values) == 0 or np.ptp(truth) == 0:
        return 0.0
    return float(stats.pearsonr(values, truth).statistic)


def spearman(values: np.ndarray, truth: np.ndarray | None) -> float:
    """Spearman's rho: Pearson's r of the average ranks (ties share their mean rank)."""
    from scipy import stats

    assert truth is not None
    return pearson(stats.rankdata(values), stats.rankdata(truth))


def pearson_left_out(values: np.ndarray, truth: np.ndarray | None) -> np.ndarray:
    """Pearson's r with each row left out in turn, (rows,), exact from running sums."""
    assert truth is not None
    x, y = np.asarray(values, np.float64), np.asarray(truth, np.float64)
    n = x.size - 1
    sx, sy = x.sum() - x, y.sum() - y
    sxx, syy, sxy = (x * x).sum() - x * x, (y * y).sum() - y * y, (x * y).sum() - x * y
    covariance = sxy - sx * sy / n
    spread = np.sqrt(np.maximum(sxx - sx**2 / n, 0) * np.maximum(syy - sy**2 / n, 0))
    return np.divide(covariance, spread, out=np.zeros_like(covariance), where=spread > 0)


def spearman_left_out(values: np.ndarray, truth: np.ndarray | None) -> np.ndarray:
    """Spearman's rho with each row left out in turn, (rows,), exact with ties.

    Leaving row i out lowers the average rank of every row above it by 1 and of every row tied with it by 1/2;
    the ranks of the remaining rows are then correlated, a block of rows at a time.

    >>> x, y = np.array([3.0, 1, 2, 2, 5]), np.array([1.0, 2, 2, 4, 5])
    >>> bool(np.allclose(spearman_left_out(x, y), [spearman(np.delete(x, i), np.delete(y, i)) for i in range(5)]))
    True
    """
    from scipy import stats

    assert truth is not None
    x, y = np.asarray(values, np.float64), np.asarray(truth, np.float64)
    rank_x, rank_y = stats.rankdata(x), stats.rankdata(y)
    out = np.empty(x.size)
    n = x.size - 1
    for start in range(0, x.size, CHUNK):
        left = np.arange(start, min(start + CHUNK, x.size))
        keep = np.ones((left.size, x.size), dtype=bool)
        keep[np.arange(left.size), left] = False
        rx = rank_x[None] - (x[None] > x[left, None]) - 0.5 * ((x[None] == x[left, None]) & keep)
        ry = rank_y[None] - (y[None] > y[left, None]) - 0.5 * ((y[None] == y[left, None]) & keep)
        rx, ry = np.where(keep, rx, 0.0), np.where(keep, ry, 0.0)
        mean_x, mean_y = rx.sum(1, keepdims=True) / n, ry.sum(1, keepdims=True) / n
        dx, dy = np.where(keep, rx - mean_x, 0.0), np.where(keep, ry - mean_y, 0.0)
        spread = np.sqrt((dx * dx).sum(1) * (dy * dy).sum(1))
        out[left] = np.divide((dx * dy).sum(1), spread, out=np.zeros(left.size), where=spread > 0)
    return out


def _squared_error(values: np.ndarray, truth: np.ndarray | None) -> float:
    assert truth is not None
    return float(np.mean((values - truth) ** 2))


def _absolute_error(values: np.ndarray, truth: np.ndarray | None) -> float:
    assert truth is not None
    return float(np.mean(np.abs(values - truth)))


def _mean_left_out(per_row: Any) -> Any:
    """Leave-one-out of a mean of per-row errors: arithmetic on the sum."""
    def left_out(values: np.ndarray, truth: np.ndarray | None) -> np.ndarray:
        errors = per_row(values, truth)
        return (errors.sum() - errors) / (errors.size - 1)
    return left_out


def _pearson_spearman_left_out(values: np.ndarray, truth: np.ndarray | None) -> np.ndarray:
    return (pearson_left_out(values, truth) + spearman_left_out(values, truth)) / 2


PER_ROW: dict[str, PerRow] = {
    "spearman": PerRow(spearman, spearman_left_out),
    "pearson": PerRow(pearson, pearson_left_out),
    "pearson_spearman": PerRow(lambda v, t: (pearson(v, t) + spearman(v, t)) / 2, _pearson_spearman_left_out),
    "mse": PerRow(_squared_error, _mean_left_out(lambda v, t: (v - t) ** 2)),
    "mae": PerRow(_absolute_error, _mean_left_out(lambda v, t: np.abs(v - t))),
}


def tfidf_ridge(train: Any, scored: Any) -> np.ndarray:
    """TF-IDF over word 1-2 grams, then ridge regression (alpha 1): the scores of ``scored``'s rows."""
    from bakeoff.problems.single_label import tfidf_features

    features, scored_features = tfidf_features(train, scored)
    from sklearn.linear_model import Ridge

    return Ridge(alpha=1.0).fit(features, np.asarray(train.labels, np.float64)).predict(scored_features)


def tfidf_cosine(train: Any, scored: Any) -> np.ndarray:
    """Cosine similarity of the TF-IDF vectors (word 1-2 grams, fitted on the training texts) of each pair's two
    texts, mapped to the task's scale by the least-squares line through the training pairs' (cosine, score)."""
    from bakeoff.problems.base import sklearn_required

    sklearn_required()
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit([*train.texts, *train.pairs])

    def cosine(split: Any) -> np.ndarray:  # rows are L2-normalised: the dot product is the cosine
        first, second = vectorizer.transform(split.texts), vectorizer.transform(split.pairs)
        return np.asarray(first.multiply(second).sum(axis=1)).ravel()

    slope, intercept = np.polyfit(cosine(train), np.asarray(train.labels, np.float64), 1)
    return slope * cosine(scored) + intercept
