"""Where trials run: a fresh local process each, or a Ray task each. Both yield (payload, summary) as trials end.

Local: one process per trial, so a crash (segfault, OOM kill) takes down that trial, not the study. Starting
Python and importing torch and transformers costs about 4 s of CPU, which on a 2-core machine slows the trial
that is training beside it, so trial processes are forked from a fork server that imported them once
(``forkserver`` with preloaded modules: a new trial process costs milliseconds and no CPU). The fork server
itself never runs a torch op, so no thread pool is forked. Each trial process dies with the study
(``PR_SET_PDEATHSIG``), so killing the study leaves no orphan still writing into the store.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

from bakeoff.errors import BakeoffError
from bakeoff.study.trials import TrialSummary
from bakeoff.study.worker import TrialPayload

OnStart = Callable[[TrialPayload], None]
OnProgress = Callable[[TrialPayload, int, int, float], None]  # (payload, step, total steps, training seconds)


class LocalExecutor:
    """Ctrl-C stops a study the way it stops ``bakeoff train``: each running trial hears it once (the trials run in
    their own process group, and the study passes the signal on), keeps its best weights and ends INTERRUPTED;
    no new trial starts; then ``KeyboardInterrupt`` reaches the caller. A second Ctrl-C stops everything at once."""

    name = "local"

    def __init__(self, max_parallel: int = 1) -> None:
        self.max_parallel = max(1, max_parallel)
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["bakeoff.study.preload"])

    def map(self, payloads: list[TrialPayload], on_start: OnStart = lambda payload: None,
            on_progress: OnProgress = lambda payload, step, total, seconds: None,
            ) -> Iterator[tuple[TrialPayload, TrialSummary]]:
        pending = deque(payloads)
        running: dict[Connection, tuple[Any, TrialPayload]] = {}
        finished = []
        with _CtrlC() as ctrl_c:
            try:
                while pending or running:
                    while pending and len(running) < self.max_parallel and not ctrl_c.pressed:
                        process, conn = self._spawn()
                        payload = pending.popleft()
                        conn.send((payload, study_environment(), os.getcwd()))
                        running[conn] = (process, payload)
                        on_start(payload)
                    if ctrl_c.pressed and not ctrl_c.passed_on:
                        ctrl_c.pass_on(process for process, _ in running.values())
                    if not running:
                        break
                    for conn in wait(list(running), timeout=0.25):  # a short wait, so a Ctrl-C is seen at once
                        process, payload = running[conn]
                        try:
                            kind, message = conn.recv()
                        except (EOFError, OSError):
                            kind, message = "done", None
                        if kind == "progress":
                            on_progress(payload, *message)
                            continue
                        del running[conn]
                        if message is None:
                            process.join()
                            message = TrialSummary.lost(payload.trial,
                                                        f"the trial's process died (exit code {process.exitcode})")
                        conn.close()
                        finished.append(process)  # joined later: its interpreter shutdown is not on the study's path
                        yield payload, message
                if ctrl_c.pressed:
                    raise KeyboardInterrupt
            finally:
                for process, _ in running.values():
                    process.kill()
                for process in [*finished, *(p for p, _ in running.values())]:
                    process.join()

    def _spawn(self) -> tuple[Any, Connection]:
        parent, child = self._context.Pipe()
        # not a daemon: a trial process starts processes of its own (compression measures each model apart)
        process = self._context.Process(target=_serve, args=(child, os.getpid()))
        process.start()
        child.close()
        return process, parent


class _CtrlC:
    """While a study runs in the main thread: the first Ctrl-C is noted (not raised), the second raises."""

    def __init__(self) -> None:
        self.pressed = self.passed_on = False
        self._previous: Any = None

    def __enter__(self) -> _CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.pressed:
            raise KeyboardInterrupt  # the second: stop now, trials are killed
        self.pressed = True

    def pass_on(self, processes: Iterator[Any]) -> None:
        """Each running trial hears the Ctrl-C once: it stops training, keeps its best weights, reports back."""
        self.passed_on = True
        for process in processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGINT)


def _serve(conn: Connection, parent_pid: int) -> None:
    """A trial process: die with the study, take one trial, send its progress and summary back."""
    os.setpgrp()  # the terminal's Ctrl-C goes to the study, which passes it on once (see _CtrlC)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a fork server may have inherited SIGINT ignored
    _die_with_study(parent_pid)
    from bakeoff.study.worker import run_trial, warm_up

    warm_up()  # already imported in the fork server: this only disables per-file progress bars
    try:
        payload, env, cwd = conn.recv()
    except EOFError:
        return
    # The fork server started with the environment and folder of the first study in this process; take the
    # current study's (its store, data folder, offline switches).
    for key in [k for k in os.environ if k.startswith(ENV_PREFIXES)]:
        del os.environ[key]
    os.environ.update(env)
    os.chdir(cwd)
    threads = payload.config.get("threads")
    if threads:
        import torch

        torch.set_num_threads(threads)
    summary = run_trial(payload, progress=lambda step, total, seconds: conn.send(("progress", (step, total,
                                                                                                seconds))))
    conn.send(("done", summary))


def _die_with_study(study_pid: int) -> None:
    """End this trial process when the study process ends, however it ends (SIGKILL included)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: killed when the fork server (our parent) exits
    except OSError:
        pass

    def watch() -> None:  # the fork server exits when the study does; this covers the moments in between
        while True:
            try:
                os.kill(study_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True, name="bakeoff-study-watch").start()


class RayExecutor:
    """Each trial a Ray task with its CPU/GPU request; results go to the same store as locally."""

    name = "ray"

    def __init__(self, address: str | None = None, cpus: int = 1, gpus: float = 0,
                 max_parallel: int | None = None) -> None:
        self.address, self.cpus, self.gpus, self.max_parallel = address, cpus, gpus, max_parallel

    def map(self, payloads: list[TrialPayload], on_start: OnStart = lambda payload: None,
            on_progress: OnProgress = lambda payload, step, total, seconds: None,
            ) -> Iterator[tuple[TrialPayload, TrialSummary]]:
        """``on_progress`` is not called: a Ray task reports only when it ends."""
        ray = require_ray()
        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False, include_dashboard=False, configure_logging=False)
        task = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_retries=0)(_ray_trial).options(
            runtime_env={"env_vars": study_environment()})
        pending = deque(payloads)
        running: dict[Any, TrialPayload] = {}
        limit = self.max_parallel or len(payloads)
        while pending or running:
            while pending and len(running) < limit:
                payload = pending.popleft()
                running[task.remote(payload)] = payload
                on_start(payload)  # submitted: Ray starts it when a worker has the resources
            done, _ = ray.wait(list(running), num_returns=1)
            payload = running.pop(done[0])
            try:
                summary = ray.get(done[0])
            except Exception as error:  # noqa: BLE001 - a Ray worker lost or killed: that trial failed
                summary = TrialSummary.lost(payload.trial, f"Ray task failed: {str(error).splitlines()[0][:200]}")
            yield payload, summary


def _ray_trial(payload: TrialPayload) -> TrialSummary:
    import torch

    from bakeoff.study.worker import run_trial

    torch.set_num_threads(payload.config.get("threads") or 1)
    return run_trial(payload)


ENV_PREFIXES = ("BAKEOFF_", "HF_")


def study_environment() -> dict[str, str]:
    """What a trial must see wherever it runs: this study's store and data folder (absolute), offline switches."""
    from bakeoff.track import default_root

    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}
    env["BAKEOFF_STORE"] = str(default_root().resolve())
    if env.get("BAKEOFF_DATA_DIR"):
        env["BAKEOFF_DATA_DIR"] = os.path.abspath(env["BAKEOFF_DATA_DIR"])
    return env


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise BakeoffError("Ray is not installed: pip install 'bakeoff[ray]'") from None
    return ray
