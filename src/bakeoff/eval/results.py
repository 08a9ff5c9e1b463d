"""``EvalResult``: the metrics of one model on one labelled split (the ``validation``/``test`` of a run's result)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from bakeoff.eval.predict import Predictions, cross_entropy
from bakeoff.eval.probability import calibration_summary, probability_metrics
from bakeoff.metrics import compute_all, confusion_matrix, per_class


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
                         primary_metric: str) -> EvalResult:
    num_classes = len(label_names)
    predicted = predictions.labels
    classes = per_class(labels, predicted, num_classes)
    return EvalResult(
        split=split, rows=len(labels), loss=cross_entropy(predictions.logits, labels),
        metrics={**compute_all(labels, predicted, num_classes),
                 **probability_metrics(labels, predictions.probabilities)}, primary_metric=primary_metric,
        per_class={name: {key: float(classes[key][i]) for key in ("precision", "recall", "f1", "support")}
                   for i, name in enumerate(label_names)},
        confusion_matrix=confusion_matrix(labels, predicted, num_classes).tolist(),
        seconds=predictions.seconds,
        samples_per_second=len(labels) / predictions.seconds if predictions.seconds > 0 else float("nan"),
        calibration=calibration_summary(labels, predictions.probabilities, _uncalibrated(predictions),
                                        predictions.temperature if predictions.temperature != 1.0 else None),
    )


def _uncalibrated(predictions: Predictions) -> np.ndarray | None:
    if predictions.temperature == 1.0:
        return None
    return Predictions(predictions.logits, predictions.seconds).probabilities
