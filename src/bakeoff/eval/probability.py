"""Scores of the probabilities themselves, not only of the argmax: ranking quality (ROC-AUC, PR-AUC, binary
tasks) and calibration (expected calibration error, Brier score, the reliability diagram's bins).

- ``roc_auc``: the probability that a random positive row outscores a random negative one (the Mann-Whitney U
  statistic over ``n_pos * n_neg``, from scipy; ties count a half); ``pr_auc``: average precision of the positive
  class (label 1), ``sum_n (R_n - R_{n-1}) P_n`` over the distinct thresholds as scikit-learn defines it: tied
  probabilities (saturated ones are common) form one threshold, so the order of tied rows does not matter.
- ``ece``: expected calibration error of the top-class confidence over ``ECE_BINS`` equal-mass bins (each bin
  holds the same number of rows, sorted by confidence: Nixon et al. 2019's adaptive ECE, steadier than equal-width
  bins when most confidences sit near 1): ``sum_b rows_b / rows * |accuracy_b - confidence_b|``.
- ``brier``: Brier's (1950) multi-class form, the mean over rows of ``sum_k (p_k - y_k)^2`` (0 best, 2 worst;
  for two classes it is twice the one-probability form ``(p_1 - y)^2``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu

ECE_BINS = 15


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for label 1; NaN when a class is absent.

    >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9]))
    0.75
    """
    positive, negative = scores[labels == 1], scores[labels != 1]
    if not len(positive) or not len(negative):
        return float("nan")
    statistic = mannwhitneyu(positive, negative, alternative="two-sided").statistic
    return float(statistic / (len(positive) * len(negative)))


def pr_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision of ``scores`` for label 1, tied scores taken together; NaN without positives.

    >>> pr_auc(np.array([1, 0, 1]), np.array([0.9, 0.8, 0.1]))
    0.8333333333333333
    """
    positives = int((labels == 1).sum())
    if not positives:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    ordered, hits = scores[order], (labels[order] == 1).astype(np.float64)
    last_of_tie = np.r_[np.flatnonzero(np.diff(ordered)), len(ordered) - 1]  # the end of each distinct score
    true_positives = np.cumsum(hits)[last_of_tie]
    precision = true_positives / (last_of_tie + 1)
    recall_gain = np.diff(np.r_[0.0, true_positives]) / positives
    return float((recall_gain * precision).sum())


def equal_mass_bins(confidence: np.ndarray, bins: int = ECE_BINS) -> list[np.ndarray]:
    """Row indices in ``bins`` groups of (nearly) equal size, by ascending confidence; fewer with fewer rows."""
    order = np.argsort(confidence, kind="stable")
    return [chunk for chunk in np.array_split(order, min(bins, len(order))) if len(chunk)]


def reliability(labels: np.ndarray, probabilities: np.ndarray, bins: int = ECE_BINS) -> list[dict[str, float]]:
    """Per equal-mass bin: mean top-class ``confidence``, ``accuracy`` of the top class, and ``rows``."""
    confidence = probabilities.max(axis=-1)
    correct = probabilities.argmax(axis=-1) == labels
    return [{"confidence": float(confidence[rows].mean()), "accuracy": float(correct[rows].mean()),
             "rows": int(len(rows))} for rows in equal_mass_bins(confidence, bins)]


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE over equal-mass bins of the top-class confidence (0 = perfectly calibrated).

    >>> expected_calibration_error(np.array([1, 0]), np.array([[0.0, 1.0], [1.0, 0.0]]))
    0.0
    """
    if not len(labels):
        return float("nan")
    table = reliability(labels, probabilities, bins)
    return float(sum(b["rows"] * abs(b["accuracy"] - b["confidence"]) for b in table) / len(labels))


def brier(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean over rows of the squared distance between the probabilities and the one-hot label."""
    if not len(labels):
        return float("nan")
    onehot = np.eye(probabilities.shape[1])[labels]
    return float(((probabilities - onehot) ** 2).sum(axis=1).mean())


def probability_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """``ece`` and ``brier`` for every classification task; ``roc_auc`` and ``pr_auc`` besides for binary ones."""
    values = {"ece": expected_calibration_error(labels, probabilities), "brier": brier(labels, probabilities)}
    if probabilities.shape[1] == 2:
        positive = probabilities[:, 1].astype(np.float64)
        values["roc_auc"] = roc_auc(labels, positive)
        values["pr_auc"] = pr_auc(labels, positive)
    return values


def calibration_summary(labels: np.ndarray, probabilities: np.ndarray, uncalibrated: np.ndarray | None,
                        temperature: float | None) -> dict[str, Any]:
    """What ``EvalResult.calibration`` holds: the bins, the reliability table, and with a fitted temperature the
    ECE and Brier score the same rows had before it."""
    summary: dict[str, Any] = {"bins": ECE_BINS, "binning": "equal-mass", "temperature": temperature,
                               "reliability": reliability(labels, probabilities)}
    if uncalibrated is not None and temperature is not None:
        summary["ece_before"] = expected_calibration_error(labels, uncalibrated)
        summary["brier_before"] = brier(labels, uncalibrated)
        summary["reliability_before"] = reliability(labels, uncalibrated)
    return summary
