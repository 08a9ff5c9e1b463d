"""Study files: YAML in, a validated ``Study`` out, with every mistake reported at its line before any trial runs.

A study file (every key but ``models`` and ``tasks`` optional)::

    # bakeoff run examples/offline_minilm.yaml
    name: offline-minilm            # the store project its trials land in (default: the file's stem)
    models: [minilm-l6, minilm-l3]
    tasks: [sst2]                   # may be left out when settings give your own data: {data: file.csv}
    fallback_task: demo             # stands in for a task whose data is not on this machine
    settings: {epochs: 1, learning_rate: 1.0e-4}   # any `bakeoff train` setting, shared by every trial
    task_settings: {sst2: {train_fraction: 0.05}}  # settings for one task's trials only
    axes:                           # combined as a cartesian product of the axes
      - grid: {learning_rate: [2.0e-5, 5.0e-5]}    # every combination
      - zip: {max_length: [128, 256], batch_size: [32, 16]}   # paired lists
      - random: {learning_rate: {log_uniform: [1.0e-5, 1.0e-4]}, warmup_ratio: [0.0, 0.1]}
        trials: 4                   # samples drawn with random_seed (so a rerun draws the same ones)
    seeds: [1, 2, 3]
    compress: [dynamic-int8]        # applied to every trained trial
    budget: {max_trials: 20, max_hours: 2}
    schedule: asha                  # or {asha: {reduction_factor: 3, min_epochs: 1}}
    resources: {cpus: 1}            # per trial: torch threads locally, the Ray request on a cluster
    sweeps:                         # optional: several sub-studies that inherit every key above
      - {name: lengths, axes: [...]}    # a sweep's settings add to (and override) the study's
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bakeoff.config import TrainConfig
from bakeoff.errors import BakeoffError
from bakeoff.study.trials import Trial, make_trial

TOP_KEYS = ("name", "description", "models", "tasks", "fallback_task", "settings", "task_settings", "axes", "seeds",
            "compress", "budget", "schedule", "resources", "random_seed", "sweeps")
SWEEP_KEYS = ("name", "models", "tasks", "settings", "task_settings", "axes", "seeds", "compress")
STUDY_OWNED = ("model", "task", "seed", "project", "name", "quiet", "threads")  # set by the study, not settings
SETTINGS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name not in STUDY_OWNED)
TYPES = {f.name: f.type for f in dataclasses.fields(TrainConfig)}


class StudyError(BakeoffError):
    """A mistake in a study file, with its line."""


@dataclass
class Budget:
    max_trials: int | None = None
    max_hours: float | None = None


@dataclass
class Asha:
    """Successive halving: train every variant for ``min_epochs``, keep the best 1/``reduction_factor`` by the
    validation metric, train those for ``reduction_factor`` times as long, and so on up to ``max_epochs``."""

    reduction_factor: int = 3
    min_epochs: float = 1.0
    max_epochs: float | None = None  # default: the trials' own epochs


@dataclass
class Study:
    name: str
    path: Path
    trials: list[Trial]  # without ASHA: every trial; with ASHA: the first rung
    budget: Budget = field(default_factory=Budget)
    schedule: Asha | None = None
    cpus: int | None = None
    gpus: float = 0
    description: str = ""


class _Lines:
    """Line numbers of every key path in the YAML document, for error messages."""

    def __init__(self, path: Path, node: yaml.Node | None) -> None:
        self.path, self.lines = path, {}
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, at: tuple[Any, ...]) -> None:
        self.lines[at] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self._walk(value, (*at, key.value))
                self.lines[(*at, key.value)] = key.start_mark.line + 1  # a key's line, not its value's
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*at, index))

    def error(self, at: tuple[Any, ...], message: str) -> StudyError:
        while at and at not in self.lines:
            at = at[:-1]
        return StudyError(f"{self.path}:{self.lines.get(at, 1)}: {message}")


def load_study(path: str | Path) -> Study:
    """Read, validate and expand a study file; raises ``StudyError`` naming the line of the first mistake."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise StudyError(f"{path}: cannot read the study file ({error.strerror})") from None
    try:
        node = yaml.compose(text)
        doc = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise StudyError(f"{where}: not valid YAML ({getattr(error, 'problem', None) or error})") from None
    lines = _Lines(path, node)
    if not isinstance(doc, dict):
        raise lines.error((), "a study file is a mapping (models:, tasks:, settings:, ...)")
    _known_keys(doc, TOP_KEYS, (), lines)
    name = str(doc.get("name") or path.stem)
    from bakeoff.track.names import check_name

    try:
        check_name(name, "study name")
    except BakeoffError as error:
        raise lines.error(("name",), str(error)) from None
    sweeps = doc.get("sweeps") or [{}]
    if not isinstance(sweeps, list):
        raise lines.error(("sweeps",), "sweeps is a list of sub-studies")
    trials: dict[str, Trial] = {}
    rng = random.Random(_number(doc, "random_seed", 0, int, lines))
    for index, sweep in enumerate(sweeps):
        at = ("sweeps", index) if "sweeps" in doc else ()
        if not isinstance(sweep, dict):
            raise lines.error(at, "each sweep is a mapping of study keys (axes:, models:, ...)")
        _known_keys(sweep, SWEEP_KEYS, at, lines)
        merged = {**doc, **{k: v for k, v in sweep.items() if k != "name"}}
        where = {key: ((*at, key) if key in sweep else (key,)) for key in SWEEP_KEYS}
        if "settings" in sweep and isinstance(doc.get("settings"), dict) and isinstance(sweep["settings"], dict):
            _check_settings(doc["settings"], ("settings",), lines)
            merged["settings"] = {**doc["settings"], **sweep["settings"]}
        merged["fallback_task"] = doc.get("fallback_task")
        for trial in _expand(merged, where, lines, rng, sweep.get("name")):
            trials.setdefault(trial.id, trial)
    cpus, gpus = _resources(doc, lines)
    return Study(name=name, path=path, trials=list(trials.values()), budget=_budget(doc, lines),
                 schedule=_schedule(doc, lines), cpus=cpus, gpus=gpus, description=str(doc.get("description") or ""))


def _expand(doc: dict[str, Any], where: dict[str, tuple[Any, ...]], lines: _Lines, rng: random.Random,
            sweep: str | None) -> list[Trial]:
    models = _names(doc, "models", where["models"], lines)
    _check_models(models, where["models"], lines)
    settings = doc.get("settings") or {}
    _check_settings(settings, where["settings"], lines)
    tasks: list[str | None]
    if doc.get("tasks") is None and settings.get("data"):
        tasks = [None]  # your own data (settings: {data: ...}) needs no task
    else:
        named = _names(doc, "tasks", where["tasks"], lines)
        _check_tasks(named, where["tasks"], lines)
        tasks = list(_available(named, doc.get("fallback_task"), lines))
    per_task = doc.get("task_settings") or {}
    if not isinstance(per_task, dict):
        raise lines.error(where["task_settings"], "task_settings maps a task name to its own settings")
    for task, values in per_task.items():
        _check_tasks([task], (*where["task_settings"], task), lines)
        _check_settings(values, (*where["task_settings"], task), lines)
    seeds = doc.get("seeds", [42])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                          for s in seeds):
        raise lines.error(where["seeds"], "seeds is a non-empty list of whole numbers, e.g. [1, 2, 3]")
    compress = _compress(doc.get("compress") or [], where["compress"], lines)
    axes = doc.get("axes") or []
    if not isinstance(axes, list):
        raise lines.error(where["axes"], "axes is a list of {grid: ...}, {zip: ...} or {random: ..., trials: N}")
    points = [{}]
    for index, axis in enumerate(axes):
        expanded = _axis(axis, (*where["axes"], index), lines, rng)
        points = [{**left, **right} for left, right in itertools.product(points, expanded)]
    trials = []
    for model, task, point, seed in itertools.product(models, tasks, points, seeds):
        values = {**settings, **(per_task.get(task) or {}), **point, "model": model, "task": task, "seed": seed}
        try:
            config = TrainConfig.from_dict(values).validate()
        except BakeoffError as error:
            raise lines.error(where["settings"], f"{error} (in the trial {model} on {task}, seed {seed})") from None
        trials.append(make_trial(config, compress, sweep))
    return trials


def _check_settings(settings: Any, at: tuple[Any, ...], lines: _Lines) -> None:
    if not isinstance(settings, dict):
        raise lines.error(at, "settings is a mapping of `bakeoff train` settings, e.g. {epochs: 3}")
    for key, value in settings.items():
        _check_setting(key, value, (*at, key), lines)


def _available(tasks: list[str], fallback: Any, lines: _Lines) -> list[str]:
    """``fallback_task`` in place of each task whose data is not on this machine (nor shipped)."""
    if fallback is None:
        return tasks
    if not isinstance(fallback, str):
        raise lines.error(("fallback_task",), "fallback_task is one task name, e.g. demo")
    _check_tasks([fallback], ("fallback_task",), lines)
    from bakeoff.data.load import has_local_data
    from bakeoff.tasks import get_task

    return list(dict.fromkeys(task if has_local_data(get_task(task)) else fallback for task in tasks))


def _axis(axis: Any, at: tuple[Any, ...], lines: _Lines, rng: random.Random) -> list[dict[str, Any]]:
    kinds = [k for k in ("grid", "zip", "random") if isinstance(axis, dict) and k in axis]
    if len(kinds) != 1:
        raise lines.error(at, "each axis is one of {grid: {...}}, {zip: {...}} or {random: {...}, trials: N}")
    kind = kinds[0]
    _known_keys(axis, (kind, "trials") if kind == "random" else (kind,), at, lines)
    values = axis[kind]
    if not isinstance(values, dict) or not values:
        raise lines.error((*at, kind), f"{kind} needs at least one setting with a list of values")
    for key, options in values.items():
        _check_setting(key, None, (*at, kind, key), lines)
        if kind == "random" and isinstance(options, dict):
            continue
        if not isinstance(options, list) or not options:
            raise lines.error((*at, kind, key), f"axis {key!r} is empty: give a non-empty list of values")
        for index, option in enumerate(options):
            _check_setting(key, option, (*at, kind, key, index), lines)
    if kind == "grid":
        keys = list(values)
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values.values())]
    if kind == "zip":
        sizes = {key: len(options) for key, options in values.items()}
        if len(set(sizes.values())) > 1:
            raise lines.error((*at, kind), f"zip lists must have equal lengths, got {sizes}")
        return [dict(zip(values, combo, strict=True)) for combo in zip(*values.values(), strict=True)]
    count = axis.get("trials")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise lines.error(at, "a random axis needs trials: N (how many samples to draw)")
    return [{key: _sample(key, options, (*at, kind, key), lines, rng) for key, options in values.items()}
            for _ in range(count)]


def _sample(key: str, options: Any, at: tuple[Any, ...], lines: _Lines, rng: random.Random) -> Any:
    if isinstance(options, list):
        return rng.choice(options)
    if len(options) == 1 and next(iter(options)) in ("uniform", "log_uniform", "int_uniform"):
        (how, bounds), = options.items()
        if isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, (int, float)) for b in bounds):
            low, high = float(bounds[0]), float(bounds[1])
            if how == "int_uniform":
                return rng.randint(int(low), int(high))
            if how == "log_uniform" and low > 0 and high > 0:
                return float(f"{math.exp(rng.uniform(math.log(low), math.log(high))):.3g}")
            if how == "uniform":
                return float(f"{rng.uniform(low, high):.4g}")
    raise lines.error(at, f"random {key!r}: give a list of choices, or one of {{uniform: [low, high]}}, "
                          "{log_uniform: [low, high]} (both > 0), {int_uniform: [low, high]}")


def _check_setting(key: Any, value: Any, at: tuple[Any, ...], lines: _Lines) -> None:
    if key in STUDY_OWNED:
        raise lines.error(at, f"{key!r} is set by the study itself: use models:, tasks:, seeds: or resources:")
    if key not in SETTINGS:
        close = difflib.get_close_matches(str(key), SETTINGS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise lines.error(at, f"unknown setting {key!r}{hint}")
    if value is None:
        return
    expected = TYPES[key]
    if "float" in expected and isinstance(value, (int, float)) and not isinstance(value, bool):
        return
    if "int" in expected and "list" not in expected and isinstance(value, int) and not isinstance(value, bool):
        return
    if "bool" in expected and isinstance(value, bool):
        return
    if "str" in expected and isinstance(value, str):
        return
    if "list" in expected and isinstance(value, list):
        return
    kind = expected.replace(" | None", "").replace("list[int]", "a list of whole numbers").replace(
        "list[str]", "a list of strings").replace("int", "a whole number").replace("float", "a number").replace(
        "str", "a string").replace("bool", "true or false")
    raise lines.error(at, f"setting {key!r} must be {kind}, got {value!r}")


def _known_keys(doc: dict[str, Any], allowed: tuple[str, ...], at: tuple[Any, ...], lines: _Lines) -> None:
    for key in doc:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(allowed)})"
            raise lines.error((*at, key), f"unknown key {key!r}{hint}")


def _names(doc: dict[str, Any], key: str, at: tuple[Any, ...], lines: _Lines) -> list[str]:
    value = doc.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise lines.error(at, f"{key} is a non-empty list of names, e.g. {key}: "
                              f"[{'minilm-l6, minilm-l3' if key == 'models' else 'sst2'}]")
    return value


def _check_models(models: list[str], at: tuple[Any, ...], lines: _Lines) -> None:
    from bakeoff.models import aliases

    known = aliases()
    for index, model in enumerate(models):
        if model in known or "/" in model or Path(model).expanduser().exists():
            continue  # an alias, a hub id (org/name) or a local folder
        close = difflib.get_close_matches(model, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else " (see `bakeoff models`)"
        raise lines.error((*at, index) if (*at, index) in lines.lines else at, f"unknown model {model!r}{hint}")


def _check_tasks(tasks: list[str], at: tuple[Any, ...], lines: _Lines) -> None:
    from bakeoff.tasks import get_task

    for index, task in enumerate(tasks):
        try:
            get_task(task)
        except BakeoffError as error:
            raise lines.error((*at, index) if (*at, index) in lines.lines else at, str(error)) from None


def _compress(methods: Any, at: tuple[Any, ...], lines: _Lines) -> list[str]:
    from bakeoff.compress.artefact import METHODS

    if isinstance(methods, str):
        methods = [methods]
    if not isinstance(methods, list):
        raise lines.error(at, f"compress is a list of methods: {', '.join(METHODS)}")
    for method in methods:
        if method not in METHODS:
            raise lines.error(at, f"unknown compression method {method!r}: use {', '.join(METHODS)}")
    return list(methods)


def _number(doc: dict[str, Any], key: str, default: Any, kind: type, lines: _Lines, at: tuple[Any, ...] = ()) -> Any:
    value = doc.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)) \
            or value < 0:
        raise lines.error((*at, key), f"{key} must be a {'whole ' if kind is int else ''}number >= 0, got {value!r}")
    return kind(value)


def _budget(doc: dict[str, Any], lines: _Lines) -> Budget:
    budget = doc.get("budget") or {}
    if not isinstance(budget, dict):
        raise lines.error(("budget",), "budget is a mapping: {max_trials: N, max_hours: H}")
    _known_keys(budget, ("max_trials", "max_hours"), ("budget",), lines)
    return Budget(_number(budget, "max_trials", None, int, lines, ("budget",)),
                  _number(budget, "max_hours", None, float, lines, ("budget",)))


def _schedule(doc: dict[str, Any], lines: _Lines) -> Asha | None:
    schedule = doc.get("schedule")
    if schedule in (None, "none"):
        return None
    if schedule == "asha":
        return Asha()
    if isinstance(schedule, dict) and list(schedule) == ["asha"]:
        options = schedule["asha"] or {}
        if not isinstance(options, dict):
            raise lines.error(("schedule", "asha"), "asha options: {reduction_factor: 3, min_epochs: 1}")
        _known_keys(options, ("reduction_factor", "min_epochs", "max_epochs"), ("schedule", "asha"), lines)
        at = ("schedule", "asha")
        factor = _number(options, "reduction_factor", 3, int, lines, at)
        if factor < 2:
            raise lines.error((*at, "reduction_factor"), "reduction_factor must be >= 2")
        return Asha(factor, _number(options, "min_epochs", 1.0, float, lines, at) or 1.0,
                    _number(options, "max_epochs", None, float, lines, at))
    raise lines.error(("schedule",), f"schedule {schedule!r}: use asha, {{asha: {{...}}}} or none")


def _resources(doc: dict[str, Any], lines: _Lines) -> tuple[int | None, float]:
    resources = doc.get("resources") or {}
    if not isinstance(resources, dict):
        raise lines.error(("resources",), "resources is a mapping: {cpus: 1, gpus: 0}")
    _known_keys(resources, ("cpus", "gpus"), ("resources",), lines)
    cpus = _number(resources, "cpus", None, int, lines, ("resources",))
    if cpus == 0:
        raise lines.error(("resources", "cpus"), "cpus must be >= 1")
    return cpus, _number(resources, "gpus", 0, float, lines, ("resources",))
