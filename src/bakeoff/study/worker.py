"""Run one trial where an executor put it (a fresh local process or a Ray task): train, compress, summarize;
an embedding trial evaluates frozen embeddings instead (``evaluate_embeddings``), recorded as a run the same way.

Whatever happens, the trial ends up in the store exactly once: a failure inside training is recorded by the
run itself (FAILED, with the error); a failure before the run exists gets a FAILED run of its own.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bakeoff.config.embedding import EmbeddingConfig, is_embedding
from bakeoff.errors import BakeoffError
from bakeoff.io import disk_full_reason
from bakeoff.study.trials import TrialSummary


@dataclass
class TrialPayload:
    """What a trial needs wherever it runs: its id, its full training config (project, run name, tags and
    threads included) and its compression steps."""

    trial: str
    config: dict[str, Any]
    compress: list[str] = field(default_factory=list)

    @property
    def run_ref(self) -> str:
        return f"{self.config['project']}/{self.config['name']}"


Progress = Callable[[int, int, float], None]  # (step, total steps, training seconds so far)


def run_trial(payload: TrialPayload, progress: Progress | None = None) -> TrialSummary:
    """Train the trial's config, apply its compression steps (or evaluate its frozen embeddings); a summary back.
    ``progress`` hears the training's step about once a second, for the study's display."""
    from bakeoff.runs import compress_methods, evaluate_embeddings, train
    from bakeoff.track import Experiment, Store

    start = time.perf_counter()
    summary = TrialSummary(payload.trial, pid=os.getpid())
    try:
        if is_embedding(payload.config):  # an embedding trial: nothing is trained, nothing to compress
            scored = evaluate_embeddings(EmbeddingConfig.from_dict(payload.config))
            summary.status, summary.metric, summary.metric_name = (scored.run.status, scored.primary,
                                                                   scored.primary_metric)
        else:
            result = train(**payload.config, display=_ProgressDisplay(progress) if progress else None)
            summary.status, summary.train_seconds = result.run.status, result.training.seconds
            summary.metric, summary.metric_name = result.validation.primary, result.validation.primary_metric
            if payload.compress and summary.status == "COMPLETED":  # an interrupted run is run again on resume
                summary.compress = compress_steps(compress_methods, payload.run_ref, payload.compress,
                                                  payload.config.get("threads"))
    except KeyboardInterrupt:  # Ctrl-C outside the training loop (loading, compressing): the study is stopping
        summary.status, summary.error = "INTERRUPTED", "stopped by Ctrl-C"
    except Exception as error:  # noqa: BLE001 - any failure is the trial's, recorded; the study goes on
        full = disk_full_reason(error)  # said as the CLI says it: the study's line is what the user reads
        summary.error = (f"the disk is full ({full})" if full else
                         f"{type(error).__name__}: {error}".splitlines()[0][:300])
        try:
            Store().get(payload.run_ref)
        except BakeoffError:  # failed before the run was created (bad data, unknown model, ...): record it anyway
            config = payload.config
            with Experiment(name=config["name"], project=config["project"], tags=config.get("tags")) as exp:
                exp.parameters().set(**config)
                exp.log(traceback.format_exc(limit=3), level="error")
                exp.close("FAILED", summary.error)
    summary.seconds = time.perf_counter() - start
    return summary


class _ProgressDisplay:
    """The training display protocol (``training.display``), reporting the step to the study at most once a second."""

    def __init__(self, report: Progress, every: float = 1.0) -> None:
        self.report, self.every = report, every
        self.total, self.started, self.last = 0, 0.0, float("-inf")

    def start(self, total_steps: int, total_samples: int) -> None:
        self.total, self.started = total_steps, time.monotonic()
        self.report(0, total_steps, 0.0)

    def advance(self, step: int, loss: float, samples_per_second: float) -> None:
        now = time.monotonic()
        if now - self.last >= self.every or step == self.total:
            self.last = now
            self.report(step, self.total, now - self.started)

    def evaluated(self, step: int, result: Any, improved: bool) -> None: ...

    def stop(self) -> None: ...


def compress_steps(compress_methods: Any, ref: str, methods: list[str],
                   threads: int | None = None) -> dict[str, dict[str, Any]]:
    """A trial's compression steps in one call (on the trial's share of the cores), so the original is measured
    once for all of them (``runs/compress_run.py``); a failure is reported with its method, and the trial stays
    COMPLETED."""
    def line(error: Exception) -> dict[str, Any]:  # e.g. an architecture the exporter cannot handle
        return {"error": f"{type(error).__name__}: {error}".splitlines()[0][:300]}

    out: dict[str, dict[str, Any]] = {}
    try:
        reports = compress_methods(ref, methods, overwrite=True, threads=threads,
                                   on_error=lambda method, error: out.__setitem__(method, line(error)))
    except Exception as error:  # noqa: BLE001 - before any method: the original could not be measured
        return {method: line(error) for method in methods}
    for report in reports:
        change = report.change
        out[report.method] = {"size_ratio": change.size_ratio, "metrics": change.metrics,
                              "latency_p50_speedup": change.latency_p50_speedup, "timing_busy": change.timing_busy}
    return {method: out[method] for method in methods if method in out}


def warm_up() -> None:
    """Import what a trial needs before it arrives, so a waiting process starts training at once."""
    # transformers imports each architecture's module on first use; these are the encoders bakeoff compares
    from transformers import (  # noqa: F401
        AutoModelForSequenceClassification,
        AutoTokenizer,
        BertForSequenceClassification,
        BertTokenizerFast,
        DistilBertForSequenceClassification,
        RobertaForSequenceClassification,
    )
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one line per trial is the study's output, not per-file bars

    import bakeoff.runs  # noqa: F401
