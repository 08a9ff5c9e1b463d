"""The leaderboard: variants ranked by their primary metric's mean over seeds, with a 95% interval, medals, and
a verdict on whether each one's difference from the leader is real.

A row is a *variant*: everything a trial was configured with except its seed. Compressed models (from a
study's ``compress:`` step or ``bakeoff compress``) are rows of their own, beside the model they came from.
Rows are ranked only against rows of the same task scored on the same split: a leaderboard holds one
``Ranking`` per (task, split), and predictions are only ever paired with the labels of their own split.
The verdict pools McNemar's paired test over the seeds both rows share, on the same rows: per seed, the
examples one row gets right and the other wrong. Rows measured on different rows get no verdict ("n/a").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bakeoff.config import identity, model_label, variant_of
from bakeoff.errors import BakeoffError
from bakeoff.eval.significance import mcnemar
from bakeoff.io import read_json
from bakeoff.metrics import metric_info
from bakeoff.report.stats import mean_interval
from bakeoff.runs.files import PREDICTIONS_FILE, RESULT_FILE, compression_reports
from bakeoff.runs.results import CompressReport, TrainResult
from bakeoff.track import Run, Store

MEDALS = ("🥇", "🥈", "🥉")
IGNORED_IN_LABEL = ("model", "seed", "task")  # shown in their own columns


@dataclass
class Row:
    rank: int
    medal: str
    label: str
    model: str
    task: str
    split: str  # the rows the metric was measured on
    method: str  # "trained" or a compression method
    seeds: list[int]
    metric: str
    mean: float
    low: float | None
    high: float | None
    values: list[float]
    train_seconds: float | None
    latency_p50_ms: float | None
    size_mb: float | None
    verdict: str = ""
    p_value: float | None = None
    config: dict[str, Any] = field(default_factory=dict, repr=False)
    _predictions: dict[int, tuple[np.ndarray, np.ndarray, str]] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("_predictions")
        return out


@dataclass
class Ranking:
    """The rows of one task scored on one split, best first by the task's primary metric."""

    task: str
    split: str
    metric: str
    higher_is_better: bool
    rows: list[Row]

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "split": self.split, "metric": self.metric,
                "higher_is_better": self.higher_is_better, "rows": [row.to_dict() for row in self.rows]}


@dataclass
class Leaderboard:
    project: str
    rankings: list[Ranking]
    notes: list[str] = field(default_factory=list)  # what was left out, and why

    @property
    def rows(self) -> list[Row]:
        """Every ranking's rows, ranking after ranking."""
        return [row for ranking in self.rankings for row in ranking.rows]

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "rankings": [r.to_dict() for r in self.rankings], "notes": self.notes}

    def to_csv(self) -> str:
        import csv
        import io

        buffer = io.StringIO()
        columns = ["task", "split", "rank", "label", "model", "method", "metric", "mean", "low", "high", "seeds",
                   "train_seconds", "latency_p50_ms", "size_mb", "verdict", "p_value"]
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({**row.to_dict(), "seeds": " ".join(map(str, row.seeds))})
        return buffer.getvalue()


@dataclass
class _Entry:
    """One finished run (and, for a compressed row, one of its compression reports)."""

    run: Run
    result: TrainResult
    rung: int
    predictions: dict[str, Any]
    report: CompressReport | None = None

    @property
    def split(self) -> str:
        return self.report.split if self.report else "validation"


def build(project: str, store: Store | None = None) -> Leaderboard:
    """The leaderboard of every COMPLETED run in ``project``: one ranking per task and split."""
    store = store or Store()
    groups: dict[tuple[str, str, str], list[_Entry]] = {}
    notes: list[str] = []
    for run in store.list(project):
        if run.status != "COMPLETED" or not (run.path / RESULT_FILE).is_file():
            continue
        try:
            result = TrainResult.load(run.path / RESULT_FILE)
        except BakeoffError as error:
            notes.append(f"{run.name}: left out ({error})")
            continue
        rung = max([int(t.split(":", 1)[1]) for t in run.info.get("tags") or [] if t.startswith("rung:")] or [0])
        entry = _Entry(run, result, rung, read_json(run.path / PREDICTIONS_FILE, default=None) or {})
        variant = variant_of(result.config)
        groups.setdefault((variant, "trained", "validation"), []).append(entry)
        for report_path in compression_reports(run.path):
            try:
                report = CompressReport.load(report_path)
            except BakeoffError as error:
                notes.append(f"{run.name}: compressed model left out ({error})")
                continue
            compressed = _Entry(run, result, rung, entry.predictions, report)
            groups.setdefault((variant, report.method, report.split), []).append(compressed)
    groups = _highest_rungs(groups)
    by_ranking: dict[tuple[str, str], list[Row]] = {}
    for (_, method, split), entries in groups.items():
        row = _row(entries, method)
        by_ranking.setdefault((row.task, split), []).append(row)
    rankings = [_rank(task, split, rows) for (task, split), rows in sorted(by_ranking.items(), key=_order)]
    return Leaderboard(project, rankings, notes)


def _order(item: tuple[tuple[str, str], list[Row]]) -> tuple[str, int, str]:
    (task, split), _ = item
    return task, ("validation", "test", "train").index(split) if split in ("validation", "test", "train") else 3, split


def _rank(task: str, split: str, rows: list[Row]) -> Ranking:
    metric = rows[0].metric  # the task's primary metric: every row of one task has it
    higher = metric_info(metric).higher_is_better
    _label(rows)
    rows.sort(key=lambda r: r.mean, reverse=higher)
    for rank, row in enumerate(rows, start=1):
        row.rank, row.medal = rank, MEDALS[rank - 1] if rank <= 3 and len(rows) > 1 else ""
    _verdicts(rows)
    return Ranking(task, split, metric, higher, rows)


def _row(entries: list[_Entry], method: str) -> Row:
    first = entries[0]
    split = first.split
    metric = first.result.validation.primary_metric
    values, seeds, seconds, latency, predictions = [], [], [], [], {}
    size = None
    for entry in sorted(entries, key=lambda e: e.result.config["seed"]):
        result, seed = entry.result, entry.result.config["seed"]
        stored = entry.predictions.get(split) or {}
        fingerprint = (entry.predictions.get("fingerprints") or {}).get(split, "")
        seeds.append(seed)
        seconds.append(result.training.seconds)
        if entry.report is None:
            values.append(result.validation.metrics[metric])
            latency.append(result.latency_ms.get("p50"))
            weights = result.model.weights_bytes
            size = weights / 1e6 if weights else None  # weights only, as for compressed rows
            labels = stored.get("predicted")
        else:
            values.append(entry.report.compressed.metrics[metric])
            latency.append(entry.report.compressed.latency_p50_ms)
            size = entry.report.compressed.weights_bytes / 1e6
            labels = entry.report.predictions
        if labels is not None and stored.get("true") is not None and len(labels) == len(stored["true"]):
            predictions[seed] = (np.asarray(labels), np.asarray(stored["true"]), fingerprint)
    mean, low, high = mean_interval(values)
    if low is not None and high is not None:  # a metric cannot leave its range however wide the interval
        floor = -1.0 if metric == "mcc" else 0.0
        low, high = max(low, floor), min(high, 1.0) if metric != "loss" else high
    latencies = [v for v in latency if v is not None]
    config = first.result.config
    return Row(rank=0, medal="", label="", model=_model_name(str(config["model"])),
               task=str(config.get("task") or first.result.data.task or "custom"), split=split,
               method=method, seeds=seeds, metric=metric, mean=mean, low=low, high=high, values=values,
               train_seconds=sum(seconds) / len(seconds),
               latency_p50_ms=sum(latencies) / len(latencies) if latencies else None, size_mb=size,
               config=config, _predictions=predictions)


def _model_name(model: str) -> str:
    """An alias or hub id as given; a local folder by its last part."""
    return model_label(model) if model.startswith(("/", ".", "~")) else model


def _highest_rungs(groups: dict[tuple[str, str, str], list[_Entry]]) -> dict[tuple[str, str, str], list[_Entry]]:
    """With successive halving, each variant counts at the longest budget it reached (its highest rung)."""
    best: dict[tuple[str, str, str], int] = {}
    for (variant, method, split), entries in groups.items():
        key = (_without_epochs(variant), method, split)
        best[key] = max(best.get(key, 0), max(e.rung for e in entries))
    return {(variant, method, split): entries for (variant, method, split), entries in groups.items()
            if max(e.rung for e in entries) == best[(_without_epochs(variant), method, split)]}


def _without_epochs(variant: str) -> str:
    values = json.loads(variant)
    values.pop("epochs", None)
    return json.dumps(values, sort_keys=True)


def _label(rows: list[Row]) -> None:
    """Name each row by its model plus the settings that differ between rows (and the task if several)."""
    keys = sorted({k for row in rows for k in identity(row.config)} - set(IGNORED_IN_LABEL))
    varying = [k for k in keys if len({json.dumps(row.config.get(k), default=str) for row in rows}) > 1]
    for row in rows:
        parts = [row.model, *(f"{_short(k)}={row.config.get(k)}" for k in varying)]
        row.label = " ".join(parts) + ("" if row.method == "trained" else f" +{row.method}")


def _short(key: str) -> str:
    return {"learning_rate": "lr", "max_length": "len", "batch_size": "bs", "train_fraction": "frac",
            "warmup_ratio": "warmup"}.get(key, key)


def _verdicts(rows: list[Row]) -> None:
    leader = rows[0]
    leader.verdict = "leader"
    for row in rows[1:]:
        shared = [seed for seed in row._predictions if seed in leader._predictions
                  and row._predictions[seed][2] == leader._predictions[seed][2]]
        if not shared:
            row.verdict = "n/a"
            continue
        first = np.concatenate([leader._predictions[s][0] == leader._predictions[s][1] for s in shared])
        second = np.concatenate([row._predictions[s][0] == row._predictions[s][1] for s in shared])
        test = mcnemar(first, second)
        row.p_value = test.p_value
        row.verdict = f"{'sig.' if test.significant else 'noise'} p={test.p_value:.2g}"
