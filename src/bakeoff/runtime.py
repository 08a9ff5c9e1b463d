"""Device, precision and seeding: the context a model runs in, chosen once and recorded."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

from bakeoff.config.train import PRECISIONS  # noqa: E402  (declared with the option)
from bakeoff.errors import BakeoffError
from bakeoff.hardware import cpu_supports_bf16, cuda_supports_bf16


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BakeoffError(f"--device {device}: no CUDA device here: use --device cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise BakeoffError(f"--device {device}: this machine has {torch.cuda.device_count()} GPU(s), numbered from 0: "
                           f"use --device cuda:0 ... cuda:{torch.cuda.device_count() - 1}")
    return resolved


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` is bf16 where the hardware does it natively (AVX-512 BF16/AMX CPUs, Ampere+ GPUs), else fp32/fp16."""
    if precision not in PRECISIONS:
        raise BakeoffError(f"--precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        if precision == "fp16" and device.type == "cpu":
            raise BakeoffError("--precision fp16 is for CUDA; on a CPU use bf16 or fp32")
        return precision
    if device.type == "cuda":
        return "bf16" if cuda_supports_bf16(device) else "fp16"  # fp16 runs with a GradScaler (training/loop.py)
    return "bf16" if cpu_supports_bf16() else "fp32"


@contextlib.contextmanager
def autocast(precision: str, device: torch.device) -> Iterator[None]:
    """Mixed precision for the forward pass: matmuls in bf16/fp16, reductions and the loss in fp32."""
    if precision in ("bf16", "fp16"):
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
        with torch.autocast(device_type=device.type, dtype=dtype):
            yield
    else:
        yield


def seed_everything(seed: int) -> None:
    """Same seed, same run on CPU: Python, NumPy and torch generators, and deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
