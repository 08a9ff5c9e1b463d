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
from bakeoff.embedding.scoring import PRIMARY, score
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


def evaluate_embeddings(model: str | EmbeddingConfig, task: str | None = None, kind: str | None = None,
                        pooling: str | None = None, **options: Any) -> EmbeddingEvalResult:
    """Evaluate ``model``'s frozen embeddings on ``task`` as ``kind`` (pairs, probe, retrieval); record a run.

    ``model`` is a whole ``EmbeddingConfig`` (a study's embedding trial, the CLI), or a model name with the
    config's options as keywords (``normalize``, ``precision``, ``split``, ``threads``, ...; unset ones take their
    defaults). The config is checked once, before any data or model is loaded, and handed down as it is: the
    ``Embedder`` gets its encoder part. ``tags`` are added to the run's own (embeddings, kind, task, pooling).

    >>> r = bakeoff.evaluate_embeddings("minilm-l6", "mrpc", "pairs", "mean")  # doctest: +SKIP
    >>> r.metrics["average_precision"]  # doctest: +SKIP
    """
    if isinstance(model, EmbeddingConfig):
        config = model
    else:
        given = {"task": task, "kind": kind, "pooling": pooling}
        config = EmbeddingConfig.from_dict({"model": model, **{k: v for k, v in given.items() if v is not None},
                                            **options})
    config.validate()
    started = time.perf_counter()
    data = Path(config.data) if config.data else None
    data_options = DataOptions(data=data, text_column=config.text_column, text_pair_column=config.text_pair_column,
                           label_column=config.label_column, train_fraction=config.train_fraction, seed=config.seed)
    if config.kind == "retrieval" and config.task is None and data and data.is_file():
        task_data = None  # a (query, document) file
    else:
        task_data = load_task_data(get_task(config.task) if config.task else None, data_options)
    embedder = Embedder(config.model, config.encoder())
    scored = score(embedder, config.kind, task_data, config.split, file=data, query_column=config.text_column,
                   document_column=config.text_pair_column, seed=config.seed)
    task_name = (task_data.task if task_data else None) or config.task or "custom"
    kind, pooling, split = config.kind, config.pooling, config.split
    with Experiment(name=config.name or _run_name(kind, task_name, config.model, pooling), project=config.project,
                    tags=list(dict.fromkeys(["embeddings", kind, task_name, pooling, *config.tags])),
                    description=f"{kind} with frozen {config.model} embeddings ({pooling} pooling) on "
                                f"{task_name}") as run:
        run.parameters().set(model=config.model, task=task_name, kind=kind, pooling=pooling,
                             normalize=config.normalize, precision=config.precision, max_length=embedder.max_length,
                             split=split, train_fraction=config.train_fraction, seed=config.seed)
        for metric, value in scored.metrics.items():
            run.metric(f"final/{split}/{metric}").append(value=value)
        assert run.path is not None
        seconds = scored.embed_seconds
        result = EmbeddingEvalResult(
            run=RunInfo(run.id, run.project, run.name, str(run.path.resolve())),
            model=embedder.source.to_dict(), task=task_name, kind=kind, split=split, pooling=pooling,
            normalize=config.normalize, precision=config.precision, max_length=embedder.max_length,
            metrics=scored.metrics, primary_metric=PRIMARY[kind], per_example=scored.per_example,
            details=scored.details, data=_data_record(task_data, data, split), hardware=describe(),
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
