"""Typed results, and the documented schema of the ``result.json`` every run writes.

``result.json`` (schema_version 1) — every key, once:

- ``schema_version``: 1; bumped when a key changes meaning.
- ``bakeoff_version``, ``git_commit`` (of the bakeoff source tree, or null), ``created_at`` (UTC ISO-8601).
- ``run``: ``{"id", "project", "name", "path", "status"}`` — status COMPLETED or INTERRUPTED.
- ``config``: the resolved training config (every option, defaults filled in).
- ``model``: ``{"name", "location", "origin", "layers", "parameters", "checkpoint", "checkpoint_bytes"}``;
  ``checkpoint`` is a folder that ``transformers.pipeline("text-classification", model=...)`` loads.
- ``data``: ``{"task", "label_names", "sizes": {split: rows}, "fingerprints": {split: sha256[:16]}, "notes",
  "rows_at_max_length": {split: rows whose tokens reached max_length, i.e. were truncated or exactly fit}}``.
- ``training``: ``{"seconds", "samples_per_second", "tokens_per_second", "steps", "epochs_completed",
  "precision", "device", "best_step", "best_epoch", "selected_by", "stopped_early", "oom_fallbacks",
  "shortcuts"}``; samples and tokens count the training rows and their real (unpadded) tokens seen, per wall
  second; ``shortcuts`` says which same-function speed-ups applied: ``{"first_token_last_layer": bool,
  "fast_dropout_modules": count}`` (``train/first_token.py``, ``train/dropout.py``).
- ``validation`` / ``test``: an evaluation (``test`` null where the task has no labelled test split):
  ``{"split", "rows", "loss", "metrics": {name: value}, "primary_metric", "per_class": {label: {"precision",
  "recall", "f1", "support"}}, "confusion_matrix": [[...]] (rows true, columns predicted), "seconds",
  "samples_per_second"}``.
- ``history``: one entry per evaluation during training: ``{"step", "epoch", "loss", metric: value, ...}``.
- ``latency_ms``: batch-1 inference on validation rows after warm-up: ``{"p50", "p95", "p99", "mean",
  "requests", "threads"}``, in the training precision.
- ``hardware``: CPU model, core count, torch threads, relevant CPU flags, CUDA device, Python/torch versions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bakeoff.eval.metrics import compute_all, confusion_matrix, per_class
from bakeoff.eval.predict import Predictions, cross_entropy

SCHEMA_VERSION = 1


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

    @property
    def primary(self) -> float:
        return self.metrics[self.primary_metric]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_predictions(split: str, predictions: Predictions, labels: np.ndarray, label_names: list[str],
                         primary_metric: str) -> EvalResult:
    num_classes = len(label_names)
    predicted = predictions.labels
    classes = per_class(labels, predicted, num_classes)
    return EvalResult(
        split=split, rows=len(labels), loss=cross_entropy(predictions.logits, labels),
        metrics=compute_all(labels, predicted, num_classes), primary_metric=primary_metric,
        per_class={name: {key: float(classes[key][i]) for key in ("precision", "recall", "f1", "support")}
                   for i, name in enumerate(label_names)},
        confusion_matrix=confusion_matrix(labels, predicted, num_classes).tolist(),
        seconds=predictions.seconds,
        samples_per_second=len(labels) / predictions.seconds if predictions.seconds > 0 else float("nan"),
    )


@dataclass
class TrainResult:
    """What ``bakeoff.train`` returns; ``to_dict()`` is ``result.json``."""

    run: dict[str, Any]
    config: dict[str, Any]
    model: dict[str, Any]
    data: dict[str, Any]
    training: dict[str, Any]
    validation: EvalResult
    test: EvalResult | None
    history: list[dict[str, Any]]
    hardware: dict[str, Any]
    latency_ms: dict[str, float]
    bakeoff_version: str
    git_commit: str | None
    created_at: str
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def checkpoint(self) -> str:
        return self.model["checkpoint"]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("extra")
        return {**out, **self.extra}
