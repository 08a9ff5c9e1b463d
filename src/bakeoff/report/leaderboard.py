"""The leaderboard: variants ranked by their primary metric's mean over seeds, with a 95% interval, medals, and
a verdict on whether each one's difference from the leader is real.

A row is a *variant*: everything a trial was configured with except its seed. Compressed models (from a
study's ``compress:`` step or ``bakeoff compress``) are rows of their own, beside the model they came from.
Rows are ranked only against rows of the same task scored on the same split: a leaderboard holds one
``Ranking`` per (task, split), and predictions are only ever paired with the labels of their own split.
Two baselines join every ranking (majority class; TF-IDF + logistic regression: ``baselines.py``), trained
on the training split of that ranking's leader and scored on the ranking's split.
Each row's verdict against the leader counts both seed and example noise (``verdict.py``), Holm-adjusted over
the rows of its ranking; rows measured on different rows get no verdict ("n/a"). Runs that predict one class
or score at or below the majority baseline are named "failed to learn", with a hint. Each ranking states its
minimum detectable effect.

Embedding runs (``evaluate_embeddings``, or an embedding study's trials) are *frozen* rows, ranked per task,
split and embedding kind (pairs, probe, retrieval) by their kind's primary metric. A probe's predictions pair
like a trained run's (and meet the same baselines); pair scores (average precision) and query ranks (nDCG@10)
pair through ``compare_scores``. A frozen row scored once has no seed noise: its interval and verdict count the
examples (pairs, queries, rows) alone, and say so.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from bakeoff.config import identity, model_label, variant_of
from bakeoff.errors import BakeoffError
from bakeoff.io import read_json
from bakeoff.metrics import METRICS, metric_info, metric_range
from bakeoff.report import frozen
from bakeoff.problems import SINGLE_LABEL, PerRow, Problem, get_problem
from bakeoff.problems.multi_label import MAX_BITMASK_LABELS
from bakeoff.report.baselines import TRIVIAL, baselines_for
from bakeoff.report.decision import (
    Answer,
    Decision,
    decide,
    points,
    points_text,
    reversed_comparison,
    tolerance_of,
)
from bakeoff.report.ranks import RankIntervals, rank_intervals
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
from bakeoff.runs.files import PREDICTIONS_FILE, RESULT_FILE, compression_reports
from bakeoff.runs.results import (
    CompressReport,
    DataInfo,
    EmbeddingEvalResult,
    TrainResult,
    load_result,
)
from bakeoff.track import Run, Store

MEDALS = ("🥇", "🥈", "🥉")
FROZEN = "frozen"  # a row's method when it scores a frozen encoder's embeddings (nothing trained)
IGNORED_IN_LABEL = ("model", "seed", "task")  # shown in their own columns


class Learning(StrEnum):
    """Did a row's runs learn? (``failed_to_learn`` says why not, in words)"""

    LEARNED = "learned"
    SOME_SEEDS_FAILED = "some seeds failed to learn"
    FAILED = "failed to learn"


@dataclass(frozen=True)
class Row:
    """One variant of a ranking: what its seeds measured and, once ranked (``_rank``), its place and its verdict
    against the leader. An immutable value: ranking builds new rows, each once, from the measured rows and the
    comparisons made first. The fields from ``predictions`` on are the evidence the verdicts pair; they are never
    written to JSON or CSV."""

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
    verdict: str = ""  # the "vs leader" cell: the answer, the difference and its interval, Holm's p
    p_value: float | None = None  # Holm-adjusted over the ranking, against the leader
    difference: float | None = None  # leader minus this row, in metric units
    difference_low: float | None = None
    difference_high: float | None = None
    verdict_scope: str = ""
    rank_low: int = 0  # the plausible ranks given every pair's verdict (ranks.py); 0 before ranking
    rank_high: int = 0
    baseline: bool = False
    failed_to_learn: str = ""  # why, when some or all of its seeds did not learn
    run_paths: list[str] = field(default_factory=list, repr=False)  # one run folder per seed
    config: dict[str, Any] = field(default_factory=dict, repr=False)
    kind: str = ""  # an embedding row's kind (pairs, probe, retrieval); "" for trained rows
    deterministic: bool = False  # a frozen row whose score no seed can change (no training subset)
    decision: Decision | None = field(default=None, repr=False)  # against the leader: report/decision.py
    latency_busy: str | None = None  # why its latency is unreliable: measured while the machine was busy
    answer: Answer = Answer.NO_VERDICT  # against the leader: LEADER, decide's answer, or NO_VERDICT (unranked too)
    learning: Learning = Learning.LEARNED
    # per seed: predicted label ids, for metrics of the confusion counts (and a probe's)
    predictions: dict[int, frozen.Predictions] = field(default_factory=dict, repr=False)
    # per seed: per-example values, for metrics of scores and ranks
    scores: dict[int, frozen.Scores] = field(default_factory=dict, repr=False)
    # how ``scores`` make the metric, for a trained row of a regression or multi-label run (its problem type's)
    per_row: PerRow | None = field(default=None, repr=False)
    problem: Problem | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(replace(self, predictions={}, scores={}, per_row=None, problem=None, decision=None))
        for name in NOT_WRITTEN:
            out.pop(name)
        out["decision"] = self.decision.to_dict() if self.decision else None
        return out


NOT_WRITTEN = ("answer", "learning", "predictions", "scores", "per_row", "problem")  # Row fields JSON/CSV leave out


@dataclass
class Ranking:
    """The rows of one task scored on one split, best first by the task's primary metric."""

    task: str
    split: str
    metric: str
    higher_is_better: bool
    rows: list[Row]
    minimum_detectable_effect: float | None = None
    caption: str = ""  # the verdict's method and the minimum detectable effect, in words
    kind: str = ""  # embedding kind of a ranking of frozen rows (pairs, probe, retrieval); "" for trained rows
    adjacent_ties: list[int] = field(default_factory=list)  # i: rows[i] and rows[i + 1] cannot be told apart
    tolerance: float = 0.01  # the largest difference that does not matter, in the metric's units (decision.py)
    data: str = ""  # which data, where one task was run on several data sets (by fingerprint); else ""

    @property
    def name(self) -> str:
        """The task, the embedding kind for a ranking of frozen embeddings, and the data where one task was run on
        several data sets: ``mrpc``, ``mrpc pairs``, ``custom [data a.csv]``."""
        return (f"{self.task} {self.kind}" if self.kind else self.task) + (f" [{self.data}]" if self.data else "")

    @property
    def trained(self) -> list[Row]:
        """The rows that are not baselines."""
        return [row for row in self.rows if not row.baseline]

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "kind": self.kind, "split": self.split, "metric": self.metric,
                "higher_is_better": self.higher_is_better,
                "minimum_detectable_effect": self.minimum_detectable_effect, "caption": self.caption,
                "adjacent_ties": self.adjacent_ties, "tolerance": self.tolerance, "data": self.data,
                "tolerance_points": self.tolerance * points(self.metric),
                "rows": [row.to_dict() for row in self.rows]}


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
                   "train_seconds", "latency_p50_ms", "size_mb", "verdict", "p_value", "kind",
                   "rank_low", "rank_high", "answer"]  # appended last: scripts may read the others by position
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({**row.to_dict(), "seeds": " ".join(map(str, row.seeds)),
                             "answer": row.decision.answer.value if row.decision else ""})
        return buffer.getvalue()


@dataclass
class _Entry:
    """One finished run (and, for a compressed row, one of its compression reports)."""

    run: Run
    result: TrainResult | EmbeddingEvalResult
    rung: int
    predictions: dict[str, Any]
    report: CompressReport | None = None

    @property
    def split(self) -> str:
        if isinstance(self.result, EmbeddingEvalResult):
            return self.result.split
        return self.report.split if self.report else "validation"

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the rows this entry was scored on ("" when the run did not record one)."""
        data = self.result.data
        found = data.fingerprints if isinstance(data, DataInfo) else (data or {}).get("fingerprints") or {}
        return str(found.get(self.split) or "")


def build(project: str, store: Store | None = None, baselines: bool = True,
          tolerance: float | None = None) -> Leaderboard:
    """The leaderboard of every COMPLETED run in ``project``: one ranking per task and split, each with the two
    baselines unless ``baselines=False``; ``tolerance`` (points of the metric, default 1) decides equivalence."""
    store = store or Store()
    groups: dict[tuple[str, str, str], list[_Entry]] = {}
    notes: list[str] = []
    for run in _study_runs(project, store, notes):
        try:
            result = load_result(run.path / RESULT_FILE)
        except BakeoffError as error:
            notes.append(f"{run.name}: left out ({error})")
            continue
        rung = max([int(t.split(":", 1)[1]) for t in run.info.get("tags") or [] if t.startswith("rung:")] or [0])
        if isinstance(result, EmbeddingEvalResult):
            groups.setdefault((variant_of(result.config), FROZEN, result.split), []).append(
                _Entry(run, result, rung, {}))
            continue
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
    data_sets = _data_sets(groups)
    by_ranking: dict[tuple[str, str, str, str], list[Row]] = {}
    for key, entries in groups.items():
        row = _frozen_row(entries) if key[1] == FROZEN else _row(entries, key[1])
        by_ranking.setdefault((row.task, key[2], row.kind, data_sets[key]), []).append(row)
    named = _name_data_sets(by_ranking, notes)
    rankings = [_rank(task, split, rows, store.root / project if baselines else None, notes, kind, tolerance,
                      named[(task, split, kind, data)])
                for (task, split, kind, data), rows in sorted(by_ranking.items(), key=_order)]
    return Leaderboard(project, rankings, notes)


def _study_runs(project: str, store: Store, notes: list[str]) -> list[Run]:
    """The finished runs of ``project``; when it holds a study's runs (tagged ``study:<project>``), those only: a
    run trained by hand with ``--project <study>`` did not follow the study's design, and is named, not ranked."""
    finished = [run for run in store.list(project)
                if run.status == "COMPLETED" and (run.path / RESULT_FILE).is_file()]
    tag = f"study:{project}"
    members = [run for run in finished if tag in (run.info.get("tags") or [])]
    if not members or len(members) == len(finished):
        return finished
    outside = [run.name for run in finished if tag not in (run.info.get("tags") or [])]
    shown = ", ".join(outside[:5]) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
    notes.append(f"{len(outside)} run(s) in project {project!r} were not run by study {project!r} (trained by hand "
                 f"with --project {project}?) and are left out of its leaderboard: {shown}. Train them under "
                 "another --project to rank them apart, or add them to the study file")
    return members


def _data_sets(groups: dict[tuple[str, str, str], list[_Entry]]) -> dict[tuple[str, str, str], str]:
    """Which data each row was measured on, by fingerprint: rows whose runs were scored on the same rows (the same
    fingerprint of the same split) are on the same data; so are the seeds of one row and the compressed copies of
    one run (a file split per seed has a fingerprint per seed). Returns one data-set id per row (group)."""
    parent = {key: key for key in groups}

    def root(key: tuple[str, str, str]) -> tuple[str, str, str]:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    first_seen: dict[tuple[str, str], tuple[str, str, str]] = {}
    for key, entries in groups.items():
        for entry in entries:
            for link in ((entry.split, entry.fingerprint), ("run", str(entry.run.path))):
                if not link[1]:
                    continue
                other = first_seen.setdefault(link, key)
                parent[root(key)] = root(other)
    roots = {root(key) for key in groups}
    ids = {found: str(index) for index, found in enumerate(sorted(roots))}
    return {key: ids[root(key)] for key in groups}


def _name_data_sets(by_ranking: dict[tuple[str, str, str, str], list[Row]],
                    notes: list[str]) -> dict[tuple[str, str, str, str], str]:
    """A name for each ranking's data where one task was run on several data sets (else ""), and a note."""
    seen: dict[tuple[str, str, str], list[tuple[str, str, str, str]]] = {}
    for key in by_ranking:
        seen.setdefault(key[:3], []).append(key)
    names = {key: "" for key in by_ranking}
    for (task, split, _), keys in seen.items():
        if len(keys) < 2:
            continue
        for key in keys:
            sources = sorted({Path(str(row.config.get("data"))).name if row.config.get("data") else "task data"
                              for row in by_ranking[key]})
            names[key] = "data " + ", ".join(sources)
        if len({names[key] for key in keys}) < len(keys):  # the same file name holding other rows: number them
            for number, key in enumerate(keys, start=1):
                names[key] = f"{names[key]} #{number}"
        notes.append(f"{task} ({split}) was run on {len(keys)} different data sets (by the fingerprint of the "
                     f"{split} rows): {'; '.join(names[key] for key in keys)}. Each is ranked apart; rows on "
                     "different data are never compared")
    return names


def _order(item: tuple[tuple[str, str, str, str], list[Row]]) -> tuple[str, str, int, str, str]:
    (task, split, kind, data), _ = item
    known = ("validation", "test", "train")
    return task, kind, known.index(split) if split in known else 3, split, data


def _rank(task: str, split: str, rows: list[Row], project_dir: Path | None, notes: list[str],
          kind: str = "", tolerance_points: float | None = None, data: str = "") -> Ranking:
    """One ranking from its measured rows: labelled, with the baselines, best first, then placed and judged."""
    metric = rows[0].metric  # the task's primary metric: every row of one task has it
    higher = metric_info(metric).higher_is_better
    tolerance = tolerance_of(metric, tolerance_points)
    measured = _labelled(rows)
    if project_dir is not None:
        measured += _baseline_rows(measured, project_dir, split, metric, higher, notes)
    measured = [replace(row, kind=kind) for row in measured]  # the baselines join the ranking's kind (a probe's)
    measured.sort(key=lambda r: r.mean, reverse=higher)
    ranked, comparisons, told_apart = _placed(measured, metric, higher, tolerance, notes)
    method = verdict_method(metric, tolerance)
    if ranked[0].scores:
        mde, caption = frozen.score_power(ranked, comparisons[1:], split, method)
    else:
        mde, caption = _power(ranked, split, method)
    if kind:
        caption += (". Frozen-embedding rows: the 95% interval counts the examples (jackknife) and the seeds; "
                    "a deterministic row has no seed noise")
    return Ranking(task, split, metric, higher, ranked, mde, caption, kind,
                   adjacent_ties=told_apart.untold_neighbours(), tolerance=tolerance, data=data)


def _placed(rows: list[Row], metric: str, higher: bool, tolerance: float,
            notes: list[str]) -> tuple[list[Row], list[Comparison | None], RankIntervals]:
    """``rows`` (best first) ranked: each built once with its rank and medal, whether it learned, its verdict against
    the first row and its rank interval. Also returns the comparisons with the first row (None for the first
    row and for rows it cannot be compared with) and the rank intervals."""
    comparisons = [None, *(compare_rows(rows[0], row, metric) for row in rows[1:])]
    failures = _failed_to_learn(rows, higher, notes)
    verdicts = _verdicts(rows, comparisons, metric, tolerance, failures)
    intervals = rank_intervals(rows, lambda a, b: compare_rows(a, b, metric), higher)
    places = _places(rows)
    ranked = [replace(row, rank=rank, medal=medal, learning=learning, failed_to_learn=why, **verdict.fields(),
                      rank_low=low, rank_high=high)
              for row, (rank, medal), (learning, why), verdict, (low, high)
              in zip(rows, places, failures, verdicts, intervals.intervals, strict=True)]
    return ranked, comparisons, intervals


def _places(rows: list[Row]) -> list[tuple[int, str]]:
    """Rank and medal of each row (best first): exact ties share a rank and its medal (1, 1, 3, ...)."""
    places: list[tuple[int, str]] = []
    for position, row in enumerate(rows, start=1):
        tied = position > 1 and math.isclose(row.mean, rows[position - 2].mean, rel_tol=0, abs_tol=1e-12)
        rank = places[-1][0] if tied else position
        places.append((rank, MEDALS[rank - 1] if rank <= 3 and len(rows) > 1 else ""))
    return places


def verdict_method(metric: str, tolerance: float) -> str:
    """How 'vs leader' reads, with the tolerance: the start of every ranking's caption."""
    scale = points(metric)
    unit = "points" if scale == 100 else f"{metric} units"
    amount = points_text(tolerance * scale) if scale == 100 else f"{tolerance * scale:g} {unit}"
    return (f"vs leader: row minus leader in {unit} [90% interval] and Holm-adjusted p, seed AND example noise "
            f"counted; tolerance {amount}. better/worse = significant at 5% (Holm-adjusted); equivalent = the whole "
            f"interval within ±{tolerance * scale:g} (two one-sided tests, TOST); undecided = neither: more seeds "
            "or more evaluation rows would decide it (`bakeoff run FILE --dry-run` says how many)")


def _row(entries: list[_Entry], method: str) -> Row:
    first = entries[0]
    split = first.split
    metric = first.result.validation.primary_metric
    # the run's problem type says how its stored answers pair: label ids by ``compare``; scores and label sets as
    # per-row values through its own statistic (``compare_scores``)
    problem = get_problem(first.predictions.get("problem_type") or first.result.data.problem_type)
    label_count = len(first.predictions.get("label_names") or first.result.data.label_names)
    per_row = problem.per_row_metrics(label_count).get(metric)
    values, seeds, seconds, latency, paths = [], [], [], [], []
    predictions: dict[int, frozen.Predictions] = {}
    scores: dict[int, frozen.Scores] = {}
    size, busy = None, []
    for entry in sorted(entries, key=lambda e: e.result.config["seed"]):
        result, seed = entry.result, entry.result.config["seed"]
        stored = entry.predictions.get(split) or {}
        fingerprint = (entry.predictions.get("fingerprints") or {}).get(split, "")
        seeds.append(seed)
        paths.append(str(entry.run.path))
        seconds.append(result.training.seconds)
        if entry.report is None:
            values.append(result.validation.metrics[metric])
            side_by_side = _side_by_side(entry)
            latency.append(side_by_side.latency_p50_ms if side_by_side else result.latency_ms.get("p50"))
            busy.append(((side_by_side.bench if side_by_side else result.latency_ms).get("conditions") or {})
                        .get("busy"))
            weights = result.model.weights_bytes
            size = weights / 1e6 if weights else None  # weights only, as for compressed rows
            labels = stored.get("predicted")
        else:
            values.append(entry.report.compressed.metrics[metric])
            latency.append(entry.report.compressed.latency_p50_ms)
            busy.append(entry.report.change.timing_busy)
            size = entry.report.compressed.weights_bytes / 1e6
            labels = entry.report.predictions
        if labels is not None and stored.get("true") is not None and len(labels) == len(stored["true"]):
            if per_row is not None:
                scored, truth = problem.verdict_values(problem.from_stored(labels, label_count),
                                                       problem.from_stored(stored["true"], label_count))
                scores[seed] = (np.asarray(scored, dtype=float), truth, fingerprint)
            elif problem is SINGLE_LABEL:  # label ids; scores or label sets with no per-row form: seeds alone
                predictions[seed] = (np.asarray(labels), np.asarray(stored["true"]), fingerprint)
    mean, low, high = mean_interval(values)
    if low is not None and high is not None:  # a metric cannot leave its range however wide the interval
        floor, ceiling = metric_range(metric)
        low, high = max(low, floor), min(high, ceiling)
    latencies = [v for v in latency if v is not None]
    config = first.result.config
    return Row(rank=0, medal="", label="", model=_model_name(str(config["model"])),
               task=str(config.get("task") or first.result.data.task or "custom"), split=split,
               method=method, seeds=seeds, metric=metric, mean=mean, low=low, high=high, values=values,
               train_seconds=sum(seconds) / len(seconds),
               latency_p50_ms=sum(latencies) / len(latencies) if latencies else None, size_mb=size,
               config=config, predictions=predictions, run_paths=paths, scores=scores, per_row=per_row,
               problem=problem, latency_busy="; ".join(dict.fromkeys(b for b in busy if b)) or None)


def _frozen_row(entries: list[_Entry]) -> Row:
    """One embedding variant (its seeds): the metric per seed, and per-example values for paired verdicts."""
    results = sorted((e.result for e in entries if isinstance(e.result, EmbeddingEvalResult)), key=lambda r: r.seed)
    first = results[0]
    metric, split = first.primary_metric, first.split
    values, seeds, predictions, scores = [], [], {}, {}
    for result in results:
        seeds.append(result.seed)
        values.append(result.metrics[metric])
        scored, predicted = frozen.per_example_of(result)
        if scored is not None:
            scores[result.seed] = scored
        if predicted is not None:
            predictions[result.seed] = predicted
    config = first.config
    mean, low, high = mean_interval(values)
    row = Row(rank=0, medal="", label="", model=_model_name(str(config.get("model"))), task=first.task,
              split=split, method=FROZEN, seeds=seeds, metric=metric, mean=mean, low=low, high=high, values=values,
              train_seconds=None, latency_p50_ms=None, size_mb=None, run_paths=[str(e.run.path) for e in entries],
              config=config, kind=first.kind, deterministic=frozen.is_deterministic(first),
              predictions=predictions, scores=scores)
    low, high = frozen.example_interval(row)  # the seeds' interval above, replaced by one that counts the examples
    return replace(row, low=low, high=high)


def _side_by_side(entry: _Entry) -> Any:
    """The original model as its compression report measured it (a ``MeasuredModel``), when it has one: measured
    minutes apart from the compressed model's, in a fresh process each, so the two rows compare like for like. The
    figure taken at the end of training ran at another moment of the machine's load: mixing the two once made int8
    look 3.4x slower while the side-by-side measurement said 1.42x faster."""
    for path in compression_reports(entry.run.path):
        try:
            return CompressReport.load(path).original
        except BakeoffError:
            continue
    return None


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


def _labelled(rows: list[Row]) -> list[Row]:
    """Each row named by its model plus the settings that differ between rows (and the task if several)."""
    keys = sorted({k for row in rows for k in identity(row.config)} - set(IGNORED_IN_LABEL))
    varying = [k for k in keys if len({json.dumps(row.config.get(k), default=str) for row in rows}) > 1]
    return [replace(row, label=" ".join([row.model, *(f"{short_setting(k)}={row.config.get(k)}" for k in varying)])
                    + ("" if row.method in ("trained", FROZEN) else f" +{row.method}")) for row in rows]


def short_setting(key: str) -> str:
    return {"learning_rate": "lr", "max_length": "len", "batch_size": "bs", "train_fraction": "frac",
            "warmup_ratio": "warmup"}.get(key, key)


def _baseline_rows(rows: list[Row], project_dir: Path, split: str, metric: str, higher: bool,
                   notes: list[str]) -> list[Row]:
    """The baselines of one ranking: trained on its leader's training split, scored on the ranking's split.

    A ranking of label ids pairs them by their predictions; one of scores or label sets (a regression or
    multi-label task) by the per-row values its problem type makes of them."""
    scored = [row for row in rows if (row.predictions and metric in METRICS) or row.per_row is not None]
    if not scored:
        unpaired = next((row for row in rows if row.problem not in (None, SINGLE_LABEL)), None)
        if unpaired is not None:  # e.g. multi-label past MAX_BITMASK_LABELS labels, or average_precision
            note = (f"{unpaired.task} ({split}): {metric} of a {unpaired.problem.name} task has no per-row form "
                    f"here (more than {MAX_BITMASK_LABELS} labels, or a threshold-free metric): rows are compared by "
                    "their seeds alone, without baselines")
            notes.extend([note] if note not in notes else [])
        return []
    leader = max(scored, key=lambda r: r.mean if higher else -r.mean)
    per_row, problem = leader.per_row, leader.problem or SINGLE_LABEL
    evidence: dict[int, Any] = leader.scores if per_row is not None else leader.predictions
    seed = min(evidence)
    fingerprint, rows_scored = evidence[seed][2], len(evidence[seed][0])
    try:
        found, left_out = baselines_for({**leader.config, "seed": seed}, project_dir, split)
    except Exception as error:  # the data moved or is gone: the ranking still stands without baselines
        notes.append(f"{leader.task} ({split}): no baselines: {error}")
        return []
    notes.extend(note for note in left_out if note not in notes)
    out = []
    for baseline in found:
        if baseline.fingerprint != fingerprint or len(baseline.predicted) != rows_scored:
            continue  # not the rows this ranking was scored on: never paired
        if per_row is not None:
            assert baseline.truth is not None
            values, truth = problem.verdict_values(baseline.predicted, baseline.truth)
            scored_values = np.asarray(values, dtype=float)
            mean = float(per_row.statistic(scored_values, truth))
            paired = {"scores": {0: (scored_values, truth, fingerprint)}, "per_row": per_row, "problem": problem,
                      "deterministic": True}
        else:
            truth = leader.predictions[seed][1]
            classes = int(max(truth.max(), baseline.predicted.max())) + 1
            mean = METRICS[metric].compute(truth, baseline.predicted, classes)
            paired = {"predictions": {0: (baseline.predicted, truth, fingerprint)}}
        out.append(Row(rank=0, medal="", label=f"baseline: {baseline.name}", model=baseline.name, task=leader.task,
                       split=split, method="baseline", seeds=[], metric=metric, mean=mean, low=None, high=None,
                       values=[mean], train_seconds=baseline.seconds, latency_p50_ms=None, size_mb=None,
                       baseline=True, config={"train_rows": baseline.train_rows}, **paired))
    return out


FAILED_HINT = ("a run that failed to learn predicts one class or scores at or below the majority class: "
               "try more steps, warmup (warmup_ratio 0.1) or a lower learning rate (Mosbach et al. 2021)")
FROZEN_HINT = ("a probe on frozen embeddings that predicts one class or scores at or below the majority class finds "
               "no usable signal in the vectors: try another pooling, another model, or more training rows")


def _failed_to_learn(rows: list[Row], higher: bool, notes: list[str]) -> list[tuple[Learning, str]]:
    """Per row: did its seeds learn, and if not, why in words (a seed predicting one class, or scoring at or below
    the majority baseline). Adds the hint for what failed (trained rows, frozen probes) to ``notes``."""
    majority = next((row for row in rows if row.baseline and row.model in TRIVIAL), None)
    below_what = "majority" if majority is None or majority.model == TRIVIAL[0] else f"the {majority.model}"
    out: list[tuple[Learning, str]] = []
    for row in rows:
        failed = []
        for seed, value in zip(row.seeds, row.values, strict=True) if not row.baseline else ():
            one_class = seed in row.predictions and bool(single_class(row.predictions[seed][0])[0])
            below = majority is not None and (value <= majority.mean if higher else value >= majority.mean)
            if one_class or below:
                failed.append(f"seed {seed}" + (" predicts one class" if one_class else f" at or below {below_what}"))
        if not failed:
            out.append((Learning.LEARNED, ""))
        elif len(failed) == len(row.seeds):
            out.append((Learning.FAILED, "failed to learn: " + "; ".join(failed)))
        else:
            out.append((Learning.SOME_SEEDS_FAILED,
                        f"{len(failed)} of {len(row.seeds)} seeds failed to learn: " + "; ".join(failed)))
    trained_hint = FAILED_HINT if majority is None or majority.model == TRIVIAL[0] else (
        f"a run that failed to learn scores at or below the {majority.model}: "  # a score or a label set per row
        + FAILED_HINT.split(": ", 1)[1])
    for hint, frozen_rows in ((trained_hint, False), (FROZEN_HINT, True)):  # nothing was trained in a frozen row
        if any(learning is not Learning.LEARNED and (row.method == FROZEN) == frozen_rows
               for row, (learning, _) in zip(rows, out, strict=True)) and hint not in notes:
            notes.append(hint)
    return out


@dataclass(frozen=True)
class Verdict:
    """One row against its ranking's leader: the answer, the "vs leader" cell, and the comparison behind it (its p
    Holm-adjusted over the ranking; None for the leader and rows it cannot be compared with)."""

    answer: Answer
    text: str
    comparison: Comparison | None = None
    decision: Decision | None = None

    def fields(self) -> dict[str, Any]:
        """The Row fields this verdict sets."""
        found = self.comparison
        return {"answer": self.answer, "verdict": self.text, "decision": self.decision,
                "p_value": found.p_adjusted if found else None, "verdict_scope": found.scope if found else "",
                "difference": found.difference if found else None, "difference_low": found.low if found else None,
                "difference_high": found.high if found else None}


def _verdicts(rows: list[Row], comparisons: list[Comparison | None], metric: str, tolerance: float,
              failures: list[tuple[Learning, str]]) -> list[Verdict]:
    """Each row against the leader (``rows[0]``; ``comparisons[i]`` is ``compare_rows(rows[0], rows[i])``), both
    noise sources counted; Holm over the rows that got a p-value; then one of the three answers (better/worse,
    equivalent within ``tolerance``, undecided: ``decision.py``). A row whose every seed failed to learn says so."""
    tested = {i: comparison for i, comparison in enumerate(comparisons) if i > 0 and comparison is not None}
    holm_adjusted = {i: replace(comparison, p_adjusted=p) for (i, comparison), p
                     in zip(tested.items(), holm([c.p_value for c in tested.values()]), strict=True)}
    verdicts = []
    for i, (row, (learning, _)) in enumerate(zip(rows, failures, strict=True)):
        failed = learning is Learning.FAILED
        if i == 0:
            verdicts.append(Verdict(Answer.LEADER, "leader; failed to learn" if failed else "leader"))
            continue
        comparison = holm_adjusted.get(i)
        if comparison is None:
            text = "n/a: different rows" if row.predictions or row.scores else "n/a: one seed, no predictions"
            verdicts.append(Verdict(Answer.NO_VERDICT, f"failed to learn; {text}" if failed else text))
            continue
        decision = decide(reversed_comparison(comparison), tolerance)
        text = f"{decision.text(points(metric))} {comparison.text.split(' ', 1)[1]}"  # with Holm's p
        verdicts.append(Verdict(decision.answer, f"failed to learn; {text}" if failed else text, comparison,
                                decision))
    return verdicts


def compare_rows(leader: Row, row: Row, metric: str) -> Comparison | None:
    """``leader`` against ``row`` (two rows of one ranking), or None when they were scored on different rows.

    >>> compare_rows(Row(1, "", "a", "a", "t", "validation", "trained", [1], "accuracy", 0.9, None, None, [0.9],
    ...                  None, None, None), Row(2, "", "b", "b", "t", "validation", "trained", [1], "accuracy", 0.8,
    ...                  None, None, [0.8], None, None, None), "accuracy") is None  # one seed, no predictions
    True
    """
    if leader.split != row.split:
        return None  # never paired across splits
    if leader.scores or row.scores:
        return frozen.compare_scored(leader, row, metric, same_runs(leader, row))
    fingerprint = _fingerprint(leader)
    if metric in CONFUSION_METRICS and fingerprint is not None and fingerprint == _fingerprint(row):
        first, truth = _stack(leader)
        second, _ = _stack(row)
        comparison = compare(first, second, truth, metric=metric, first_seeds=leader.seeds, second_seeds=row.seeds,
                             first_fixed=leader.baseline or leader.deterministic,
                             second_fixed=row.baseline or row.deterministic, same_runs=same_runs(leader, row))
    elif fingerprint is not None and _fingerprint(row) is not None:
        return None  # scored on different rows: never compared
    else:
        comparison = compare_values(leader.values, row.values)
    if comparison is not None and metric == "loss":  # lower is better: keep "leader minus row" meaning "better by"
        comparison = replace(comparison, difference=-comparison.difference)
    return comparison


def same_runs(first: Row, second: Row) -> bool:
    """Were both rows measured on the same training runs (a compressed copy and its original)? Then their seeds
    are paired in a verdict (``verdict.py`` says why only then). Rows built by hand, without run folders, are the
    same runs when they are the same model and variant.

    >>> a = Row(1, "", "a", "m", "t", "validation", "trained", [1], "accuracy", 0.9, None, None, [0.9], None, None,
    ...         None, run_paths=["/runs/1"])
    >>> same_runs(a, a), same_runs(a, Row(**{**a.__dict__, "run_paths": ["/runs/2"]}))
    (True, False)
    """
    if first.run_paths or second.run_paths:
        return first.run_paths == second.run_paths
    return first.model == second.model and variant_of(first.config) == variant_of(second.config)


def _fingerprint(row: Row) -> str | None:
    """The rows every seed of this row was scored on, if they are the same rows (else None)."""
    found = {prediction[2] for prediction in row.predictions.values()}
    if len(found) != 1 or len(row.predictions) != max(len(row.seeds), 1):
        return None
    return found.pop()


def _stack(row: Row) -> tuple[np.ndarray, np.ndarray]:
    keys = sorted(row.predictions)
    return np.stack([row.predictions[k][0] for k in keys]), row.predictions[keys[0]][1]


def _power(rows: list[Row], split: str, method: str) -> tuple[float | None, str]:
    """The minimum detectable effect of one ranking, and the caption (starting with ``method``) that states it."""
    trained = [row for row in rows if not row.baseline and row.predictions]
    spreads = [float(np.var(row.values, ddof=1)) for row in trained if len(row.values) > 1]
    if not trained or not rows[0].predictions:
        return None, method
    leader_predictions, truth = _stack(rows[0])
    disagreement = [float((_stack(row)[0][0] != leader_predictions[0]).mean()) for row in rows[1:]
                    if row.predictions and not row.baseline and row.learning is Learning.LEARNED
                    and _fingerprint(row) == _fingerprint(rows[0])]
    seeds = int(np.median([len(row.seeds) for row in trained]))
    seed_sd = float(np.sqrt(np.mean(spreads))) if spreads else 0.0
    share = float(np.median(disagreement)) if disagreement else 0.1
    mde = minimum_detectable_effect(truth.size, seeds, seed_sd, share)
    unit = 100 if rows[0].metric in CONFUSION_METRICS else 1
    spread = f"seed spread {seed_sd * unit:.1f} points" if spreads else "seed spread unknown: one seed per row"
    return mde, (f"{method}. Minimum detectable effect: with {truth.size} {split} rows and {seeds} seed(s) "
                 f"({spread}, {share:.0%} of rows answered differently), gaps under "
                 f"{mde * unit:.1f} points cannot be told from noise at 80% power")
