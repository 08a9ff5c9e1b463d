"""Inference speed as users meet it: batch-1 latency percentiles, throughput per batch size and length, peak memory.

Every figure comes after warm-up, with the thread count fixed and recorded, through the same ``Forward`` for
every backend, so a PyTorch fp32 model, an int8 module and an ONNX Runtime session are measured alike.

A timing taken while other processes compete for the cores measures the queue for a core as much as the model:
``Contention`` watches the machine while the clock runs (other processes' CPU time against the cores, this
process's wait for a core, the load average) and says when a figure is not to be trusted.
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


BUSY_OTHERS_SHARE = 0.25  # other processes used more than a quarter of the cores while we timed
BUSY_WAIT_SHARE = 0.15  # this process's threads waited for a core more than 15% of their time


@dataclass
class Contention:
    """How busy the machine was while a figure was timed (``with Contention() as seen: ...``; then ``seen.to_dict()``).

    - ``others_cpu_share``: CPU time of every other process over the window / (wall time x the machine's cores),
      from ``/proc/stat`` less this process's own (0: the machine was ours; 1: every core busy with others);
    - ``wait_share``: time this process's threads spent waiting for a core / their time running or waiting, from
      ``/proc/self/task/*/schedstat`` (the scheduler's own account of contention);
    - ``load_average`` (1 minute, at the end) against ``cores`` (the cores this process may use);
    - ``cpu_seconds`` / ``seconds``: this process's CPU time against the wall time of the window;
    - ``busy``: why the figures are unreliable (``None``: nothing competed for the cores enough to matter).

    A reading a platform does not offer is ``None``; then the load average decides.
    """

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    others_cpu_share: float | None = None
    wait_share: float | None = None
    load_average: float | None = None
    cores: int = 1
    busy: str | None = None

    def __enter__(self) -> Contention:
        self._start = (time.perf_counter(), time.process_time(), _machine_busy_ticks(), _own_ticks(), _schedstat())
        return self

    def __exit__(self, *exc: object) -> None:
        wall0, cpu0, machine0, own0, sched0 = self._start
        self.seconds, self.cpu_seconds = time.perf_counter() - wall0, time.process_time() - cpu0
        machine1, own1 = _machine_busy_ticks(), _own_ticks()
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        if None not in (machine0, machine1, own0, own1) and self.seconds > 0:
            others = (machine1 - machine0) - (own1 - own0)  # type: ignore[operator]
            self.others_cpu_share = max(0.0, others / ticks / (self.seconds * (os.cpu_count() or 1)))
        sched1 = _schedstat()
        if sched0 and sched1:
            ran = sum(sched1[t][0] - sched0.get(t, (0, 0))[0] for t in sched1)
            waited = sum(sched1[t][1] - sched0.get(t, (0, 0))[1] for t in sched1)
            self.wait_share = waited / (ran + waited) if ran + waited > 0 else 0.0
        from bakeoff.hardware import available_cores

        self.cores = available_cores()
        self.load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        self.busy = self.judge()

    def judge(self) -> str | None:
        """The reason the figures are unreliable, from the readings; ``None`` when they can be trusted."""
        reasons = []
        if self.others_cpu_share is not None and self.others_cpu_share > BUSY_OTHERS_SHARE:
            reasons.append(f"other processes used {self.others_cpu_share:.0%} of the cores")
        if self.wait_share is not None and self.wait_share > BUSY_WAIT_SHARE:
            reasons.append(f"this process waited for a core {self.wait_share:.0%} of the time")
        if (self.others_cpu_share is None and self.wait_share is None and self.load_average is not None
                and self.load_average > 1.5 * self.cores):
            reasons.append(f"load average {self.load_average:.1f} on {self.cores} cores")
        return "; ".join(reasons) or None

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "cpu_seconds": self.cpu_seconds, "others_cpu_share": self.others_cpu_share,
                "wait_share": self.wait_share, "load_average": self.load_average, "cores": self.cores,
                "busy": self.busy}


def _machine_busy_ticks() -> int | None:
    """Every CPU's non-idle ticks since boot (``/proc/stat``'s first line: all but idle and iowait)."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(v) for v in handle.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq + steal


def _own_ticks() -> int | None:
    """This process's user + system ticks, all its threads (``/proc/self/stat`` fields 14 and 15)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])


def _schedstat() -> dict[str, tuple[int, int]]:
    """Per thread of this process: (ns on a core, ns waiting for one)."""
    out = {}
    try:
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/schedstat", encoding="ascii") as handle:
                    ran, waited = handle.read().split()[:2]
                out[task] = (int(ran), int(waited))
            except (OSError, ValueError):
                continue
    except OSError:
        return {}
    return out


# A latency measurement's default cost bound (``batch1_latency_ms``'s ``budget_s``): time requests until at least
# LATENCY_MIN_REQUESTS are in and LATENCY_BUDGET_S seconds have passed, or ``requests`` are done, whichever first.
LATENCY_MIN_REQUESTS = 30
LATENCY_MAX_REQUESTS = 100
LATENCY_BUDGET_S = 10.0


@torch.inference_mode()
def batch1_latency_ms(forward: Forward, encoded: Encoded, requests: int = LATENCY_MAX_REQUESTS, warmup: int = 10,
                      *, budget_s: float | None = None, min_requests: int = LATENCY_MIN_REQUESTS) -> dict[str, Any]:
    """p50/p95/p99/mean milliseconds to classify one text, over the first rows of ``encoded`` in order; with
    ``spread`` (p95 / p50), ``p50_interval`` and the ``conditions`` they were taken under (``Contention``; ``busy``
    says why not to trust them).

    Without ``budget_s``: exactly ``requests`` requests (at most the rows there are), after ``warmup`` untimed ones.
    With ``budget_s`` the cost is bounded: timing stops once ``min_requests`` are timed *and* ``budget_s`` seconds
    have passed, or at ``requests``; warm-up stops after ``warmup`` requests or, past its first two, once it has
    used a quarter of the budget. A fast model still gets all ``requests`` (100 requests of 10 ms fit in 10 s); a
    base-size model under load (2 s a request) gets ``min_requests``, a minute instead of several.

    Why that keeps p50 honest: the median of n timings is a distribution-free estimate whose 95% interval runs
    between order statistics that binomial(n, 1/2) picks (the 33rd-70th percentiles of the timings at n = 30, the
    40th-61st at n = 100); ``p50_interval`` records it, so a short measurement shows its own width instead of
    hiding it. The stopping time depends on the clock, never on which values came out, and the rows are the
    first n in order whatever n is, so a model compared with another at the same ``requests`` sees the same
    texts. p95 and p99 need about 1 / (1 - q) timings to be inside the data: below 20 (p95) or 100 (p99) requests
    they are the largest timings seen, and ``requests`` says how many there were.
    """
    rows = np.arange(min(requests, len(encoded)))
    clock = time.perf_counter
    started = clock()
    for done, row in enumerate(rows[:warmup], start=1):
        finished(forward(model_inputs(encoded, np.array([row]))))
        if budget_s is not None and done >= 2 and clock() - started >= budget_s / 4:
            break
    timings: list[float] = []
    with Contention() as seen:
        started = clock()
        for row in rows:
            batch = model_inputs(encoded, np.array([row]))  # tokenised and padded before the clock starts
            start = clock()
            finished(forward(batch))
            stop = clock()
            timings.append((stop - start) * 1000)
            if budget_s is not None and len(timings) >= min_requests and stop - started >= budget_s:
                break
    values = np.array(timings)
    p50 = float(np.percentile(values, 50))
    return {"p50": p50, "p95": float(np.percentile(values, 95)),
            "p99": float(np.percentile(values, 99)), "mean": float(values.mean()), "requests": len(values),
            "requests_asked": int(requests), "budget_s": budget_s, "p50_interval": median_interval(values),
            "threads": torch.get_num_threads(), "spread": float(np.percentile(values, 95)) / p50 if p50 else None,
            "conditions": seen.to_dict()}


def median_interval(values: np.ndarray, confidence: float = 0.95) -> list[float] | None:
    """The distribution-free ``confidence`` interval of the median of ``values``: the order statistics
    binomial(n, 1/2) picks; ``None`` below 6 values, where no two order statistics reach 95%.

    >>> median_interval(np.arange(1.0, 31.0))  # 30 timings: between the 10th and the 21st
    [10.0, 21.0]
    """
    from scipy.stats import binom

    n = len(values)
    low = int(binom.ppf((1 - confidence) / 2, n, 0.5))  # P(at most `low` below the median) <= (1 - c) / 2
    if low < 1:
        return None
    ordered = np.sort(values)
    return [float(ordered[low - 1]), float(ordered[n - low])]


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
    conditions: dict[str, Any] | None = None  # ``Contention`` over the whole measurement (latency and throughput)

    @property
    def busy(self) -> str | None:
        """Why these figures are unreliable (the machine was busy while they were taken), or ``None``."""
        return (self.conditions or {}).get("busy")

    def to_dict(self) -> dict[str, Any]:
        return {"latency_ms": self.latency_ms, "throughput": self.throughput, "peak_rss_mb": self.peak_rss_mb,
                "added_rss_mb": self.added_rss_mb, "threads": self.threads, "hardware": self.hardware,
                "conditions": self.conditions, "busy": self.busy}


def bench(forward: Forward, encoded: Encoded, batch_sizes: tuple[int, ...] = (8, 64), requests: int = 100,
          max_rows: int = 256, budget_s: float | None = None) -> BenchResult:
    """Latency, throughput and peak memory of ``forward`` on the rows of ``encoded`` (``requests`` and
    ``budget_s``: ``batch1_latency_ms``'s)."""
    with Contention() as seen, PeakMemory() as memory:
        latency = batch1_latency_ms(forward, encoded, requests=requests, budget_s=budget_s)
        rates = throughput(forward, encoded, batch_sizes, max_rows=max_rows)
    return BenchResult(latency, rates, memory.peak_mb, memory.added_mb, torch.get_num_threads(), describe(),
                       seen.to_dict())
