"""One sentence on the gap between two runs: the demo's verdict line."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bakeoff.io import read_json
from bakeoff.report.decision import Answer, decide, tolerance_of
from bakeoff.report.verdict import CONFUSION_METRICS, compare
from bakeoff.runs.files import PREDICTIONS_FILE


def gap_sentence(first: Path, second: Path, first_name: str, second_name: str, metric: str) -> str:
    """Whether ``first`` run's lead over ``second`` on the validation rows is real, in one sentence.

    >>> gap_sentence(Path("/nowhere"), Path("/nowhere"), "a", "b", "accuracy")
    'verdict: a against b: no stored predictions to compare'
    """
    stored = [read_json(Path(path) / PREDICTIONS_FILE, default=None) or {} for path in (first, second)]
    splits = [s.get("validation") or {} for s in stored]
    fingerprints = [(s.get("fingerprints") or {}).get("validation") for s in stored]
    if metric not in CONFUSION_METRICS or not all(s.get("predicted") for s in splits):
        return f"verdict: {first_name} against {second_name}: no stored predictions to compare"
    if fingerprints[0] != fingerprints[1]:
        return f"verdict: {first_name} and {second_name} were scored on different validation rows: no verdict"
    truth = np.asarray(splits[0]["true"])
    verdict = compare(np.asarray(splits[0]["predicted"]), np.asarray(splits[1]["predicted"]), truth, metric=metric)
    decision = decide(verdict, tolerance_of(metric))
    answer = {Answer.BETTER: "significant", Answer.WORSE: "significant", Answer.EQUIVALENT: "equivalent within 1 "
              "point", Answer.UNDECIDED: "undecided (not significant, and not shown equivalent within 1 point)"}
    return (f"verdict: {first_name} ahead of {second_name} by {verdict.difference * 100:+.1f} points of {metric} "
            f"[95% interval {verdict.low * 100:+.1f}, {verdict.high * 100:+.1f}] on {truth.size} validation rows: "
            f"{answer[decision.answer]} ({verdict.text.split(' ', 1)[1]}); one seed "
            "each, so this speaks only about example variance: run a study with seeds to count seed luck")
