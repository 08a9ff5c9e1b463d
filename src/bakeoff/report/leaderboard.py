"""The leaderboard: variants ranked by their primary metric's mean over seeds, with a 95% interval, medals, and
a verdict on whether each one's difference from the leader is real.

A row is a *variant*: everything a trial was configured with except its seed. Compressed models (from a
study's ``compress:`` step or ``bakeoff compress``) are rows of their own, beside the model they came from.
The verdict pools McNemar's paired test over the seeds both rows share, on the same validation rows: per
seed, the examples one row gets right and the other wrong. Rows measured on different validation rows get no
verdict ("n/a").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bakeoff.eval.metrics import metric_info
from bakeoff.eval.significance import mcnemar
from bakeoff.report.stats import mean_interval
from bakeoff.study.trials import variant_of
from bakeoff.track import Store
from bakeoff.track._files import read_json

MEDALS = ("🥇", "🥈", "🥉")
IGNORED_IN_LABEL = ("model", "seed", "task")


@dataclass
class Row:
    rank: int
    medal: str
    label: str
    model: str
    task: str
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
class Leaderboard:
    project: str
    metric: str
    higher_is_better: bool
    rows: list[Row]

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "metric": self.metric, "higher_is_better": self.higher_is_better,
                "rows": [row.to_dict() for row in self.rows]}

    def to_csv(self) -> str:
        import csv
        import io

        buffer = io.StringIO()
        columns = ["rank", "label", "model", "task", "method", "metric", "mean", "low", "high", "seeds",
                   "train_seconds", "latency_p50_ms", "size_mb", "verdict", "p_value"]
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({**row.to_dict(), "seeds": " ".join(map(str, row.seeds))})
        return buffer.getvalue()


def build(project: str, store: Store | None = None) -> Leaderboard:
    """The leaderboard of every COMPLETED run in ``project``."""
    store = store or Store()
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in store.list(project):
        result = read_json(run.path / "result.json", default=None)
        if run.status != "COMPLETED" or not isinstance(result, dict):
            continue
        rung = max([int(t.split(":", 1)[1]) for t in run.info.get("tags") or [] if t.startswith("rung:")] or [0])
        entry = {"run": run, "result": result, "rung": rung,
                 "predictions": read_json(run.path / "predictions.json", default=None) or {}}
        groups.setdefault((variant_of(result["config"]), "trained"), []).append(entry)
        for report_path in sorted((run.path / "compressed").glob("*/report.json")):
            report = read_json(report_path, default=None)
            if isinstance(report, dict):
                groups.setdefault((variant_of(result["config"]), report["method"]), []).append(
                    {**entry, "report": report})
    groups = _highest_rungs(groups)
    rows = [_row(entries, method) for (_, method), entries in groups.items()]
    if not rows:
        return Leaderboard(project, "accuracy", True, [])
    metric = _common_metric(rows)
    higher = metric_info(metric).higher_is_better
    rows = [row for row in rows if row.metric == metric]
    _label(rows)
    rows.sort(key=lambda r: r.mean, reverse=higher)
    for rank, row in enumerate(rows, start=1):
        row.rank, row.medal = rank, MEDALS[rank - 1] if rank <= 3 and len(rows) > 1 else ""
    _verdicts(rows)
    return Leaderboard(project, metric, higher, rows)


def _row(entries: list[dict[str, Any]], method: str) -> Row:
    first = entries[0]["result"]
    metric = first["validation"]["primary_metric"]
    values, seeds, seconds, latency, predictions = [], [], [], [], {}
    size = None
    for entry in sorted(entries, key=lambda e: e["result"]["config"]["seed"]):
        result, seed = entry["result"], entry["result"]["config"]["seed"]
        stored = entry["predictions"].get("validation") or {}
        fingerprint = (entry["predictions"].get("fingerprints") or {}).get("validation", "")
        seeds.append(seed)
        seconds.append(result["training"]["seconds"])
        if method == "trained":
            values.append(result["validation"]["metrics"][metric])
            latency.append((result.get("latency_ms") or {}).get("p50"))
            weights = (result["model"].get("checkpoint_files") or {}).get("model.safetensors")
            size = weights / 1e6 if weights else None  # weights only, as for compressed rows
            labels = stored.get("predicted")
        else:
            report = entry["report"]
            values.append(report["compressed"]["metrics"][metric])
            latency.append(report["compressed"]["bench"]["latency_ms"]["p50"])
            size = report["compressed"]["weights_bytes"] / 1e6
            labels = report.get("predictions")
        if labels is not None and stored.get("true") is not None and len(labels) == len(stored["true"]):
            predictions[seed] = (np.asarray(labels), np.asarray(stored["true"]), fingerprint)
    mean, low, high = mean_interval(values)
    if low is not None and high is not None:  # a metric cannot leave its range however wide the interval
        floor = -1.0 if metric == "mcc" else 0.0
        low, high = max(low, floor), min(high, 1.0) if metric != "loss" else high
    latencies = [v for v in latency if v is not None]
    config = first["config"]
    return Row(rank=0, medal="", label="", model=_model_name(str(config["model"])), task=str(config.get("task") or "custom"),
               method=method, seeds=seeds, metric=metric, mean=mean, low=low, high=high, values=values,
               train_seconds=sum(seconds) / len(seconds),
               latency_p50_ms=sum(latencies) / len(latencies) if latencies else None, size_mb=size,
               config=config, _predictions=predictions)


def _model_name(model: str) -> str:
    """An alias or hub id as given; a local folder by its last part."""
    return model.rstrip("/").rsplit("/", 1)[-1] if model.startswith(("/", ".", "~")) else model


def _highest_rungs(groups: dict[tuple[str, str], list[dict[str, Any]]]) -> dict[tuple[str, str], list[dict]]:
    """With successive halving, each variant counts at the longest budget it reached (its highest rung)."""
    best: dict[tuple[str, str], int] = {}
    for (variant, method), entries in groups.items():
        key = (_without_epochs(variant), method)
        best[key] = max(best.get(key, 0), max(e["rung"] for e in entries))
    return {(variant, method): entries for (variant, method), entries in groups.items()
            if max(e["rung"] for e in entries) == best[(_without_epochs(variant), method)]}


def _without_epochs(variant: str) -> str:
    values = json.loads(variant)
    values.pop("epochs", None)
    return json.dumps(values, sort_keys=True)


def _common_metric(rows: list[Row]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.metric] = counts.get(row.metric, 0) + 1
    return max(counts, key=lambda m: counts[m])


def _label(rows: list[Row]) -> None:
    """Name each row by its model plus the settings that differ between rows (and the task if several)."""
    keys = sorted({k for row in rows for k in row.config} - set(IGNORED_IN_LABEL) - {"project", "name", "quiet",
                                                                                      "threads", "tags", "device"})
    varying = [k for k in keys if len({json.dumps(row.config.get(k), default=str) for row in rows}) > 1]
    tasks = len({row.task for row in rows}) > 1
    for row in rows:
        parts = [row.model, *([row.task] if tasks else []),
                 *(f"{_short(k)}={row.config.get(k)}" for k in varying)]
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
