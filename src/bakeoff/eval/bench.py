"""Inference speed as users meet it: batch-1 latency percentiles, throughput per batch size and length, peak memory.

Every figure comes after warm-up, with the thread count fixed and recorded, through the same ``Forward`` for
every backend, so a PyTorch fp32 model, an int8 module and an ONNX Runtime session are measured alike.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bakeoff.data.batching import Encoded
from bakeoff.eval.predict import model_inputs
from bakeoff.hardware import describe
from bakeoff.models.forward import Forward

# Token-length buckets (upper bounds, inclusive): latency and throughput depend on length more than on anything else.
LENGTH_BUCKETS = (16, 32, 64, 128, 512)


def finished(output: object) -> object:
    """Wait until ``output`` exists: CUDA runs asynchronously, so without this the clock would stop when the
    kernels are queued and the next request would carry this one's tail."""
    device = getattr(output, "device", None)
    if isinstance(device, torch.device) and device.type == "cuda":
        torch.cuda.synchronize(device)
    return output


@torch.inference_mode()
def batch1_latency_ms(forward: Forward, encoded: Encoded, requests: int = 100, warmup: int = 10) -> dict[str, Any]:
    """p50/p95/p99/mean milliseconds to classify one text, over the first ``requests`` rows of ``encoded``."""
    rows = np.arange(min(requests, len(encoded)))
    for row in rows[:warmup]:
        finished(forward(model_inputs(encoded, np.array([row]))))
    timings = []
    for row in rows:
        batch = model_inputs(encoded, np.array([row]))  # tokenised and padded before the clock starts
        start = time.perf_counter()
        finished(forward(batch))
        timings.append((time.perf_counter() - start) * 1000)
    values = np.array(timings)
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)),
            "p99": float(np.percentile(values, 99)), "mean": float(values.mean()), "requests": len(values),
            "threads": torch.get_num_threads()}


@torch.inference_mode()
def throughput(forward: Forward, encoded: Encoded, batch_sizes: tuple[int, ...] = (8, 64),
               max_rows: int = 256) -> list[dict[str, Any]]:
    """Samples per second for each (length bucket, batch size), over up to ``max_rows`` rows of the bucket."""
    out = []
    lower = 0
    for upper in LENGTH_BUCKETS:
        in_bucket = np.flatnonzero((encoded.lengths > lower) & (encoded.lengths <= upper))[:max_rows]
        bucket = f"{lower + 1}-{upper}"
        lower = upper
        if len(in_bucket) == 0:
            continue
        for batch_size in batch_sizes:
            batches = [in_bucket[i:i + batch_size] for i in range(0, len(in_bucket), batch_size)]
            finished(forward(model_inputs(encoded, batches[0])))  # warm-up at this shape
            inputs = [model_inputs(encoded, rows) for rows in batches]
            start = time.perf_counter()
            for batch in inputs:
                finished(forward(batch))
            seconds = time.perf_counter() - start
            out.append({"tokens": bucket, "batch_size": batch_size, "rows": len(in_bucket),
                        "samples_per_second": len(in_bucket) / seconds})
    return out


class PeakMemory:
    """Resident memory of this process, sampled every few milliseconds while the block runs.

    ``peak_mb`` is the high-water mark inside the block (model weights plus activations plus the runtime);
    ``added_mb`` is how far it rose above the resident size at entry.
    """

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.start_mb = self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        self.start_mb = self.peak_mb = _rss_mb()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self.peak_mb = max(self.peak_mb, _rss_mb())

    @property
    def added_mb(self) -> float:
        return self.peak_mb - self.start_mb

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, _rss_mb())


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: the process's lifetime peak is the best available figure
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class BenchResult:
    """One model's inference figures; ``to_dict`` is what ``bakeoff bench --json`` prints."""

    latency_ms: dict[str, Any]
    throughput: list[dict[str, Any]]
    peak_rss_mb: float
    added_rss_mb: float
    threads: int
    hardware: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"latency_ms": self.latency_ms, "throughput": self.throughput, "peak_rss_mb": self.peak_rss_mb,
                "added_rss_mb": self.added_rss_mb, "threads": self.threads, "hardware": self.hardware}


def bench(forward: Forward, encoded: Encoded, batch_sizes: tuple[int, ...] = (8, 64), requests: int = 100,
          max_rows: int = 256) -> BenchResult:
    """Latency, throughput and peak memory of ``forward`` on the rows of ``encoded``."""
    with PeakMemory() as memory:
        latency = batch1_latency_ms(forward, encoded, requests=requests)
        rates = throughput(forward, encoded, batch_sizes, max_rows=max_rows)
    return BenchResult(latency, rates, memory.peak_mb, memory.added_mb, torch.get_num_threads(), describe())
