"""bakeoff's Python API: the entry the CLI calls. Each operation lives in the part that owns it; this module only
names them, and composes the few that span parts (the demo, studies, leaderboards).

>>> result = bakeoff.train(model="minilm-l3", task="demo", epochs=3, quiet=True)  # doctest: +SKIP
>>> result.validation.metrics["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bakeoff.errors import BakeoffError
from bakeoff.metrics import metric_info
from bakeoff.report import Leaderboard
from bakeoff.runs import (
    CompressReport,
    PredictResult,
    TrainResult,
    bench,
    compress,
    evaluate,
    predict,
    train,
)
from bakeoff.runs.inference import InputColumns, input_columns
from bakeoff.study import Study, StudyOutcome, load_study

DEMO_MODELS = ("minilm-l6", "minilm-l3")
DEMO_SETTINGS = {"demo": {"epochs": 8, "learning_rate": 1e-4, "batch_size": 16, "warmup_ratio": 0.1},
                 "default": {"epochs": 1, "learning_rate": 5e-5, "batch_size": 32, "train_fraction": 0.1}}


def demo(task: str = "demo", models: tuple[str, ...] = DEMO_MODELS, quiet: bool = False,
         **overrides: Any) -> list[TrainResult]:
    """The default main job: fine-tune each model on ``task`` with identical settings, best first.

    On the built-in ``demo`` task it runs offline in about a minute on 2 CPU cores; on a GLUE task it trains
    on a 10% stratified subset unless ``train_fraction`` says otherwise.
    """
    settings = {**DEMO_SETTINGS.get(task, DEMO_SETTINGS["default"]), **overrides}
    results = [train(model=model, task=task, project=f"demo-{task}", quiet=quiet, **settings) for model in models]
    metric = results[0].validation.primary_metric
    return sorted(results, key=lambda r: r.validation.metrics[metric], reverse=metric_info(metric).higher_is_better)


def run_study(study: str | Path | Study, *, executor: str = "local", ray_address: str | None = None,
              max_parallel: int = 1, retry_failed: bool = False, on_event: Any = None) -> StudyOutcome:
    """Run (or resume) a study file; returns a ``StudyOutcome`` with one ``TrialOutcome`` per trial.

    >>> outcome = bakeoff.run_study("examples/offline_minilm.yaml")  # doctest: +SKIP
    >>> outcome.count("COMPLETED")  # doctest: +SKIP
    """
    from bakeoff.study import run_study as run

    spec = study if isinstance(study, Study) else load_study(study)
    return run(spec, executor=executor, ray_address=ray_address, max_parallel=max_parallel,
               retry_failed=retry_failed, on_event=on_event)


def leaderboard(study_or_project: str | Path) -> Leaderboard:
    """The ``Leaderboard`` of a study file's project, or of any store project by name."""
    from bakeoff.report import build
    from bakeoff.track import Store

    name = str(study_or_project)
    if name.endswith((".yaml", ".yml")) or Path(name).is_file():
        name = load_study(name).name
    board = build(name)
    if not board.rankings:
        raise BakeoffError(f"no completed runs in project {name!r} of {Store().root}: `bakeoff runs ls` lists them")
    return board


__all__ = ["CompressReport", "InputColumns", "PredictResult", "TrainResult", "bench", "compress", "demo",
           "evaluate", "input_columns", "leaderboard", "predict", "run_study", "train"]
