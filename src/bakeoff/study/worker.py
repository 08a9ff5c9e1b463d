"""Run one trial where an executor put it (a fresh local process or a Ray task): train, compress, summarize.

Whatever happens, the trial ends up in the store exactly once: a failure inside training is recorded by the
run itself (FAILED, with the error); a failure before the run exists gets a FAILED run of its own.
"""

from __future__ import annotations

import os
import time
import traceback
from typing import Any

from bakeoff.errors import BakeoffError


def run_trial(payload: dict[str, Any]) -> dict[str, Any]:
    """Train the trial's config into ``payload["project"]``, apply its compression steps; a summary back.

    ``payload``: ``{"trial": id, "config": {...}, "compress": [...], "project": name, "run_name": name,
    "tags": [...]}``. The summary: ``{"trial", "status", "metric", "metric_name", "train_seconds",
    "compress": {method: change}, "error", "seconds"}``.
    """
    import bakeoff
    from bakeoff.track import Experiment, Store

    start = time.perf_counter()
    summary: dict[str, Any] = {"trial": payload["trial"], "status": "FAILED", "metric": None, "metric_name": None,
                               "train_seconds": None, "compress": {}, "error": None, "pid": os.getpid()}
    config = {**payload["config"], "project": payload["project"], "name": payload["run_name"], "quiet": True,
              "tags": payload.get("tags", [])}
    try:
        result = bakeoff.train(**config)
        summary.update(status=result.run["status"], metric=result.validation.primary,
                       metric_name=result.validation.primary_metric, train_seconds=result.training["seconds"])
        ref = f"{payload['project']}/{payload['run_name']}"
        for method in payload.get("compress", []):
            summary["compress"][method] = _compress(ref, method)
    except Exception as error:  # noqa: BLE001 - any failure is the trial's, recorded; the study goes on
        summary["error"] = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        store = Store()
        try:
            run = store.get(f"{payload['project']}/{payload['run_name']}")
        except BakeoffError:
            run = None
        if run is None:  # failed before the run was created (bad data, unknown model, ...): record it anyway
            with Experiment(name=payload["run_name"], project=payload["project"], tags=config["tags"]) as exp:
                exp.parameters().set(**config)
                exp.log(traceback.format_exc(limit=3), level="error")
                exp.close("FAILED", summary["error"])
    summary["seconds"] = time.perf_counter() - start
    return summary


def _compress(ref: str, method: str) -> dict[str, Any]:
    """One compression step; its failure is reported with the trial, which stays COMPLETED."""
    import bakeoff

    try:
        change = bakeoff.compress(ref, method, overwrite=True).change
    except Exception as error:  # noqa: BLE001 - e.g. an architecture the exporter cannot handle
        return {"error": f"{type(error).__name__}: {error}".splitlines()[0][:300]}
    return {"size_ratio": change["size_ratio"], "metrics": change["metrics"],
            "latency_p50_speedup": change["latency_p50_speedup"]}


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

    import bakeoff.api  # noqa: F401
