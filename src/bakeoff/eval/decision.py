"""How a model's logits become a decision: a temperature (calibration) and, on binary tasks, a threshold.

Both are fitted on the validation split and saved beside the checkpoint as ``decision.json`` (JSON, never a
pickle), so ``evaluate`` and ``predict`` apply what training chose:

- Temperature scaling (Guo et al. 2017): one scalar ``T`` divides the logits before the softmax, chosen to
  minimise the validation cross-entropy (scipy's bounded scalar search over ``log T``). It changes no argmax,
  so accuracy and F1 stay; only the probabilities (ECE, Brier) move.
- A decision threshold on the positive class's probability (after the temperature), chosen among the midpoints
  of the validation probabilities to maximise F1, F-beta (0.5, 2) or balanced accuracy.

A threshold or temperature chosen on validation makes validation's own scores optimistic; the test split, not
seen when choosing, gives the honest figure (``Decision.note`` says so in every result).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from bakeoff.errors import BakeoffError
from bakeoff.eval.predict import Predictions
from bakeoff.io import read_json, write_json_atomic

DECISION_FILE = "decision.json"
CHOSEN_ON = "validation"
NOTE = ("chosen on the validation split: validation scores that use it are optimistic; the test split, unseen "
        "when choosing, is the honest figure")


@dataclass
class Decision:
    """What ``decision.json`` holds (``schema_version`` 1)."""

    temperature: float = 1.0
    threshold: float | None = None
    threshold_metric: str | None = None
    positive_label: str | None = None
    chosen_on: str = CHOSEN_ON
    validation_value: float | None = None  # the threshold metric at the chosen threshold, on validation
    note: str = NOTE
    schema_version: int = 1

    def apply(self, predictions: Predictions) -> Predictions:
        """The same logits, read with this temperature and threshold."""
        return dataclasses.replace(predictions, temperature=self.temperature, threshold=self.threshold)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Decision:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [0.05, 20] minimising the cross-entropy of ``logits / T`` on ``labels``.

    Three rows right and one wrong, all with a logit gap of 4: the best confidence is 3/4, so T = 4 / ln 3.

    >>> logits = np.array([[4.0, 0.0], [0.0, 4.0], [4.0, 0.0], [4.0, 0.0]])
    >>> round(fit_temperature(logits, np.array([0, 1, 1, 0])), 2)
    3.64
    """
    values = logits.astype(np.float64)
    rows = np.arange(len(labels))

    def loss(log_t: float) -> float:
        scaled = values / math.exp(log_t)
        scaled -= scaled.max(axis=1, keepdims=True)
        return float(-(scaled[rows, labels] - np.log(np.exp(scaled).sum(axis=1))).mean())

    found = minimize_scalar(loss, bounds=(math.log(0.05), math.log(20.0)), method="bounded",
                            options={"xatol": 1e-4})
    return float(math.exp(found.x))


def threshold_score(labels: np.ndarray, predicted: np.ndarray, metric: str) -> float:
    """``metric`` (f1, f0.5, f2, balanced_accuracy) of binary predictions."""
    positive = labels == 1
    tp, fp = float((predicted & positive).sum()), float((predicted & ~positive).sum())
    fn, tn = float((~predicted & positive).sum()), float((~predicted & ~positive).sum())
    if metric == "balanced_accuracy":
        recalls = [tp / (tp + fn) if tp + fn else None, tn / (tn + fp) if tn + fp else None]
        present = [r for r in recalls if r is not None]
        return float(np.mean(present)) if present else float("nan")
    beta = {"f1": 1.0, "f0.5": 0.5, "f2": 2.0}[metric]
    denominator = (1 + beta**2) * tp + beta**2 * fn + fp
    return (1 + beta**2) * tp / denominator if denominator else 0.0


def choose_threshold(labels: np.ndarray, positive: np.ndarray, metric: str) -> tuple[float, float]:
    """The threshold (predict 1 at or above it) maximising ``metric`` on these rows, and that value; ties go to
    the threshold nearest 0.5.

    >>> choose_threshold(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.9]), "f1")
    (0.25, 1.0)
    """
    ordered = np.unique(positive)
    candidates = np.concatenate([(ordered[:-1] + ordered[1:]) / 2, [0.5]])
    candidates = np.clip(candidates, 1e-6, 1 - 1e-6)
    values = np.array([threshold_score(labels, positive >= t, metric) for t in candidates])
    best = np.flatnonzero(values == np.nanmax(values))
    chosen = best[np.argmin(np.abs(candidates[best] - 0.5))]
    return float(candidates[chosen]), float(values[chosen])


def fit_decision(predictions: Predictions, labels: np.ndarray, label_names: list[str], *, calibrate: bool,
                 threshold: str | float | None, threshold_metric: str) -> Decision | None:
    """The decision for a model from its validation ``predictions``: a temperature with ``calibrate``, then the
    threshold (``"auto"``: chosen for ``threshold_metric``; a number: taken as given). None when neither."""
    if not calibrate and threshold is None:
        return None
    decision = Decision()
    if calibrate:
        decision.temperature = fit_temperature(predictions.logits, labels)
    if threshold is not None:
        decision.positive_label = label_names[1]
        if threshold == "auto":
            positive = decision.apply(predictions).probabilities[:, 1]
            decision.threshold, decision.validation_value = choose_threshold(labels, positive, threshold_metric)
            decision.threshold_metric = threshold_metric
        else:
            decision.threshold = float(threshold)
    return decision


def save_decision(folder: Path, decision: Decision | None) -> None:
    """Write ``decision.json`` into a checkpoint folder (nothing without a decision)."""
    if decision is not None:
        write_json_atomic(folder / DECISION_FILE, decision.to_dict())


def load_decision(folder: Path) -> Decision | None:
    """The ``decision.json`` of a model folder, or None where it has none."""
    file = folder / DECISION_FILE
    if not file.is_file():
        return None
    try:
        values = read_json(file, default=None)
    except ValueError:
        values = None
    if not isinstance(values, dict) or not isinstance(values.get("temperature", 1.0), (int, float)):
        raise BakeoffError(f"{file}: not a decision file bakeoff wrote: remove it, or train the run again")
    return Decision.from_dict(values)
