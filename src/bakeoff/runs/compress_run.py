"""Compress a run's checkpoint, and measure the compressed models against the original on the same rows.

The fp32 original is measured once per call, however many methods the call makes (``compress_methods``):

- **Its scores** (metrics, loss, predictions: one pass over the split) are the same function of the same rows for
  every copy, so one pass serves them all; and they are stored (``compressed/original-<split>.json``) with what
  they depend on (every checkpoint file's sha256, the rows' token ids and labels, the thread count, fp32, this
  machine and bakeoff's version), so a later call on the same run reuses them ("reused" in the report and the
  output) instead of scoring the original again. Anything different in that key, another machine or thread count
  included, and they are measured again.
- **Its timings** (batch-1 latency, throughput, memory) are taken once per call, never reused across calls: a
  speed ratio is a comparison under one set of conditions, and a timing stored hours earlier was taken under
  other ones (other load, other clocks). Within one call, the original is timed first and then each copy, every
  model in a fresh process of its own (its peak memory, its thread pool: ONNX Runtime's threads spin after each
  request and would steal the cores from a PyTorch model timed in the same process, so the models are not
  interleaved request by request); each timing carries the machine's ``conditions`` while it ran, and a ratio is
  flagged unreliable when any of them was busy, as before. The original is timed under the bounded default
  (``eval/bench.py``: at least 30 requests and 10 s, at most 100), and each copy over exactly as many requests,
  so both sides time the same rows.

Before, each method measured the original again (scores and timings): for two methods on MPNet-base under load
that was most of a study trial's compression time.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bakeoff._version import __version__
from bakeoff.compression import artefact as compression
from bakeoff.data.batching import Encoded
from bakeoff.data.windows import Windows, plain
from bakeoff.errors import BakeoffError
from bakeoff.eval.decision import load_decision, save_decision
from bakeoff.hardware import cpu_model, default_threads
from bakeoff.io import check_free_space, read_json, sha256, write_json_atomic
from bakeoff.runs.files import REPORT_FILE, compressed_dir, original_scores_file
from bakeoff.runs.locate import locate
from bakeoff.runs.measure import change, measure_isolated
from bakeoff.runs.results import CompressReport, MeasuredModel
from bakeoff.runs.splits import check_split, labelled_split
from bakeoff.track.layout import utc_now

ROOM_FIX = ("free some space there, or keep the store on a disk with room (BAKEOFF_STORE): a compressed model is "
            "written beside its run")


def compress(run: str, method: str, *, quantize_embeddings: bool = True, split: str = "validation",
             batch_sizes: tuple[int, ...] = (8, 64), threads: int | None = None,
             overwrite: bool = False) -> CompressReport:
    """Compress a run's checkpoint with ``method``, then measure both models alike on the run's own split.

    The result lands in ``<run>/compressed/<method>/`` only once it is complete; an existing one is replaced
    only with ``overwrite``. Several methods at once: ``compress_methods`` (the original measured once).

    >>> bakeoff.compress("demo-demo/demo-minilm-l6-seed42", "dynamic-int8").change.size_ratio  # doctest: +SKIP
    3.97
    """
    return compress_methods(run, [method], quantize_embeddings=quantize_embeddings, split=split,
                            batch_sizes=batch_sizes, threads=threads, overwrite=overwrite)[0]


def compress_methods(run: str, methods: Sequence[str], *, quantize_embeddings: bool = True,
                     split: str = "validation", batch_sizes: tuple[int, ...] = (8, 64), threads: int | None = None,
                     overwrite: bool = False,
                     on_error: Callable[[str, Exception], None] | None = None) -> list[CompressReport]:
    """Compress a run's checkpoint with each of ``methods``, measuring the fp32 original once for them all (its
    scores reused from an earlier call where nothing they depend on changed: the module docstring says what is
    shared and why the timings are not). One report per method, in order.

    ``on_error``: where one method's failure (an architecture its exporter cannot handle) goes, so the others
    still run; without it the first failure is raised. Every method, target folder and the split are checked
    before any work.

    >>> [r.method for r in bakeoff.compress_methods("demo-demo/demo-minilm-l6-seed42",
    ...                                             ["dynamic-int8", "onnx-int8"])]  # doctest: +SKIP
    ['dynamic-int8', 'onnx-int8']
    """
    chosen = [compression.get_method(name) for name in dict.fromkeys(methods)]
    if not chosen:
        raise BakeoffError("no compression method given: pass --method (dynamic-int8, bf16, onnx or onnx-int8)")
    check_split(split)  # before the model loads
    found = locate(run)
    checkpoint = found.model_dir
    _check_writable(checkpoint.parent)
    if (checkpoint / compression.MANIFEST).is_file():
        raise BakeoffError(f"{checkpoint} is already compressed: compress the run's fp32 checkpoint instead")
    found.verify()
    for method in chosen:
        target = compressed_dir(checkpoint.parent, method.name)
        if target.exists() and not overwrite:
            raise BakeoffError(f"{target} exists: pass --overwrite to replace it")
    room = sum(compression.disk_bytes(checkpoint, method, quantize_embeddings) for method in chosen)
    check_free_space(compressed_dir(checkpoint.parent, chosen[0].name).parent, room,
                     "--method " + ", ".join(m.name for m in chosen) + f" of {run}",
                     fix=ROOM_FIX)  # before the model loads and is measured
    torch.set_num_threads(threads or default_threads())  # every core, less those other processes keep busy
    reference = compression.load(checkpoint, precision="fp32")  # for its tokenizer and label names
    encoded, primary = labelled_split(reference, found.config, split)
    assert primary is not None
    problem = reference.problem
    del reference

    key = original_key(checkpoint, encoded, split, primary)
    store = original_scores_file(checkpoint.parent, split)
    known = _stored_scores(store, key)
    original, original_labels = measure_isolated(checkpoint, encoded, split, primary, batch_sizes,
                                                 scores=known is None)
    if known is None:
        assert original_labels is not None
        measured_at = utc_now()
        store.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(store, {"key": key, "measured_at": measured_at, "metrics": original.metrics,
                                  "loss": original.loss, "labels": original_labels})
        source: dict[str, Any] = {"scores": "measured", "from": None, "measured_at": measured_at}
    else:
        original = replace(original, metrics=dict(known["metrics"]), loss=known["loss"])
        original_labels = list(known["labels"])
        source = {"scores": "reused", "from": str(store), "measured_at": known["measured_at"]}
    source.update(timings="measured", shared_by=[method.name for method in chosen])
    requests = int(original.bench["latency_ms"]["requests"])  # each copy times the same rows

    reports = []
    for method in chosen:
        try:
            reports.append(_compress_one(run, method, checkpoint, encoded, split, primary, batch_sizes,
                                         quantize_embeddings, requests, original, original_labels, source,
                                         problem))
        except Exception as error:  # a Ctrl-C (KeyboardInterrupt) is no Exception: it always stops the call
            if on_error is None:
                raise
            on_error(method.name, error)
    return reports


def _compress_one(run: str, method: compression.Method, checkpoint: Path, encoded: Encoded | Windows, split: str,
                  primary: str, batch_sizes: tuple[int, ...], quantize_embeddings: bool, requests: int,
                  original: MeasuredModel, original_labels: list[Any], source: dict[str, Any],
                  problem: Any) -> CompressReport:
    """One method's copy written, measured over ``requests`` batch-1 requests and compared with ``original``;
    it lands in ``<run>/compressed/<method>/`` only once complete."""
    target = compressed_dir(checkpoint.parent, method.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{method.name}-", dir=target.parent))
    try:
        manifest = compression.write(checkpoint, method, staging / "model", quantize_embeddings)
        save_decision(staging / "model", load_decision(checkpoint))  # the run's temperature and threshold go along
        after, after_labels = measure_isolated(staging / "model", encoded, split, primary, batch_sizes, requests)
        assert after_labels is not None
        report = CompressReport(run=run, method=method.name, path=str(target.resolve()), split=split,
                                rows=len(encoded), primary_metric=primary, original=original, compressed=after,
                                change=change(original, original_labels, after, after_labels, encoded.labels,
                                              problem),
                                manifest=manifest, predictions=after_labels, original_source=dict(source),
                                problem_type=problem.name)
        write_json_atomic(staging / "model" / REPORT_FILE, report.to_dict())
        if target.exists():
            shutil.rmtree(target)
        (staging / "model").rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def original_key(checkpoint: Path, encoded: Encoded | Windows, split: str, primary: str) -> dict[str, Any]:
    """What the original's scores on ``encoded`` depend on: reused only where every field is equal (the
    checkpoint's files include its ``decision.json``: the temperature and threshold its labels are read with)."""
    rows = hashlib.sha256()
    flat = plain(encoded)
    for ids in flat.input_ids:
        rows.update(np.asarray(ids, dtype=np.int64).tobytes() + b"|")
    for ids in flat.token_type_ids or []:
        rows.update(np.asarray(ids, dtype=np.int64).tobytes() + b"|")
    rows.update(np.asarray(encoded.labels).tobytes())
    if isinstance(encoded, Windows):
        rows.update(encoded.owner.tobytes())
    return {"checkpoint": {path.name: sha256(path) for path in sorted(checkpoint.iterdir()) if path.is_file()},
            "split": split, "primary": primary, "rows": len(encoded), "rows_sha256": rows.hexdigest(),
            "precision": "fp32", "threads": torch.get_num_threads(),
            "machine": {"host": platform.node(), "cpu": cpu_model(), "platform": platform.platform()},
            "bakeoff": __version__, "torch": torch.__version__}


def _stored_scores(path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """The stored scores of the original under exactly ``key``, or ``None`` (none, another key, unreadable)."""
    try:
        stored = read_json(path, default=None)
    except ValueError:
        return None
    if not isinstance(stored, dict) or stored.get("key") != key:
        return None
    if not {"metrics", "loss", "labels", "measured_at"} <= set(stored):
        return None
    return stored


def _check_writable(folder: Path) -> None:
    """Refuse at once, before the measurement, where the compressed model could not be written."""
    import os

    target = folder / "compressed"
    probe = target if target.exists() else folder
    if not os.access(probe, os.W_OK):
        raise BakeoffError(f"{probe} is not writable: compressed models are stored beside the run; copy the run "
                           "to a folder you can write to")
