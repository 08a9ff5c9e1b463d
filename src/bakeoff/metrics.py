"""Classification metrics, each registered with its direction, computed from labels and predictions.

Early stopping, checkpoint selection and leaderboards read ``METRICS[name].higher_is_better`` instead of
assuming "max". Binary F1 is the F1 of the positive class (label 1), as GLUE reports it for MRPC and QQP;
with more than two classes ``f1`` is the macro average.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    compute: Callable[[np.ndarray, np.ndarray, int], float]
    description: str


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """``matrix[true, predicted]`` counts. (num_classes, num_classes) int64."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def per_class(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support for each class (0 where undefined, as scikit-learn's zero_division=0)."""
    matrix = confusion_matrix(labels, predictions, num_classes)
    true_positive = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0).astype(float)
    actual = matrix.sum(axis=1).astype(float)
    precision = np.divide(true_positive, predicted, out=np.zeros(num_classes), where=predicted > 0)
    recall = np.divide(true_positive, actual, out=np.zeros(num_classes), where=actual > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros(num_classes), where=total > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual.astype(np.int64)}


def accuracy(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> float:
    return float(np.mean(labels == predictions)) if len(labels) else float("nan")


def f1_macro(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> float:
    return float(per_class(labels, predictions, num_classes)["f1"].mean())


def f1(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> float:
    if num_classes == 2:
        return float(per_class(labels, predictions, 2)["f1"][1])
    return f1_macro(labels, predictions, num_classes)


def balanced_accuracy(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> float:
    """Mean recall over the classes that occur (scikit-learn's ``balanced_accuracy_score``)."""
    classes = per_class(labels, predictions, num_classes)
    present = classes["support"] > 0
    return float(classes["recall"][present].mean()) if present.any() else float("nan")


def mcc(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> float:
    """Matthews correlation (multi-class form of Gorodkin 2004); 0 when a marginal is constant."""
    matrix = confusion_matrix(labels, predictions, num_classes).astype(float)
    total = matrix.sum()
    correct = np.trace(matrix)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    numerator = correct * total - predicted @ actual
    denominator = np.sqrt(total**2 - predicted @ predicted) * np.sqrt(total**2 - actual @ actual)
    return float(numerator / denominator) if denominator > 0 else 0.0


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve of ``scores`` ranking the positives (label 1) first.

    >>> average_precision(np.array([1, 0, 1]), np.array([0.9, 0.8, 0.1]))
    0.8333333333333333
    """
    order = np.argsort(-scores, kind="stable")
    hits = labels[order] == 1
    if not hits.any():
        return float("nan")
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at[hits].mean())


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", True, accuracy, "share of rows predicted right"),
        Metric("f1", True, f1, "F1 of the positive class (binary) or macro F1 (multi-class)"),
        Metric("f1_macro", True, f1_macro, "unweighted mean of the per-class F1"),
        Metric("mcc", True, mcc, "Matthews correlation coefficient, -1..1"),
        Metric("balanced_accuracy", True, balanced_accuracy, "mean recall over the classes (imbalanced tasks)"),
    )
}
LOSS = Metric("loss", False, lambda *_: float("nan"), "mean cross-entropy on the split")


def _from_scores(*_: object) -> float:
    raise ValueError("this metric is computed from similarity scores or ranks, not from predicted labels")


def _from_probabilities(*_: object) -> float:
    raise ValueError("this metric is computed from predicted probabilities, not from predicted labels")


# Metrics of the probabilities (bakeoff.eval.probability computes them): ranking quality for binary tasks and
# calibration for every classification task; registered here for their direction.
PROBABILITY_METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("roc_auc", True, _from_probabilities, "area under the ROC curve of the positive class (binary)"),
        Metric("pr_auc", True, _from_probabilities, "average precision of the positive class (binary)"),
        Metric("ece", False, _from_probabilities, "expected calibration error, 15 equal-mass bins"),
        Metric("brier", False, _from_probabilities, "Brier score: mean squared error of the probabilities"),
    )
}


# Embedding tasks' metrics (bakeoff.embedding.metrics computes them from scores and ranks): registered for their
# direction, so leaderboards and sweeps read it as they read accuracy's; never computed from label predictions.
SCORE_METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("average_precision", True, _from_scores, "area under the precision-recall curve of pair scores"),
        Metric("recall@1", True, _from_scores, "share of queries whose relevant document ranks first"),
        Metric("recall@10", True, _from_scores, "share of queries whose relevant document is in the top 10"),
        Metric("mrr@10", True, _from_scores, "mean reciprocal rank of the relevant document (0 below 10)"),
        Metric("ndcg@10", True, _from_scores, "normalised discounted cumulative gain at 10"),
    )
}


def _from_problem(*_: object) -> float:
    raise ValueError("this metric is computed by its problem type (bakeoff.problems), not from label ids")


# Regression and multi-label metrics (bakeoff.problems computes them): registered for their direction.
PROBLEM_METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("spearman", True, _from_problem, "Spearman rank correlation with the gold scores"),
        Metric("pearson", True, _from_problem, "Pearson correlation with the gold scores"),
        Metric("pearson_spearman", True, _from_problem, "mean of Pearson and Spearman (GLUE's STS-B figure)"),
        Metric("mse", False, _from_problem, "mean squared error, in the task's units squared"),
        Metric("mae", False, _from_problem, "mean absolute error, in the task's units"),
        Metric("f1_micro", True, _from_problem, "F1 over every (row, label) decision pooled"),
        Metric("f1_samples", True, _from_problem, "example-based F1: the mean over rows of each row's F1"),
        Metric("subset_accuracy", True, _from_problem, "share of rows whose label set is exactly right"),
    )
}


def metric_info(name: str) -> Metric:
    """A registered metric, or ``loss`` (lower is better)."""
    if name == "loss":
        return LOSS
    for registry in (SCORE_METRICS, PROBABILITY_METRICS, PROBLEM_METRICS, METRICS):
        if name in registry:
            return registry[name]
    from bakeoff.errors import BakeoffError

    raise BakeoffError(f"unknown metric {name!r}: use one of {', '.join(all_metric_names())}")


def metric_range(name: str) -> tuple[float, float]:
    """The values a metric can take: correlations and MCC -1..1, errors and the loss 0..inf, the rest 0..1.

    >>> metric_range("spearman"), metric_range("accuracy")
    ((-1.0, 1.0), (0.0, 1.0))
    """
    if name in ("mcc", "spearman", "pearson", "pearson_spearman"):
        return -1.0, 1.0
    if name in ("loss", "mse", "mae"):
        return 0.0, float("inf")
    return 0.0, 1.0


def all_metric_names() -> tuple[str, ...]:
    """Every metric a run can be selected or ranked by: the classification metrics, the other problem types'
    (regression, multi-label), and ``loss``."""
    return (*METRICS, *PROBLEM_METRICS, "average_precision", "loss")


def metric_names() -> tuple[str, ...]:
    """The registered classification metrics, in the order results list them."""
    return tuple(METRICS)


# Words in the names of metrics a user records through the tracking API (``val/acc``, ``epoch_time``): the
# registry's direction for names it does not hold itself. Lower-is-better words are checked first
# ("error_rate" is an error, not a rate).
_LOWER_WORDS = ("loss", "error", "latency", "perplexity", "seconds", "time", "size", "bytes")
_HIGHER_WORDS = ("acc", "f1", "mcc", "matthews", "precision", "recall", "auc", "score", "throughput", "samples_per")


def direction_of(name: str) -> bool | None:
    """True if higher is better, False if lower is, None when the registry cannot tell.

    The last part of a nested name decides (``final/validation/accuracy`` is ``accuracy``).

    >>> direction_of("val/accuracy"), direction_of("train/loss"), direction_of("lr")
    (True, False, None)
    """
    leaf = name.lower().rsplit("/", 1)[-1]
    if leaf == "loss":
        return LOSS.higher_is_better
    if leaf in METRICS or leaf in SCORE_METRICS or leaf in PROBABILITY_METRICS or leaf in PROBLEM_METRICS:
        return metric_info(leaf).higher_is_better
    if any(word in leaf for word in _LOWER_WORDS):
        return False
    if any(word in leaf for word in _HIGHER_WORDS):
        return True
    return None


def compute_all(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> dict[str, float]:
    return {name: metric.compute(labels, predictions, num_classes) for name, metric in METRICS.items()}


def is_better(name: str, candidate: float, best: float | None) -> bool:
    if best is None or np.isnan(best):
        return not np.isnan(candidate)
    return candidate > best if metric_info(name).higher_is_better else candidate < best
