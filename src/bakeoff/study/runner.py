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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bakeoff.errors import BakeoffError
from bakeoff.hardware import take_threads
from bakeoff.report.racing import RaceRecord
from bakeoff.runs.files import CHECKPOINT_DIR, REPORT_FILE, RESULT_FILE, compressed_dir
from bakeoff.runs.results import TrainResult, load_result
from bakeoff.study.events import (
    OnEvent,
    RungStarted,
    StudyStarted,
    TrialFinished,
    TrialProgress,
    TrialStarted,
)
from bakeoff.study.executors import (
    LocalExecutor,
    RayExecutor,
    check_ray_address,
    require_ray,
)
from bakeoff.study.race import RaceSettings, race
from bakeoff.study.scheduler import first_rung, promote
from bakeoff.study.spec import Study
from bakeoff.study.trials import Trial, TrialSummary
from bakeoff.study.worker import TrialPayload
from bakeoff.track import Store

LOCK_FILE = ".study.lock"


@dataclass
class TrialOutcome:
    trial: Trial
    status: str  # COMPLETED, INTERRUPTED, FAILED, CRASHED, BUDGET (not started: budget spent)
    metric: float | None = None
    metric_name: str | None = None
    seconds: float | None = None  # the trial process's wall time
    train_seconds: float | None = None
    error: str | None = None
    resumed: bool = False  # True: found finished in the store, not run now
    compress: dict[str, Any] = field(default_factory=dict)  # method -> its change, or {"error": ...}

    @classmethod
    def of(cls, trial: Trial, summary: TrialSummary) -> TrialOutcome:
        return cls(trial, summary.status, summary.metric, summary.metric_name, summary.seconds,
                   summary.train_seconds, summary.error, compress=summary.compress)


@dataclass
class StudyOutcome:
    study: str
    executor: str
    outcomes: list[TrialOutcome] = field(default_factory=list)
    seconds: float = 0.0
    race: RaceRecord | None = None  # what racing decided (--until-decided), else None

    def count(self, *statuses: str) -> int:
        return sum(o.status in statuses for o in self.outcomes)


class _Budget:
    """``max_trials`` counts every trial the study holds, across rungs; ``max_hours`` stops new trials."""

    def __init__(self, study: Study, start: float) -> None:
        self.trials_left = study.budget.max_trials
        self.deadline = start + study.budget.max_hours * 3600 if study.budget.max_hours else None

    def take(self) -> bool:
        if self.trials_left is None:
            return True
        if self.trials_left <= 0:
            return False
        self.trials_left -= 1
        return True

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline


def run_study(study: Study, executor: str = "local", ray_address: str | None = None, max_parallel: int = 1,
              retry_failed: bool = False, on_event: OnEvent | None = None,
              until_decided: RaceSettings | None = None) -> StudyOutcome:
    """Run every trial of ``study`` not already in the store; returns what happened to each.

    With ``until_decided``, race afterwards (``study/race.py``): rounds of one more seed for the rows still
    undecided against their leader, until every comparison is decided, ``max_seeds`` or the time budget.
    """
    on_event = on_event or (lambda event: None)
    if executor not in ("local", "ray"):
        raise BakeoffError(f"--executor {executor!r}: use local or ray")
    # threads per trial: what the study asks for; else locally the cores shared out, on Ray one CPU per task
    if executor == "ray":
        require_ray()  # before anything is locked or written
        check_ray_address(ray_address)
        cpus = study.cpus or 1
        runner: LocalExecutor | RayExecutor = RayExecutor(ray_address, cpus=cpus, gpus=study.gpus,
                                                          max_parallel=max_parallel if max_parallel > 1 else None,
                                                          checkpoints=study.checkpoints)
        note = None
    else:
        cpus, note = local_threads(study.cpus, max_parallel)
        runner = LocalExecutor(max_parallel)
    store = Store()
    store.check_writable()
    outcome = StudyOutcome(study.name, executor)
    start = time.monotonic()
    budget = _Budget(study, start)
    with _study_lock(store.root / study.name):
        rung = first_rung(study)
        on_event(StudyStarted(len(rung), cpus, note))
        while rung:
            results = _run_rung(rung, study, runner, store, cpus, retry_failed, budget, on_event)
            outcome.outcomes.extend(results)
            rung = promote(results, study.schedule) if study.schedule else []
            if rung:
                on_event(RungStarted(len(rung), rung[0].epochs))
        if until_decided is not None:
            def run_round(trials: list[Trial]) -> list[TrialOutcome]:
                return _run_rung(trials, study, runner, store, cpus, retry_failed, budget, on_event)

            outcome.race, rounds = race(study, until_decided, run_round, store, start, on_event)
            outcome.outcomes.extend(rounds)
    outcome.seconds = time.monotonic() - start
    return outcome


def local_threads(asked: int | None, max_parallel: int, cores: int | None = None) -> tuple[int, str | None]:
    """Torch threads for each of ``max_parallel`` trials on this machine: the ``cores`` (default: those free now,
    less other bakeoff processes' claims and the load, then claimed for this study) shared out, so that trials in
    parallel never ask for more threads than there are cores (each would slow all); a study's ``resources: {cpus}``
    is honoured up to that share. Returns the threads and, when the study asked for more, a note saying so.

    >>> local_threads(None, 2, cores=2), local_threads(2, 2, cores=2)[0], local_threads(1, 1, cores=8)
    ((1, None), 1, (1, None))
    """
    if cores is None:  # the cores free now (hardware.take_threads), claimed for all the trials in parallel
        chosen: list[tuple[int, str | None]] = []

        def claim(free: int) -> int:
            chosen.append(local_threads(asked, max_parallel, cores=free))
            return chosen[0][0] * max(1, max_parallel)

        take_threads(claim)
        return chosen[0]
    share = max(1, cores // max(1, max_parallel))
    if asked is None or asked <= share:
        return asked or share, None
    return share, (f"resources: cpus {asked} x {max_parallel} parallel trial(s) is more than the {cores} core(s) "
                   f"free here: each trial runs with {share} thread(s)")


def _run_rung(trials: list[Trial], study: Study, runner: LocalExecutor | RayExecutor, store: Store, cpus: int,
              retry_failed: bool, budget: _Budget, on_event: OnEvent) -> list[TrialOutcome]:
    outcomes: dict[str, TrialOutcome] = {}
    todo = []
    for trial in trials:
        if not budget.take():
            outcomes[trial.id] = TrialOutcome(trial, "BUDGET", error="max_trials reached")
            on_event(TrialFinished(outcomes[trial.id]))
            continue
        done = _finished(store, study.name, trial, retry_failed, cpus)
        if done is not None:
            outcomes[trial.id] = done
            on_event(TrialFinished(done))
        else:
            todo.append(trial)
    by_id = {trial.id: trial for trial in todo}
    payloads = [_payload(trial, study, cpus) for trial in todo]
    # Without a deadline the executor gets every trial at once; with one, a wave per free slot, so that no
    # trial starts after max_hours.
    width = max(1, len(payloads) if budget.deadline is None else getattr(runner, "max_parallel", None) or 1)
    for first in range(0, len(payloads), width):
        if budget.out_of_time():
            break
        wave = payloads[first:first + width]
        for payload, summary in runner.map(
                wave, on_start=lambda p: on_event(TrialStarted(by_id[p.trial])),
                on_progress=lambda p, step, total, seconds: on_event(TrialProgress(by_id[p.trial], step, total,
                                                                                   seconds))):
            trial = by_id[payload.trial]
            outcomes[trial.id] = TrialOutcome.of(trial, summary)
            on_event(TrialFinished(outcomes[trial.id]))
    for trial in todo:
        if trial.id not in outcomes:
            outcomes[trial.id] = TrialOutcome(trial, "BUDGET", error="max_hours reached before it started")
            on_event(TrialFinished(outcomes[trial.id]))
    return [outcomes[t.id] for t in trials]


def _finished(store: Store, project: str, trial: Trial, retry_failed: bool, cpus: int) -> TrialOutcome | None:
    """The trial's outcome if it is done; None if it must (re)run, after clearing any unfinished run of it. A
    compression step left unfinished is run here on the trial's share, ``cpus`` (the study's thread claim stays
    its own: no second claim is taken for it)."""
    run_dir = store.root / project / trial.run_name
    if not run_dir.is_dir():
        return None
    try:
        run = store.get(str(run_dir))
    except BakeoffError:
        run = None
    status = run.status if run is not None else "UNKNOWN"
    if status == "COMPLETED":
        try:
            result = load_result(run_dir / RESULT_FILE)  # a TrainResult, or an embedding trial's result
        except BakeoffError:
            result = None
        if isinstance(result, TrainResult):
            return TrialOutcome(trial, "COMPLETED", result.validation.primary, result.validation.primary_metric,
                                None, result.training.seconds, resumed=True,
                                compress=_missing_compression(run_dir, f"{project}/{trial.run_name}", trial, cpus))
        if result is not None:
            return TrialOutcome(trial, "COMPLETED", result.primary, result.primary_metric, resumed=True)
    if status == "FAILED" and not retry_failed:
        return TrialOutcome(trial, "FAILED", error=(run.info.get("error") if run else None), resumed=True)
    shutil.rmtree(run_dir)  # CRASHED, INTERRUPTED or a RUNNING left by a killed study: run it again
    return None


def _missing_compression(run_dir: Path, ref: str, trial: Trial, cpus: int) -> dict[str, Any]:
    """A finished trial's compression steps that never ended (a Ctrl-C or a kill while compressing), run now, here;
    a run without its checkpoint (a Ray study's ``checkpoints: best|none``) cannot be compressed and is left."""
    missing = [method for method in trial.compress if not (compressed_dir(run_dir, method) / REPORT_FILE).is_file()]
    if not missing or not (run_dir / CHECKPOINT_DIR).is_dir():
        return {}
    from bakeoff.runs import compress_methods
    from bakeoff.study.worker import compress_steps

    return compress_steps(compress_methods, ref, missing, threads=cpus)


def _payload(trial: Trial, study: Study, cpus: int) -> TrialPayload:
    tags = [f"study:{study.name}", f"trial:{trial.id}", f"rung:{trial.rung}"] + \
        ([f"sweep:{trial.sweep}"] if trial.sweep else [])
    config = {**trial.config, "threads": cpus, "project": study.name, "name": trial.run_name, "quiet": True,
              "tags": [*trial.config.get("tags", []), *tags]}  # the study's settings' tags, then its own
    if study.gpus >= 2 and float(study.gpus).is_integer() and config.get("nproc", 1) == 1 and not trial.embedding:
        # N whole GPUs per trial: one run across them (runs/launch.py); nproc is no part of a trial's identity
        config["nproc"] = int(study.gpus)
    return TrialPayload(trial.id, config, list(trial.compress))


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
