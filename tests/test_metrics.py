from __future__ import annotations

import math

import numpy as np
import pytest

from bakeoff.metrics import (
    METRICS,
    accuracy,
    confusion_matrix,
    f1,
    f1_macro,
    is_better,
    mcc,
    per_class,
)

# 10 rows, binary: TP=4 (label 1 predicted 1), FN=1, FP=2, TN=3
LABELS = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
PREDICTED = np.array([1, 1, 1, 1, 0, 1, 1, 0, 0, 0])


def test_binary_metrics_against_hand_computed_values():
    assert confusion_matrix(LABELS, PREDICTED, 2).tolist() == [[3, 2], [1, 4]]
    assert accuracy(LABELS, PREDICTED, 2) == pytest.approx(0.7)
    precision, recall = 4 / 6, 4 / 5
    assert f1(LABELS, PREDICTED, 2) == pytest.approx(2 * precision * recall / (precision + recall))
    expected_mcc = (4 * 3 - 2 * 1) / math.sqrt((4 + 2) * (4 + 1) * (3 + 2) * (3 + 1))
    assert mcc(LABELS, PREDICTED, 2) == pytest.approx(expected_mcc)
    classes = per_class(LABELS, PREDICTED, 2)
    assert classes["precision"].tolist() == pytest.approx([3 / 4, 4 / 6])
    assert classes["recall"].tolist() == pytest.approx([3 / 5, 4 / 5])
    assert classes["support"].tolist() == [5, 5]


def test_multiclass_macro_f1_and_mcc():
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 2, 0])
    # class 0: P=1/2 R=1/2 F=1/2; class 1: P=2/3 R=1 F=0.8; class 2: P=1 R=1/2 F=2/3
    assert f1_macro(labels, predicted, 3) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert f1(labels, predicted, 3) == pytest.approx(f1_macro(labels, predicted, 3))
    # Gorodkin's R_K: c=4, s=6, p=(2,3,1), t=(2,2,2): (4*6 - 12) / sqrt((36-14)*(36-12))
    assert mcc(labels, predicted, 3) == pytest.approx(12 / math.sqrt(22 * 24))


def test_degenerate_cases_do_not_divide_by_zero():
    labels = np.array([1, 1, 1])
    assert mcc(labels, np.array([1, 1, 1]), 2) == 0.0
    assert f1(labels, np.array([0, 0, 0]), 2) == 0.0


def test_metrics_carry_their_direction():
    assert all(m.higher_is_better for m in METRICS.values())
    assert is_better("accuracy", 0.9, 0.8) and not is_better("accuracy", 0.7, 0.8)
    assert is_better("loss", 0.3, 0.4) and not is_better("loss", 0.5, 0.4)
    assert is_better("loss", 0.5, None) and not is_better("accuracy", float("nan"), None)
