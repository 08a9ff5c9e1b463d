"""Problem types: one object per type owns its head size, loss, labels, metrics, baselines, per-row values for
verdicts and ``predict`` output (``base.Problem``). A run chooses its problem once, from the task (or your
``--problem-type``, or the labels), and a checkpoint carries it in ``config.json`` (transformers'
``problem_type``), so evaluation, predict and compression find it there.

Adding a type is one module with a ``Problem`` subclass, registered in ``PROBLEMS``.

>>> get_problem("regression").outputs(["score"]), problem_of_config({"problem_type": "regression"}).name
(1, 'regression')
"""

from __future__ import annotations

from typing import Any

from bakeoff.errors import BakeoffError
from bakeoff.problems.base import LabelError, PerRow, Problem, Scored
from bakeoff.problems.multi_label import MultiLabel
from bakeoff.problems.regression import Regression
from bakeoff.problems.single_label import SingleLabel

PROBLEMS: dict[str, Problem] = {problem.name: problem for problem in (SingleLabel(), Regression(), MultiLabel())}
SINGLE_LABEL = PROBLEMS["single_label"]
THRESHOLDS_KEY = "decision_thresholds"  # config.json: a multi-label model's per-label thresholds


def get_problem(name: str | None) -> Problem:
    """The problem type named ``name`` (None: single-label classification)."""
    if name is None:
        return SINGLE_LABEL
    if name not in PROBLEMS:
        raise BakeoffError(f"unknown problem type {name!r}: use one of {', '.join(PROBLEMS)}")
    return PROBLEMS[name]


def problem_of_config(config: Any) -> Problem:
    """The problem type a model's config (a transformers config or its dict) was trained for."""
    value = config.get("problem_type") if isinstance(config, dict) else getattr(config, "problem_type", None)
    for problem in PROBLEMS.values():
        if value == problem.hf_problem_type:
            return problem
    return SINGLE_LABEL  # a checkpoint saved without one: transformers' own default reading


def thresholds_of_config(config: Any) -> list[float] | None:
    """A multi-label model's decision thresholds from its config (None: 0.5 for every label)."""
    value = config.get(THRESHOLDS_KEY) if isinstance(config, dict) else getattr(config, THRESHOLDS_KEY, None)
    return [float(v) for v in value] if value else None


__all__ = ["PROBLEMS", "SINGLE_LABEL", "THRESHOLDS_KEY", "LabelError", "PerRow", "Problem", "Scored", "get_problem",
           "problem_of_config", "thresholds_of_config"]
