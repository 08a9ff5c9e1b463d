"""The report's sections, each built only when the study has what it needs: a title, sentences, a table, a chart.

Every section is plain data (``Section``), so one build feeds the HTML, the Markdown and the JSON. Sections are
built per ``Ranking`` (one task scored on one split): rows are never compared across tasks or splits.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bakeoff.config import TrainConfig, specs
from bakeoff.config.embedding import EmbeddingConfig
from bakeoff.errors import BakeoffError
from bakeoff.metrics import per_class
from bakeoff.report import svg
from bakeoff.report.decision import decide, points_text
from bakeoff.report.leaderboard import (
    FROZEN,
    IGNORED_IN_LABEL,
    Leaderboard,
    Ranking,
    Row,
    compare_rows,
    short_setting,
)
from bakeoff.report.ranks import interval_text
from bakeoff.runs.files import RESULT_FILE
from bakeoff.runs.results import EmbeddingEvalResult, TrainResult, load_result
from bakeoff.track.layout import read_metric

# how a run ran, not what it computed (the options outside a run's identity: nproc, threads, device, ...), and the
# evaluation batch size: never a setting panel
NOT_SETTINGS = {*IGNORED_IN_LABEL, "eval_batch_size",
                *(name for config in (TrainConfig, EmbeddingConfig) for name, spec in specs(config).items()
                  if not spec.identity)}
DISAGREEMENTS_SHOWN = 12
ADJACENT_SHOWN = 8  # adjacent pairs named in the leaderboard's sentence
LINES_SHOWN = 4  # lines per setting panel
CURVES_SHOWN = 6  # rows drawn in the learning curves, best first
LOSS_POINTS = 40  # training-loss points per curve (window means)


@dataclass
class Section:
    title: str
    sentences: list[str] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)  # first row: the header
    figures: list[str] = field(default_factory=list)  # inline SVG
    data: dict[str, Any] = field(default_factory=dict)  # what the JSON format carries

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "sentences": self.sentences, "table": self.table, "data": self.data}


def leaderboard_section(ranking: Ranking, notes: list[str] | None = None) -> Section:
    percent = ranking.metric != "loss"
    tolerance = ranking.tolerance * (100 if percent else 1)
    header = ["rank", "plausible ranks", "row", f"{ranking.metric} (mean over seeds)", "95% interval", "seeds",
              f"vs leader: row minus leader [90%], tolerance ±{tolerance:g}; Holm's p", "train s",
              "p50 ms (batch 1)", "MB"]
    table = [header]
    for row in ranking.rows:
        interval = f"[{row.low:.3f}, {row.high:.3f}]" if row.low is not None else "-"
        table.append([str(row.rank), interval_text(row.rank_low, row.rank_high) if row.rank_low else "-", row.label,
                      f"{row.mean:.4f}", interval, str(len(row.seeds)) if not row.baseline else "fixed", row.verdict,
                      seconds_text(row.train_seconds), _num(row.latency_p50_ms), _num(row.size_mb)])
    sentences = [ranking.caption, *(notes or [])]
    sentences += [f"{row.label}: {row.failed_to_learn}" for row in ranking.rows if row.failed_to_learn]
    sentences += _rank_sentences(ranking)
    return Section(f"Leaderboard: {ranking.name}, {ranking.split}", sentences, table, data=ranking.to_dict())


def _rank_sentences(ranking: Ranking) -> list[str]:
    """What the plausible ranks say: how they were made, and which adjacent rows cannot be told apart."""
    rows = ranking.rows
    if len(rows) < 2 or not rows[0].rank_low:
        return []
    out = [f"Plausible ranks: each row's best and worst rank given which pairs of rows differ significantly (the "
           f"same test, Holm-corrected over all {len(rows) * (len(rows) - 1) // 2} pairs, so more cautious than "
           "'vs leader')."]
    ties = ranking.adjacent_ties
    if not ties:
        out.append("Every pair of adjacent rows can be told apart.")
        return out
    shown = "; ".join(f"{rows[i].rank} {rows[i].label} and {rows[i + 1].rank} {rows[i + 1].label}"
                      for i in ties[:ADJACENT_SHOWN])
    more = f"; and {len(ties) - ADJACENT_SHOWN} more" if len(ties) > ADJACENT_SHOWN else ""
    out.append(f"Adjacent rows cannot be told apart in {len(ties)} of {len(rows) - 1} places: {shown}{more}.")
    return out


def setting_sections(ranking: Ranking) -> list[Section]:
    """One panel per swept setting (``pooling`` of frozen-embedding rows too), plus a heatmap per pair of numeric
    settings crossed as a grid.

    A study often holds several sweeps (seed 004: length x learning rate, then data fraction, then model size),
    so a setting is compared only between rows that differ in that setting alone: each such set is a line of
    the panel ("one line per lr"). A setting never varied alone (a ``zip`` that moves it with others) falls back
    to each value's best row.
    """
    rows = [row for row in ranking.rows if row.method in ("trained", FROZEN) and not row.baseline]
    keys = sorted(k for k in {k for row in rows for k in row.config} - NOT_SETTINGS
                  if len({_key(row, k) for row in rows}) > 1)
    keys = (["model"] if len({row.model for row in rows}) > 1 else []) + keys
    sections = [_panel(ranking, rows, key, keys) for key in keys]
    numeric = [k for k in keys if k != "model" and all(_is_number(r.config.get(k)) for r in rows)]
    for first, second in itertools.combinations(numeric, 2):
        grid = _grid(rows, first, second, keys)
        if grid:
            sections.append(_heatmap(ranking, grid, first, second))
    return sections


def _value(row: Row, key: str) -> Any:
    return row.model if key == "model" else row.config.get(key)


def _key(row: Row, key: str) -> str:
    """A setting's value as a comparable, hashable string."""
    return json.dumps(_value(row, key), default=str)


def _slices(rows: list[Row], key: str, others: list[str]) -> list[list[Row]]:
    """Sets of rows equal in every other setting and holding at least two values of ``key``; largest first."""
    groups: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        groups.setdefault(tuple(_key(row, k) for k in others), []).append(row)
    found = [group for group in groups.values() if len({_key(r, key) for r in group}) > 1]
    return sorted(found, key=lambda group: -len({_key(r, key) for r in group}))


def _grid(rows: list[Row], first: str, second: str, keys: list[str]) -> list[Row]:
    """The largest set of rows, equal in every other setting, that crosses ``first`` with ``second``; empty when
    the two were never crossed.

    Crossed: two values of each setting are each seen with two values of the other. A full grid is crossed, and
    so is seed 004's staircase (each length with two learning rates, neighbouring lengths sharing one); a sweep of
    one setting at one value of the other (a "plus" of two sweeps) is not.
    """
    others = [k for k in keys if k not in (first, second)]
    groups: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        groups.setdefault(tuple(_key(row, k) for k in others), []).append(row)
    best: list[Row] = []
    for group in groups.values():
        cells = {(_key(r, first), _key(r, second)) for r in group}
        if _crossed(cells) and len(cells) > len({(_key(r, first), _key(r, second)) for r in best}):
            best = group
    return best


def _crossed(cells: set[tuple[str, str]]) -> bool:
    """Whether at least two values on each side meet at least two values of the other.

    >>> grid = {("64", "a"), ("64", "b"), ("128", "a"), ("128", "b")}
    >>> _crossed(grid), _crossed(grid - {("128", "b")})
    (True, False)
    """
    def spread(side: int) -> int:
        seen: dict[str, set[str]] = {}
        for cell in cells:
            seen.setdefault(cell[side], set()).add(cell[1 - side])
        return sum(len(partners) > 1 for partners in seen.values())

    return spread(0) >= 2 and spread(1) >= 2


def _order_values(values: set[str]) -> list[str]:
    """Numbers in numeric order, then everything else alphabetically."""
    def sort_key(value: str) -> tuple[bool, float, str]:
        loaded = json.loads(value)
        number = isinstance(loaded, (int, float)) and not isinstance(loaded, bool)
        return (not number, float(loaded) if number else 0.0, str(loaded))

    return sorted(values, key=sort_key)


def _best(group: list[Row], higher: bool) -> Row:
    return max(group, key=lambda r: r.mean if higher else -r.mean)


def _panel(ranking: Ranking, rows: list[Row], key: str, keys: list[str]) -> Section:
    others = [k for k in keys if k != key]
    slices = _slices(rows, key, others)[:LINES_SHOWN]
    sentences: list[str] = []
    if not slices:  # never varied alone: each value's best row over the other settings
        slices = [rows]
        if len({_key(r, key) for r in rows}) < len(rows):
            sentences.append(f"{key} never varied alone here: each value shows its best row over the other settings.")
    lines = []  # (line name, [(value, row) in order])
    differing = [k for k in others if len({_key(group[0], k) for group in slices}) > 1]
    for group in slices:
        by_value: dict[str, list[Row]] = {}
        for row in group:
            by_value.setdefault(_key(row, key), []).append(row)
        chosen = [(value, _best(by_value[value], ranking.higher_is_better)) for value in _order_values(set(by_value))]
        name = " ".join(f"{short_setting(k)}={json.loads(_key(group[0], k))}" for k in differing)
        lines.append((name, chosen))
    if len(lines) > 1:
        sentences.append(f"One line per {', '.join(short_setting(k) for k in differing)}; within a line only {key} "
                         "changes.")
    all_values = _order_values({value for _, chosen in lines for value, _ in chosen})
    numeric = key != "model" and all(_is_number(json.loads(v)) for v in all_values)
    position = {v: (float(json.loads(v)) if numeric else float(i)) for i, v in enumerate(all_values)}
    xs = list(position.values())
    log_x = numeric and min(xs) > 0 and max(xs) / min(xs) >= 20
    series = []
    for name, chosen in lines:
        interval = any(r.low is not None for _, r in chosen)
        label = (f"{ranking.metric}, {name}" if name else
                 f"{ranking.metric} ({'mean, 95% interval' if interval else 'one seed: no interval'})")
        series.append(svg.Series(label, [position[v] for v, _ in chosen], [r.mean for _, r in chosen],
                                 [r.low for _, r in chosen], [r.high for _, r in chosen],
                                 [f"{r.label}: {ranking.metric} {r.mean:.4f}, seeds {r.seeds}, "
                                  f"train {r.train_seconds or 0:.1f} s" for _, r in chosen]))
    seconds = {v: [r.train_seconds for _, chosen in lines for value, r in chosen if value == v and r.train_seconds]
               for v in all_values}
    if all(seconds.values()):
        means = [float(np.mean(seconds[v])) for v in all_values]
        series.append(svg.Series("training time (s)" + (", mean of the lines" if len(lines) > 1 else ""), xs, means,
                                 tips=[f"{key} {json.loads(v)}: {m:.1f} s to train" for v, m in zip(all_values, means,
                                                                                                  strict=True)],
                                 axis="right", dashed=True))
    names = [str(json.loads(v)) for v in all_values]
    figure = svg.chart(series, key, ranking.metric, "training time (s)", x_ticks=[] if numeric else names, log_x=log_x,
                       y_min_span=ranking.minimum_detectable_effect)
    for name, chosen in lines:
        sentences += _step_sentences(ranking, key, name, chosen)
    data = {"setting": key, "lines": [{"name": name, "values": [json.loads(v) for v, _ in chosen],
                                       "means": [r.mean for _, r in chosen],
                                       "train_seconds": [r.train_seconds for _, r in chosen]}
                                      for name, chosen in lines]}
    return Section(f"Setting: {key}", sentences, figures=[figure], data=data)


def _step_sentences(ranking: Ranking, key: str, name: str, chosen: list[tuple[str, Row]]) -> list[str]:
    """One sentence per step between neighbouring values: the gain, its answer (better / worse, equivalent within
    the ranking's tolerance, undecided: ``decision.py``) with its interval, the cost in training time."""
    sentences = []
    steps: list[tuple[str, str]] = []  # (the step's lower value, its answer) in order
    prefix = f"At {name}, " if name else ""
    percent = ranking.metric != "loss"
    for (value_a, a), (value_b, b) in zip(chosen, chosen[1:]):
        comparison = compare_rows(b, a, ranking.metric)
        decision = decide(comparison, ranking.tolerance) if comparison is not None else None
        judged = ("no verdict (different rows)" if decision is None or comparison is None else
                  f"{decision.answer.value} (90% interval [{_points(decision.low, percent)}, "
                  f"{_points(decision.high, percent)}], {_p(comparison.p_value)})")
        cost = f", {b.train_seconds / a.train_seconds:.1f}x the training time" if a.train_seconds and b.train_seconds else ""
        failed = " (a run that failed to learn)" if a.failed_to_learn or b.failed_to_learn else ""
        name_a, name_b = json.loads(value_a), json.loads(value_b)
        sentences.append(f"{prefix}{name_a} -> {name_b}: {_points(b.mean - a.mean, percent)} points, "
                         f"{judged}{cost}{failed}.")
        steps.append((str(name_a), "" if decision is None or a.failed_to_learn else decision.answer.value))
    if key == "train_fraction":
        sentences += _plateau(steps, prefix, ranking.tolerance * (100 if percent else 1))
    return sentences


def _plateau(steps: list[tuple[str, str]], prefix: str, tolerance: float) -> list[str]:
    """Where more data stops paying: the trailing steps all equivalent within the tolerance. Steps that are only
    undecided are no plateau (absence of evidence): said so."""
    start, answers = None, []
    for value, answer in reversed(steps):  # the trailing run of steps that are not significant either way
        if answer not in ("equivalent", "undecided"):
            break
        start = value
        answers.append(answer)
    if start is None:
        return []
    if all(answer == "equivalent" for answer in answers):
        return [f"{prefix}more data stops paying for itself from train_fraction {start}: every further step is "
                f"equivalent within ±{points_text(tolerance)}."]
    return [f"{prefix}from train_fraction {start} on, the steps are not significant but undecided: they could still "
            f"gain more than {points_text(tolerance)}; more seeds would tell (`bakeoff run FILE --dry-run`)."]


def _heatmap(ranking: Ranking, rows: list[Row], first: str, second: str) -> Section:
    row_values = sorted({r.config[first] for r in rows})
    column_values = sorted({r.config[second] for r in rows})
    cells: list[list[float | None]] = [[None] * len(column_values) for _ in row_values]
    for row in rows:
        i, j = row_values.index(row.config[first]), column_values.index(row.config[second])
        if cells[i][j] is None or row.mean > cells[i][j]:
            cells[i][j] = row.mean
    figure = svg.heatmap([str(v) for v in row_values], [_label(v) for v in column_values], cells, first, second,
                         ranking.metric)
    found = [(cells[i][j], i, j) for i in range(len(row_values)) for j in range(len(column_values))
             if cells[i][j] is not None]
    top, i, j = max(found) if ranking.higher_is_better else min(found)
    sentences = [f"Mean {ranking.metric} over seeds per cell; grey: not run.",
                 f"Best cell: {first} {row_values[i]}, {second} {_label(column_values[j])} ({top:.4f})."]
    spread = [max(v for v in row if v is not None) - min(v for v in row if v is not None)
              for row in cells if sum(v is not None for v in row) > 1]
    if spread:
        percent = ranking.metric != "loss"
        sentences.append(f"At a fixed {first}, changing {second} moves {ranking.metric} by "
                         f"{_points(min(spread), percent)[1:]} to {_points(max(spread), percent)[1:]} points; the "
                         "Setting panels say which of these steps are beyond noise.")
    return Section(f"Grid: {first} x {second}", sentences,
                   figures=[figure], data={"rows": row_values, "columns": column_values, "values": cells})


def expected_best(values: list[float], higher: bool = True) -> list[float]:
    """Expected best validation score of n random trials, n = 1..len(values) (Dodge et al. 2019, with replacement).

    >>> expected_best([0.5, 1.0])
    [0.75, 0.875]
    """
    ordered = sorted(values, reverse=not higher)
    count = len(ordered)
    share = [(i / count) for i in range(count + 1)]
    return [sum(v * (share[i + 1] ** n - share[i] ** n) for i, v in enumerate(ordered)) for n in range(1, count + 1)]


def tuning_budget_section(ranking: Ranking) -> Section | None:
    """Per model, the expected best score against the number of hyperparameter trials, when a study sweeps them."""
    by_model: dict[str, list[float]] = {}
    for row in ranking.rows:
        if row.method == "trained" and not row.baseline:
            by_model.setdefault(row.model, []).append(row.mean)
    swept = {model: values for model, values in by_model.items() if len(values) > 1}
    if not swept:
        return None
    series, sentences = [], []
    for model, values in swept.items():
        curve = expected_best(values, ranking.higher_is_better)
        series.append(svg.Series(model, [float(n) for n in range(1, len(curve) + 1)], curve,
                                 tips=[f"{model}: {n} trial(s) -> expected best {v:.4f}" for n, v in enumerate(curve, 1)]))
        sentences.append(f"{model}: one random trial is expected to reach {curve[0]:.4f}, the best of {len(curve)} "
                         f"{curve[-1]:.4f}.")
    return Section("Expected best score against the tuning budget",
                   ["Each model's variants (mean over seeds) as trials drawn at random (Dodge et al. 2019, "
                    "\"Show Your Work\"): which model wins can depend on how many trials you can afford.", *sentences],
                   figures=[svg.chart(series, "hyperparameter trials", f"expected best {ranking.split} {ranking.metric}")],
                   data={model: expected_best(v, ranking.higher_is_better) for model, v in swept.items()})


def tradeoff_section(ranking: Ranking) -> Section | None:
    """Metric against batch-1 latency and size, every row with a measurement, the Pareto front named."""
    rows = [row for row in ranking.rows if row.latency_p50_ms is not None]
    if len(rows) < 2:
        return None
    front = _pareto(rows, ranking.higher_is_better, "latency_p50_ms")
    figures = []
    for attribute, label in (("latency_p50_ms", "batch-1 latency p50 (ms)"), ("size_mb", "weights (MB)")):
        points = [r for r in rows if getattr(r, attribute) is not None]
        if len(points) < 2:
            continue
        on_front = sorted(_pareto(points, ranking.higher_is_better, attribute), key=lambda r: getattr(r, attribute))
        series = [svg.Series("rows", [getattr(r, attribute) for r in points], [r.mean for r in points],
                             [r.low for r in points], [r.high for r in points],
                             [f"{r.label}: {ranking.metric} {r.mean:.4f}, {getattr(r, attribute):.1f}" for r in points],
                             line=False),
                  svg.Series("Pareto front", [getattr(r, attribute) for r in on_front],
                             [r.mean for r in on_front], tips=[r.label for r in on_front])]
        figures.append(svg.chart(series, label, ranking.metric))
    names = ", ".join(r.label for r in sorted(front, key=lambda r: r.latency_p50_ms))
    busy = [r for r in rows if r.latency_busy]
    warning = ([f"Latency of {', '.join(r.label for r in busy)} was measured while the machine was busy: ratio "
                f"unreliable ({busy[0].latency_busy}); measure again on a quiet machine (bakeoff bench)."]
               if busy else [])
    return Section(f"{ranking.metric[:1].upper()}{ranking.metric[1:]} against latency and size",
                   [f"Pareto front (no other row is both faster at batch 1 and better): {names}.",
                    "Latency is the batch-1 p50 measured on the machine that ran each row.", *warning],
                   figures=figures,
                   data={"pareto_front": [r.label for r in front]})


def _pareto(rows: list[Row], higher: bool, cost: str) -> list[Row]:
    """Rows no other row beats on the metric at the same or lower ``cost`` (an attribute of Row)."""
    def better(a: Row, b: Row) -> bool:
        return a.mean > b.mean if higher else a.mean < b.mean

    return [r for r in rows if not any(o is not r and getattr(o, cost) <= getattr(r, cost) and better(o, r)
                                       for o in rows)]


def learning_curve_section(ranking: Ranking) -> Section | None:
    """Per variant, the validation metric and the training loss against step, the seeds' range as a band.

    Only on the validation ranking: training evaluates on validation alone. The training loss is the run's
    ``train/loss`` metric (one point per optimizer step), averaged per window of steps so a long run stays a
    few dozen points.
    """
    if ranking.split != "validation":
        return None
    rows = [r for r in ranking.rows if r.method == "trained" and not r.baseline][:CURVES_SHOWN]
    validation, loss = [], []
    for row in rows:
        histories = [[(int(p["step"]), float(p[ranking.metric])) for p in result.history if ranking.metric in p]
                     for result in _results(row)]
        found = _seed_band(row, histories, ranking.metric, "validation " + ranking.metric)
        if found is not None:
            validation.append(found)
        found = _seed_band(row, [_windowed(read_loss(Path(path))) for path in row.run_paths], "loss",
                           "training loss")
        if found is not None:
            loss.append(found)
    if not validation and not loss:
        return None
    figures = []
    if validation:
        figures.append(svg.chart(validation, "training step", f"validation {ranking.metric}"))
    if loss:
        figures.append(svg.chart(loss, "training step", "training loss (window mean)"))
    several_seeds = any(len(r.run_paths) > 1 for r in rows)
    sentences = [f"Validation {ranking.metric} at each evaluation"
                 + (" and the training loss (mean over each window of steps)" if loss else "")
                 + (f"; bands: the range over seeds (min to max). Up to {CURVES_SHOWN} rows, best first."
                    if several_seeds else f"; one seed per row, so no band. Up to {CURVES_SHOWN} rows, best first.")]
    return Section("Learning curves", sentences, figures=figures,
                   data={"validation": {s.name: {"step": s.x, "mean": s.y} for s in validation},
                         "training_loss": {s.name: {"step": s.x, "mean": s.y} for s in loss}})


def _is_number(value: Any) -> bool:
    """A setting drawn on a numeric axis: numbers, not true/false (Python's bools are ints)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _label(value: Any) -> str:
    return f"{value:g}" if _is_number(value) else str(value).lower() if isinstance(value, bool) else str(value)


def read_loss(run_path: Path) -> list[tuple[int, float]]:
    """A run's training loss as (step, loss), from its ``train/loss`` metric; empty when it logged none.

    >>> read_loss(Path("/nonexistent"))
    []
    """
    return [(int(point["data"]["step"]), float(point["data"]["value"]))
            for point in read_metric(run_path, "train/loss")
            if "step" in point["data"] and point["data"].get("value") is not None]


def _windowed(points: list[tuple[int, float]], windows: int = LOSS_POINTS) -> list[tuple[int, float]]:
    """At most ``windows`` points: the mean loss over each window of consecutive steps, at the window's last step.

    >>> _windowed([(1, 1.0), (2, 3.0), (3, 5.0), (4, 7.0)], windows=2)
    [(2, 2.0), (4, 6.0)]
    """
    if len(points) <= windows:
        return points
    size = math.ceil(len(points) / windows)
    return [(chunk[-1][0], float(np.mean([v for _, v in chunk])))
            for chunk in (points[i:i + size] for i in range(0, len(points), size))]


def _seed_band(row: Row, curves: list[list[tuple[int, float]]], metric: str, what: str) -> svg.Series | None:
    """One row's curve: the mean over seeds at each step every seed reached, with the seeds' min and max."""
    curves = [curve for curve in curves if curve]
    by_step: dict[int, list[float]] = {}
    for curve in curves:
        for step, value in curve:
            by_step.setdefault(step, []).append(value)
    steps = sorted(step for step, values in by_step.items() if len(values) == len(curves))
    if len(steps) < 2:
        return None
    banded = len(curves) > 1
    means = [float(np.mean(by_step[s])) for s in steps]
    return svg.Series(row.label, [float(s) for s in steps], means,
                      [min(by_step[s]) for s in steps] if banded else [],
                      [max(by_step[s]) for s in steps] if banded else [],
                      [f"{row.label} step {s}: {what} {m:.4f} (mean of {len(by_step[s])} seed(s))"
                       for s, m in zip(steps, means, strict=True)], band=banded, markers=len(steps) <= 12)


def errors_section(ranking: Ranking, texts: list[str] | None, label_names: list[str] | None) -> Section | None:
    """Confusion matrices and per-class F1 of the top two rows, and the rows they disagree on."""
    top = [r for r in ranking.rows if r._predictions and not r.baseline][:2]
    if not top:
        return None
    sentences: list[str] = []
    for row in top:
        predicted, truth, _ = row._predictions[min(row._predictions)]
        classes = int(max(truth.max(), predicted.max())) + 1
        names = label_names if label_names and len(label_names) >= classes else [str(c) for c in range(classes)]
        stats = per_class(truth, predicted, classes)
        matrix = np.zeros((classes, classes), dtype=int)
        np.add.at(matrix, (truth, predicted), 1)
        sentences.append(f"{row.label} (seed {min(row._predictions)}): " + "; ".join(
            f"{names[c]}: true {names[c]} predicted as " + ", ".join(f"{names[p]} {matrix[c, p]}" for p in range(classes))
            + f", F1 {stats['f1'][c]:.3f}" for c in range(classes)))
    data: dict[str, Any] = {}
    table: list[list[str]] = []
    if len(top) == 2 and texts is not None:
        (first, truth, fp1), (second, _, fp2) = (top[0]._predictions[min(top[0]._predictions)],
                                                 top[1]._predictions[min(top[1]._predictions)])
        differ = np.flatnonzero(first != second)
        if fp1 == fp2 and len(texts) == truth.size:
            shown = np.random.default_rng(0).permutation(differ)[:DISAGREEMENTS_SHOWN]
            names = label_names or [str(c) for c in range(int(truth.max()) + 1)]
            table = [[f"{ranking.split} row", "text", "true", top[0].label, top[1].label]]
            table += [[str(i), _plain(texts[i])[:200], names[truth[i]], names[first[i]], names[second[i]]] for i in sorted(shown)]
            sentences.append(f"The leader and the runner-up disagree on {differ.size} of {truth.size} {ranking.split} rows; "
                             f"{len(shown)} of them, drawn at random:")
            data["disagreements"] = int(differ.size)
    return Section(f"Errors ({ranking.name}, {ranking.split}): confusion, per-class F1, disagreements", sentences,
                   table, data=data)


def provenance_section(board: Leaderboard, study_text: str | None) -> Section:
    """Versions, hardware, and each row's runs with their data fingerprints."""
    first = next((r for r in board.rows if r.run_paths), None)
    result = _load(Path(first.run_paths[0])) if first else None
    hardware = result.hardware if result else {}
    version, commit = (result.bakeoff_version, result.git_commit) if result else (None, None)
    sentences = [f"bakeoff {version} (git {commit or 'unknown'}), "
                 f"python {hardware.get('python')}, torch {hardware.get('torch')}",
                 f"CPU {hardware.get('cpu')} x{hardware.get('cpu_count')}, flags {', '.join(hardware.get('cpu_flags') or [])}"
                 f", GPU {hardware.get('cuda') or 'none'}; {hardware.get('platform')}"]
    table = [["ranking", "row", "runs", "data fingerprints"]]
    for ranking in board.rankings:
        for row in ranking.rows:
            loaded = [result for result in map(_load, map(Path, row.run_paths)) if result is not None]
            prints = {json.dumps(_fingerprints(result), sort_keys=True) for result in loaded}
            table.append([f"{ranking.name}, {ranking.split}", row.label, str(len(row.run_paths)),
                          "; ".join(sorted(prints)) or "-"])
    data = {"hardware": hardware, "study": study_text}
    return Section("Provenance", sentences, table, data=data)


def _results(row: Row) -> list[TrainResult]:
    """The typed training results of a row's runs (one per seed); unreadable ones are left out."""
    return [result for result in map(_load, map(Path, row.run_paths)) if isinstance(result, TrainResult)]


def _load(run_path: Path) -> TrainResult | EmbeddingEvalResult | None:
    try:
        return load_result(run_path / RESULT_FILE)
    except BakeoffError:  # the run folder changed since the leaderboard was built
        return None


def _plain(text: str) -> str:
    """A text as it reads: IMDB reviews carry HTML line breaks (``<br /><br />``), shown here as spaces.

    >>> _plain("Not good.<br /><br />But strange.")
    'Not good. But strange.'
    """
    return re.sub(r"\s+", " ", re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE)).strip()


def _fingerprints(result: TrainResult | EmbeddingEvalResult) -> dict[str, str]:
    if isinstance(result, EmbeddingEvalResult):
        return dict(result.data.get("fingerprints") or {})
    return result.data.fingerprints


def _points(value: float | None, percent: bool) -> str:
    if value is None:
        return "-"
    shown = value * 100 if percent else value
    return f"{shown:+.1f}"


def _p(value: float) -> str:
    return f"p = {value:.2g}" if value >= 0.001 else "p < 0.001"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def seconds_text(value: float | None) -> str:
    """Seconds as a person reads them in a table: the majority baseline's 7.9e-05 s is "<0.01".

    >>> seconds_text(7.9e-05), seconds_text(2.456), seconds_text(323.5)
    ('<0.01', '2.46', '324')
    """
    if value is None:
        return "-"
    return "<0.01" if value < 0.01 else f"{value:.3g}" if value < 100 else f"{value:.0f}"
