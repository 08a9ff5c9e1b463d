"""Embedding tasks, scored on frozen vectors (the encoder is not trained).

- ``pairs``: cosine of the two texts of a pair (MRPC) -> average precision on the evaluated split; accuracy and
  F1 at the threshold that was best *on the training split* (choosing it on the evaluated split flatters it).
- ``probe``: logistic regression (scikit-learn) on frozen training vectors -> accuracy / F1 / MCC on the split.
- ``sts``: cosine of the two texts of a pair against the gold similarity score (STS-B) -> Spearman (and Pearson),
  as sentence-transformers' EmbeddingSimilarityEvaluator and MTEB score STS.
- ``retrieval``: each query's relevant document among all candidate documents -> recall@1/@10, MRR@10, nDCG@10.
  From a pair task, the positive pairs of the split (text -> pair text) over all of the split's pair texts; or a
  file of (query, document) rows.

Recording a score as a run (``result.json``) is ``bakeoff.runs.embedding_eval``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bakeoff.config.embedding import KINDS, PRIMARY_METRICS
from bakeoff.data.dataset import TaskData, TextDataset
from bakeoff.data.tables import read_table
from bakeoff.embedding.encoder import Embedder
from bakeoff.embedding.metrics import (
    average_precision,
    best_threshold,
    binary_f1,
    retrieval_scores,
)
from bakeoff.errors import BakeoffError
from bakeoff.problems.regression import pearson, spearman

PRIMARY = PRIMARY_METRICS


@dataclass
class Scored:
    """One task's scores: metrics, per-example values (in the split's order), details, and the embedding work."""

    metrics: dict[str, float]
    per_example: dict[str, list[Any]]
    details: dict[str, Any]
    embed_seconds: float
    texts_embedded: int


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise BakeoffError(f"--kind {kind!r}: use one of {', '.join(KINDS)}")
    return kind


def score(embedder: Embedder, kind: str, data: TaskData | None, split: str = "validation", *,
          file: Path | None = None, query_column: str | None = None, document_column: str | None = None,
          seed: int = 42) -> Scored:
    """Score ``embedder``'s frozen vectors on ``data`` (or a (query, document) ``file``) as ``kind``.

    >>> score(Embedder("minilm-l6"), "pairs", load_task_data(get_task("mrpc"))).metrics  # doctest: +SKIP
    """
    check_kind(kind)
    counter = _Counter(embedder)
    if kind == "pairs":
        metrics, per_example, details = _pairs(counter, _need(data), split)
    elif kind == "probe":
        metrics, per_example, details = _probe(counter, _need(data), split, seed)
    elif kind == "sts":
        metrics, per_example, details = _sts(counter, _need(data), split)
    else:
        metrics, per_example, details = _retrieval(counter, data, split, file, query_column, document_column)
    return Scored(metrics, per_example, details, counter.seconds, counter.texts)


class _Counter:
    """The embedder, with the time it spent and how many texts it embedded (for ``timings``)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder, self.seconds, self.texts = embedder, 0.0, 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        unique = list(dict.fromkeys(texts))  # MRPC repeats sentences across pairs: embed each once
        vectors = self.embedder.encode(unique)
        self.seconds += self.embedder.last_seconds
        self.texts += len(unique)
        if not self.embedder.normalize:
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        where = {text: i for i, text in enumerate(unique)}
        return vectors[[where[t] for t in texts]]


def _pairs(embed: _Counter, data: TaskData, split: str) -> tuple[dict[str, float], dict[str, list], dict]:
    if not data.pair:
        raise BakeoffError(f"task {data.task!r} has single texts: pair similarity needs a pair task such as mrpc "
                           "(or --text-pair-column)")
    _binary(data)
    train, evaluated = data.train, _split(data, split)
    train_scores = _cosines(embed, train)
    scores = _cosines(embed, evaluated)
    labels = evaluated.labels
    accuracy_threshold = best_threshold(train.labels, train_scores, "accuracy")
    f1_threshold = best_threshold(train.labels, train_scores, "f1")
    correct = (scores >= accuracy_threshold) == (labels == 1)
    metrics = {"average_precision": average_precision(labels, scores), "accuracy": float(correct.mean()),
               "f1": binary_f1(labels, scores >= f1_threshold)}
    per_example = {"score": scores.tolist(), "label": labels.tolist(), "correct": correct.tolist()}
    return metrics, per_example, {"accuracy_threshold": accuracy_threshold, "f1_threshold": f1_threshold,
                                  "thresholds_chosen_on": "train"}


def _sts(embed: _Counter, data: TaskData, split: str) -> tuple[dict[str, float], dict[str, list], dict]:
    if not data.pair or data.problem_type != "regression":
        raise BakeoffError(f"task {data.task!r} has no similarity scores of text pairs: --kind sts needs a regression "
                           "pair task such as stsb")
    evaluated = _split(data, split)
    scores = _cosines(embed, evaluated)
    gold = np.asarray(evaluated.labels, dtype=np.float64)
    metrics = {"spearman": spearman(scores, gold), "pearson": pearson(scores, gold)}
    return metrics, {"score": scores.tolist(), "label": gold.tolist()}, {"similarity": "cosine"}


def _probe(embed: _Counter, data: TaskData, split: str, seed: int) -> tuple[dict[str, float], dict[str, list], dict]:
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise BakeoffError("scikit-learn is not installed: pip install 'bakeoff[embed]'") from None
    from bakeoff.metrics import compute_all

    if data.pair:
        raise BakeoffError(f"task {data.task!r} has text pairs: the probe takes single texts (e.g. sst2)")
    evaluated = _split(data, split)
    classifier = LogisticRegression(max_iter=2000, random_state=seed)
    classifier.fit(embed(data.train.texts), data.train.labels)
    predicted = classifier.predict(embed(evaluated.texts))
    metrics = compute_all(evaluated.labels, predicted, len(data.label_names))
    return metrics, {"predicted": predicted.tolist(), "true": evaluated.labels.tolist()}, {
        "classifier": "sklearn LogisticRegression(max_iter=2000)", "train_rows": len(data.train)}


def _retrieval(embed: _Counter, data: TaskData | None, split: str, file: Path | None, query_column: str | None,
               document_column: str | None) -> tuple[dict[str, float], dict[str, list], dict]:
    if data is None:
        assert file is not None
        table = read_table(file)
        queries = table.column(query_column or "query", "--text-column")
        relevant = table.column(document_column or "document", "--text-pair-column")
        candidates = relevant
    else:
        if not data.pair:
            raise BakeoffError(f"task {data.task!r} has single texts: retrieval needs (query, document) pairs: "
                               "a pair task such as mrpc, or --data FILE with query and document columns")
        evaluated = _split(data, split)
        assert evaluated.pairs is not None
        positive = [i for i in range(len(evaluated)) if evaluated.labels[i] == 1]
        queries = [evaluated.texts[i] for i in positive]
        relevant = [evaluated.pairs[i] for i in positive]
        candidates = evaluated.pairs
    if not queries:
        raise BakeoffError("no (query, document) pairs to retrieve: the file or split is empty")
    documents = list(dict.fromkeys(candidates))
    position = {text: i for i, text in enumerate(documents)}
    scores = embed(queries) @ embed(documents).T  # (queries, documents)
    target = np.array([position[d] for d in relevant])
    relevant_scores = scores[np.arange(len(queries)), target]
    ranks = 1 + (scores > relevant_scores[:, None]).sum(axis=1)  # ties count in the query's favour
    return retrieval_scores(ranks), {"rank": ranks.tolist()}, {"queries": len(queries), "documents": len(documents)}


def _cosines(embed: _Counter, dataset: TextDataset) -> np.ndarray:
    assert dataset.pairs is not None
    return (embed(dataset.texts) * embed(dataset.pairs)).sum(axis=1)


def _binary(data: TaskData) -> None:
    if len(data.label_names) != 2:
        raise BakeoffError(f"task {data.task!r} has {len(data.label_names)} labels: pair similarity needs two "
                           "(label 1 = similar)")


def _split(data: TaskData, split: str) -> TextDataset:
    chosen = data.validation if split == "validation" else data.test
    if chosen is None:
        raise BakeoffError(f"task {data.task!r} has no labelled {split} split here: use --split validation")
    return chosen


def _need(data: TaskData | None) -> TaskData:
    if data is None:
        raise BakeoffError("this kind needs a task or a labelled data folder: pass --task or --data")
    return data
