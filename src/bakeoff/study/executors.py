"""Where trials run: a fresh local process each, or a Ray task each. Both yield (payload, summary) as trials end.

Local: one process per trial, so a crash (segfault, OOM kill) takes down that trial, not the study. Starting
Python and importing torch and transformers costs seconds, so one spare process is always warming up while the
current trials train; it takes the next trial the moment a slot frees. Each process dies with the study
(``PR_SET_PDEATHSIG``), so killing the study leaves no orphan still writing into the store.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

from bakeoff.errors import BakeoffError

Payload = dict[str, Any]


class LocalExecutor:
    name = "local"

    def __init__(self, max_parallel: int = 1) -> None:
        self.max_parallel = max(1, max_parallel)
        self._context = multiprocessing.get_context("spawn")

    def map(self, payloads: list[Payload]) -> Iterator[tuple[Payload, dict[str, Any]]]:
        pending = deque(payloads)
        running: dict[Connection, tuple[Any, Payload]] = {}
        spare = self._spawn() if pending else None
        try:
            while pending or running:
                while pending and len(running) < self.max_parallel:
                    process, conn = spare or self._spawn()
                    spare = None
                    payload = pending.popleft()
                    conn.send(payload)
                    running[conn] = (process, payload)
                    if pending:
                        spare = self._spawn()
                for conn in wait(list(running)):
                    process, payload = running.pop(conn)
                    try:
                        summary = conn.recv()
                    except (EOFError, OSError):
                        process.join()
                        summary = _lost(payload, f"the trial's process died (exit code {process.exitcode})")
                    process.join()
                    conn.close()
                    yield payload, summary
        finally:
            for process, _ in [*running.values(), *([spare] if spare else [])]:
                process.kill()
                process.join()

    def _spawn(self) -> tuple[Any, Connection]:
        parent, child = self._context.Pipe()
        # not a daemon: a trial process starts processes of its own (compression measures each model apart)
        process = self._context.Process(target=_serve, args=(child, os.getpid()))
        process.start()
        child.close()
        return process, parent


def _serve(conn: Connection, parent_pid: int) -> None:
    """A trial process: die with the study, warm up, take one trial, send its summary back."""
    _die_with_parent(parent_pid)
    from bakeoff.study.worker import run_trial, warm_up

    warm_up()
    try:
        payload = conn.recv()
    except EOFError:
        return
    threads = payload["config"].get("threads")
    if threads:
        import torch

        torch.set_num_threads(threads)
    conn.send(run_trial(payload))


def _die_with_parent(parent_pid: int) -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: the kernel kills this process when the study dies
    except OSError:
        pass
    if os.getppid() != parent_pid:  # the study died before the line above ran
        os._exit(1)


class RayExecutor:
    """Each trial a Ray task with its CPU/GPU request; results go to the same store as locally."""

    name = "ray"

    def __init__(self, address: str | None = None, cpus: int = 1, gpus: float = 0,
                 max_parallel: int | None = None) -> None:
        self.address, self.cpus, self.gpus, self.max_parallel = address, cpus, gpus, max_parallel

    def map(self, payloads: list[Payload]) -> Iterator[tuple[Payload, dict[str, Any]]]:
        ray = require_ray()
        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False, include_dashboard=False, configure_logging=False)
        # The trials write where this process would: same store, same data folder, same offline switches.
        env = {k: os.path.abspath(v) if k in ("BAKEOFF_STORE", "BAKEOFF_DATA_DIR") else v
               for k, v in os.environ.items() if k.startswith(("BAKEOFF_", "HF_"))}
        env.setdefault("BAKEOFF_STORE", os.path.abspath(".bakeoff"))
        task = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_retries=0)(_ray_trial).options(
            runtime_env={"env_vars": env})
        pending = deque(payloads)
        running: dict[Any, Payload] = {}
        limit = self.max_parallel or len(payloads)
        while pending or running:
            while pending and len(running) < limit:
                payload = pending.popleft()
                running[task.remote(payload)] = payload
            done, _ = ray.wait(list(running), num_returns=1)
            payload = running.pop(done[0])
            try:
                summary = ray.get(done[0])
            except Exception as error:  # noqa: BLE001 - a Ray worker lost or killed: that trial failed
                summary = _lost(payload, f"Ray task failed: {str(error).splitlines()[0][:200]}")
            yield payload, summary


def _ray_trial(payload: Payload) -> dict[str, Any]:
    import torch

    from bakeoff.study.worker import run_trial

    torch.set_num_threads(payload["config"].get("threads") or 1)
    return run_trial(payload)


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise BakeoffError("Ray is not installed: pip install 'bakeoff[ray]'") from None
    return ray


def _lost(payload: Payload, error: str) -> dict[str, Any]:
    return {"trial": payload["trial"], "status": "CRASHED", "metric": None, "metric_name": None,
            "train_seconds": None, "compress": {}, "error": error, "seconds": None}
