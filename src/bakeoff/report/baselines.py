"""Baselines on every leaderboard: the majority class, and TF-IDF (1-2 grams) + logistic regression.

"Does the transformer beat a linear model, and by how much?" is the first question a reviewer asks; MRPC's
68% majority class makes 70% accuracy look better than it is. Both baselines are trained on the training
split the runs used (the same task, data, columns, ``train_fraction`` and seed), evaluated on the rows of the
split being ranked (validation or test), and cached as JSON in the project's folder of the store, keyed by the
data's fingerprints.
Both are deterministic, so their verdicts carry no seed variance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bakeoff.data import DataOptions, TextDataset, load_task_data
from bakeoff.io import read_json, write_json_atomic
from bakeoff.tasks import get_task

MAJORITY = "majority class"
TFIDF = "tf-idf + logreg"
CACHE_DIR = "baselines"  # <store>/<project>/baselines/<train fingerprint>-<scored split's fingerprint>.json
SKLEARN_MISSING = "scikit-learn is not installed: pip install 'bakeoff[report]' (for the TF-IDF baseline)"


@dataclass
class Baseline:
    name: str
    predicted: np.ndarray  # (rows of the scored split,) label ids
    seconds: float  # training time
    train_rows: int
    fingerprint: str = ""  # of the rows ``predicted`` answers


def majority(train_labels: np.ndarray, rows: int) -> np.ndarray:
    """Predict the training split's most frequent class for every row (ties: the lowest label id).

    >>> majority(np.array([1, 1, 0]), 2).tolist()
    [1, 1]
    """
    return np.full(rows, int(np.bincount(train_labels).argmax()), dtype=np.int64)


def tfidf_logistic_regression(train: TextDataset, validation: TextDataset) -> np.ndarray:
    """TF-IDF over word 1-2 grams, then logistic regression; the predicted label ids of ``validation``.

    >>> rows = TextDataset(["good fun", "bad dull", "good", "dull"], np.array([1, 0, 1, 0]))
    >>> tfidf_logistic_regression(rows, rows).tolist()
    [1, 0, 1, 0]
    """
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        from bakeoff.errors import BakeoffError

        raise BakeoffError(SKLEARN_MISSING) from None
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    features = vectorizer.fit_transform(_texts(train))
    model = LogisticRegression(max_iter=1000).fit(features, train.labels)
    return model.predict(vectorizer.transform(_texts(validation))).astype(np.int64)


def baselines_for(config: dict[str, Any], project_dir: Path,
                  split: str = "validation") -> tuple[list[Baseline], list[str]]:
    """Both baselines for the data a run was configured with, scored on ``split``: (baselines, notes).

    Reads the cache when the data's fingerprints match; otherwise loads the data, trains, and writes it.

    >>> baselines_for({"task": "demo"}, Path("/tmp/p"), "test")  # doctest: +SKIP
    """
    task = get_task(config["task"]) if config.get("task") else None
    options = DataOptions(data=Path(config["data"]) if config.get("data") else None,
                          text_column=config.get("text_column"), text_pair_column=config.get("text_pair_column"),
                          label_column=config.get("label_column"),
                          train_fraction=float(config.get("train_fraction") or 1.0), seed=int(config.get("seed", 42)))
    data = load_task_data(task, options)
    scored = {"validation": data.validation, "test": data.test}.get(split)
    if scored is None:
        return [], [f"no baselines on the {split} split: the data has no labelled {split} rows"]
    fingerprints = data.fingerprints()
    fingerprint = fingerprints[split]
    cache = project_dir / CACHE_DIR / f"{fingerprints['train']}-{fingerprint}.json"
    stored = read_json(cache, default=None)
    if isinstance(stored, dict) and stored.get("fingerprints") == fingerprints and stored.get("split") == split:
        return [Baseline(b["name"], np.asarray(b["predicted"], dtype=np.int64), b["seconds"], b["train_rows"],
                         fingerprint) for b in stored["baselines"]], stored.get("notes", [])
    baselines, notes = [], []
    start = time.perf_counter()
    baselines.append(Baseline(MAJORITY, majority(data.train.labels, len(scored)),
                              time.perf_counter() - start, len(data.train), fingerprint))
    try:
        start = time.perf_counter()
        predicted = tfidf_logistic_regression(data.train, scored)
        baselines.append(Baseline(TFIDF, predicted, time.perf_counter() - start, len(data.train), fingerprint))
    except Exception as error:  # scikit-learn missing, or one class in the training rows
        notes.append(str(error) if "pip install" in str(error) else f"no TF-IDF baseline: {error}")
    if not any("pip install" in note for note in notes):  # a later install of scikit-learn fills the gap
        write_json_atomic(cache, {"fingerprints": fingerprints, "split": split, "notes": notes,
                                  "baselines": [{"name": b.name, "predicted": b.predicted.tolist(),
                                                 "seconds": b.seconds, "train_rows": b.train_rows}
                                                for b in baselines]})
    return baselines, notes


def _texts(split: TextDataset) -> list[str]:
    """A pair's two texts joined by a marker word, so its bigrams do not run across the seam."""
    if split.pairs is None:
        return split.texts
    return [f"{text} ||| {pair}" for text, pair in zip(split.texts, split.pairs, strict=True)]
