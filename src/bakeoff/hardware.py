"""What machine a run ran on: recorded in every result, and used to pick the fastest safe precision."""

from __future__ import annotations

import functools
import os
import platform
from typing import Any

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
    processes keep busy (the whole part of the 1-minute load average when it starts), and at least one.

    On a machine whose cores are all busy, two threads per process train 15-30x slower than one (each op waits at
    its barrier for a thread the scheduler put aside; BENCHMARKS.md, "Busy machines"), so a busy machine gets one
    thread; a quiet one gets every core, as before.
    """
    cores = available_cores()
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # no load average on this platform
        return cores
    return max(1, min(cores, cores - int(load)))


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
