"""Benchmarks as data: one YAML spec per task in ``specs/``; the registry is a scan of that folder.

Adding a task is adding a file. A spec names the label set, the primary metric, and for each source
(local GLUE-style files, the Hugging Face hub) which columns hold the text(s) and the label, and which
split lives where.

>>> get_task("mrpc").pair, get_task("mrpc").primary_metric
(True, 'f1')
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bakeoff.errors import BakeoffError

SPECS_DIR = Path(__file__).parent / "specs"
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Source:
    """Where one source keeps a task: columns (text, text_pair, label) and split -> file or hub split."""

    columns: dict[str, str]
    splits: dict[str, str]
    header: bool = True
    column_names: tuple[str, ...] = ()
    path: str | None = None  # hub dataset id
    name: str | None = None  # hub config name
    builtin: bool = False  # files ship inside the package (tasks/builtin/<task>/)
    label_separator: str | None = None  # multi-label: what joins a row's labels in a cell ("4,27")


@dataclass(frozen=True)
class TaskSpec:
    """A benchmark: single-label classification, regression (scores) or multi-label classification."""

    name: str
    description: str
    label_names: tuple[str, ...]
    primary_metric: str
    metrics: tuple[str, ...]
    local: Source | None = None
    hub: Source | None = None
    spec_path: Path | None = field(default=None, compare=False)
    problem_type: str = "single_label"  # a name in bakeoff.problems.PROBLEMS

    @property
    def pair(self) -> bool:
        source = self.local or self.hub
        return source is not None and "text_pair" in source.columns

    @property
    def num_labels(self) -> int:
        return len(self.label_names)


def _source(raw: dict[str, Any] | None) -> Source | None:
    if raw is None:
        return None
    return Source(
        columns=dict(raw["columns"]), splits=dict(raw["splits"]), header=raw.get("header", True),
        column_names=tuple(raw.get("column_names", ())), path=raw.get("path"), name=raw.get("name"),
        builtin=raw.get("builtin", False), label_separator=raw.get("label_separator"),
    )


def load_spec(path: Path) -> TaskSpec:
    raw = yaml.safe_load(path.read_text())
    return TaskSpec(
        name=raw["name"], description=raw.get("description", ""), label_names=tuple(raw["label_names"]),
        primary_metric=raw["primary_metric"], metrics=tuple(raw.get("metrics", [raw["primary_metric"]])),
        local=_source(raw.get("local")), hub=_source(raw.get("hub")), spec_path=path,
        problem_type=raw.get("problem_type", "single_label"),
    )


@cache
def all_tasks() -> dict[str, TaskSpec]:
    """Every shipped task, by name."""
    return {spec.name: spec for spec in map(load_spec, sorted(SPECS_DIR.glob("*.yaml")))}


def get_task(name: str) -> TaskSpec:
    """The spec of a task, or a one-line error with the closest names."""
    tasks = all_tasks()
    if name in tasks:
        return tasks[name]
    close = difflib.get_close_matches(name, tasks, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise BakeoffError(f"unknown task {name!r}: {hint}known tasks: {', '.join(tasks)} "
                       "(or pass --data FILE with --text-column/--label-column for your own data)")


__all__ = ["SPLITS", "Source", "TaskSpec", "all_tasks", "get_task"]
