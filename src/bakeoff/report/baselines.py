"""Baselines on every leaderboard: each problem type's own (``bakeoff.problems``): for classes the majority class
and TF-IDF (1-2 grams) + logistic regression; for scores the mean and TF-IDF cosine of the pair; for label sets
the most frequent set and TF-IDF + one-vs-rest logistic regression.

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

from bakeoff.data import DataOptions, load_task_data
from bakeoff.io import read_json, write_json_atomic
from bakeoff.problems import get_problem
from bakeoff.problems.multi_label import MOST_FREQUENT
from bakeoff.problems.regression import MEAN
from bakeoff.problems.single_label import MAJORITY, TFIDF, majority, tfidf_logistic_regression
from bakeoff.tasks import get_task

CACHE_DIR = "baselines"  # <store>/<project>/baselines/<train fingerprint>-<scored split's fingerprint>.json
SKLEARN_MISSING = "scikit-learn is not installed: pip install 'bakeoff[report]' (for the TF-IDF baseline)"
TRIVIAL = (MAJORITY, MEAN, MOST_FREQUENT)  # each problem type's first baseline: a run at or below it failed to learn


@dataclass
class Baseline:
    name: str
    predicted: np.ndarray  # answers on the scored split's rows: label ids, scores or label sets
    seconds: float  # training time
    train_rows: int
    fingerprint: str = ""  # of the rows ``predicted`` answers
    truth: np.ndarray | None = None  # the scored rows' labels (the problem type's form)


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
                          train_fraction=float(config.get("train_fraction") or 1.0), seed=int(config.get("seed", 42)),
                          problem_type=config.get("problem_type"), label_separator=config.get("label_separator"))
    data = load_task_data(task, options)
    problem = get_problem(data.problem_type)
    scored = {"validation": data.validation, "test": data.test}.get(split)
    if scored is None:
        return [], [f"no baselines on the {split} split: the data has no labelled {split} rows"]
    fingerprints = data.fingerprints()
    fingerprint = fingerprints[split]
    cache = project_dir / CACHE_DIR / f"{fingerprints['train']}-{fingerprint}.json"
    stored = read_json(cache, default=None)
    label_count = len(data.label_names)
    if isinstance(stored, dict) and stored.get("fingerprints") == fingerprints and stored.get("split") == split:
        return [Baseline(b["name"], problem.from_stored(b["predicted"], label_count), b["seconds"], b["train_rows"],
                         fingerprint, scored.labels) for b in stored["baselines"]], stored.get("notes", [])
    baselines, notes = [], []
    for name, fitted in problem.baselines(data.train, scored):
        try:
            start = time.perf_counter()
            predicted = fitted()
            baselines.append(Baseline(name, np.asarray(predicted), time.perf_counter() - start, len(data.train),
                                      fingerprint, scored.labels))
        except Exception as error:  # scikit-learn missing, or one class in the training rows
            notes.append(str(error) if "pip install" in str(error) else f"no {name} baseline: {error}")
    if not any("pip install" in note for note in notes):  # a later install of scikit-learn fills the gap
        write_json_atomic(cache, {"fingerprints": fingerprints, "split": split, "notes": notes,
                                  "baselines": [{"name": b.name, "predicted": problem.to_stored(b.predicted),
                                                 "seconds": b.seconds, "train_rows": b.train_rows}
                                                for b in baselines]})
    return baselines, notes


__all__ = ["MAJORITY", "TFIDF", "TRIVIAL", "Baseline", "baselines_for", "majority", "tfidf_logistic_regression"]
