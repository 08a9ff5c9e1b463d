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
    decide: {tolerance: 1, max_seeds: 8, budget: 30m}   # tolerance: points of the metric that do not matter
                                    # (default 1); `bakeoff run FILE --until-decided` races up to the other two
    schedule: asha                  # or {asha: {reduction_factor: 3, min_epochs: 1}}
    resources: {cpus: 1}            # per trial: torch threads locally, the Ray request on a cluster;
                                    # {gpus: N}, N >= 2 whole: the Ray request, and one run across N processes
    checkpoints: all                # which trials' checkpoints travel back from Ray nodes: all, best, none
    sweeps:                         # optional: several sub-studies that inherit every key above
      - {name: lengths, axes: [...]}    # a sweep's settings add to (and override) the study's

An embedding study (or sweep) scores frozen embeddings instead of training: ``embedding: KIND`` (or
``{kind: KIND}``) with KIND one of pairs, probe, retrieval. Its settings and axes are ``EmbeddingConfig``'s
(``pooling``, ``normalize``, ``precision``, ``max_length``, ``batch_size``, ``train_fraction``, ``split``, data
columns), each value checked at its line; its models may be trained runs (``project/name``) beside their base::

    models: [minilm-l6]
    axes: [{grid: {pooling: [mean, cls, max]}}]
    sweeps:
      - {name: pairs, tasks: [mrpc], embedding: pairs}
      - {name: probe, tasks: [sst2], embedding: {kind: probe}}

``compress:`` and ``schedule:`` apply to training only, and are refused beside ``embedding:``.
"""

from __future__ import annotations

import difflib
import itertools
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from bakeoff.config import OptionError, TrainConfig, check_run_name, coerce_option, specs
from bakeoff.config.decide import Decide, duration_seconds
from bakeoff.config.embedding import KINDS, EmbeddingConfig
from bakeoff.errors import BakeoffError
from bakeoff.study.axes import check_settings, expand_axis
from bakeoff.study.lines import LineMap, StudyError, known_keys, read_yaml
from bakeoff.study.trials import Trial, make_trial

TOP_KEYS = ("name", "description", "models", "tasks", "fallback_task", "settings", "task_settings", "axes", "seeds",
            "compress", "budget", "schedule", "resources", "checkpoints", "random_seed", "embedding", "sweeps",
            "decide")
SWEEP_KEYS = ("name", "models", "tasks", "settings", "task_settings", "axes", "seeds", "compress", "embedding")
MAX_TRIALS = 10_000  # a study lists at most this many trials (each is a training run or an evaluation)


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
    notes: list[str] = field(default_factory=list)  # what the file asked for that the trials do not show
    checkpoints: str = "all"  # what a Ray trial ships back (study/shipping.py); local trials keep theirs on disk
    decide: Decide = field(default_factory=Decide)
    seeds: list[int] = field(default_factory=list)  # the seeds the study file asks for (every sweep's), in order


def load_study(path: str | Path) -> Study:
    """Read, validate and expand a study file; raises ``StudyError`` naming the line of the first mistake."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise StudyError(f"{path}: cannot read the study file ({error.strerror})") from None
    doc, lines = read_yaml(path, text)  # duplicate keys and runaway aliases refused at their line
    if not isinstance(doc, dict):
        raise lines.error((), "a study file is a mapping (models:, tasks:, settings:, ...)")
    known_keys(doc, TOP_KEYS, (), lines)
    name = str(doc.get("name") or path.stem)
    try:
        check_run_name(name, "study")  # the study's name is the project its runs are stored in
    except OptionError as error:
        if "name" in doc:
            raise lines.error(("name",), f"name {error.problem}") from None
        raise lines.error((), f"the study is named after its file, and {error.problem}: add a line "
                              f"`name: {_usable(name)}`") from None
    sweeps = doc.get("sweeps") or [{}]
    if not isinstance(sweeps, list):
        raise lines.error(("sweeps",), "sweeps is a list of sub-studies")
    trials: dict[str, Trial] = {}
    generated = 0
    rng = random.Random(_number(doc, "random_seed", 0, int, lines))
    for index, sweep in enumerate(sweeps):
        at = ("sweeps", index) if "sweeps" in doc else ()
        if not isinstance(sweep, dict):
            raise lines.error(at, "each sweep is a mapping of study keys (axes:, models:, ...)")
        known_keys(sweep, SWEEP_KEYS, at, lines)
        merged = {**doc, **{k: v for k, v in sweep.items() if k != "name"}}
        where = {key: ((*at, key) if key in sweep else (key,)) for key in SWEEP_KEYS}
        kind = _embedding_kind(merged.get("embedding"), where["embedding"], lines)
        config_type = EmbeddingConfig if kind else TrainConfig
        if "settings" in sweep and isinstance(doc.get("settings"), dict) and isinstance(sweep["settings"], dict):
            merged["settings"] = {**check_settings(doc["settings"], ("settings",), lines, config_type),
                                  **sweep["settings"]}
        merged["fallback_task"] = doc.get("fallback_task")
        for trial in _expand(merged, where, lines, rng, sweep.get("name"), kind):
            generated += 1
            trials.setdefault(trial.id, trial)
        if generated > MAX_TRIALS:
            raise lines.error(at or ("sweeps",), f"the sweeps so far make {generated:,} trials, more than "
                                                 f"{MAX_TRIALS:,}: use fewer sweeps or fewer values")
    if doc.get("schedule") not in (None, "none") and any(trial.embedding for trial in trials.values()):
        raise lines.error(("schedule",), "schedule (successive halving) shortens training: an embedding study "
                                         "trains nothing, leave it out")
    cpus, gpus = _resources(doc, lines)
    study = Study(name=name, path=path, trials=list(trials.values()), budget=_budget(doc, lines),
                  schedule=_schedule(doc, lines), cpus=cpus, gpus=gpus, description=str(doc.get("description") or ""),
                  checkpoints=_checkpoints(doc, lines), decide=_decide(doc, lines),
                  seeds=list(dict.fromkeys(int(t.config["seed"]) for t in trials.values())))
    if generated > len(trials):  # a random axis drawing the same (rounded) values again, or sweeps overlapping
        study.notes.append(f"{generated} trials listed or drawn, {len(trials)} distinct: {generated - len(trials)} "
                           "repeat another trial's settings exactly and run once (a random axis can draw the same "
                           "values again; the numbers it draws are rounded to 3-4 significant digits)")
    cap = study.budget.max_trials
    if cap is not None and cap < len(study.trials):
        study.notes.append(f"budget max_trials {cap}: only the first {cap} of the {len(study.trials)} trials run")
    return study


def _usable(name: str) -> str:
    """A name close to ``name`` that the store accepts (the hint for a study file named with spaces)."""
    import re

    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:128]
    return cleaned or "my-study"


def _expand(doc: dict[str, Any], where: dict[str, tuple[Any, ...]], lines: LineMap, rng: random.Random,
            sweep: str | None, kind: str | None = None) -> list[Trial]:
    config_type = EmbeddingConfig if kind else TrainConfig
    models = _names(doc, "models", where["models"], lines)
    _check_models(models, where["models"], lines, kind)
    settings = check_settings(doc.get("settings") or {}, where["settings"], lines, config_type)
    tasks: list[str | None]
    if doc.get("tasks") is None and settings.get("data"):
        tasks = [None]  # your own data (settings: {data: ...}) needs no task
    else:
        named = _names(doc, "tasks", where["tasks"], lines)
        _check_tasks(named, where["tasks"], lines)
        tasks = list(_available(named, doc.get("fallback_task"), lines))
        if kind:
            _check_kind_fits(named, kind, where["tasks"], lines)
            if set(tasks) - set(named):  # the fallback stands in for a task whose data is missing: it must fit too
                _check_kind_fits([str(doc.get("fallback_task"))], kind, ("fallback_task",), lines)
    per_task = doc.get("task_settings") or {}
    if not isinstance(per_task, dict):
        raise lines.error(where["task_settings"], "task_settings maps a task name to its own settings")
    per_task = dict(per_task)
    for task, values in per_task.items():
        _check_tasks([task], (*where["task_settings"], task), lines)
        per_task[task] = check_settings(values, (*where["task_settings"], task), lines, config_type)
    seeds = doc.get("seeds", [42])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                          for s in seeds):
        raise lines.error(where["seeds"], "seeds is a non-empty list of whole numbers, e.g. [1, 2, 3]")
    compress = _compress(doc.get("compress") or [], where["compress"], lines)
    if kind and compress:
        raise lines.error(where["compress"], "compress applies to trained models: an embedding study scores frozen "
                                             "encoders, leave it out (or compare precision: [fp32, int8])")
    axes = doc.get("axes") or []
    if not isinstance(axes, list):
        raise lines.error(where["axes"], "axes is a list of {grid: ...}, {zip: ...} or {random: ..., trials: N}")
    _check_size(len(models) * len(tasks) * len(seeds), axes, where["axes"], lines)  # before anything is expanded
    points = [{}]
    for index, axis in enumerate(axes):
        expanded = expand_axis(axis, (*where["axes"], index), lines, rng, config_type)
        points = [{**left, **right} for left, right in itertools.product(points, expanded)]
    trials = []
    limits: dict[str, int | None] = {}  # each model's token limit, read once from its config.json
    for model, task, point, seed in itertools.product(models, tasks, points, seeds):
        values = {**settings, **(per_task.get(task) or {}), **point, "model": model, "task": task, "seed": seed}
        try:
            config = (EmbeddingConfig.from_dict({**values, "kind": kind}) if kind else
                      TrainConfig.from_dict(values)).validate()
        except BakeoffError as error:
            raise lines.error(where["settings"], f"{error} (in the trial {model} on {task}, seed {seed})") from None
        if model not in limits:
            limits[model] = _token_limit(model, kind)
        limit = limits[model]
        if limit is not None and config.max_length is not None and config.max_length > limit:
            at = _max_length_at(task, point, settings, per_task, axes, where, models.index(model))
            raise lines.error(at, f"max_length {config.max_length}: {model} takes at most {limit} tokens (its "
                                  f"position embeddings), in the trial {model} on {task or 'your data'}: give "
                                  f"max_length {limit} or less")
        trials.append(make_trial(config, compress, sweep))
    return trials


def _token_limit(model: str, kind: str | None) -> int | None:
    """The most tokens ``model`` takes (its config.json's position embeddings, no weights read), or None where its
    config is not on this machine (a hub id not in the cache: the trial's own load then says why)."""
    from bakeoff.models import resolve_model, token_limit

    if kind and "/" in model and not Path(model).expanduser().exists():  # an embedding study may name a run
        from bakeoff.runs.locate import locate

        try:
            return token_limit(str(locate(model).model_dir))
        except BakeoffError:
            pass  # not a run: a hub id
    try:
        return token_limit(resolve_model(model).location)
    except BakeoffError:
        return None


def _max_length_at(task: str | None, point: dict[str, Any], settings: dict[str, Any], per_task: dict[str, Any],
                   axes: list[Any], where: dict[str, tuple[Any, ...]], model_index: int) -> tuple[Any, ...]:
    """The line a trial's ``max_length`` came from: an axis, the task's settings, the settings, or (the default)
    the model's."""
    if "max_length" in point:
        for index, axis in enumerate(axes):
            if isinstance(axis, dict) and any(isinstance(block, dict) and "max_length" in block
                                              for block in axis.values()):
                return (*where["axes"], index)
    if "max_length" in (per_task.get(task) or {}):
        return (*where["task_settings"], task, "max_length")
    if "max_length" in settings:
        return (*where["settings"], "max_length")
    return (*where["models"], model_index)


def _check_size(base: int, axes: list[Any], at: tuple[Any, ...], lines: LineMap) -> None:
    """Refuse a study of more than ``MAX_TRIALS`` trials from the axes' lengths, without expanding them (a grid of
    six settings with ten values each is a million trials: listing them alone takes minutes)."""
    total = base
    for axis in axes:
        total *= _axis_points(axis)
    if total > MAX_TRIALS:
        raise lines.error(at, f"these axes make {total:,} trials ({base:,} model/task/seed combinations times the "
                              f"axes), more than {MAX_TRIALS:,}: use fewer values, a zip axis, or a random axis with "
                              "trials: N")


def _axis_points(axis: Any) -> int:
    """How many points an axis will expand to (1 for a malformed axis: ``expand_axis`` says what is wrong)."""
    if not isinstance(axis, dict):
        return 1
    if isinstance(axis.get("grid"), dict):
        return math.prod(len(v) if isinstance(v, list) else 1 for v in axis["grid"].values())
    if isinstance(axis.get("zip"), dict):
        return max((len(v) for v in axis["zip"].values() if isinstance(v, list)), default=1)
    trials = axis.get("trials")
    return trials if isinstance(trials, int) and not isinstance(trials, bool) and trials > 0 else 1


def _embedding_kind(value: Any, at: tuple[Any, ...], lines: LineMap) -> str | None:
    """The embedding kind a study (or sweep) declares: ``embedding: pairs`` or ``embedding: {kind: pairs}``."""
    if value is None:
        return None
    if isinstance(value, dict):
        known_keys(value, ("kind",), at, lines)
        value, at = value.get("kind"), (*at, "kind")
    if not isinstance(value, str) or value not in KINDS:
        close = difflib.get_close_matches(str(value), KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise lines.error(at, f"embedding kind {value!r}: use one of {', '.join(KINDS)}{hint}")
    return value


def _check_kind_fits(tasks: list[str], kind: str, at: tuple[Any, ...], lines: LineMap) -> None:
    """pairs and retrieval need a task of text pairs (mrpc); the probe a task of single texts (sst2)."""
    from bakeoff.tasks import get_task

    for index, task in enumerate(tasks):
        pair = get_task(task).pair
        if pair != (kind != "probe"):
            need = "single texts (e.g. sst2)" if kind == "probe" else "text pairs (e.g. mrpc)"
            raise lines.error((*at, index) if (*at, index) in lines.lines else at,
                              f"embedding kind {kind} needs a task of {need}; {task} has "
                              f"{'text pairs' if pair else 'single texts'}")


def _available(tasks: list[str], fallback: Any, lines: LineMap) -> list[str]:
    """``fallback_task`` in place of each task whose data is not on this machine (nor shipped)."""
    if fallback is None:
        return tasks
    if not isinstance(fallback, str):
        raise lines.error(("fallback_task",), "fallback_task is one task name, e.g. demo")
    _check_tasks([fallback], ("fallback_task",), lines)
    from bakeoff.data.load import has_local_data
    from bakeoff.tasks import get_task

    return list(dict.fromkeys(task if has_local_data(get_task(task)) else fallback for task in tasks))


def _names(doc: dict[str, Any], key: str, at: tuple[Any, ...], lines: LineMap) -> list[str]:
    value = doc.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise lines.error(at, f"{key} is a non-empty list of names, e.g. {key}: "
                              f"[{'minilm-l6, minilm-l3' if key == 'models' else 'sst2'}]")
    return value


def _check_models(models: list[str], at: tuple[Any, ...], lines: LineMap, kind: str | None = None) -> None:
    from bakeoff.models import aliases

    known = aliases()
    for index, model in enumerate(models):
        line = (*at, index) if (*at, index) in lines.lines else at
        if model in known or Path(model).expanduser().exists():
            continue  # an alias or a local folder
        if "/" in model:  # a trained run (project/name; embedding studies) or a hub id (org/name)
            problem = _unreachable(model, kind)
            if problem:
                raise lines.error(line, problem)
            continue
        close = difflib.get_close_matches(model, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else " (see `bakeoff models`)"
        raise lines.error(line, f"unknown model {model!r}{hint}")


def _unreachable(model: str, kind: str | None) -> str:
    """Why ``model`` (``a/b``) cannot be loaded when its trial runs, or "": checked now, not hours later.

    An embedding study may name a trained run as project/name: when that project is in the store, the run must be
    too. Otherwise it is a hub id: offline (HF_HUB_OFFLINE=1), it must be in the local Hugging Face cache.
    """
    import os

    from bakeoff.errors import RunNotFound
    from bakeoff.track import Store

    store = Store()
    project = model.split("/", 1)[0]
    if kind and (Path(store.root) / project).is_dir():
        try:
            store.get(model)
            return ""
        except RunNotFound:
            names = sorted(run.name for run in store.list(project))[:5]
            return (f"no run {model!r} in the store ({store.root}; project {project!r} holds "
                    f"{', '.join(names) or 'no runs'}): name a trained run as project/name (`bakeoff runs ls`)")
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        return ""  # online: the hub answers when the trial loads it
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(model, "config.json")
    except Exception:  # noqa: BLE001 - an id the hub library refuses is not reachable either
        cached = None
    if isinstance(cached, str):
        return ""
    run = "a trained run in the store nor " if kind else ""
    return (f"model {model!r} is not {run}in the local Hugging Face cache, and HF_HUB_OFFLINE=1 keeps bakeoff off "
            "the hub: download it once online, or name a local folder" + (" or a run (`bakeoff runs ls`)" if kind
                                                                         else ""))


def _check_tasks(tasks: list[str], at: tuple[Any, ...], lines: LineMap) -> None:
    from bakeoff.tasks import get_task

    for index, task in enumerate(tasks):
        try:
            get_task(task)
        except BakeoffError as error:
            raise lines.error((*at, index) if (*at, index) in lines.lines else at, str(error)) from None


def _compress(methods: Any, at: tuple[Any, ...], lines: LineMap) -> list[str]:
    from bakeoff.compression.artefact import METHODS

    if isinstance(methods, str):
        methods = [methods]
    if not isinstance(methods, list):
        raise lines.error(at, f"compress is a list of methods: {', '.join(METHODS)}")
    for method in methods:
        if method not in METHODS:
            raise lines.error(at, f"unknown compression method {method!r}: use {', '.join(METHODS)}")
    return list(methods)


def _number(doc: dict[str, Any], key: str, default: Any, kind: type, lines: LineMap, at: tuple[Any, ...] = ()) -> Any:
    value = doc.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)) \
            or value < 0:
        raise lines.error((*at, key), f"{key} must be a {'whole ' if kind is int else ''}number >= 0, got {value!r}")
    return kind(value)


def _budget(doc: dict[str, Any], lines: LineMap) -> Budget:
    budget = doc.get("budget") or {}
    if not isinstance(budget, dict):
        raise lines.error(("budget",), "budget is a mapping: {max_trials: N, max_hours: H}")
    known_keys(budget, ("max_trials", "max_hours"), ("budget",), lines)
    return Budget(_number(budget, "max_trials", None, int, lines, ("budget",)),
                  _number(budget, "max_hours", None, float, lines, ("budget",)))


def _schedule(doc: dict[str, Any], lines: LineMap) -> Asha | None:
    schedule = doc.get("schedule")
    if schedule in (None, "none"):
        return None
    if schedule == "asha":
        return Asha()
    if isinstance(schedule, dict) and list(schedule) == ["asha"]:
        options = schedule["asha"] or {}
        if not isinstance(options, dict):
            raise lines.error(("schedule", "asha"), "asha options: {reduction_factor: 3, min_epochs: 1}")
        known_keys(options, ("reduction_factor", "min_epochs", "max_epochs"), ("schedule", "asha"), lines)
        at = ("schedule", "asha")
        factor = _number(options, "reduction_factor", 3, int, lines, at)
        if factor < 2:
            raise lines.error((*at, "reduction_factor"), "reduction_factor must be >= 2")
        return Asha(factor, _number(options, "min_epochs", 1.0, float, lines, at) or 1.0,
                    _number(options, "max_epochs", None, float, lines, at))
    raise lines.error(("schedule",), f"schedule {schedule!r}: use asha, {{asha: {{...}}}} or none")


def _resources(doc: dict[str, Any], lines: LineMap) -> tuple[int | None, float]:
    resources = doc.get("resources") or {}
    if not isinstance(resources, dict):
        raise lines.error(("resources",), "resources is a mapping: {cpus: 1, gpus: 0}")
    known_keys(resources, ("cpus", "gpus"), ("resources",), lines)
    cpus = _number(resources, "cpus", None, int, lines, ("resources",))
    if cpus == 0:
        raise lines.error(("resources", "cpus"), "cpus must be >= 1")
    return cpus, _number(resources, "gpus", 0, float, lines, ("resources",))


def _checkpoints(doc: dict[str, Any], lines: LineMap) -> str:
    """``checkpoints``: which trials' checkpoints a Ray trial ships back to the driver's store.

    Default ``all``: a study on a cluster then leaves the same store as on one machine, every run usable by
    ``bakeoff evaluate`` and ``compress``, which is what a user switching ``--executor`` expects; ``best`` (the
    best trial of each task so far) and ``none`` are the economies a big sweep of big models opts into.
    """
    from bakeoff.study.shipping import CHECKPOINT_POLICIES

    value = doc.get("checkpoints", "all")
    if value not in CHECKPOINT_POLICIES:
        raise lines.error(("checkpoints",), f"checkpoints {value!r}: use {', '.join(CHECKPOINT_POLICIES)}")
    return str(value)


def _decide(doc: dict[str, Any], lines: LineMap) -> Decide:
    """``decide: {tolerance: 1, max_seeds: 8, budget: 30m}``, each value checked at its line."""
    block = doc.get("decide")
    if block is None:
        return Decide()
    if not isinstance(block, dict):
        raise lines.error(("decide",), "decide is a mapping: {tolerance: 1, max_seeds: 8, budget: 30m}")
    known_keys(block, tuple(specs(Decide)), ("decide",), lines)
    values = {}
    for key, value in block.items():
        if key == "budget" and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = f"{value}s"  # a number of seconds
        try:
            values[key] = None if value is None else coerce_option(Decide, key, value)
            if key == "budget" and value is not None:
                duration_seconds(values[key])
        except OptionError as error:
            raise lines.error(("decide", key), f"decide {key} {error.problem}") from None
        except BakeoffError as error:
            raise lines.error(("decide", key), str(error)) from None
    return Decide(**values)
