"""Finished runs written through the store API with predictions chosen by the test (no training): rows whose
accuracy per seed, latency and size are exactly what a test needs, ranked by the real leaderboard."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bakeoff.config import TrainConfig
from bakeoff.data import DataOptions, load_task_data
from bakeoff.eval.results import EvalResult
from bakeoff.io import write_json_atomic
from bakeoff.runs.files import PREDICTIONS_FILE, RESULT_FILE
from bakeoff.runs.results import DataInfo, ModelInfo, RunInfo, TrainingInfo, TrainResult
from bakeoff.track import Experiment
from tests.conftest import sentiment_rows, write_tsv


def data_folder(folder: Path, validation_rows: int = 200, seed: int = 7) -> Path:
    """A sentiment task with ``validation_rows`` dev rows (and 120 training rows for the baselines), one label in
    five flipped so that the baselines do not top every ranking."""

    def noisy(rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
        return [(text, 1 - label if i % 5 == 0 else label) for i, (text, label) in enumerate(rows)]

    write_tsv(folder / "train.tsv", noisy(sentiment_rows(120, seed=seed)))
    write_tsv(folder / "dev.tsv", noisy(sentiment_rows(validation_rows, seed=seed + 1)))
    return folder


def store_run(project: str, model: str, seed: int, accuracy: float, data: Path, *, latency_ms: float,
              weights_mb: float, tags: tuple[str, ...] = ()) -> str:
    """One COMPLETED run of ``model`` on ``data`` whose validation predictions are right on exactly
    ``round(accuracy * rows)`` rows (chosen by ``seed``); returns its id."""
    task_data = load_task_data(None, DataOptions(data=data))
    truth = task_data.validation.labels
    right = np.zeros(truth.size, dtype=bool)
    rng = np.random.default_rng([seed, *model.encode()])  # the same rows every time (hash() is salted per process)
    right[rng.permutation(truth.size)[:round(accuracy * truth.size)]] = True
    predicted = np.where(right, truth, 1 - truth)
    config = TrainConfig.from_dict({"model": model, "task": None, "data": str(data), "seed": seed,
                                    "project": project, "name": f"{model}-seed{seed}"}).validate().to_dict()
    value = float(right.mean())
    with Experiment(name=f"{model}-seed{seed}", project=project, tags=list(tags)) as experiment:
        path = experiment.path
        validation = EvalResult("validation", int(truth.size), 0.5, {"accuracy": value}, "accuracy", {}, [], 1.0, 1.0)
        result = TrainResult(
            run=RunInfo(experiment.id, project, experiment.name, str(path.resolve())), config=config,
            model=ModelInfo(model, model, "test", checkpoint_files={"model.safetensors": int(weights_mb * 1e6)}),
            data=DataInfo(task_data.task, task_data.label_names, task_data.sizes(), task_data.fingerprints()),
            training=TrainingInfo(1.0, None, None, 1, 1.0, "fp32", "cpu"), validation=validation, test=None,
            history=[], hardware={}, latency_ms={"p50": latency_ms}, bakeoff_version="test", git_commit=None,
            created_at="2026-01-01T00:00:00Z")
        write_json_atomic(path / PREDICTIONS_FILE, {"fingerprints": task_data.fingerprints(),
                                                    "validation": {"predicted": predicted.tolist(),
                                                                   "true": truth.tolist()}})
        result.save(path / RESULT_FILE)
        experiment.metric("final/validation/accuracy").append(value=value)
        return str(experiment.id)
