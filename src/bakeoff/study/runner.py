"""Run a study: skip what is done, (re)run the rest on an executor, stop at the budget, halve with ASHA.

Identity is the path: a trial's run is ``<store>/<study>/<task>-<model>-<trial id>``. Running the same study
again finds each trial's run there: COMPLETED (and FAILED, unless retried) ones are kept, anything else
(CRASHED, INTERRUPTED, RUNNING from a killed study) is removed and run again, so every trial is in the store
exactly once. One study runs once at a time: a second ``bakeoff run`` of it is refused while the first holds
the study's lock.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bakeoff.errors import BakeoffError
from bakeoff.eval.metrics import metric_info
from bakeoff.study.executors import LocalExecutor, RayExecutor, require_ray
from bakeoff.study.spec import Study
from bakeoff.study.trials import Trial
from bakeoff.track import Store
from bakeoff.track._files import read_json

LOCK_FILE = ".study.lock"


@dataclass
class TrialOutcome:
    trial: Trial
    status: str  # COMPLETED, FAILED, CRASHED, SKIPPED (done before), BUDGET (not started: budget spent)
    metric: float | None = None
    metric_name: str | None = None
    seconds: float | None = None  # the trial process's wall time
    train_seconds: float | None = None
    error: str | None = None
    resumed: bool = False  # True: found finished in the store, not run now
    compress: dict[str, Any] = field(default_factory=dict)  # method -> its change, or {"error": ...}


@dataclass
class StudyOutcome:
    study: str
    executor: str
    outcomes: list[TrialOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, *statuses: str) -> int:
        return sum(o.status in statuses for o in self.outcomes)


Progress = Callable[[str, Any], None]  # ("start", total) / ("trial", TrialOutcome) / ("rung", text)


def run_study(study: Study, executor: str = "local", ray_address: str | None = None, max_parallel: int = 1,
              retry_failed: bool = False, progress: Progress | None = None) -> StudyOutcome:
    """Run every trial of ``study`` not already in the store; returns what happened to each."""
    progress = progress or (lambda kind, value: None)
    if executor not in ("local", "ray"):
        raise BakeoffError(f"--executor {executor!r}: use local or ray")
    # threads per trial: what the study asks for; else locally the cores shared out, on Ray one CPU per task
    if executor == "ray":
        require_ray()  # before anything is locked or written
        cpus = study.cpus or 1
        runner: LocalExecutor | RayExecutor = RayExecutor(ray_address, cpus=cpus, gpus=study.gpus,
                                                          max_parallel=max_parallel if max_parallel > 1 else None)
    else:
        cpus = study.cpus or max(1, (os.cpu_count() or 1) // max(1, max_parallel))
        runner = LocalExecutor(max_parallel)
    store = Store()
    outcome = StudyOutcome(study.name, executor)
    start = time.monotonic()
    deadline = start + study.budget.max_hours * 3600 if study.budget.max_hours else None
    with _study_lock(store.root / study.name):
        rung = _first_rung(study)
        progress("start", len(rung) if study.schedule else _capped(study, len(rung)))
        while rung:
            results = _run_rung(rung, study, runner, store, cpus, retry_failed, deadline, progress)
            outcome.outcomes.extend(results)
            rung = _promote(results, study) if study.schedule else []
            if rung:
                progress("rung", f"successive halving: {len(rung)} trials go on to {rung[0].config['epochs']:g} "
                                 "epochs")
    outcome.seconds = time.monotonic() - start
    return outcome


def _run_rung(trials: list[Trial], study: Study, runner: LocalExecutor | RayExecutor, store: Store, cpus: int,
              retry_failed: bool, deadline: float | None, progress: Progress) -> list[TrialOutcome]:
    outcomes: dict[str, TrialOutcome] = {}
    todo = []
    for index, trial in enumerate(trials):
        if study.budget.max_trials is not None and not study.schedule and index >= study.budget.max_trials:
            outcomes[trial.id] = TrialOutcome(trial, "BUDGET", error="max_trials reached")
            continue
        done = _finished(store, study.name, trial, retry_failed)
        if done is not None:
            outcomes[trial.id] = done
            progress("trial", done)
        else:
            todo.append(trial)
    by_id = {trial.id: trial for trial in todo}
    payloads = [_payload(trial, study, cpus) for trial in todo]
    # Without a deadline the executor gets every trial at once; with one, a wave per free slot, so that no
    # trial starts after max_hours.
    width = max(1, len(payloads) if deadline is None else getattr(runner, "max_parallel", None) or 1)
    for first in range(0, len(payloads), width):
        if deadline is not None and time.monotonic() > deadline:
            break
        for payload, summary in runner.map(payloads[first:first + width]):
            trial = by_id[payload["trial"]]
            outcomes[trial.id] = TrialOutcome(trial, summary["status"], summary.get("metric"),
                                              summary.get("metric_name"), summary.get("seconds"),
                                              summary.get("train_seconds"), summary.get("error"),
                                              compress=summary.get("compress") or {})
            progress("trial", outcomes[trial.id])
    for trial in todo:
        outcomes.setdefault(trial.id, TrialOutcome(trial, "BUDGET", error="max_hours reached before it started"))
    return [outcomes[t.id] for t in trials]


def _finished(store: Store, project: str, trial: Trial, retry_failed: bool) -> TrialOutcome | None:
    """The trial's outcome if it is done; None if it must (re)run, after clearing any unfinished run of it."""
    run_dir = store.root / project / trial.run_name
    if not run_dir.is_dir():
        return None
    try:
        run = store.get(str(run_dir))
    except BakeoffError:
        run = None
    status = run.status if run is not None else "UNKNOWN"
    result = read_json(run_dir / "result.json", default=None)
    if status == "COMPLETED" and isinstance(result, dict):
        validation = result.get("validation") or {}
        return TrialOutcome(trial, "COMPLETED", validation.get("metrics", {}).get(validation.get("primary_metric")),
                            validation.get("primary_metric"), None, result.get("training", {}).get("seconds"),
                            resumed=True)
    if status == "FAILED" and not retry_failed:
        return TrialOutcome(trial, "FAILED", error=(run.info.get("error") if run else None), resumed=True)
    shutil.rmtree(run_dir)  # CRASHED, INTERRUPTED or a RUNNING left by a killed study: run it again
    return None


def _payload(trial: Trial, study: Study, cpus: int) -> dict[str, Any]:
    return {"trial": trial.id, "config": {**trial.config, "threads": cpus}, "compress": list(trial.compress),
            "project": study.name, "run_name": trial.run_name,
            "tags": [f"study:{study.name}", f"trial:{trial.id}", f"rung:{trial.rung}"]
                    + ([f"sweep:{trial.sweep}"] if trial.sweep else [])}


def _capped(study: Study, count: int) -> int:
    return min(count, study.budget.max_trials) if study.budget.max_trials is not None else count


def _first_rung(study: Study) -> list[Trial]:
    """Without ASHA every trial; with it, every trial at ``min_epochs`` (its own epochs are the ceiling)."""
    if not study.schedule:
        return list(study.trials)
    first = []
    for trial in study.trials:
        ceiling = study.schedule.max_epochs or float(trial.config["epochs"])
        first.append(trial.with_epochs(min(study.schedule.min_epochs, ceiling), 0, ceiling))
    return first


def _promote(results: list[TrialOutcome], study: Study) -> list[Trial]:
    """The next rung: the best 1/reduction_factor of the variants (mean over seeds), trained factor x longer."""
    assert study.schedule is not None
    factor = study.schedule.reduction_factor
    by_variant: dict[str, list[TrialOutcome]] = {}
    for result in results:
        by_variant.setdefault(result.trial.variant, []).append(result)
    scored = []
    for group in by_variant.values():
        values = [r.metric for r in group if r.status == "COMPLETED" and r.metric is not None]
        epochs, ceiling = float(group[0].trial.config["epochs"]), group[0].trial.max_epochs or 0.0
        if values and len(values) == len(group) and epochs < ceiling:
            scored.append((sum(values) / len(values), group))
    if len(scored) <= 1:
        return []
    higher = metric_info(scored[0][1][0].metric_name or "accuracy").higher_is_better
    scored.sort(key=lambda item: item[0], reverse=higher)
    promoted = []
    for _, group in scored[: max(1, len(scored) // factor)]:
        for result in group:
            trial = result.trial
            epochs = min(float(trial.config["epochs"]) * factor, trial.max_epochs or 0.0)
            promoted.append(trial.with_epochs(epochs, trial.rung + 1, trial.max_epochs))
    return promoted


@contextmanager
def _study_lock(project_dir: Path) -> Iterator[None]:
    """Hold the study's lock, or refuse at once with the holder's pid."""
    project_dir.mkdir(parents=True, exist_ok=True)
    handle = open(project_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held for the whole study
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise BakeoffError(f"study {project_dir.name!r} is already running (pid {holder}): wait for it to "
                               "finish, or stop it; running the command again afterwards resumes it") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()
