"""Successive halving: train every variant briefly, keep the best 1/``reduction_factor``, train those
``reduction_factor`` times longer, and so on until the survivors reach the full budget (``max_epochs``, else the
trials' own epochs). Each rung retrains from scratch at its budget, so every result is a plain run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bakeoff.metrics import metric_info
from bakeoff.study.spec import Asha, Study
from bakeoff.study.trials import Trial

if TYPE_CHECKING:
    from bakeoff.study.runner import TrialOutcome


def first_rung(study: Study) -> list[Trial]:
    """Without a schedule every trial; with one, every trial at ``min_epochs`` (its own epochs are the ceiling)."""
    if not study.schedule:
        return list(study.trials)
    first = []
    for trial in study.trials:
        ceiling = study.schedule.max_epochs or trial.epochs
        first.append(trial.with_epochs(min(study.schedule.min_epochs, ceiling), 0, ceiling))
    return first


def promote(results: list[TrialOutcome], schedule: Asha) -> list[Trial]:
    """The next rung: the best 1/reduction_factor of the variants still below their ceiling (mean over seeds, by
    the metric's own direction), each trained ``reduction_factor`` times longer, capped at the ceiling. A lone
    survivor goes on until it reaches the ceiling: successive halving ends with its winner at the full budget."""
    factor = schedule.reduction_factor
    by_variant: dict[str, list[TrialOutcome]] = {}
    for result in results:
        by_variant.setdefault(result.trial.variant, []).append(result)
    scored = []
    for group in by_variant.values():
        values = [r.metric for r in group if r.status == "COMPLETED" and r.metric is not None]
        trial = group[0].trial
        if values and len(values) == len(group) and trial.epochs < (trial.max_epochs or 0.0):
            scored.append((sum(values) / len(values), group))
    if not scored:
        return []
    higher = metric_info(scored[0][1][0].metric_name or "accuracy").higher_is_better
    scored.sort(key=lambda item: item[0], reverse=higher)
    promoted = []
    for _, group in scored[: max(1, len(scored) // factor)]:
        for result in group:
            trial = result.trial
            epochs = min(trial.epochs * factor, trial.max_epochs or 0.0)
            promoted.append(trial.with_epochs(epochs, trial.rung + 1, trial.max_epochs))
    return promoted
