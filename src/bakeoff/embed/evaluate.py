"""Embedding tasks, evaluated without training the encoder, each recorded as a run with a typed ``result.json``.

- ``pairs``: cosine of the two texts of a pair (MRPC) -> average precision on the evaluated split; accuracy and
  F1 at the threshold that was best *on the training split* (choosing it on the evaluated split flatters it).
- ``probe``: logistic regression (scikit-learn) on frozen training vectors -> accuracy / F1 / MCC on the split.
- ``retrieval``: each query's relevant document among all candidate documents -> recall@1/@10, MRR@10, nDCG@10.
  From a pair task, the positive pairs of the split (text -> pair text) over all of the split's pair texts; or a
  file of (query, document) rows.

``result.json`` (schema_version 1): ``run`` {id, project, name, path, status}; ``model`` (the resolved encoder);
``task``, ``kind``, ``split``, ``pooling``, ``normalize``, ``precision``, ``max_length``; ``metrics`` {name: value}
and ``primary_metric``; ``per_example`` (per row of the split, in order, for paired tests: ``score``/``label``/
``correct`` for pairs, ``predicted``/``true`` for probe, ``rank`` for retrieval); ``details`` (thresholds, corpus
size); ``data`` {sizes, fingerprints, notes}; ``timings`` {embed_seconds, texts_embedded, texts_per_second,
seconds}; ``hardware``; ``bakeoff_version``; ``created_at``.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bakeoff.data import DataOptions, load_task_data
from bakeoff.data.dataset import TaskData, TextDataset
from bakeoff.data.tables import read_table
from bakeoff.embed.encoder import Embedder
from bakeoff.embed.metrics import average_precision, best_threshold, binary_f1, retrieval_scores
from bakeoff.errors import BakeoffError
from bakeoff.hardware import describe
from bakeoff.tasks import get_task
from bakeoff.track import Experiment
from bakeoff.track._files import read_json, write_json_atomic
from bakeoff.track.layout import utc_now

KINDS = ("pairs", "probe", "retrieval")
RESULT_FILE = "result.json"
SCHEMA_VERSION = 1
PRIMARY = {"pairs": "average_precision", "probe": "accuracy", "retrieval": "ndcg@10"}


@dataclass
class EmbeddingEvalResult:
    """What ``evaluate_embeddings`` returns; ``to_dict()`` is the run's ``result.json``."""

    run: dict[str, Any]
    model: dict[str, Any]
    task: str
    kind: str
    split: str
    pooling: str
    normalize: bool
    precision: str
    max_length: int
    metrics: dict[str, float]
    primary_metric: str
    per_example: dict[str, list[Any]] = field(repr=False)
    details: dict[str, Any]
    data: dict[str, Any]
    timings: dict[str, float]
    hardware: dict[str, Any]
    bakeoff_version: str
    created_at: str
    schema_version: int = SCHEMA_VERSION

    @property
    def primary(self) -> float:
        return self.metrics[self.primary_metric]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, path: str | Path) -> EmbeddingEvalResult:
        """Read a run folder's (or a file's) ``result.json``."""
        path = Path(path)
        document = read_json(path / RESULT_FILE if path.is_dir() else path)
        if not isinstance(document, dict) or document.get("kind") not in KINDS:
            raise BakeoffError(f"{path}: not an embedding evaluation result")
        if document.get("schema_version") != SCHEMA_VERSION:
            raise BakeoffError(f"{path}: result schema {document.get('schema_version')} is not {SCHEMA_VERSION}")
        return cls(**document)


def evaluate_embeddings(model: str, task: str | None = None, kind: str = "pairs", pooling: str = "mean", *,
                        normalize: bool = True, precision: str = "fp32", data: str | None = None,
                        split: str = "validation", text_column: str | None = None,
                        text_pair_column: str | None = None, label_column: str | None = None,
                        train_fraction: float = 1.0, max_length: int | None = None, batch_size: int = 64,
                        seed: int = 42, project: str = "embeddings", name: str | None = None) -> EmbeddingEvalResult:
    """Evaluate ``model``'s frozen embeddings on ``task`` as ``kind`` (pairs, probe, retrieval); record a run.

    >>> r = bakeoff.evaluate_embeddings("minilm-l6", "mrpc", "pairs", "mean")  # doctest: +SKIP
    >>> r.metrics["average_precision"]  # doctest: +SKIP
    """
    if kind not in KINDS:
        raise BakeoffError(f"--kind {kind!r}: use one of {', '.join(KINDS)}")
    if split not in ("validation", "test"):
        raise BakeoffError(f"--split {split!r}: use validation or test (train fits the probe and thresholds)")
    started = time.perf_counter()
    options = DataOptions(data=Path(data) if data else None, text_column=text_column,
                          text_pair_column=text_pair_column, label_column=label_column,
                          train_fraction=train_fraction, seed=seed)
    if kind == "retrieval" and task is None and data and Path(data).is_file():
        task_data = None  # a (query, document) file
    else:
        task_data = load_task_data(get_task(task) if task else None, options)
    embedder = Embedder(model, pooling=pooling, normalize=normalize, precision=precision, max_length=max_length,
                        batch_size=batch_size)
    counter = _Counter(embedder)
    if kind == "pairs":
        metrics, per_example, details = _pairs(counter, _need(task_data), split)
    elif kind == "probe":
        metrics, per_example, details = _probe(counter, _need(task_data), split, seed)
    else:
        metrics, per_example, details = _retrieval(counter, task_data, split, Path(data) if data else None,
                                                   text_column, text_pair_column)
    task_name = (task_data.task if task_data else None) or task or "custom"
    run_name = name or _run_name(kind, task_name, model, pooling)
    with Experiment(name=run_name, project=project, tags=["embeddings", kind, task_name, pooling],
                    description=f"{kind} with frozen {model} embeddings ({pooling} pooling) on {task_name}") as run:
        run.parameters().set(model=model, task=task_name, kind=kind, pooling=pooling, normalize=normalize,
                             precision=precision, max_length=embedder.max_length, split=split,
                             train_fraction=train_fraction, seed=seed)
        for metric, value in metrics.items():
            run.metric(f"final/{split}/{metric}").append(value=value)
        assert run.path is not None
        result = EmbeddingEvalResult(
            run={"id": run.id, "project": run.project, "name": run.name, "path": str(run.path.resolve()),
                 "status": "COMPLETED"},
            model=embedder.source.to_dict(), task=task_name, kind=kind, split=split, pooling=pooling,
            normalize=normalize, precision=precision, max_length=embedder.max_length, metrics=metrics,
            primary_metric=PRIMARY[kind], per_example=per_example, details=details,
            data=_data_record(task_data, split), hardware=describe(),
            timings={"embed_seconds": counter.seconds, "texts_embedded": counter.texts,
                     "texts_per_second": counter.texts / counter.seconds if counter.seconds else float("nan"),
                     "seconds": time.perf_counter() - started},
            bakeoff_version=_version(), created_at=utc_now())
        write_json_atomic(run.path / RESULT_FILE, result.to_dict())
    return result


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


def _probe(embed: _Counter, data: TaskData, split: str, seed: int) -> tuple[dict[str, float], dict[str, list], dict]:
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise BakeoffError("scikit-learn is not installed: pip install 'bakeoff[embed]'") from None
    from bakeoff.eval.metrics import compute_all

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


def _data_record(data: TaskData | None, split: str) -> dict[str, Any]:
    if data is None:
        return {"sizes": {}, "fingerprints": {}, "notes": ["(query, document) file"]}
    return {"sizes": data.sizes(), "fingerprints": data.fingerprints(), "notes": data.notes}


def _run_name(kind: str, task: str, model: str, pooling: str) -> str:
    short = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model).name).strip("-") or "model"
    return f"{kind}-{task}-{short}-{pooling}"


def _version() -> str:
    from bakeoff import __version__

    return __version__
