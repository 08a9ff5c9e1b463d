"""Run one training run as N processes under torchrun, and bring back its result, or one line saying why not.

``bakeoff train --nproc N`` runs, in a scratch folder holding the run's config::

    python -m torch.distributed.run --standalone --local-addr 127.0.0.1 --nproc-per-node N \\
        -m bakeoff.distributed_main SCRATCH

torchrun starts the N processes, gives each its rank, watches them, and tears them all down when one fails;
bakeoff starts no process of its own. Each process runs ``runs.train_run.train`` (``distributed_main``);
rank 0 records the run and leaves its result in the scratch folder. On one machine gloo is pinned to the loopback
interface (``GLOO_SOCKET_IFNAME``) and the rendezvous to 127.0.0.1, so no traffic leaves the host.

What the user sees: rank 0's own output (its progress bar) on stderr; torchrun's and the other ranks' output
goes to a log, copied into the run's ``logs/`` folder when the run fails. A failure is one line naming the
rank and its error, and the run is marked FAILED, never left RUNNING. Ctrl-C stops every process after the
same step, and rank 0 evaluates and saves what was learned (as in one process); a second Ctrl-C stops at once.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import torch

from bakeoff.config import TrainConfig
from bakeoff.errors import BakeoffError
from bakeoff.hardware import take_threads
from bakeoff.io import file_lock, read_json, write_json_atomic
from bakeoff.runs.results import TrainResult
from bakeoff.runtime import resolve_device
from bakeoff.track import default_root, layout

ENTRY_MODULE = "bakeoff.distributed_main"
CONFIG_FILE = "config.json"  # the run's TrainConfig, for every rank
RANK0_RESULT = "result.json"  # rank 0's TrainResult, once the run is recorded
RANK0_OUTPUT = "rank0.log"  # rank 0's stdout and stderr, followed onto the user's stderr
TORCHRUN_LOG = "torchrun.log"  # torchrun's own output and the other ranks'
SHUTDOWN_SECONDS = 600  # after Ctrl-C, how long torchrun lets rank 0 evaluate and save before killing it


def rank_file(rank: int) -> str:
    """Where a rank writes its pid when it starts."""
    return f"rank{rank}.json"


def error_file(rank: int) -> str:
    """Where a rank writes the error it stopped with."""
    return f"error-rank{rank}.json"


def launch(config: TrainConfig) -> TrainResult:
    """Train ``config`` in ``config.nproc`` processes under torchrun; return rank 0's result.

    >>> launch(TrainConfig(model="minilm-l6", task="sst2", nproc=2))  # doctest: +SKIP
    """
    device = _check(config)
    scratch = Path(tempfile.mkdtemp(prefix="bakeoff-nproc-"))
    keep_scratch = False
    try:
        write_json_atomic(scratch / CONFIG_FILE, config.to_dict())
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", *_torchrun_options(),
                   f"--nproc-per-node={config.nproc}", "-m", ENTRY_MODULE, str(scratch)]
        returncode, signalled = _run(command, _environment(config, device), scratch, config.nproc)
        result = read_json(scratch / RANK0_RESULT, default=None)
        if result is not None:
            return TrainResult.from_dict(result)
        message, keep_scratch = _failure(scratch, config, returncode, signalled)
        raise BakeoffError(message)
    finally:
        if not keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def _check(config: TrainConfig) -> torch.device:
    import torch.distributed as dist

    if not dist.is_available():
        raise BakeoffError("--nproc needs torch.distributed, which this torch build lacks: use --nproc 1")
    device = resolve_device(config.device)
    if device.type == "cuda":
        if device.index is not None:
            raise BakeoffError(f"--nproc {config.nproc} with --device {config.device}: use --device cuda "
                               "(each process takes its own GPU)")
        if config.nproc > torch.cuda.device_count():
            raise BakeoffError(f"--nproc {config.nproc} but {torch.cuda.device_count()} GPU(s) here: "
                               f"use --nproc {torch.cuda.device_count()} or fewer")
    elif device.type != "cpu":
        raise BakeoffError(f"--nproc runs on CPUs (gloo) or CUDA GPUs (NCCL), not on {device.type}")
    return device


def _torchrun_options() -> list[str]:
    """Loopback rendezvous (workers get MASTER_ADDR=127.0.0.1) and time for rank 0 to save after Ctrl-C, where
    this torch's torchrun has the options (``--shutdown-timeout`` is recent; before it, 30 s)."""
    from torch.distributed.launcher.api import LaunchConfig

    known = {f.name for f in dataclasses.fields(LaunchConfig)}
    options = ["--local-addr", "127.0.0.1"] if "local_addr" in known else []
    if "shutdown_timeout" in known:
        options.append(f"--shutdown-timeout={SHUTDOWN_SECONDS}")
    return options


def _environment(config: TrainConfig, device: torch.device) -> dict[str, str]:
    env = dict(os.environ)
    env["GLOO_SOCKET_IFNAME"] = env.get("GLOO_SOCKET_IFNAME") or ("lo0" if sys.platform == "darwin" else "lo")
    if "OMP_NUM_THREADS" not in env:  # torchrun would set 1; the cores free now, shared out, serve a CPU run better
        each = config.threads or take_threads(lambda free: max(1, free // config.nproc) * config.nproc) // config.nproc
        env["OMP_NUM_THREADS"] = str(each)  # (the claim is this launcher's, held while its processes run)
    source = str(Path(__file__).resolve().parents[2])  # the processes import this very bakeoff
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    if sys.stderr.isatty():  # rank 0 writes to a file we follow: let its progress bar draw as on a terminal
        env.setdefault("TTY_COMPATIBLE", "1")
        env.setdefault("COLUMNS", str(shutil.get_terminal_size().columns))
    return env


def _run(command: list[str], env: dict[str, str], scratch: Path, nproc: int) -> tuple[int, bool]:
    """Run torchrun to its end, showing rank 0's output; returns (exit code, whether we were told to stop)."""
    with open(scratch / TORCHRUN_LOG, "wb") as log:
        # its own session: the terminal's Ctrl-C reaches this process only, which passes it on once
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    done = threading.Event()
    follower = threading.Thread(target=_follow, args=(scratch / RANK0_OUTPUT, done), daemon=True)
    follower.start()
    stops = 0

    def stop(signum: int = signal.SIGINT, frame: Any = None) -> None:
        nonlocal stops
        stops += 1
        if stops == 1 and signum == signal.SIGINT:  # every rank stops after this step; rank 0 saves
            # to each rank directly too: a stop must not depend on how torchrun forwards signals (asking twice
            # is harmless, the ranks only set a flag that the next all-reduce shares)
            _signal_ranks(scratch, nproc, signal.SIGINT)
            process.send_signal(signal.SIGINT)
        else:  # stop now: torchrun and every rank (rank 0 marks the run INTERRUPTED as it goes)
            _signal_ranks(scratch, nproc, signal.SIGTERM)
            process.send_signal(signal.SIGTERM)

    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, stop) if on_main_thread else None
    try:
        while True:
            try:
                return process.wait(), stops > 0
            except KeyboardInterrupt:
                stop(signal.SIGINT)
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)
        if process.poll() is None:  # we are leaving for another reason: leave nothing running behind
            _signal_ranks(scratch, nproc, signal.SIGKILL)
            process.kill()
        done.set()
        follower.join(timeout=5)


def _follow(path: Path, done: threading.Event) -> None:
    """Copy what rank 0 writes to ``path`` onto our stderr as it comes, until ``done``."""
    position = 0
    out = getattr(sys.stderr, "buffer", None)
    while True:
        finished = done.is_set()
        if path.exists():
            with open(path, "rb") as stream:
                stream.seek(position)
                chunk = stream.read()
            position += len(chunk)
            if chunk:
                if out is not None:
                    out.write(chunk)
                    out.flush()
                else:
                    sys.stderr.write(chunk.decode(errors="replace"))
        if finished:
            return
        time.sleep(0.2)


def _signal_ranks(scratch: Path, nproc: int, signum: int) -> None:
    for rank in range(nproc):
        pid = (read_json(scratch / rank_file(rank), default=None) or {}).get("pid")
        if pid:
            try:
                os.kill(int(pid), signum)
            except (ProcessLookupError, PermissionError):
                pass


def _failure(scratch: Path, config: TrainConfig, returncode: int, signalled: bool) -> tuple[str, bool]:
    """The one line that says why the run has no result; marks its run, copies the logs into it.

    Returns (message, whether the scratch folder must be kept because the logs have nowhere else to go).
    """
    errors = [read_json(path, default=None) or {} for path in sorted(scratch.glob("error-rank*.json"))]
    # a rank that lost its peers reports a connection error: the cause is the rank that failed first of its own,
    # else one that died without a word (killed by a signal: out of memory?)
    own = [e for e in errors if not e.get("lost_peer")]
    cause = min(own or errors, key=lambda e: e.get("time", 0.0)) if errors else None
    ended = {rank: read_json(scratch / rank_file(rank), default=None) or {} for rank in range(config.nproc)}
    silent = [rank for rank, state in ended.items() if state and rank not in {e.get("rank") for e in errors}
              and not state.get("finished") and not state.get("terminated")]  # started, then no word
    if signalled:
        status, message = "INTERRUPTED", "stopped before rank 0 could save the run"
    elif not own and silent:
        status, message = "FAILED", (f"rank {silent[0]} of {config.nproc} died without an error (torchrun exit "
                                     f"code {returncode}): out of memory, or killed?")
    elif cause is None:
        status, message = "FAILED", f"torchrun failed (exit code {returncode}) before the processes started"
    elif cause.get("bakeoff_error"):  # a problem with the input: the same line as in one process
        status, message = "FAILED", cause["error"]
    else:
        status, message = "FAILED", f"rank {cause['rank']} of {config.nproc} failed: {cause['error']}"
    for error in errors:  # the tracebacks, for the log
        (scratch / f"rank{error.get('rank')}-error.txt").write_text(error.get("traceback", ""))
    run_dir = _run_of_rank0(scratch, config)
    if run_dir is None:
        if cause is not None and cause.get("bakeoff_error"):
            return message, False
        return f"{message} (logs: {scratch})", True
    _mark_ended(run_dir, status, message)
    for path in [scratch / TORCHRUN_LOG, scratch / RANK0_OUTPUT, *scratch.glob("rank*-error.txt")]:
        if path.is_file():
            shutil.copyfile(path, run_dir / "logs" / path.name)
    return f"{message} (run {config.project}/{run_dir.name} marked {status}; logs: {run_dir / 'logs'})", False


def _run_of_rank0(scratch: Path, config: TrainConfig) -> Path | None:
    """The run folder rank 0 opened, found by its pid and host (None if it died before opening one)."""
    pid = (read_json(scratch / rank_file(0), default=None) or {}).get("pid")
    project = default_root() / config.project
    if not pid or not project.is_dir():
        return None
    host = socket.gethostname()
    for info_file in project.glob(f"*/{layout.EXPERIMENT_FILE}"):
        info = read_json(info_file, default=None) or {}
        if info.get("pid") == pid and info.get("hostname") == host:
            return info_file.parent
    return None


def _mark_ended(run_dir: Path, status: str, error: str) -> None:
    """Record how the run ended, unless rank 0 completed it (rank 0 itself may have written INTERRUPTED on
    being torn down: the cause is another rank's, so it is replaced)."""
    with file_lock(run_dir / ".experiment.lock"):
        info = read_json(run_dir / layout.EXPERIMENT_FILE, default=None) or {}
        if info.get("status") == "COMPLETED":
            return
        info.update(status=status, error=error, ended_at=layout.utc_now())
        write_json_atomic(run_dir / layout.EXPERIMENT_FILE, info)

