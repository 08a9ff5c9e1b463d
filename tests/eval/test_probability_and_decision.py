"""Probabilities scored (ROC-AUC, PR-AUC, ECE, Brier) and turned into decisions (temperature, threshold)."""

from __future__ import annotations

import numpy as np
import pytest

from bakeoff.errors import BakeoffError
from bakeoff.eval.decision import (
    Decision,
    choose_threshold,
    fit_decision,
    fit_temperature,
    load_decision,
    save_decision,
    threshold_score,
)
from bakeoff.eval.predict import Predictions
from bakeoff.eval.probability import (
    brier,
    equal_mass_bins,
    expected_calibration_error,
    probability_metrics,
    roc_auc,
)
from bakeoff.eval.results import evaluate_predictions
from bakeoff.metrics import direction_of, metric_info


def _sampled(rows: int, temperature: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose labels are drawn from softmax(logits / temperature): calibrated at that temperature."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, size=(rows, 3))
    scaled = np.exp(logits / temperature)
    probabilities = scaled / scaled.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(3, p=p) for p in probabilities])
    return logits.astype(np.float32), labels


def test_roc_auc_and_pr_auc_agree_with_scikit_learn():
    sklearn = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    scores = np.clip(labels * 0.3 + rng.normal(0.4, 0.25, 300), 0, 1)
    values = probability_metrics(labels, np.stack([1 - scores, scores], axis=1))
    assert values["roc_auc"] == pytest.approx(sklearn.roc_auc_score(labels, scores))
    assert values["pr_auc"] == pytest.approx(sklearn.average_precision_score(labels, scores))
    assert roc_auc(np.zeros(4, dtype=int), np.arange(4.0)) != roc_auc(np.zeros(4, dtype=int), np.arange(4.0))  # NaN


def test_ranking_metrics_only_for_two_classes_and_directions_are_registered():
    three = probability_metrics(np.array([0, 1, 2]), np.eye(3))
    assert set(three) == {"ece", "brier"} and three["ece"] == 0 and three["brier"] == 0
    assert not metric_info("ece").higher_is_better and not metric_info("brier").higher_is_better
    assert metric_info("roc_auc").higher_is_better and direction_of("final/validation/ece") is False


def test_ece_uses_equal_mass_bins_and_sees_overconfidence():
    bins = equal_mass_bins(np.linspace(0, 1, 150))
    assert len(bins) == 15 and {len(b) for b in bins} == {10}
    labels = np.array([0, 1] * 50)
    sure = np.tile([[0.99, 0.01]], (100, 1))  # always class 0 at 99%: right half the time
    assert expected_calibration_error(labels, sure) == pytest.approx(0.49)
    assert brier(labels, sure) == pytest.approx((0.01**2 * 2 * 50 + 0.99**2 * 2 * 50) / 100)


def test_a_fitted_temperature_recovers_the_one_the_labels_were_drawn_at():
    logits, labels = _sampled(4000, temperature=2.5)
    assert fit_temperature(logits, labels) == pytest.approx(2.5, rel=0.1)
    before = Predictions(logits, 0.0)
    after = Predictions(logits, 0.0, temperature=fit_temperature(logits, labels))
    assert expected_calibration_error(labels, after.probabilities) < expected_calibration_error(
        labels, before.probabilities) / 2
    assert (after.labels == before.labels).all()  # a temperature never changes the argmax


def test_the_threshold_maximises_its_metric_and_predictions_follow_it():
    labels = np.array([0] * 90 + [1] * 10)
    positive = np.concatenate([np.linspace(0.0, 0.35, 90), np.linspace(0.3, 0.45, 10)])
    threshold, value = choose_threshold(labels, positive, "f1")
    predicted = positive >= threshold
    assert value == pytest.approx(threshold_score(labels, predicted, "f1"))
    assert value > threshold_score(labels, positive >= 0.5, "f1")  # 0.5 predicts no positives at all
    grid = [threshold_score(labels, positive >= t, "f1") for t in np.linspace(0, 1, 201)]
    assert value >= max(grid) - 1e-12
    logits = np.log(np.stack([1 - positive, positive], axis=1) + 1e-9).astype(np.float32)
    assert (Predictions(logits, 0.0, threshold=threshold).labels == predicted).all()
    balanced, _ = choose_threshold(labels, positive, "balanced_accuracy")
    assert threshold_score(labels, positive >= balanced, "balanced_accuracy") >= 0.9


def test_a_decision_round_trips_through_json_and_a_damaged_file_is_one_line(tmp_path):
    logits, labels = _sampled(200, 1.0)
    binary = logits[:, :2]
    decision = fit_decision(Predictions(binary, 0.0), (labels > 0).astype(int), ["no", "yes"], calibrate=True,
                            threshold="auto", threshold_metric="f2")
    assert decision is not None and decision.threshold_metric == "f2" and decision.positive_label == "yes"
    save_decision(tmp_path, decision)
    assert load_decision(tmp_path) == decision
    assert fit_decision(Predictions(binary, 0.0), labels, ["a", "b"], calibrate=False, threshold=None,
                        threshold_metric="f1") is None
    (tmp_path / "decision.json").write_text('{"temperature": "hot"}')
    with pytest.raises(BakeoffError, match="not a decision file"):
        load_decision(tmp_path)
    assert load_decision(tmp_path / "nowhere") is None
    assert Decision(threshold=0.9).apply(Predictions(binary, 0.0)).threshold == 0.9


def test_every_evaluation_carries_calibration_and_its_before_after():
    logits, labels = _sampled(300, 2.0)
    plain = evaluate_predictions("validation", Predictions(logits, 1.0), labels, ["a", "b", "c"], "accuracy")
    assert plain.calibration["bins"] == 15 and "ece_before" not in plain.calibration
    assert len(plain.calibration["reliability"]) == 15
    scaled = evaluate_predictions("validation", Predictions(logits, 1.0, temperature=2.0), labels, ["a", "b", "c"],
                                  "accuracy")
    assert scaled.calibration["ece_before"] == pytest.approx(plain.metrics["ece"])
    assert scaled.metrics["ece"] < plain.metrics["ece"] and scaled.metrics["accuracy"] == plain.metrics["accuracy"]


def test_a_schema_2_result_still_loads_without_the_new_fields():
    from bakeoff.runs.results import SCHEMA_VERSION, TrainResult

    split = {"split": "validation", "rows": 2, "loss": 0.5, "metrics": {"accuracy": 1.0}, "primary_metric": "accuracy",
             "per_class": {}, "confusion_matrix": [[1, 0], [0, 1]], "seconds": 0.1, "samples_per_second": 20.0}
    old = {"schema_version": 2, "run": {"id": "x", "project": "p", "name": "n", "path": "/tmp/x"},
           "config": {"model": "m", "task": "demo"}, "model": {"name": "m", "location": "l", "origin": "o"},
           "data": {"task": "demo", "label_names": ["a", "b"], "sizes": {}, "fingerprints": {}},
           "training": {"seconds": 1.0, "samples_per_second": 1.0, "tokens_per_second": 1.0, "steps": 1,
                        "epochs_completed": 1.0, "precision": "fp32", "device": "cpu"},
           "validation": split, "test": None, "history": [], "hardware": {}, "latency_ms": {},
           "bakeoff_version": "0", "git_commit": None, "created_at": ""}
    loaded = TrainResult.from_dict(old)
    assert SCHEMA_VERSION == 5 and loaded.schema_version == 2
    assert loaded.decision is None and loaded.training.class_weights is None and loaded.validation.calibration is None
    assert TrainResult.from_dict(loaded.to_dict()).to_dict() == loaded.to_dict()
