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


def _fake_clock(monkeypatch, seconds_per_request):
    """A clock that moves only when the model runs: ``seconds_per_request`` per forward; the calls' batch shapes."""
    import types

    from bakeoff.eval import bench

    now, calls = [0.0], []
    monkeypatch.setattr(bench, "time", types.SimpleNamespace(perf_counter=lambda: now[0],
                                                             process_time=time.process_time))

    def forward(batch):
        calls.append(batch["input_ids"].shape)
        now[0] += seconds_per_request
        return torch.zeros(1, 2)

    return forward, calls


@pytest.mark.parametrize(("seconds", "warmup", "timed"), [
    (2.0, 2, 30),  # a base-size model under load: warm-up stops at 2 (a quarter of the budget), 30 timed (the floor)
    (0.25, 10, 40),  # 10 s of 0.25 s requests: the budget, not the floor, stops it
    (0.01, 10, 100),  # a small model: every request asked for fits in the budget, as without one
])
def test_a_latency_budget_bounds_the_requests_and_records_how_many(monkeypatch, seconds, warmup, timed):
    forward, calls = _fake_clock(monkeypatch, seconds)
    latency = batch1_latency_ms(forward, _encoded([4] * 150), requests=100, warmup=10, budget_s=10.0)
    assert latency["requests"] == timed and len(calls) == warmup + timed
    assert latency["budget_s"] == 10.0 and latency["requests_asked"] == 100
    assert latency["p50"] == pytest.approx(seconds * 1000)
    assert latency["p50_interval"] == pytest.approx([seconds * 1000] * 2)  # every timing equal: a point


def test_without_a_budget_exactly_the_requests_asked_are_timed(monkeypatch):
    """``bakeoff bench --requests N`` asks for N, however slow each is."""
    forward, calls = _fake_clock(monkeypatch, 2.0)
    latency = batch1_latency_ms(forward, _encoded([4] * 150), requests=120, warmup=3)
    assert latency["requests"] == 120 and len(calls) == 123 and latency["budget_s"] is None


def test_the_median_interval_is_the_binomial_order_statistics():
    from scipy.stats import binom

    from bakeoff.eval.bench import median_interval

    assert median_interval(np.arange(1.0, 31.0)) == [10.0, 21.0]  # 30 timings: the 10th and the 21st
    assert median_interval(np.arange(1.0, 101.0)) == [40.0, 61.0]
    assert median_interval(np.arange(1.0, 6.0)) is None  # 5 timings: no interval reaches 95%
    assert 1 - 2 * binom.cdf(9, 30, 0.5) >= 0.95 > 1 - 2 * binom.cdf(10, 30, 0.5)  # 10 is the largest that holds


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
