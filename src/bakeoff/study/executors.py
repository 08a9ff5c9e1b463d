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
from pathlib import Path
from typing import Any

from bakeoff.errors import BakeoffError
from bakeoff.study.shipping import (
    NODE_ENV,
    BestSoFar,
    Folder,
    Shipment,
    clear_incoming,
    keeps_checkpoint,
    land,
    record_crashed,
    run_on_node,
    shipments,
    task_key,
)
from bakeoff.study.trials import TrialSummary
from bakeoff.study.worker import TrialPayload

OnStart = Callable[[TrialPayload], None]
OnProgress = Callable[[TrialPayload, int, int, float], None]  # (payload, step, total steps, training seconds)


class LocalExecutor:
    """Ctrl-C stops a study the way it stops ``bakeoff train``: each running trial hears it once (the trials run in
    their own process group, and the study passes the signal on as soon as a trial says it is ready for it), keeps
    its best weights and ends INTERRUPTED; no new trial starts; then ``KeyboardInterrupt`` reaches the caller. A
    second Ctrl-C stops everything at once (SIGTERM, so each run is closed INTERRUPTED; SIGKILL if it lingers).

    Trials in their own process group do not see the terminal's other signals either: Ctrl-Z pauses the study, not
    its trials, and a closed terminal ends them with the study (their runs then read RUNNING, and re-run on resume).
    """

    name = "local"

    def __init__(self, max_parallel: int = 1) -> None:
        self.max_parallel = max(1, max_parallel)
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["bakeoff.study.preload"])

    def map(self, payloads: list[TrialPayload], on_start: OnStart = lambda payload: None,
            on_progress: OnProgress = lambda payload, step, total, seconds: None,
            ) -> Iterator[tuple[TrialPayload, TrialSummary]]:
        pending = deque(payloads)
        running: dict[Connection, _Running] = {}
        finished = []
        with _CtrlC() as ctrl_c:
            _start_fork_server()
            try:
                while pending or running:
                    while pending and len(running) < self.max_parallel and not ctrl_c.pressed:
                        process, conn = self._spawn()
                        payload = pending.popleft()
                        conn.send((payload, study_environment(), os.getcwd()))
                        running[conn] = _Running(process, payload)
                        on_start(payload)
                    if ctrl_c.pressed:
                        for trial in running.values():
                            trial.interrupt()
                    if not running:
                        break
                    for conn in wait(list(running), timeout=0.25):  # a short wait, so a Ctrl-C is seen at once
                        trial = running[conn]
                        try:
                            kind, message = conn.recv()
                        except (EOFError, OSError):
                            kind, message = "done", None
                        if kind == "ready":  # it handles Ctrl-C from here on
                            trial.ready = True
                            continue
                        if kind == "progress":
                            on_progress(trial.payload, *message)
                            continue
                        del running[conn]
                        if message is None:
                            trial.process.join()
                            message = TrialSummary.lost(trial.payload.trial, "the trial's process died (exit code "
                                                                             f"{trial.process.exitcode})")
                        conn.close()
                        finished.append(trial.process)  # joined later: its shutdown is not on the study's path
                        yield trial.payload, message
                if ctrl_c.pressed:
                    raise KeyboardInterrupt
            finally:
                _stop([trial.process for trial in running.values()])
                for process in finished:
                    process.join()

    def _spawn(self) -> tuple[Any, Connection]:
        parent, child = self._context.Pipe()
        # not a daemon: a trial process starts processes of its own (compression measures each model apart)
        process = self._context.Process(target=_serve, args=(child, os.getpid()))
        process.start()
        child.close()
        return process, parent


class _Running:
    """A trial process the study is waiting for; ``ready`` once it handles Ctrl-C (before that it ignores it)."""

    def __init__(self, process: Any, payload: TrialPayload) -> None:
        self.process, self.payload = process, payload
        self.ready = self.interrupted = False

    def interrupt(self) -> None:
        """Pass a Ctrl-C on, once, as soon as the trial can hear it: it stops training, keeps its best weights."""
        if self.ready and not self.interrupted and self.process.is_alive():
            self.interrupted = True
            os.kill(self.process.pid, signal.SIGINT)


def _stop(processes: list[Any]) -> None:
    """End trial processes still running: SIGTERM first (each closes its run INTERRUPTED), SIGKILL after 5 s."""
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + 5
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()


def _start_fork_server() -> None:
    """Start the fork server with Ctrl-C ignored from its first instruction (an ignored signal stays ignored across
    exec, and Python keeps it so): it imports torch for seconds, and the terminal sends a Ctrl-C to the whole
    foreground group. The study's own handler is back a few milliseconds later; trial processes restore theirs."""
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()  # spawns the server and returns; it preloads while the study goes on
    finally:
        signal.signal(signal.SIGINT, previous)


class _CtrlC:
    """While a study runs in the main thread: the first Ctrl-C is noted (not raised), the second raises."""

    def __init__(self) -> None:
        self.pressed = False
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
            raise KeyboardInterrupt  # the second: stop now, trials are stopped
        self.pressed = True


def _serve(conn: Connection, parent_pid: int) -> None:
    """A trial process: die with the study, take one trial, send its progress and summary back."""
    os.setpgrp()  # the terminal's Ctrl-C goes to the study, which passes it on once (see _CtrlC)
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
        os.environ["RAYON_RS_NUM_CPUS"] = str(threads)  # the fast tokenizers' thread pool (made on first use)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # inherited ignored from the fork server
    try:
        conn.send(("ready", None))
        summary = run_trial(payload, progress=lambda step, total, seconds: conn.send(("progress", (step, total,
                                                                                                    seconds))))
    except KeyboardInterrupt:  # between "ready" and the trial's own handling
        summary = TrialSummary(payload.trial, "INTERRUPTED", error="stopped by Ctrl-C", pid=os.getpid())
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
    """Each trial a Ray task with its CPU/GPU request, on any node of the cluster, sharing no disk with the driver.

    What a trial reads from the driver's disk travels with it through Ray's object store (one ``ray.put`` per
    distinct data folder or model folder); its run folder travels back and lands in the driver's store
    (``study/shipping.py``). A trial whose worker or node dies is recorded CRASHED there, and runs again on resume.
    """

    name = "ray"

    def __init__(self, address: str | None = None, cpus: int = 1, gpus: float = 0,
                 max_parallel: int | None = None, checkpoints: str = "all") -> None:
        self.address, self.cpus, self.gpus, self.max_parallel = address, cpus, gpus, max_parallel
        self.checkpoints = checkpoints
        self._refs: dict[Shipment, Any] = {}  # one object-store copy of each shipped folder, for the whole study
        self._best: Any = None  # checkpoints: best: one BestSoFar actor the study's trials ask as they end

    def map(self, payloads: list[TrialPayload], on_start: OnStart = lambda payload: None,
            on_progress: OnProgress = lambda payload, step, total, seconds: None,
            ) -> Iterator[tuple[TrialPayload, TrialSummary]]:
        """``on_progress`` is not called: a Ray task reports only when it ends."""
        from bakeoff.track import default_root

        ray = require_ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, log_to_driver=False, include_dashboard=False, configure_logging=False)
            except ConnectionError as error:  # auto (or RAY_ADDRESS) and no cluster running
                first = (str(error).splitlines() or [""])[0]
                raise BakeoffError(f"--ray-address {self.address or os.environ.get('RAY_ADDRESS', '')}: no running "
                                   f"Ray cluster found ({first.split('. ')[0]}): start one with `ray start --head`, "
                                   "give its HOST:PORT, or leave --ray-address out to start a local one") from None
        store_root = default_root().resolve()
        for project in {payload.config["project"] for payload in payloads}:
            clear_incoming(store_root / project)
        task = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_retries=0)(_ray_trial).options(
            runtime_env={"env_vars": ray_environment()})
        if self.checkpoints == "best" and self._best is None:
            self._best = ray.remote(num_cpus=0)(BestSoFar).remote()
        pending = deque(payloads)
        running: dict[Any, TrialPayload] = {}
        limit = self.max_parallel or len(payloads)
        try:
            while pending or running:
                while pending and len(running) < limit:
                    payload = pending.popleft()
                    shipped = [(shipment, self._ref(ray, shipment)) for shipment in self._shipments(payload)]
                    running[task.remote(payload, shipped, str(store_root), self.checkpoints, self._best)] = payload
                    on_start(payload)  # submitted: Ray starts it when a worker has the resources
                done, _ = ray.wait(list(running), num_returns=1)
                payload = running.pop(done[0])
                yield payload, self._collect(ray, done[0], payload, store_root)
        finally:  # Ctrl-C or an error here: no trial may go on once the study's lock is released
            for ref in running:
                ray.cancel(ref, force=True)

    @staticmethod
    def _shipments(payload: TrialPayload) -> list[Shipment]:
        try:
            return shipments(payload.config)
        except BakeoffError:  # e.g. its data folder is missing: the trial fails on its node, recorded as locally
            return []

    def _ref(self, ray: Any, shipment: Shipment) -> Any:
        if shipment not in self._refs:
            self._refs[shipment] = ray.put(shipment.read())
        return self._refs[shipment]

    def _collect(self, ray: Any, ref: Any, payload: TrialPayload, store_root: Path) -> TrialSummary:
        """The trial's summary, once its run folder is in the driver's store (or recorded CRASHED there)."""
        try:
            summary, folder = ray.get(ref)
            land(folder, store_root, payload.config["project"], payload.config["name"])
        except Exception as error:  # noqa: BLE001 - a Ray worker or node lost, or the run not written back
            message = _lost(error)
            record_crashed(payload, message, store_root)
            return TrialSummary.lost(payload.trial, message)
        return summary


def _lost(error: Exception) -> str:
    """One line for a trial that came back with no run folder."""
    if isinstance(error, OSError):
        return f"the run could not be written into the store: {error}"
    cause = getattr(error, "cause", None)  # a RayTaskError: an exception raised in the task, on the node
    if isinstance(cause, BaseException):
        return f"Ray task failed on its node: {type(cause).__name__}: {str(cause).splitlines()[0][:200]}"
    lines = [line for line in str(error).splitlines() if line.strip()]
    return f"Ray task failed: {lines[0][:200] if lines else type(error).__name__}"


def _ray_trial(payload: TrialPayload, shipped: list[tuple[Shipment, Any]], driver_store: str, checkpoints: str,
               best: Any) -> tuple[TrialSummary, Folder]:
    import ray
    import torch

    torch.set_num_threads(payload.config.get("threads") or 1)
    folders = ray.get([ref for _, ref in shipped])  # nested refs: fetched here, from wherever the driver put them
    task = task_key(payload.config)

    def weights(summary: TrialSummary) -> bool:
        return keeps_checkpoint(checkpoints, summary,
                                lambda name, value: ray.get(best.offer.remote(task, name, value)))

    return run_on_node(payload, [(shipment, folder) for (shipment, _), folder in zip(shipped, folders, strict=True)],
                       driver_store, weights)


PATH_SUFFIXES = ("_HOME", "_CACHE", "_DIR", "_PATH", "_FILE")  # HF_HOME, HF_HUB_CACHE, ...: folders of the driver


def ray_environment() -> dict[str, str]:
    """The study's environment for a Ray trial: its switches (``HF_HUB_OFFLINE``, ...), not the driver's folders
    (its store, data folder, Hugging Face caches), which mean nothing on a node that shares no disk with it.

    >>> os.environ["HF_HOME"] = "/home/me/.cache/hf"; "HF_HOME" in ray_environment()  # doctest: +SKIP
    False
    """
    return {key: value for key, value in study_environment().items()
            if key not in NODE_ENV and not key.endswith(PATH_SUFFIXES)}


ENV_PREFIXES = ("BAKEOFF_", "HF_")


def study_environment() -> dict[str, str]:
    """What a trial must see wherever it runs: this study's store and data folder (absolute), offline switches."""
    from bakeoff.track import default_root

    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}
    env["BAKEOFF_STORE"] = str(default_root().resolve())
    if env.get("BAKEOFF_DATA_DIR"):
        env["BAKEOFF_DATA_DIR"] = os.path.abspath(env["BAKEOFF_DATA_DIR"])
    return env


def check_ray_address(address: str | None, timeout: float = 5.0) -> None:
    """Refuse an address where nothing listens, at once: ``ray.init`` waits minutes for a cluster that is not
    there. ``None`` starts a local cluster and ``auto`` finds a running one: nothing to check."""
    if address is None or address == "auto":
        return
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise BakeoffError(f"--ray-address {address!r}: give HOST:PORT (the head's GCS port, as `ray start --head` "
                           "prints it), ray://HOST:PORT, or auto")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as connection:
            answer = _http2_answer(connection, timeout)
    except OSError as error:
        raise BakeoffError(f"--ray-address {address}: no Ray cluster answers there ({error.strerror or error}): "
                           "start one with `ray start --head`, or check the address") from None
    if not answer:  # ray.init would retry this one for ever
        raise BakeoffError(f"--ray-address {address}: something listens there but it is not a Ray cluster (it does "
                           "not speak gRPC): give the head's GCS port as `ray start --head` prints it (6379 by "
                           "default), or ray://HOST:10001 for a Ray client server")


HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # + an empty SETTINGS


def _http2_answer(connection: Any, timeout: float) -> bool:
    """Whether the server at the other end of ``connection`` speaks HTTP/2, as every gRPC server does (a Ray head's
    GCS and a Ray client server are gRPC): its first frame answering a client's preface is SETTINGS (type 4). A web
    server answers HTTP/1 text or closes; a silent one times out."""
    connection.settimeout(timeout)
    connection.sendall(HTTP2_PREFACE)
    header = b""
    try:
        while len(header) < 9:
            chunk = connection.recv(9 - len(header))
            if not chunk:
                return False
            header += chunk
    except (TimeoutError, ConnectionError):
        return False
    return header[3] == 4


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise BakeoffError("Ray is not installed: pip install 'bakeoff[ray]'") from None
    return ray
