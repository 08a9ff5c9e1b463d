"""Single-label classification: one class per row, softmax over the classes, cross-entropy.

Labels are class names or whole numbers; metrics are accuracy, F1 (the positive class's for two classes, macro
otherwise), macro F1 and MCC (``bakeoff.metrics``); the baselines are the majority class and TF-IDF + logistic
regression; verdicts pair predicted labels row by row (``report/verdict.compare``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from bakeoff.metrics import compute_all, confusion_matrix, per_class
from bakeoff.problems.base import LabelError, Problem, Scored

MAJORITY = "majority class"
TFIDF = "tf-idf + logreg"


class SingleLabel(Problem):
    name = "single_label"
    hf_problem_type = "single_label_classification"
    default_metric = "accuracy"
    metric_names = ("accuracy", "f1", "f1_macro", "mcc")

    def label_names_from(self, values: list[str], source: str, separator: str | None) -> list[str]:
        if not values:
            raise LabelError(f"{source} has no rows (a header only?): add labelled rows")
        unique = set(values)
        whole = {v for v in unique if v.lstrip("-").isdigit()}
        if len(unique) < 2:
            raise LabelError(f"{source}: every training row has the label {next(iter(unique), '')!r}: a classifier "
                             "needs at least two classes; check --label-column")
        if whole and whole != unique:
            raise LabelError(f"{source}: the labels mix numbers and names ({', '.join(sorted(unique)[:6])}): use one "
                             "kind for every row")
        fractional = [v for v in unique if _is_fraction(v)]
        if fractional and len(fractional) + len(whole) == len(unique):
            raise LabelError(f"{source}: labels like {fractional[0]!r} are numbers with fractions: give class labels "
                             "(whole numbers or names), or --problem-type regression to predict the number")
        if any(v.startswith(("[", "{")) for v in unique):
            raise LabelError(f"{source}: the label column holds lists or mappings ({sorted(unique)[0][:30]!r}): "
                             "give one class label per row, or --problem-type multi_label for several per row")
        if whole:
            return [str(v) for v in sorted(int(v) for v in unique)]
        return sorted(unique)

    def parse_labels(self, values: list[str], label_names: list[str], source: str, lines: list[int],
                     custom: bool, separator: str | None) -> np.ndarray:
        index = {name: i for i, name in enumerate(label_names)}
        if not custom:  # a task's files may hold the class number instead of its name (SST-2's 0/1)
            index.update({str(i): i for i in range(len(label_names))})
        if custom and all(v.lstrip("-").isdigit() for v in index):
            index.update({str(int(v)): i for v, i in list(index.items())})
        labels = np.empty(len(values), dtype=np.int64)
        for row, value in enumerate(values):
            key = str(int(value)) if custom and value.lstrip("-").isdigit() else value
            if key not in index:
                where = "the training data" if custom else "the task's labels"
                raise LabelError(f"{source}, line {lines[row]}: label {value!r} does not occur in {where} "
                                 f"({', '.join(label_names)}): fix the label or the split")
            labels[row] = index[key]
        return labels

    def strata(self, labels: np.ndarray) -> np.ndarray:
        return labels

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return functional.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1))

    def loss_value(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """Mean cross-entropy in float64."""
        shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        return float(-log_probs[np.arange(len(labels)), labels].mean())

    def decide(self, logits: np.ndarray, thresholds: list[float] | None = None) -> np.ndarray:
        return logits.argmax(axis=-1)

    def close_calls(self, logits: np.ndarray, margin: float, thresholds: list[float] | None = None) -> np.ndarray:
        if logits.shape[-1] < 2:
            return np.array([], dtype=np.int64)
        top2 = np.sort(logits, axis=-1)[:, -2:]
        return np.flatnonzero(top2[:, 1] - top2[:, 0] < margin)

    def score(self, labels: np.ndarray, logits: np.ndarray, label_names: list[str],
              thresholds: list[float] | None = None, predicted: np.ndarray | None = None) -> Scored:
        """``predicted``: the labels already decided (a binary threshold, ``eval/decision.py``); else the argmax."""
        num_classes = len(label_names)
        if predicted is None:
            predicted = self.decide(logits)
        classes = per_class(labels, predicted, num_classes)
        return Scored(
            metrics=compute_all(labels, predicted, num_classes),
            per_class={name: {key: float(classes[key][i]) for key in ("precision", "recall", "f1", "support")}
                       for i, name in enumerate(label_names)},
            confusion_matrix=confusion_matrix(labels, predicted, num_classes).tolist())

    def baselines(self, train: Any, scored: Any) -> list[tuple[str, Callable[[], np.ndarray]]]:
        return [(MAJORITY, lambda: majority(train.labels, len(scored))),
                (TFIDF, lambda: tfidf_logistic_regression(train, scored))]

    def predict_rows(self, logits: np.ndarray, label_names: list[str],
                     thresholds: list[float] | None = None) -> list[dict[str, Any]]:
        probabilities = softmax(logits)
        return [{"label": label_names[int(i)], "score": float(probabilities[row, i])}
                for row, i in enumerate(self.decide(logits))]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities, (rows, classes)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def majority(train_labels: np.ndarray, rows: int) -> np.ndarray:
    """Predict the training split's most frequent class for every row (ties: the lowest label id).

    >>> majority(np.array([1, 1, 0]), 2).tolist()
    [1, 1]
    """
    return np.full(rows, int(np.bincount(train_labels).argmax()), dtype=np.int64)


def tfidf_features(train: Any, scored: Any) -> tuple[Any, Any]:
    """TF-IDF over word 1-2 grams fitted on ``train``'s texts (a pair's two texts joined by a marker word, so its
    bigrams do not run across the seam): (train features, scored features)."""
    from bakeoff.problems.base import sklearn_required

    sklearn_required()
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    return vectorizer.fit_transform(joined_texts(train)), vectorizer.transform(joined_texts(scored))


def joined_texts(split: Any) -> list[str]:
    if split.pairs is None:
        return list(split.texts)
    return [f"{text} ||| {pair}" for text, pair in zip(split.texts, split.pairs, strict=True)]


def tfidf_logistic_regression(train: Any, validation: Any) -> np.ndarray:
    """TF-IDF over word 1-2 grams, then logistic regression; the predicted label ids of ``validation``.

    >>> from types import SimpleNamespace as Rows
    >>> rows = Rows(texts=["good fun", "bad dull", "good", "dull"], pairs=None, labels=np.array([1, 0, 1, 0]))
    >>> tfidf_logistic_regression(rows, rows).tolist()
    [1, 0, 1, 0]
    """
    features, scored = tfidf_features(train, validation)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=1000).fit(features, train.labels)
    return model.predict(scored).astype(np.int64)


def _is_fraction(value: str) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    return not number.is_integer()
