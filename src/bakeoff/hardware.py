"""What machine a run ran on: recorded in every result, and used to pick the fastest safe precision and the threads
a command takes (its claim among the live bakeoff processes of this user)."""

from __future__ import annotations

import atexit
import functools
import json
import math
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

_RELEVANT_FLAGS = ("avx2", "avx_vnni", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo does not exist)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_supports_bf16() -> bool:
    """bf16 matmuls run natively (AVX-512 BF16 or AMX); elsewhere bf16 on CPU is emulated and slow."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def cpu_supports_int8_dot() -> bool:
    """int8 dot products run natively (VNNI or AMX); without them ``torch._int_mm`` on CPU is a slow loop."""
    return bool({"avx_vnni", "avx512_vnni", "amx_int8"} & cpu_flags())


def cuda_supports_bf16(device: torch.device) -> bool:
    """bf16 runs natively on this GPU (compute capability 8.0+: Ampere, Hopper; or ROCm).

    Not ``torch.cuda.is_bf16_supported()``: by default it also says yes where bf16 is only emulated (a T4 or
    V100 runs it through fp32 units, slower than fp16), which would make ``--precision auto`` pick the slow one.
    """
    import torch  # here, not at the top: choosing threads (take_threads) needs no torch

    if torch.version.hip:
        return True
    return torch.cuda.get_device_capability(device)[0] >= 8


def available_cores() -> int:
    """The cores this process may use: its CPU affinity (``taskset``, a container's cpuset) capped by a cgroup v2
    CPU quota (``docker --cpus 2``), not the machine's count that ``os.cpu_count()`` gives."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max", encoding="ascii").read().split()[:2]
        if quota != "max":
            cores = min(cores, int(quota) // int(period))  # a fraction of a core left over is not a thread's worth
    except (OSError, ValueError):
        pass
    return max(1, cores)


def default_threads() -> int:
    """Torch threads for a command given no ``--threads``: the cores this process may use, less those that other
    bakeoff processes of this user have claimed and those other processes keep busy (the load average), at least one;
    claimed in turn until this process exits (``take_threads``).

    On a machine whose cores are all busy, two threads per process train 15-30x slower than one (each op waits at
    its barrier for a thread the scheduler put aside; BENCHMARKS.md, "Busy machines"), so a busy machine gets one
    thread; a quiet one gets every core, as before. Two commands started at the same moment no longer both take
    every core: the load average has not seen the first yet (it lags by about a minute), its claim has.
    """
    return take_threads()


# ---- claims: which cores live bakeoff processes have taken ------------------------------------------------------
# One file per process that chose its own thread count, <pid>.json = {"pid", "threads", "started", "at"}, in a
# folder of this user's (BAKEOFF_RUNTIME_DIR, else $XDG_RUNTIME_DIR/bakeoff, else <tmp>/bakeoff-<uid>). A claim whose
# process is gone (or whose pid now names another process: "started" differs) is removed by the next reader.
# Not counted: processes given --threads (the user chose; a study's trials get theirs from the study, which claims
# them all), other users' bakeoff processes and everything else (the load average sees those, a minute late).

RUNTIME_VARIABLE = "BAKEOFF_RUNTIME_DIR"
LOAD_SECONDS = 60.0  # the 1-minute load average: an exponential average with this time constant (kernel loadavg)
_claim_registered: list[int] = []  # the pid whose claim this process removes at exit (not a forked child's)


def take_threads(choose: Callable[[int], int] | None = None) -> int:
    """Threads for this process from the cores free now, recorded as its claim (until it exits, or
    ``release_threads``), under one lock, so that two processes starting together see each other.

    ``choose`` maps the free cores to the threads this process takes in all (a study: its share times the trials
    in parallel); default, all of them.
    """
    choose = choose or (lambda free: free)
    cores = available_cores()
    try:
        load: float | None = os.getloadavg()[0]
    except (OSError, AttributeError):  # no load average on this platform
        load = None
    folder = claims_folder()
    if folder is None:  # no private folder to share claims in: the load average alone, as before
        return choose(free_cores(cores, [], load, time.time()))
    from bakeoff.io import file_lock, write_json_atomic

    with file_lock(folder / ".lock"):
        threads = choose(free_cores(cores, live_claims(folder), load, time.time()))
        write_json_atomic(folder / f"{os.getpid()}.json", {"pid": os.getpid(), "threads": threads,
                                                          "started": _process_start(os.getpid()), "at": time.time()})
    if os.getpid() not in _claim_registered:
        _claim_registered.append(os.getpid())
        atexit.register(release_threads)
    return threads


def free_cores(cores: int, claims: list[dict[str, Any]], load: float | None, now: float) -> int:
    """The cores left for one more process: ``cores`` less the threads the live ``claims`` hold, less the busy cores
    of other processes, at least one. Other processes' share of the load is the load less what the average has seen
    of the claims so far (a claim of n threads made s seconds ago: n (1 - e^(-s/60)) of it).

    >>> free_cores(8, [], 0.2, 0.0), free_cores(8, [{"threads": 2, "at": 0.0}], 3.0, 0.0)
    (8, 3)
    >>> free_cores(8, [{"threads": 2, "at": 0.0}], 3.0, 600.0)  # an old claim: the load holds it, 1 core other
    5
    """
    claimed = sum(int(claim["threads"]) for claim in claims)
    seen = sum(int(claim["threads"]) * (1 - math.exp(-max(0.0, now - float(claim["at"])) / LOAD_SECONDS))
               for claim in claims)
    busy = int(max(0.0, load - seen)) if load is not None else 0
    return max(1, min(cores, cores - claimed - busy))


def live_claims(folder: Path) -> list[dict[str, Any]]:
    """The claims of other live processes in ``folder``; those of processes gone are removed."""
    claims = []
    for path in folder.glob("[0-9]*.json"):
        try:
            claim = json.loads(path.read_text(encoding="utf-8"))
            pid = int(claim["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # unreadable: not a claim anyone can honour
            continue
        if pid == os.getpid():
            continue
        if _alive(pid, claim.get("started")):
            claims.append(claim)
        else:
            path.unlink(missing_ok=True)
    return claims


def release_threads() -> None:
    """Withdraw this process's claim (done at exit; a long-lived Python session that has finished its work can
    call it sooner, so that later commands get its cores)."""
    folder = claims_folder(create=False)
    if folder is not None:
        (folder / f"{os.getpid()}.json").unlink(missing_ok=True)


def claims_folder(create: bool = True) -> Path | None:
    """This user's folder of claims, or None where it cannot be private (another user's folder at that path)."""
    explicit = os.environ.get(RUNTIME_VARIABLE, "").strip()
    user = os.getuid() if hasattr(os, "getuid") else None
    if explicit:
        base = Path(explicit)
    elif os.environ.get("XDG_RUNTIME_DIR"):
        base = Path(os.environ["XDG_RUNTIME_DIR"]) / "bakeoff"
    else:
        base = Path(tempfile.gettempdir()) / f"bakeoff-{user if user is not None else 'user'}"
    folder = base / "threads"
    try:
        if create:
            base.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.mkdir(mode=0o700, exist_ok=True)
        if user is not None and folder.stat().st_uid != user:
            return None
    except OSError:
        return None
    return folder


def _alive(pid: int, started: Any) -> bool:
    """``pid`` runs (not a zombie), and is the process that made the claim (the same start time)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, and not ours to judge
        return True
    now = _process_stat(pid)
    if now is None:  # no /proc here: a live pid is the best one can tell
        return True
    return now[0] not in ("Z", "X") and (started is None or now[1] == started)


def _process_start(pid: int) -> str | None:
    stat = _process_stat(pid)
    return stat[1] if stat else None


def _process_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks) from /proc/<pid>/stat; None where there is no /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces: field 3 on
    return fields[0], fields[19]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe() -> dict[str, Any]:
    """The hardware and software facts a result is only comparable under."""
    import torch

    cuda = torch.cuda.is_available()
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_flags": sorted(f for f in _RELEVANT_FLAGS if f in cpu_flags()),
        "cuda": torch.cuda.get_device_name(0) if cuda else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }
