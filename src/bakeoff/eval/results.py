"""``EvalResult``: the metrics of one model on one labelled split (the ``validation``/``test`` of a run's result)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from bakeoff.eval.predict import Predictions
from bakeoff.eval.probability import calibration_summary, probability_metrics
from bakeoff.problems import SINGLE_LABEL, Problem


@dataclass
class EvalResult:
    """Metrics of one model on one labelled split."""

    split: str
    rows: int
    loss: float
    metrics: dict[str, float]
    primary_metric: str
    per_class: dict[str, dict[str, float]]
    confusion_matrix: list[list[int]]
    seconds: float
    samples_per_second: float
    calibration: dict[str, Any] | None = None  # eval/probability.py: bins, reliability table, ECE before a temperature

    @property
    def primary(self) -> float:
        return self.metrics[self.primary_metric]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EvalResult:
        return cls(**{f.name: values.get(f.name) for f in fields(cls)})  # older files: calibration None


def evaluate_predictions(split: str, predictions: Predictions, labels: np.ndarray, label_names: list[str],
                         primary_metric: str, problem: Problem = SINGLE_LABEL,
                         thresholds: list[float] | None = None) -> EvalResult:
    """The metrics of ``predictions`` against ``labels``, as ``problem`` (the run's problem type) scores them;
    ``per_class`` is per label for multi-label runs and empty for regression, as is ``confusion_matrix``
    for every type but single-label."""
    if problem is SINGLE_LABEL:  # labels as the run's decision (temperature, binary threshold) reads the logits
        scored = problem.score(labels, predictions.logits, label_names, predicted=predictions.labels)
        metrics = {**scored.metrics, **probability_metrics(labels, predictions.probabilities)}
    else:
        scored = problem.score(labels, predictions.logits, label_names, thresholds)
        metrics = scored.metrics
    return EvalResult(
        split=split, rows=len(labels), loss=problem.loss_value(predictions.logits, labels),
        metrics=metrics, primary_metric=primary_metric, per_class=scored.per_class,
        confusion_matrix=scored.confusion_matrix,
        seconds=predictions.seconds,
        samples_per_second=len(labels) / predictions.seconds if predictions.seconds > 0 else float("nan"),
        calibration=calibration_summary(labels, predictions.probabilities, _uncalibrated(predictions),
                                        predictions.temperature if predictions.temperature != 1.0 else None)
        if problem is SINGLE_LABEL else None,
    )


def _uncalibrated(predictions: Predictions) -> np.ndarray | None:
    if predictions.temperature == 1.0:
        return None
    return Predictions(predictions.logits, predictions.seconds).probabilities
