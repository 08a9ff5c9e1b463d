"""bakeoff's Python API: the entry the CLI calls. Each operation lives in the part that owns it; this module only
names them, and composes the few that span parts (the demo, studies, leaderboards).

>>> result = bakeoff.train(model="minilm-l3", task="demo", epochs=3, quiet=True)  # doctest: +SKIP
>>> result.validation.metrics["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bakeoff.errors import BakeoffError
from bakeoff.metrics import metric_info
from bakeoff.report import Leaderboard
from bakeoff.report.recommend import Recommendation
from bakeoff.runs import (
    CompressReport,
    Embedder,
    EmbeddingEvalResult,
    Index,
    PredictResult,
    TrainResult,
    bench,
    compress,
    compress_methods,
    embed,
    evaluate,
    evaluate_embeddings,
    predict,
    train,
)
from bakeoff.runs.inference import InputColumns, input_columns
from bakeoff.study import Study, StudyOutcome, load_study

if TYPE_CHECKING:  # bakeoff.export loads only when exporting
    from bakeoff.export import ExportSummary

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
              max_parallel: int = 1, retry_failed: bool = False, on_event: Any = None,
              until_decided: bool = False, tolerance: float | None = None, max_seeds: int | None = None,
              time_budget: str | float | None = None) -> StudyOutcome:
    """Run (or resume) a study file; returns a ``StudyOutcome`` with one ``TrialOutcome`` per trial.

    ``until_decided``: then race (more seeds for the rows still undecided against the leader) up to ``max_seeds``
    or ``time_budget`` ("30m", seconds); these and ``tolerance`` (points) override the file's ``decide:``.

    >>> outcome = bakeoff.run_study("examples/offline_minilm.yaml")  # doctest: +SKIP
    >>> outcome.count("COMPLETED")  # doctest: +SKIP
    >>> bakeoff.run_study("examples/offline_minilm.yaml", until_decided=True, max_seeds=8).race.reason  # doctest: +SKIP
    """
    from bakeoff.study import run_study as run
    from bakeoff.study import settings_for
    from bakeoff.config.decide import duration_seconds

    spec = study if isinstance(study, Study) else load_study(study)
    race = settings_for(spec, tolerance, max_seeds, None if time_budget is None else duration_seconds(time_budget)) \
        if until_decided else None
    return run(spec, executor=executor, ray_address=ray_address, max_parallel=max_parallel,
               retry_failed=retry_failed, on_event=on_event, until_decided=race)


def leaderboard(study_or_project: str | Path, *, tolerance: float | None = None) -> Leaderboard:
    """The ``Leaderboard`` of a study file's project, or of any store project by name.

    ``tolerance``: the largest difference, in points of the metric, that does not matter when a row is compared
    with the leader (default: the study file's ``decide: {tolerance: ...}``, else 1 point).
    """
    from bakeoff.report import build
    from bakeoff.report.decision import check_tolerance
    from bakeoff.track import Store

    name = str(study_or_project)
    if tolerance is not None:
        check_tolerance(tolerance)
    if name.endswith((".yaml", ".yml")) or Path(name).is_file():
        study = load_study(name)
        name = study.name
        tolerance = study.decide.tolerance if tolerance is None else tolerance
    board = build(name, tolerance=tolerance)
    if not board.rankings:
        raise BakeoffError(f"no completed runs in project {name!r} of {Store().root}: `bakeoff runs ls` lists them")
    return board


def decision_plan(study_or_project: str | Path, *, tolerance: float | None = None) -> list[str]:
    """What the study's comparisons with the leader still need: for each undecided one, how many seeds per row
    (or evaluation rows) would decide it (``report/plan.py``); empty when nothing has run yet.

    >>> bakeoff.decision_plan("examples/offline_minilm.yaml")  # doctest: +SKIP
    """
    from bakeoff.report.plan import plan_lines
    from bakeoff.track import Store

    name = str(study_or_project)
    if name.endswith((".yaml", ".yml")) or Path(name).is_file():
        name = load_study(name).name
    if not any(run.status == "COMPLETED" for run in Store().list(name)):
        return []
    return plan_lines(leaderboard(study_or_project, tolerance=tolerance))


def export_mlflow(study_or_project: str | Path, *, tracking_uri: str, experiment: str | None = None,
                  checkpoints: bool = False, store: str | Path | None = None, workers: int = 4,
                  progress: Any = None) -> ExportSummary:
    """Export a study's (or store project's) runs to MLflow; again later, only what is new. An ``ExportSummary``.

    >>> bakeoff.export_mlflow("examples/offline_minilm.yaml", tracking_uri="http://127.0.0.1:5000")  # doctest: +SKIP
    """
    from bakeoff.export import export_project
    from bakeoff.track import Store

    name = str(study_or_project)
    if name.endswith((".yaml", ".yml")) or Path(name).is_file():
        name = load_study(name).name
    return export_project(name, tracking_uri, experiment=experiment, checkpoints=checkpoints, store=Store(store),
                          workers=workers, progress=progress)


def report(study_or_project: str | Path, out: str | Path | None = None, fmt: str = "html", *,
           tolerance: float | None = None) -> Path:
    """Write the report of a study file's project (or a store project): html (self-contained), md (its charts as
    .svg files in ``<name>-figures/`` beside it) or json.

    Called as ``bakeoff.api.report``: ``bakeoff.report`` is the package that builds it.

    >>> bakeoff.api.report("examples/offline_minilm.yaml", "report.html")  # doctest: +SKIP
    """
    from bakeoff.io import check_free_space
    from bakeoff.report import document
    from bakeoff.report.recommend import recommend as choose

    if fmt not in document.FORMATS:
        raise BakeoffError(f"--format {fmt!r}: use one of {', '.join(document.FORMATS)}")
    folder = Path(out).parent if out else Path(".")
    check_free_space(folder, document.EXPECTED_BYTES, "the report", fix=document.ROOM_FIX)  # before it is built
    path_given = Path(str(study_or_project))
    study_text = path_given.read_text(encoding="utf-8") if path_given.is_file() else None
    board = leaderboard(study_or_project, tolerance=tolerance)
    summary: list[str | list[str]] = []
    for ranking in board.rankings:
        if ranking.split == "validation":
            choice = choose(ranking)
            summary.append(f"Recommendation for {ranking.name} ({ranking.split}, no budgets): "
                           + " ".join(choice.reasons))
            if choice.aside:  # one row a line
                summary.append(["Set aside, though cheaper:", *choice.aside])
    race = _race_record(board.project)
    if race is not None:  # a study that raced opens with its decision
        summary.insert(0, race.headline)
    path = Path(out) if out else document.default_out(board.project, fmt)
    return document.save(document.sections_for(board, study_text, race=race), f"bakeoff report: {board.project}",
                         summary, fmt, path)


def _race_record(project: str) -> Any:
    """The project's race record (``race.json``, written by ``bakeoff run --until-decided``), or None."""
    from bakeoff.io import read_json
    from bakeoff.report.racing import RACE_FILE, RaceRecord
    from bakeoff.track import Store

    values = read_json(Store().root / project / RACE_FILE, default=None)
    return RaceRecord.from_dict(values) if isinstance(values, dict) else None


def recommend(study_or_project: str | Path, *, max_latency_ms: float | None = None, max_size_mb: float | None = None,
              min_metric: float | None = None, max_train_seconds: float | None = None, task: str | None = None,
              split: str = "validation", tolerance: float | None = None) -> Recommendation:
    """The row to choose under budgets, with its reasons, within one task's ranking on ``split``.

    ``task`` is needed only when the project ranks several tasks.

    >>> bakeoff.recommend("examples/offline_minilm.yaml", max_latency_ms=10).paragraph  # doctest: +SKIP
    """
    from bakeoff.report.recommend import Budgets, ranking_for
    from bakeoff.report.recommend import recommend as choose

    budgets = Budgets(max_latency_ms, max_size_mb, min_metric, max_train_seconds)
    ranking = ranking_for(leaderboard(study_or_project, tolerance=tolerance), task, split)
    return choose(ranking, budgets)


__all__ = ["CompressReport", "Embedder", "EmbeddingEvalResult", "Index", "InputColumns", "PredictResult",
           "TrainResult", "bench", "compress", "compress_methods", "decision_plan", "demo", "embed", "evaluate",
           "evaluate_embeddings", "export_mlflow", "input_columns", "leaderboard", "predict", "recommend", "report",
           "run_study", "train"]
