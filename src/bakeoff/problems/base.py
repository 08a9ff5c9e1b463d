"""What every problem type provides: the head, the loss, the labels' parsing, the metrics, the baselines, the
per-row values verdicts pair on, and what ``predict`` prints.

One ``Problem`` per type (``single_label.py``, ``regression.py``, ``multi_label.py``), chosen once from the task
(or the model's config for a checkpoint); training, evaluation, the leaderboard and ``predict`` call it and never
branch on the type themselves. A new type is one new module registered in ``problems/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from bakeoff.errors import BakeoffError


@dataclass(frozen=True)
class PerRow:
    """A metric as a function of one run's per-row values, for paired verdicts (``report/verdict.compare_scores``):
    the same fields as ``embedding.metrics.PerExample``, so the leaderboard pairs both the same way.

    ``statistic(values, labels)``: the metric on one seed's per-row values; ``left_out(values, labels)``: every
    leave-one-row-out value at once, (rows,); ``gains``: when the metric is a mean of a per-row gain.
    """

    statistic: Callable[[np.ndarray, np.ndarray | None], float]
    left_out: Callable[[np.ndarray, np.ndarray | None], np.ndarray] | None = None
    gains: Callable[[np.ndarray], np.ndarray] | None = None
    field: str = "predicted"
    labels: str | None = "true"


@dataclass
class Scored:
    """The metrics of one split: every metric, per class (or label) figures, and a confusion matrix if any."""

    metrics: dict[str, float]
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion_matrix: list[list[int]] = field(default_factory=list)


class LabelError(BakeoffError):
    """A label that this problem type cannot read."""


class Problem:
    """The interface; each problem type overrides every method (the defaults here are single-label-agnostic)."""

    name: str = ""
    hf_problem_type: str = ""  # transformers' config.problem_type: what the head's loss and pipelines read
    default_metric: str = ""
    metric_names: tuple[str, ...] = ()
    # what ``paired_rows`` counts, as compression's one-line summary says it: "{flips} {changed_answers}", and the
    # test its correctness counts feed (McNemar on right/wrong per row)
    changed_answers: str = "predictions flip"
    paired_test: str = "McNemar"

    # -- head ----------------------------------------------------------------------------------------
    def outputs(self, label_names: list[str]) -> int:
        """Units in the head's last layer."""
        return len(label_names)

    def initial_bias(self, train_labels: np.ndarray) -> np.ndarray | None:
        """What the head's output bias should start at, so the first predictions match the training labels'
        base rates instead of zero ("init well", Karpathy 2019); None: leave transformers' init (zeros)."""
        return None

    # -- labels --------------------------------------------------------------------------------------
    def label_names_from(self, values: list[str], source: str, separator: str | None) -> list[str]:
        """The label names of your own data, from its training rows; refused when they cannot be this type's."""
        raise NotImplementedError

    def parse_labels(self, values: list[str], label_names: list[str], source: str, lines: list[int],
                     custom: bool, separator: str | None) -> np.ndarray:
        """The label column as this type's array (ids, scores or label sets); one clear error for a bad value."""
        raise NotImplementedError

    def strata(self, labels: np.ndarray) -> np.ndarray:
        """One integer per row for stratified splits: rows of one stratum are spread evenly."""
        return np.zeros(len(labels), dtype=np.int64)

    # -- loss and decisions -------------------------------------------------------------------------
    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The training loss of a batch (mean over its rows)."""
        raise NotImplementedError

    def loss_value(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """The same loss over a whole split, in float64 (the validation loss)."""
        with torch.no_grad():
            return float(self.loss(torch.as_tensor(logits, dtype=torch.float64),
                                   torch.as_tensor(labels)).item())

    def decide(self, logits: np.ndarray, thresholds: list[float] | None = None) -> np.ndarray:
        """What the model answers per row: label ids, scores, or label sets (multi-hot)."""
        raise NotImplementedError

    def fit_thresholds(self, logits: np.ndarray, labels: np.ndarray) -> list[float] | None:
        """Decision thresholds chosen on these (validation) rows; None where the type has none."""
        return None

    def close_calls(self, logits: np.ndarray, margin: float, thresholds: list[float] | None = None) -> np.ndarray:
        """Rows whose answer a small change of the logits could flip (bf16 results re-checked in fp32)."""
        return np.array([], dtype=np.int64)

    # -- metrics ------------------------------------------------------------------------------------
    def score(self, labels: np.ndarray, logits: np.ndarray, label_names: list[str],
              thresholds: list[float] | None = None) -> Scored:
        raise NotImplementedError

    # -- what is stored and paired ------------------------------------------------------------------
    def to_stored(self, predicted: np.ndarray) -> list[Any]:
        """Predictions (or true labels) as JSON for ``predictions.json``."""
        return predicted.tolist()

    def from_stored(self, values: list[Any], label_count: int) -> np.ndarray:
        """``to_stored``'s inverse."""
        return np.asarray(values)

    def per_row_metrics(self, label_count: int) -> dict[str, PerRow]:
        """Metric -> how a verdict pairs it per row (``compare_scores``); empty: paired by predicted labels."""
        return {}

    def verdict_values(self, predicted: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Per-row values (rows,) and their labels for ``per_row``'s statistics (one number per row each)."""
        return predicted, truth

    def paired_rows(self, first: np.ndarray, second: np.ndarray,
                    truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Two models' answers on the same rows (the original and its compressed copy): per row, whether the answer
        is the same, whether the first is right, whether the second is (McNemar's inputs)."""
        same = (first == second).reshape(len(first), -1).all(axis=1)
        return (same, (first == truth).reshape(len(first), -1).all(axis=1),
                (second == truth).reshape(len(first), -1).all(axis=1))

    # -- baselines and predict ----------------------------------------------------------------------
    def baselines(self, train: Any, scored: Any) -> list[tuple[str, Callable[[], np.ndarray]]]:
        """(name, a function giving its answers on ``scored``'s rows) for each baseline of this type, fitted on
        ``train`` (splits with ``texts``, ``pairs`` and ``labels``). The first is the trivial one (majority class,
        mean score, most frequent label set): a run at or below it failed to learn."""
        return []

    def predict_rows(self, logits: np.ndarray, label_names: list[str],
                     thresholds: list[float] | None = None) -> list[dict[str, Any]]:
        """One dict per row: what ``predict`` prints and returns."""
        raise NotImplementedError


def sklearn_required() -> None:
    """One line when scikit-learn is missing (the baselines and some metrics use it)."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise BakeoffError("scikit-learn is not installed: pip install 'bakeoff[report]' "
                           "(for the TF-IDF baseline)") from None
