"""Evaluate an encoder's frozen embeddings on a task and record it as a run with a typed ``result.json``.

The scoring (pairs, probe, retrieval) is ``bakeoff.embedding.scoring``; this module loads the data, resolves the
encoder (a trained run too), and records the run.

``result.json`` is an ``EmbeddingEvalResult`` (``runs/results.py`` documents every key): the resolved
``EmbeddingConfig``, the metrics, and per-example values (per pair, per probe row, per query) so the leaderboard's
paired verdicts apply to embedding runs as they do to trained ones.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from bakeoff._version import __version__
from bakeoff.config.embedding import EmbeddingConfig
from bakeoff.data import DataOptions, load_task_data
from bakeoff.data.dataset import TaskData
from bakeoff.embedding.scoring import PRIMARY, check_kind, score
from bakeoff.errors import BakeoffError
from bakeoff.hardware import describe
from bakeoff.io import sha256, write_json_atomic
from bakeoff.runs.embed_run import Embedder
from bakeoff.runs.files import RESULT_FILE
from bakeoff.runs.provenance import git_commit
from bakeoff.runs.results import EmbeddingEvalResult, RunInfo
from bakeoff.tasks import get_task
from bakeoff.track import Experiment
from bakeoff.track.layout import utc_now

__all__ = ["EmbeddingEvalResult", "evaluate_embeddings"]


def evaluate_embeddings(model: str, task: str | None = None, kind: str = "pairs", pooling: str = "mean", *,
                        normalize: bool = True, precision: str = "fp32", data: str | None = None,
                        split: str = "validation", text_column: str | None = None,
                        text_pair_column: str | None = None, label_column: str | None = None,
                        train_fraction: float = 1.0, max_length: int | None = None, batch_size: int = 64,
                        seed: int = 42, project: str = "embeddings", name: str | None = None,
                        threads: int | None = None, tags: list[str] | None = None,
                        quiet: bool = True) -> EmbeddingEvalResult:
    """Evaluate ``model``'s frozen embeddings on ``task`` as ``kind`` (pairs, probe, retrieval); record a run.

    The keywords are ``EmbeddingConfig``'s options (a study's embedding trial passes its config as they are);
    ``tags`` are added to the run's own (embeddings, kind, task, pooling).

    >>> r = bakeoff.evaluate_embeddings("minilm-l6", "mrpc", "pairs", "mean")  # doctest: +SKIP
    >>> r.metrics["average_precision"]  # doctest: +SKIP
    """
    check_kind(kind)
    if split not in ("validation", "test"):
        raise BakeoffError(f"--split {split!r}: use validation or test (train fits the probe and thresholds)")
    config = EmbeddingConfig(model=model, task=task, kind=kind, pooling=pooling, normalize=normalize,
                             precision=precision, max_length=max_length, batch_size=batch_size, data=data,
                             text_column=text_column, text_pair_column=text_pair_column, label_column=label_column,
                             split=split, train_fraction=train_fraction, seed=seed, threads=threads, project=project,
                             name=name, quiet=quiet, tags=list(tags or []))
    config.validate()
    started = time.perf_counter()
    options = DataOptions(data=Path(data) if data else None, text_column=text_column,
                          text_pair_column=text_pair_column, label_column=label_column,
                          train_fraction=train_fraction, seed=seed)
    if kind == "retrieval" and task is None and data and Path(data).is_file():
        task_data = None  # a (query, document) file
    else:
        task_data = load_task_data(get_task(task) if task else None, options)
    embedder = Embedder(model, pooling=pooling, normalize=normalize, precision=precision, max_length=max_length,
                        batch_size=batch_size, threads=threads)
    scored = score(embedder, kind, task_data, split, file=Path(data) if data else None, query_column=text_column,
                   document_column=text_pair_column, seed=seed)
    task_name = (task_data.task if task_data else None) or task or "custom"
    with Experiment(name=name or _run_name(kind, task_name, model, pooling), project=project,
                    tags=list(dict.fromkeys(["embeddings", kind, task_name, pooling, *(tags or [])])),
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
            data=_data_record(task_data, Path(data) if data else None, split), hardware=describe(),
            timings={"embed_seconds": seconds, "texts_embedded": scored.texts_embedded,
                     "texts_per_second": scored.texts_embedded / seconds if seconds else float("nan"),
                     "seconds": time.perf_counter() - started},
            bakeoff_version=__version__, created_at=utc_now(), git_commit=git_commit(),
            config=config.to_dict())
        write_json_atomic(run.path / RESULT_FILE, result.to_dict())
    return result


def _data_record(data: TaskData | None, file: Path | None, split: str) -> dict[str, Any]:
    if data is None:  # a (query, document) file: its bytes identify the queries scored (for paired verdicts)
        assert file is not None
        return {"sizes": {}, "fingerprints": {split: sha256(file)[:16]}, "notes": ["(query, document) file"]}
    return {"sizes": data.sizes(), "fingerprints": data.fingerprints(), "notes": data.notes}


def _run_name(kind: str, task: str, model: str, pooling: str) -> str:
    short = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model).name).strip("-") or "model"
    return f"{kind}-{task}-{short}-{pooling}"
