"""The leaderboard: variants ranked by their primary metric's mean over seeds, with a 95% interval, medals, and
a verdict on whether each one's difference from the leader is real.

A row is a *variant*: everything a trial was configured with except its seed. Compressed models (from a
study's ``compress:`` step or ``bakeoff compress``) are rows of their own, beside the model they came from.
Two baselines join every leaderboard (majority class; TF-IDF + logistic regression: ``baselines.py``).
Each row's verdict against the leader counts both seed and example noise (``verdict.py``), Holm-adjusted over
the rows; rows measured on different validation rows get no verdict ("n/a"). Runs that predict one class or
score at or below the majority baseline are named "failed to learn", with a hint.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bakeoff.eval.metrics import METRICS, metric_info
from bakeoff.report.baselines import MAJORITY, baselines_for
from bakeoff.report.stats import mean_interval
from bakeoff.report.verdict import (
    CONFUSION_METRICS,
    Comparison,
    compare,
    compare_values,
    holm,
    minimum_detectable_effect,
    single_class,
)
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
    p_value: float | None = None  # Holm-adjusted, against the leader
    difference: float | None = None  # leader minus this row, in metric units
    difference_low: float | None = None
    difference_high: float | None = None
    verdict_scope: str = ""
    baseline: bool = False
    failed_to_learn: str = ""  # why, when some or all of its seeds did not learn
    run_paths: list[str] = field(default_factory=list, repr=False)  # one run folder per seed
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
    minimum_detectable_effect: float | None = None
    caption: str = ""  # the verdict's method and the minimum detectable effect, in words
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "metric": self.metric, "higher_is_better": self.higher_is_better,
                "minimum_detectable_effect": self.minimum_detectable_effect, "caption": self.caption,
                "notes": self.notes, "rows": [row.to_dict() for row in self.rows]}

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


def build(project: str, store: Store | None = None, baselines: bool = True) -> Leaderboard:
    """The leaderboard of every COMPLETED run in ``project``, with the two baselines unless ``baselines=False``."""
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
    notes: list[str] = []
    if baselines:
        rows += _baseline_rows(rows, store.root / project, metric, higher, notes)
    rows.sort(key=lambda r: r.mean, reverse=higher)
    for rank, row in enumerate(rows, start=1):
        row.rank, row.medal = rank, MEDALS[rank - 1] if rank <= 3 and len(rows) > 1 else ""
    _failed_to_learn(rows, metric, higher, notes)
    _verdicts(rows, metric)
    mde, caption = _power(rows)
    return Leaderboard(project, metric, higher, rows, mde, caption, notes)


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
               config=config, _predictions=predictions,
               run_paths=[str(e["run"].path) for e in sorted(entries, key=lambda e: e["result"]["config"]["seed"])])


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


def _baseline_rows(rows: list[Row], project_dir: Any, metric: str, higher: bool, notes: list[str]) -> list[Row]:
    """The baselines, trained on the leader's training split and scored on its validation rows."""
    if metric not in METRICS:
        return []
    leader = max(rows, key=lambda r: r.mean if higher else -r.mean)
    if not leader._predictions:
        return []
    config = {**leader.config, "seed": min(leader._predictions)}
    try:
        found, left_out = baselines_for(config, project_dir)
    except Exception as error:  # the data moved or is gone: the leaderboard still stands without baselines
        notes.append(f"no baselines: {error}")
        return []
    notes.extend(left_out)
    _, truth, fingerprint = leader._predictions[min(leader._predictions)]
    out = []
    for baseline in found:
        if baseline.predicted.size != truth.size:
            continue
        value = METRICS[metric].compute(truth, baseline.predicted, int(max(truth.max(), baseline.predicted.max())) + 1)
        out.append(Row(rank=0, medal="", label=f"baseline: {baseline.name}", model=baseline.name, task=leader.task,
                       method="baseline", seeds=[], metric=metric, mean=value, low=None, high=None, values=[value],
                       train_seconds=baseline.seconds, latency_p50_ms=None, size_mb=None, baseline=True,
                       config={"train_rows": baseline.train_rows},
                       _predictions={0: (baseline.predicted, truth, fingerprint)}))
    return out


FAILED_HINT = ("a run that failed to learn predicts one class or scores at or below the majority class: "
               "try more steps, warmup (warmup_ratio 0.1) or a lower learning rate (Mosbach et al. 2021)")


def _failed_to_learn(rows: list[Row], metric: str, higher: bool, notes: list[str]) -> None:
    majority = next((row for row in rows if row.baseline and row.model == MAJORITY), None)
    for row in rows:
        if row.baseline:
            continue
        failed = []
        for seed, value in zip(row.seeds, row.values, strict=True):
            one_class = seed in row._predictions and bool(single_class(row._predictions[seed][0])[0])
            below = majority is not None and (value <= majority.mean if higher else value >= majority.mean)
            if one_class or below:
                failed.append(f"seed {seed}" + (" predicts one class" if one_class else " at or below majority"))
        if failed:
            row.failed_to_learn = ("failed to learn" if len(failed) == len(row.seeds) else
                                   f"{len(failed)} of {len(row.seeds)} seeds failed to learn") + ": " + "; ".join(failed)
    if any(row.failed_to_learn for row in rows):
        notes.append(FAILED_HINT)


def _verdicts(rows: list[Row], metric: str) -> None:
    """Each row against the leader, both noise sources counted; Holm over the rows that got a p-value."""
    leader = rows[0]
    leader.verdict = "leader"
    tested: list[tuple[Row, Comparison]] = []
    for row in rows[1:]:
        comparison = _compare(leader, row, metric)
        if comparison is None:
            row.verdict = "n/a: different validation rows" if row._predictions else "n/a: one seed, no predictions"
            continue
        tested.append((row, comparison))
    for (row, comparison), adjusted in zip(tested, holm([c.p_value for _, c in tested]), strict=True):
        comparison.p_adjusted = adjusted
        row.verdict, row.p_value, row.verdict_scope = comparison.text, adjusted, comparison.scope
        row.difference, row.difference_low, row.difference_high = (comparison.difference, comparison.low,
                                                                   comparison.high)
    for row in rows:
        if row.failed_to_learn and not row.failed_to_learn.startswith(tuple("0123456789")):
            row.verdict = f"failed to learn; {row.verdict}" if row.verdict != "leader" else "leader; failed to learn"


def _compare(leader: Row, row: Row, metric: str) -> Comparison | None:
    fingerprint = _fingerprint(leader)
    if metric in CONFUSION_METRICS and fingerprint is not None and fingerprint == _fingerprint(row):
        first, truth = _stack(leader)
        second, _ = _stack(row)
        comparison = compare(first, second, truth, metric=metric, first_seeds=leader.seeds, second_seeds=row.seeds,
                             first_fixed=leader.baseline, second_fixed=row.baseline)
    elif fingerprint is not None and _fingerprint(row) is not None:
        return None  # scored on different validation rows: never compared
    else:
        comparison = compare_values(leader.values, row.values)
    if comparison is not None and metric == "loss":  # lower is better: keep "leader minus row" meaning "better by"
        comparison.difference = -comparison.difference
    return comparison


def _fingerprint(row: Row) -> str | None:
    """The validation rows every seed of this row was scored on, if they are the same rows (else None)."""
    found = {prediction[2] for prediction in row._predictions.values()}
    if len(found) != 1 or len(row._predictions) != max(len(row.seeds), 1):
        return None
    return found.pop()


def _stack(row: Row) -> tuple[np.ndarray, np.ndarray]:
    keys = sorted(row._predictions)
    return np.stack([row._predictions[k][0] for k in keys]), row._predictions[keys[0]][1]


def _power(rows: list[Row]) -> tuple[float | None, str]:
    """The minimum detectable effect of this leaderboard, and the caption that states it."""
    method = ("vs leader: difference (leader minus row), counting seed AND example noise, Holm-adjusted p; "
              "sig. = significant at 5%, noise = within noise")
    trained = [row for row in rows if not row.baseline and row._predictions]
    spreads = [float(np.var(row.values, ddof=1)) for row in trained if len(row.values) > 1]
    if not trained or not rows[0]._predictions:
        return None, method
    leader_predictions, truth = _stack(rows[0])
    disagreement = [float((_stack(row)[0][0] != leader_predictions[0]).mean()) for row in rows[1:]
                    if row._predictions and not row.baseline and not row.failed_to_learn
                    and _fingerprint(row) == _fingerprint(rows[0])]
    seeds = int(np.median([len(row.seeds) for row in trained]))
    seed_sd = float(np.sqrt(np.mean(spreads))) if spreads else 0.0
    share = float(np.median(disagreement)) if disagreement else 0.1
    mde = minimum_detectable_effect(truth.size, seeds, seed_sd, share)
    unit = 100 if rows[0].metric in CONFUSION_METRICS else 1
    return mde, (f"{method}. Minimum detectable effect: with {truth.size} validation rows and {seeds} seed(s) "
                 f"(seed spread {seed_sd * unit:.1f} points, {share:.0%} of rows answered differently), gaps under "
                 f"{mde * unit:.1f} points cannot be told from noise at 80% power")
