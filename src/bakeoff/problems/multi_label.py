"""Multi-label classification: any number of labels per row (GoEmotions: 28 emotions, 1-5 per comment).

One sigmoid output per label and binary cross-entropy; a row has a label when its probability reaches that
label's decision threshold. The thresholds are chosen per label on the validation rows (the one that maximises
the label's F1 on a grid of 0.01..0.99), saved in the checkpoint's ``config.json`` (``decision_thresholds``) and
used by evaluation and ``predict``. Validation scores at thresholds chosen on validation are optimistic; the test
split's are not (and are what README's table reports).

Labels in a file: a separator you name (GoEmotions: ``4,27``), or a list (``["joy", "love"]`` in a CSV cell, a
list in JSONL or Parquet). Metrics: micro, macro and example-based (``f1_samples``) F1, subset accuracy,
per-label F1, and macro average precision (threshold-free, from the probabilities). The primary metric is
**macro F1**, the GoEmotions paper's headline figure: every emotion counts the same, rare ones included.

Verdicts pair rows on the primary metric itself: each row's label sets (true and predicted) are one number per
row (a bitmask), and leaving one row out of both models removes its true/false positives and false negatives from
every label's counts, exactly (``f1_left_out``). Pairing on the ranked metric, rather than on a per-row F1 that
ranks differently, keeps the verdict about the column the leaderboard shows.
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from bakeoff.metrics import average_precision
from bakeoff.problems.base import LabelError, PerRow, Problem, Scored

MOST_FREQUENT = "most frequent label set"
TFIDF_OVR = "tf-idf + one-vs-rest logreg"
GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)  # candidate thresholds (probabilities)
MAX_BITMASK_LABELS = 52  # a label set as one float64 per row holds at most 52 labels exactly


class MultiLabel(Problem):
    name = "multi_label"
    hf_problem_type = "multi_label_classification"
    default_metric = "f1_macro"
    metric_names = ("f1_macro", "f1_micro", "f1_samples", "subset_accuracy", "average_precision")
    changed_answers = "label sets change"
    paired_test = "McNemar (whole label set right)"

    def label_names_from(self, values: list[str], source: str, separator: str | None) -> list[str]:
        if not values:
            raise LabelError(f"{source} has no rows (a header only?): add labelled rows")
        found = {name for value in values for name in split_labels(value, separator, source)}
        if len(found) < 2:
            raise LabelError(f"{source}: the rows name {len(found)} label(s) in all: a multi-label task needs at "
                             "least two; check --label-column and --label-separator")
        if all(name.lstrip("-").isdigit() for name in found):
            return [str(v) for v in sorted(int(v) for v in found)]
        return sorted(found)

    def parse_labels(self, values: list[str], label_names: list[str], source: str, lines: list[int],
                     custom: bool, separator: str | None) -> np.ndarray:
        index = {name: i for i, name in enumerate(label_names)}
        if not custom:  # a task's files may name labels by their number (GoEmotions: 0..27)
            index.update({str(i): i for i in range(len(label_names))})
        labels = np.zeros((len(values), len(label_names)), dtype=np.float32)
        for row, value in enumerate(values):
            for name in split_labels(value, separator, f"{source}, line {lines[row]}"):
                key = str(int(name)) if custom and name.lstrip("-").isdigit() else name
                if key not in index:
                    where = "the training data" if custom else "the task's labels"
                    shown = ", ".join(label_names[:8]) + (", ..." if len(label_names) > 8 else "")
                    raise LabelError(f"{source}, line {lines[row]}: label {name!r} does not occur in {where} "
                                     f"({shown}): fix the label, or the --label-separator")
                labels[row, index[key]] = 1.0
        return labels

    def strata(self, labels: np.ndarray) -> np.ndarray:
        """A row's first label (its rarest would be better; the first keeps each split's label mix close)."""
        return np.where(labels.any(axis=1), labels.argmax(axis=1), labels.shape[1]).astype(np.int64)

    def initial_bias(self, train_labels: np.ndarray) -> np.ndarray | None:
        """Each label's log-odds in the training rows: sigmoid 0.5 for a label on 0.2% of rows (GoEmotions' grief)
        makes the first steps' loss all false positives."""
        share = np.clip(train_labels.mean(axis=0), 1e-4, 1 - 1e-4)
        return np.log(share / (1 - share))

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))

    def decide(self, logits: np.ndarray, thresholds: list[float] | None = None) -> np.ndarray:
        return (sigmoid(logits) >= _thresholds(thresholds, logits.shape[1])).astype(np.int64)

    def fit_thresholds(self, logits: np.ndarray, labels: np.ndarray) -> list[float] | None:
        """Per label, the grid threshold with the best F1 on these rows (ties: the one nearest 0.5); 0.5 for a
        label with no positive row here."""
        probabilities = sigmoid(logits)
        chosen = []
        for k in range(labels.shape[1]):
            truth = labels[:, k] > 0.5
            if not truth.any():
                chosen.append(0.5)
                continue
            predicted = probabilities[None, :, k] >= GRID[:, None]  # (grid, rows)
            hits = (predicted & truth[None]).sum(axis=1)
            f1 = 2 * hits / (predicted.sum(axis=1) + truth.sum())
            best = np.flatnonzero(f1 >= f1.max() - 1e-12)
            chosen.append(float(GRID[best[np.argmin(np.abs(GRID[best] - 0.5))]]))
        return chosen

    def close_calls(self, logits: np.ndarray, margin: float, thresholds: list[float] | None = None) -> np.ndarray:
        cut = _logit(_thresholds(thresholds, logits.shape[1]))
        return np.flatnonzero((np.abs(logits - cut) < margin).any(axis=1))

    def score(self, labels: np.ndarray, logits: np.ndarray, label_names: list[str],
              thresholds: list[float] | None = None) -> Scored:
        truth = labels.astype(np.int64)
        predicted = self.decide(logits, thresholds)
        counts = _counts(truth, predicted)
        per_label_f1 = _f1(*(c.sum(axis=0) for c in counts))
        tp, fp, fn = (c.sum(axis=0).astype(float) for c in counts)
        precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=tp + fp > 0)
        recall = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=tp + fn > 0)
        metrics = {"f1_macro": float(per_label_f1.mean()), "f1_micro": float(_f1(tp.sum(), fp.sum(), fn.sum())),
                   "f1_samples": float(_row_f1(*counts).mean()),
                   "subset_accuracy": float((truth == predicted).all(axis=1).mean()),
                   "average_precision": macro_average_precision(truth, logits)}
        return Scored(metrics, {name: {"precision": float(precision[k]), "recall": float(recall[k]),
                                       "f1": float(per_label_f1[k]), "support": float(tp[k] + fn[k]),
                                       **({"threshold": thresholds[k]} if thresholds else {})}
                                for k, name in enumerate(label_names)})

    def to_stored(self, predicted: np.ndarray) -> list[Any]:
        """Label sets as lists of label ids (a row of 28 zeros and ones would be most of the file)."""
        return [np.flatnonzero(row).tolist() for row in np.asarray(predicted)]

    def from_stored(self, values: list[Any], label_count: int) -> np.ndarray:
        out = np.zeros((len(values), label_count), dtype=np.int64)
        for row, ids in enumerate(values):
            out[row, ids] = 1
        return out

    def verdict_values(self, predicted: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return to_bitmask(predicted), to_bitmask(truth)

    def per_row_metrics(self, label_count: int) -> dict[str, PerRow]:
        if label_count > MAX_BITMASK_LABELS:
            return {}  # compared by seeds alone
        return {name: PerRow(_on_sets(label_count, lambda t, p, name=name: _set_metric(name, t, p)),
                             _on_sets(label_count, lambda t, p, name=name: _set_metric_left_out(name, t, p)))
                for name in ("f1_macro", "f1_micro", "f1_samples", "subset_accuracy")}

    def baselines(self, train: Any, scored: Any) -> list[tuple[str, Callable[[], np.ndarray]]]:
        return [(MOST_FREQUENT, lambda: most_frequent_set(train.labels, len(scored))),
                (TFIDF_OVR, lambda: tfidf_one_vs_rest(train, scored))]

    def predict_rows(self, logits: np.ndarray, label_names: list[str],
                     thresholds: list[float] | None = None) -> list[dict[str, Any]]:
        probabilities = sigmoid(logits)
        return [{"labels": [label_names[k] for k in np.flatnonzero(row)],
                 "scores": {label_names[k]: float(probabilities[i, k]) for k in np.flatnonzero(row)}}
                for i, row in enumerate(self.decide(logits, thresholds))]


def most_frequent_set(train_labels: np.ndarray, rows: int) -> np.ndarray:
    """The training rows' most frequent label set, for every row (GoEmotions: {neutral}).

    >>> most_frequent_set(np.array([[1, 0], [1, 0], [1, 1]]), 1).tolist()
    [[1, 0]]
    """
    common = Counter(tuple(np.flatnonzero(row)) for row in train_labels.astype(np.int64)).most_common(1)[0][0]
    frequent = np.zeros((rows, train_labels.shape[1]), dtype=np.int64)
    frequent[:, list(common)] = 1
    return frequent


def split_labels(value: Any, separator: str | None, where: str) -> list[str]:
    """One cell's labels: a list (JSON, or a Python literal of strings/numbers), or text cut at ``separator``.

    >>> split_labels("4,27", ",", "x"), split_labels('["joy", "love"]', None, "x"), split_labels("", ",", "x")
    (['4', '27'], ['joy', 'love'], [])
    """
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v).strip() for v in value]
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            try:
                parsed = ast.literal_eval(text)  # literals only: never code
            except (ValueError, SyntaxError):
                raise LabelError(f"{where}: the label cell {text[:40]!r} is not a list: write it as "
                                 '["a", "b"]') from None
        if not isinstance(parsed, list):
            raise LabelError(f"{where}: the label cell {text[:40]!r} is not a list")
        return [str(v).strip() for v in parsed]
    if separator is None:
        raise LabelError(f"{where}: a multi-label task needs each row's labels as a list ([\"a\", \"b\"]) or "
                         "joined by a separator: pass --label-separator (e.g. ',')")
    return [part.strip() for part in text.split(separator) if part.strip()]


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))


def _logit(probability: np.ndarray) -> np.ndarray:
    return np.log(probability / (1 - probability))


def _thresholds(thresholds: list[float] | None, count: int) -> np.ndarray:
    return np.asarray(thresholds, np.float64) if thresholds else np.full(count, 0.5)


def _counts(truth: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row and label: true positive, false positive, false negative (rows, labels) each."""
    return truth & predicted, (1 - truth) & predicted, truth & (1 - predicted)


def _f1(tp: Any, fp: Any, fn: Any) -> Any:
    """F1 from counts (0 where nothing was predicted or true), elementwise."""
    tp, denominator = np.asarray(tp, float), np.asarray(2 * tp + fp + fn, float)
    return np.divide(2 * tp, denominator, out=np.zeros_like(denominator), where=denominator > 0)


def _row_f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """Example-based F1 per row; 1 for a row with no true and no predicted label (nothing to get wrong)."""
    t, p, n = tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1)
    denominator = (2 * t + p + n).astype(float)
    return np.divide(2 * t, denominator, out=np.ones_like(denominator), where=denominator > 0)


def _set_metric(name: str, truth: np.ndarray, predicted: np.ndarray) -> float:
    tp, fp, fn = _counts(truth, predicted)
    if name == "f1_macro":
        return float(_f1(tp.sum(0), fp.sum(0), fn.sum(0)).mean())
    if name == "f1_micro":
        return float(_f1(tp.sum(), fp.sum(), fn.sum()))
    if name == "f1_samples":
        return float(_row_f1(tp, fp, fn).mean())
    return float((truth == predicted).all(axis=1).mean())


def _set_metric_left_out(name: str, truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """The metric with each row left out in turn, (rows,), from every row's share of the counts."""
    tp, fp, fn = _counts(truth, predicted)
    n = len(truth)
    if name == "f1_macro":
        totals = [c.sum(axis=0)[None] - c for c in (tp, fp, fn)]  # (rows, labels): the counts without row i
        return _f1(*totals).mean(axis=1)
    if name == "f1_micro":
        totals = [c.sum() - c.sum(axis=1) for c in (tp, fp, fn)]
        return _f1(*totals)
    per_row = _row_f1(tp, fp, fn) if name == "f1_samples" else (truth == predicted).all(axis=1).astype(float)
    return (per_row.sum() - per_row) / (n - 1)


def _on_sets(label_count: int, function: Any) -> Any:
    """A statistic of (bitmask values, bitmask labels), as ``compare_scores`` calls it."""
    def statistic(values: np.ndarray, labels: np.ndarray | None) -> Any:
        assert labels is not None
        return function(from_bitmask(labels, label_count), from_bitmask(values, label_count))
    return statistic


def to_bitmask(sets: np.ndarray) -> np.ndarray:
    """Each row's label set (multi-hot) as one exact float64: sum of 2**label.

    >>> to_bitmask(np.array([[1, 0, 1], [0, 0, 0]])).tolist()
    [5.0, 0.0]
    """
    sets = np.asarray(sets, dtype=np.int64)
    if sets.shape[1] > MAX_BITMASK_LABELS:
        raise ValueError(f"more than {MAX_BITMASK_LABELS} labels do not fit one float64 per row")
    return (sets * (2 ** np.arange(sets.shape[1], dtype=np.int64))).sum(axis=1).astype(np.float64)


def from_bitmask(codes: np.ndarray, label_count: int) -> np.ndarray:
    """``to_bitmask``'s inverse: (rows, label_count) of 0/1."""
    return (np.asarray(codes, dtype=np.int64)[:, None] >> np.arange(label_count)) & 1


def macro_average_precision(truth: np.ndarray, logits: np.ndarray) -> float:
    """The mean over labels (those with a positive row here) of the area under each label's precision-recall
    curve of its probabilities: how well the model ranks, whatever the thresholds."""
    present = np.flatnonzero(truth.sum(axis=0) > 0)
    if not present.size:
        return float("nan")
    return float(np.mean([average_precision(truth[:, k], logits[:, k]) for k in present]))


def tfidf_one_vs_rest(train: Any, scored: Any) -> np.ndarray:
    """TF-IDF over word 1-2 grams, then one logistic regression per label (at probability 0.5: thresholds tuned on
    the scored rows would flatter it); the predicted label sets of ``scored``."""
    from bakeoff.problems.single_label import tfidf_features

    features, scored_features = tfidf_features(train, scored)
    from sklearn.linear_model import LogisticRegression

    labels = train.labels.astype(np.int64)
    out = np.zeros((len(scored), labels.shape[1]), dtype=np.int64)
    for k in range(labels.shape[1]):  # one-vs-rest, as sklearn's OneVsRestClassifier does it
        if labels[:, k].min() == labels[:, k].max():
            out[:, k] = labels[0, k]  # a label every or no training row has
            continue
        model = LogisticRegression(max_iter=1000).fit(features, labels[:, k])
        out[:, k] = model.predict(scored_features)
    return out
