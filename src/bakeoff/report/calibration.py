"""Probabilities on a leaderboard and in the report: any registered metric as an extra leaderboard column
(``bakeoff leaderboard --columns ece,brier,roc_auc``), and the report's calibration section — ECE and Brier per
row, ECE before and after a fitted temperature, the decision threshold and where it was chosen, what compression
did to calibration beside its accuracy cost, and a reliability diagram of the leading rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bakeoff.errors import BakeoffError
from bakeoff.eval.probability import ECE_BINS
from bakeoff.metrics import METRICS, PROBABILITY_METRICS, metric_info
from bakeoff.report import svg
from bakeoff.report.leaderboard import Ranking, Row
from bakeoff.report.sections import Section
from bakeoff.runs.files import COMPRESSED_DIR, REPORT_FILE, RESULT_FILE
from bakeoff.runs.results import CompressReport, TrainResult, load_result

DIAGRAM_ROWS = 3  # leading rows drawn in the reliability diagram


def parse_columns(text: str | None) -> list[str]:
    """``--columns`` as metric names, each one the registry knows (one clear line otherwise).

    >>> parse_columns("ece, brier")
    ['ece', 'brier']
    """
    names = [part.strip() for part in (text or "").split(",") if part.strip()]
    known = [*METRICS, *PROBABILITY_METRICS, "loss"]
    for name in names:
        if name not in known:
            raise BakeoffError(f"--columns {name!r}: not a metric; use any of {', '.join(known)}")
        metric_info(name)
    return names


def row_metric(row: Row, name: str) -> float | None:
    """The mean over a row's seeds of ``name`` on the row's split: the run's own evaluation for a trained row,
    the compressed model's measurement for a compressed one; None where no seed recorded it."""
    values = []
    for path in map(Path, row.run_paths):
        metrics = _metrics_of(path, row)
        if metrics is not None and isinstance(metrics.get(name), (int, float)):
            values.append(float(metrics[name]))
    values = [v for v in values if v == v]
    return float(np.mean(values)) if values else None


def calibration_section(ranking: Ranking) -> Section | None:
    """ECE and Brier per trained row (with the temperature's before/after and the threshold), compressed rows
    beside their original, and the reliability diagram of the ``DIAGRAM_ROWS`` leading rows."""
    rows = [row for row in ranking.rows if not row.baseline and not row.kind]
    if not rows or all(row_metric(row, "ece") is None for row in rows):
        return None
    table = [["row", ranking.metric, "ECE", "Brier", "ECE before T", "T", "threshold"]]
    sentences = [f"Expected calibration error (ECE) over {ECE_BINS} equal-mass bins of the top-class confidence "
                 "(each bin holds the same number of rows), and the Brier score (mean squared error of the "
                 "probabilities, 0 best); both lower is better, means over seeds, on "
                 f"{ranking.split}."]
    decided = []
    for row in rows:
        results = _results(row) if row.method == "trained" else []
        before = _mean([(r.validation.calibration or {}).get("ece_before") for r in results])
        temperature = _mean([(r.decision or {}).get("temperature") for r in results if r.decision])
        thresholds = [(r.decision or {}).get("threshold") for r in results if r.decision]
        threshold = _mean(thresholds)
        if any(t is not None for t in thresholds) or temperature is not None:
            decided.append(row.label)
        table.append([row.label, f"{row.mean:.4f}", _fmt(row_metric(row, "ece")), _fmt(row_metric(row, "brier")),
                      _fmt(before), _fmt(temperature, 3), _fmt(threshold, 3)])
    if decided:
        sentences.append(f"Temperature T and threshold of {', '.join(decided)} were chosen on the validation split: "
                         "their validation figures are optimistic; a test split, unseen when choosing, gives the "
                         "honest figure (`bakeoff evaluate RUN --split test`).")
    sentences += _compression_sentences(rows)
    figure = _diagram([row for row in rows if row.method == "trained"][:DIAGRAM_ROWS])
    return Section("Calibration", sentences, table, figures=[figure] if figure else [],
                   data={"bins": ECE_BINS, "binning": "equal-mass", "table": table})


def _compression_sentences(rows: list[Row]) -> list[str]:
    said = []
    for row in rows:
        if row.method == "trained":
            continue
        reports = [report for report in (_report(Path(path), row.method) for path in row.run_paths) if report]
        ece = _mean([r.change.metrics.get("ece") for r in reports])
        metric = reports[0].primary_metric if reports else None
        cost = _mean([r.change.metrics.get(metric) for r in reports]) if metric else None
        if ece is not None and cost is not None:
            said.append(f"{row.label}: compression changes ECE by {ece:+.4f} beside {metric} {cost * 100:+.2f} "
                        "points (same rows, same temperature and threshold as the original).")
    return said


def _report(run_path: Path, method: str) -> CompressReport | None:
    try:
        return CompressReport.load(run_path / COMPRESSED_DIR / method / REPORT_FILE)
    except BakeoffError:  # missing or damaged: the leaderboard already says which rows it left out
        return None


def _diagram(rows: list[Row]) -> str | None:
    """Accuracy against confidence per equal-mass bin (first seed), the diagonal being perfect calibration."""
    series = [svg.Series("perfect calibration", [0.0, 1.0], [0.0, 1.0], dashed=True, markers=False)]
    for row in rows:
        results = _results(row)
        calibration = results[0].validation.calibration if results else None
        if not calibration or not calibration.get("reliability"):
            continue
        for key, suffix, dashed in (("reliability_before", " (before T)", True), ("reliability", "", False)):
            bins = calibration.get(key)
            if bins:
                series.append(svg.Series(row.label + suffix, [b["confidence"] for b in bins],
                                         [b["accuracy"] for b in bins], dashed=dashed,
                                         tips=[f"{row.label}{suffix}: confidence {b['confidence']:.3f}, accuracy "
                                               f"{b['accuracy']:.3f}, {b['rows']} rows" for b in bins]))
    if len(series) == 1:
        return None
    return svg.chart(series, "confidence of the predicted class (bin mean)", "accuracy in the bin")


def _metrics_of(path: Path, row: Row) -> dict[str, float] | None:
    try:
        if row.method != "trained":
            return CompressReport.load(path / COMPRESSED_DIR / row.method / REPORT_FILE).compressed.metrics
        result = load_result(path / RESULT_FILE)
    except BakeoffError:
        return None
    if not isinstance(result, TrainResult):
        return None
    split = result.test if row.split == "test" and result.test else result.validation
    return split.metrics


def _results(row: Row) -> list[TrainResult]:
    found = []
    for path in map(Path, row.run_paths):
        try:
            result = load_result(path / RESULT_FILE)
        except BakeoffError:
            continue
        if isinstance(result, TrainResult):
            found.append(result)
    return found


def _mean(values: list[float | None]) -> float | None:
    numbers = [float(v) for v in values if isinstance(v, (int, float))]
    return float(np.mean(numbers)) if numbers else None


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
