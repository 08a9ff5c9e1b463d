"""Latency as a user of one request sees it: batch 1, after warm-up, thread count fixed, percentiles."""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from bakeoff.data.batching import Encoded, collate
from bakeoff.runtime import autocast


@torch.inference_mode()
def batch1_latency_ms(model: nn.Module, encoded: Encoded, precision: str, device: torch.device,
                      requests: int = 50, warmup: int = 5) -> dict[str, float]:
    """p50/p95/p99/mean milliseconds to classify one text, over the first ``requests`` rows of ``encoded``."""
    model.eval()
    rows = np.arange(min(requests, len(encoded)))
    for row in rows[:warmup]:
        _forward(model, encoded, row, precision, device)
    timings = []
    for row in rows:
        start = time.perf_counter()
        _forward(model, encoded, row, precision, device)
        timings.append((time.perf_counter() - start) * 1000)
    values = np.array(timings)
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)),
            "p99": float(np.percentile(values, 99)), "mean": float(values.mean()), "requests": len(values),
            "threads": torch.get_num_threads()}


def _forward(model: nn.Module, encoded: Encoded, row: int, precision: str, device: torch.device) -> None:
    batch = collate(encoded, np.array([row]))
    batch.pop("labels")
    with autocast(precision, device):
        model(**{k: v.to(device) for k, v in batch.items()})
