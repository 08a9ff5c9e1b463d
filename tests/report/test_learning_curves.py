"""The learning-curve section: the validation metric AND the training loss against step, seeds as a band.

Runs are hand-built in the store (a schema-2 result.json with its history, the ``train/loss`` metric as the
training loop logs it), so the test knows every number the chart must show.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from bakeoff.io import write_json_atomic
from bakeoff.report.leaderboard import Ranking, Row
from bakeoff.report.sections import LOSS_POINTS, learning_curve_section, read_loss
from bakeoff.runs.files import RESULT_FILE
from bakeoff.track import Experiment


def _run(name: str, seed: int, losses: list[float], history: list[dict]) -> str:
    """One finished run: its per-step training loss logged like the loop logs it, and its result.json."""
    with Experiment(name=name, project="curves") as run:
        for step, loss in enumerate(losses, start=1):
            run.metric("train/loss").append(value=loss, step=step, epoch=0)
        path = Path(run.path)
        write_json_atomic(path / RESULT_FILE, {
            "schema_version": 2, "config": {"model": "tiny", "seed": seed},
            "run": {"id": run.id, "project": run.project, "name": run.name, "path": str(path)},
            "validation": {"split": "validation", "rows": 10, "primary_metric": "accuracy",
                           "metrics": {"accuracy": history[-1]["accuracy"]}},
            "training": {"seconds": 1.0, "samples_per_second": None, "tokens_per_second": None,
                         "steps": len(losses), "epochs_completed": 1.0, "precision": "fp32", "device": "cpu"},
            "model": {"name": "tiny", "location": "x", "origin": "x"},
            "data": {"task": "t", "label_names": ["a", "b"], "sizes": {}, "fingerprints": {}},
            "history": history, "hardware": {}, "bakeoff_version": "test"})
    return str(path)


def _row(label: str, paths: list[str], mean: float) -> Row:
    return Row(rank=1, medal="", label=label, model=label, task="t", split="validation", method="trained",
               seeds=list(range(1, len(paths) + 1)), metric="accuracy", mean=mean, low=None, high=None,
               values=[mean] * len(paths), train_seconds=1.0, latency_p50_ms=None, size_mb=None, run_paths=paths)


def _ranking(*rows: Row) -> Ranking:
    return Ranking("t", "validation", "accuracy", True, list(rows))


def _series(figure: str) -> dict[str, list[tuple[float, float]]]:
    """Each polyline's name and its points (svg pixels) from one chart."""
    found = re.findall(r'<polyline[^>]*points="([^"]+)"><title>([^<]+)</title>', figure)
    return {name: [tuple(map(float, p.split(","))) for p in points.split()] for points, name in found}


def test_training_loss_is_drawn_per_row_with_the_seeds_as_a_band():
    steps = 200  # more steps than the chart keeps: they are averaged per window
    seeds = [_run(f"a-s{s}", s, [2.0 / (1 + step / 20) + 0.05 * s for step in range(steps)],
                  [{"step": 100, "accuracy": 0.6 + 0.01 * s}, {"step": 200, "accuracy": 0.7 + 0.01 * s}])
             for s in (1, 2)]
    single = _run("b-s1", 1, [1.0] * 50, [{"step": 25, "accuracy": 0.5}, {"step": 50, "accuracy": 0.55}])
    assert read_loss(Path(seeds[0]))[:2] == [(1, 2.05), (2, 2.0 / (1 + 1 / 20) + 0.05)]

    section = learning_curve_section(_ranking(_row("a", seeds, 0.715), _row("b", [single], 0.55)))

    assert section is not None and len(section.figures) == 2
    validation, loss = section.figures
    assert "training loss" in loss and "validation accuracy" in validation
    assert set(_series(loss)) == {"a", "b"} and set(_series(validation)) == {"a", "b"}
    curve = section.data["training_loss"]["a"]
    assert len(curve["step"]) <= LOSS_POINTS and curve["step"][-1] == steps
    first_window = [np.mean([2.0 / (1 + step / 20) + 0.05 * s for step in range(5)]) for s in (1, 2)]
    assert abs(curve["mean"][0] - np.mean(first_window)) < 1e-9  # the window's mean, then the seeds' mean
    assert section.data["validation"]["a"] == {"step": [100.0, 200.0], "mean": [0.615, 0.715]}
    # two seeds: a band in each chart (one polygon per banded series); row b has one seed and no band
    assert loss.count("<polygon") == 1 and validation.count("<polygon") == 1
    assert "the range over seeds" in section.sentences[0]


def test_a_row_without_logged_loss_still_gets_its_validation_curve():
    path = _run("c-s1", 1, [], [{"step": 10, "accuracy": 0.5}, {"step": 20, "accuracy": 0.6}])
    section = learning_curve_section(_ranking(_row("c", [path], 0.6)))
    assert section is not None and len(section.figures) == 1 and "validation accuracy" in section.figures[0]
    assert section.data["training_loss"] == {} and "one seed per row, so no band" in section.sentences[0]
