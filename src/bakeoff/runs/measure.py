"""Measure a model folder as a user meets it: metrics, size, latency, throughput and memory — each model in a
fresh process of its own, so that its peak memory is its own and not the other model's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from bakeoff.compression import artefact as compression
from bakeoff.data.batching import Encoded
from bakeoff.data.windows import Windows, plain
from bakeoff.eval.bench import LATENCY_BUDGET_S, LATENCY_MAX_REQUESTS
from bakeoff.eval.bench import bench as run_bench
from bakeoff.eval.significance import mcnemar
from bakeoff.problems import SINGLE_LABEL, Problem
from bakeoff.runs.inference import score
from bakeoff.runs.locate import run_dir_of
from bakeoff.runs.single_label import decision_for
from bakeoff.runs.results import Change, MeasuredModel


def measure(loaded: compression.LoadedModel, encoded: Encoded | Windows, split: str, primary: str | None,
            batch_sizes: tuple[int, ...], requests: int | None = None,
            scores: bool = True) -> tuple[MeasuredModel, list[Any] | None]:
    """Metrics, size and speed of one model on one split; and its predicted label ids, in row order. The run's
    temperature and threshold apply (so a compressed model's calibration is measured as ``predict`` uses it).

    ``requests``: batch-1 requests to time; ``None``: the bounded default (``eval/bench.py``: at least
    ``LATENCY_MIN_REQUESTS`` and ``LATENCY_BUDGET_S`` seconds, at most 100). ``scores=False`` skips the pass over
    the split (metrics empty, loss and labels ``None``): for a model whose scores are known already."""
    labels: Any = None
    metrics: dict[str, float] = {}
    loss = None
    if scores and primary:
        result, labels, _ = score(loaded.forward, None, encoded, split, loaded.label_names, primary, 64,
                                  loaded.problem, loaded.thresholds, decision=decision_for(loaded.path,
                                                                                           run_dir_of(loaded.path)))
        metrics, loss = result.metrics, result.loss
    elif scores:
        from bakeoff.eval.windows import predict_rows

        labels = predict_rows(loaded.forward, encoded, 64, loaded.num_labels).labels
    budget = LATENCY_BUDGET_S if requests is None else None
    speed = run_bench(loaded.forward, plain(encoded), batch_sizes, requests=requests or LATENCY_MAX_REQUESTS,
                      budget_s=budget)
    model = MeasuredModel(method=loaded.method, backend=loaded.backend, metrics=metrics, loss=loss,
                          weights_bytes=loaded.weights_bytes,
                          folder_bytes=sum(p.stat().st_size for p in loaded.path.iterdir() if p.is_file()),
                          bench=speed.to_dict())
    stored = loaded.problem.to_stored(np.asarray(labels)) if labels is not None else None  # ids, scores or sets
    return model, stored


def measure_isolated(path: Path, encoded: Encoded, split: str, primary: str, batch_sizes: tuple[int, ...],
                     requests: int | None = None, scores: bool = True) -> tuple[MeasuredModel, list[Any] | None]:
    """``measure`` of the model at ``path`` (fp32 if a plain checkpoint) in a new process, same thread count."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_measure_worker, path, encoded, split, primary, batch_sizes,
                           torch.get_num_threads(), requests, scores).result()


def _measure_worker(path: Path, encoded: Encoded, split: str, primary: str, batch_sizes: tuple[int, ...],
                    threads: int, requests: int | None, scores: bool) -> tuple[MeasuredModel, list[Any] | None]:
    torch.set_num_threads(threads)
    return measure(compression.load(path, precision="fp32"), encoded, split, primary, batch_sizes, requests, scores)


def change(before: MeasuredModel, before_labels: list[Any], after: MeasuredModel, after_labels: list[Any],
           truth: np.ndarray, problem: Problem = SINGLE_LABEL) -> Change:
    """What compression cost and gained: metric deltas, flips (answers that changed), McNemar (for scores: the
    sign test of which model is closer to the gold score), size and latency ratios."""
    count = truth.shape[1] if truth.ndim == 2 else 1
    first, second = problem.from_stored(before_labels, count), problem.from_stored(after_labels, count)
    same, first_right, second_right = problem.paired_rows(first, second, truth)
    test = mcnemar(first_right, second_right)
    latency_before, latency_after = before.bench["latency_ms"], after.bench["latency_ms"]
    return Change(metrics={name: after.metrics[name] - value for name, value in before.metrics.items()},
                  flips=int((~same).sum()), flip_share=float((~same).mean()),
                  mcnemar={"only_original_right": test.only_first, "only_compressed_right": test.only_second,
                           "p_value": test.p_value, "significant": test.significant},
                  size_ratio=before.weights_bytes / after.weights_bytes,
                  latency_p50_speedup=latency_before["p50"] / latency_after["p50"],
                  latency_p95_speedup=latency_before["p95"] / latency_after["p95"],
                  timing_busy=timing_busy(before.bench, after.bench))


def timing_busy(*benches: dict[str, Any]) -> str | None:
    """Why figures compared across ``benches`` are unreliable: any of them timed on a busy machine, or ``None``."""
    reasons = [(bench.get("conditions") or {}).get("busy") for bench in benches]
    return "; ".join(dict.fromkeys(reason for reason in reasons if reason)) or None


def as_dict(model: MeasuredModel, labels: list[int] | None = None) -> dict[str, Any]:
    """``bakeoff bench``'s figures for one model (``labels``: its predictions, to check against ``predict``)."""
    from dataclasses import asdict

    return {**asdict(model), **({"labels": labels} if labels is not None else {})}
