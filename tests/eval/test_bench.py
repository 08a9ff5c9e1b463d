"""The bench statistics: percentiles of known timings, rows per length bucket, memory that sees an allocation."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from bakeoff.data.batching import Encoded
from bakeoff.eval.bench import PeakMemory, batch1_latency_ms, throughput


def _encoded(lengths):
    return Encoded(input_ids=[[1] * n for n in lengths], token_type_ids=None, labels=np.zeros(len(lengths), int),
                   pad_id=0)


def test_latency_percentiles_follow_the_timings(monkeypatch):
    """Known durations on a fake clock (a sleep's length depends on the machine's load; no timed assertion)."""
    import types

    from bakeoff.eval import bench

    now = [0.0]
    monkeypatch.setattr(bench, "time", types.SimpleNamespace(perf_counter=lambda: now[0],
                                                             process_time=time.process_time))
    encoded = _encoded([4] * 40)
    calls = []

    def forward(batch):  # every tenth request is slow: p50 fast, p95/p99 slow
        calls.append(batch["input_ids"].shape)
        now[0] += 0.012 if len(calls) % 10 == 0 else 0.002
        return torch.zeros(1, 2)

    latency = batch1_latency_ms(forward, encoded, requests=40, warmup=5)
    assert latency["requests"] == 40 and len(calls) == 45 and all(shape[0] == 1 for shape in calls)
    assert latency["p50"] == pytest.approx(2.0) and latency["p95"] == pytest.approx(12.0)
    assert latency["p99"] == pytest.approx(12.0) and latency["mean"] == pytest.approx(3.0)
    assert latency["threads"] == torch.get_num_threads()


def test_throughput_is_reported_per_length_bucket_and_batch_size():
    encoded = _encoded([5] * 20 + [30] * 10 + [100] * 3)
    seen = []

    def forward(batch):
        seen.append(tuple(batch["input_ids"].shape))
        return torch.zeros(batch["input_ids"].shape[0], 2)

    rows = throughput(forward, encoded, batch_sizes=(4, 16))
    assert [(r["tokens"], r["batch_size"], r["rows"]) for r in rows] == [
        ("1-16", 4, 20), ("1-16", 16, 20), ("17-32", 4, 10), ("17-32", 16, 10), ("65-128", 4, 3), ("65-128", 16, 3)]
    assert all(r["samples_per_second"] > 0 for r in rows)
    assert max(width for _, width in seen) == 100 and (4, 5) in seen and (16, 5) in seen


def test_peak_memory_sees_a_large_allocation():
    with PeakMemory(interval=0.001) as memory:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        time.sleep(0.05)
        del block
    assert memory.added_mb == pytest.approx(64, abs=16)


def test_cuda_outputs_are_waited_for_inside_the_clock(monkeypatch):
    """On CUDA a forward returns before its kernels finish: each timed request must synchronize before the clock
    stops, or its figure holds the previous request's tail."""
    encoded = _encoded([4] * 12)
    events = []

    class CudaOutput:  # what a CUDA forward returns, as far as the clock is concerned
        device = torch.device("cuda", 0)

    def forward(batch):
        events.append("forward")
        return CudaOutput()

    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: events.append("sync"))
    batch1_latency_ms(forward, encoded, requests=12, warmup=2)
    assert events == ["forward", "sync"] * 14
    events.clear()
    throughput(forward, encoded, batch_sizes=(4,))
    assert events and events == ["forward", "sync"] * (len(events) // 2)
