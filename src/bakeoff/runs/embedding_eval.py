"""Evaluate an encoder's frozen embeddings on a task and record it as a run with a typed ``result.json``.

The scoring (pairs, probe, retrieval) is ``bakeoff.embedding.scoring``; this module loads the data, resolves the
encoder (a trained run too), and records the run.

``result.json`` (``EmbeddingEvalResult``, schema_version 1): ``run`` (``RunInfo``: id, project, name, path,
status); ``model`` (the resolved encoder); ``task``, ``kind``, ``split``, ``pooling``, ``normalize``,
``precision``, ``max_length``; ``metrics`` {name: value} and ``primary_metric``; ``per_example`` (per row of the
split, in order, for paired tests: ``score``/``label``/``correct`` for pairs, ``predicted``/``true`` for probe,
``rank`` for retrieval); ``details`` (thresholds, corpus size); ``data`` {sizes, fingerprints, notes};
``timings`` {embed_seconds, texts_embedded, texts_per_second, seconds}; ``hardware``; ``bakeoff_version``;
``git_commit``; ``created_at``.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bakeoff._version import __version__
from bakeoff.data import DataOptions, load_task_data
from bakeoff.data.dataset import TaskData
from bakeoff.embedding.scoring import KINDS, PRIMARY, check_kind, score
from bakeoff.errors import BakeoffError
from bakeoff.hardware import describe
from bakeoff.io import read_json, write_json_atomic
from bakeoff.runs.embed_run import Embedder
from bakeoff.runs.files import RESULT_FILE
from bakeoff.runs.provenance import git_commit
from bakeoff.runs.results import RunInfo
from bakeoff.tasks import get_task
from bakeoff.track import Experiment
from bakeoff.track.layout import utc_now

SCHEMA_VERSION = 1


@dataclass
class EmbeddingEvalResult:
    """What ``evaluate_embeddings`` returns; ``to_dict()`` is the run's ``result.json``."""

    run: RunInfo
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
    git_commit: str | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def primary(self) -> float:
        return self.metrics[self.primary_metric]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> EmbeddingEvalResult:
        return cls(**{**document, "run": RunInfo(**document["run"])})

    @classmethod
    def load(cls, path: str | Path) -> EmbeddingEvalResult:
        """Read a run folder's (or a file's) ``result.json``."""
        path = Path(path)
        document = read_json(path / RESULT_FILE if path.is_dir() else path)
        if not isinstance(document, dict) or document.get("kind") not in KINDS:
            raise BakeoffError(f"{path}: not an embedding evaluation result")
        if document.get("schema_version") != SCHEMA_VERSION:
            raise BakeoffError(f"{path}: result schema {document.get('schema_version')} is not {SCHEMA_VERSION}")
        return cls.from_dict(document)


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
    check_kind(kind)
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
    scored = score(embedder, kind, task_data, split, file=Path(data) if data else None, query_column=text_column,
                   document_column=text_pair_column, seed=seed)
    task_name = (task_data.task if task_data else None) or task or "custom"
    with Experiment(name=name or _run_name(kind, task_name, model, pooling), project=project,
                    tags=["embeddings", kind, task_name, pooling],
                    description=f"{kind} with frozen {model} embeddings ({pooling} pooling) on {task_name}") as run:
        run.parameters().set(model=model, task=task_name, kind=kind, pooling=pooling, normalize=normalize,
                             precision=precision, max_length=embedder.max_length, split=split,
                             train_fraction=train_fraction, seed=seed)
        for metric, value in scored.metrics.items():
            run.metric(f"final/{split}/{metric}").append(value=value)
        assert run.path is not None
        seconds = scored.embed_seconds
        result = EmbeddingEvalResult(
            run=RunInfo(run.id, run.project, run.name, str(run.path.resolve())),
            model=embedder.source.to_dict(), task=task_name, kind=kind, split=split, pooling=pooling,
            normalize=normalize, precision=precision, max_length=embedder.max_length, metrics=scored.metrics,
            primary_metric=PRIMARY[kind], per_example=scored.per_example, details=scored.details,
            data=_data_record(task_data), hardware=describe(),
            timings={"embed_seconds": seconds, "texts_embedded": scored.texts_embedded,
                     "texts_per_second": scored.texts_embedded / seconds if seconds else float("nan"),
                     "seconds": time.perf_counter() - started},
            bakeoff_version=__version__, created_at=utc_now(), git_commit=git_commit())
        write_json_atomic(run.path / RESULT_FILE, result.to_dict())
    return result


def _data_record(data: TaskData | None) -> dict[str, Any]:
    if data is None:
        return {"sizes": {}, "fingerprints": {}, "notes": ["(query, document) file"]}
    return {"sizes": data.sizes(), "fingerprints": data.fingerprints(), "notes": data.notes}


def _run_name(kind: str, task: str, model: str, pooling: str) -> str:
    short = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model).name).strip("-") or "model"
    return f"{kind}-{task}-{short}-{pooling}"
