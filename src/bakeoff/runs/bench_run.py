"""Latency, throughput and memory of an existing model, without training."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch

from bakeoff.compression import artefact as compression
from bakeoff.errors import BakeoffError
from bakeoff.hardware import default_threads
from bakeoff.runs.inference import check_runs_on, load_model
from bakeoff.runs.locate import locate
from bakeoff.runs.measure import as_dict, measure
from bakeoff.runs.splits import check_split, labelled_split
from bakeoff.runtime import resolve_device


def bench(model: str, *, method: str | None = None, backend: str = "auto", batch_sizes: tuple[int, ...] = (8, 64),
          threads: int | None = None, precision: str = "fp32", task: str | None = None, data: str | None = None,
          split: str = "validation", requests: int | None = None, device: str = "cpu") -> dict[str, Any]:
    """Latency, throughput and memory of an existing model, without training.

    ``backend="auto"`` runs a model on the backend it was made for; ``"onnxruntime"`` on a PyTorch checkpoint
    exports it to a temporary ONNX graph first. The result holds the predicted label ids (``labels``) so they can
    be checked against ``predict``. ``device`` (``cpu``, ``cuda``, ``auto``): where it runs; every timing waits
    for the device (``eval/bench.py``), and a method that cannot run there is refused before any work.
    ``requests``: batch-1 requests to time, exactly; ``None``: the bounded default (at least 30 requests and 10
    seconds, at most 100: ``eval/bench.py``), the count used in ``bench.latency_ms.requests``.

    >>> bakeoff.bench("demo-demo/demo-minilm-l6-seed42", batch_sizes=(1, 8))["bench"]["latency_ms"]  # doctest: +SKIP
    """
    if requests is not None and requests < 1:
        raise BakeoffError(f"--requests {requests}: give a positive number of batch-1 requests to time")
    if backend not in ("auto", "torch", "onnxruntime"):
        raise BakeoffError(f"--backend {backend!r}: use auto, torch or onnxruntime")
    torch.set_num_threads(threads or default_threads())  # every core, less those other processes keep busy
    check_split(split)  # before the model loads
    found = locate(model, method)
    check_runs_on(found.model_dir, device)
    if backend == "onnxruntime":  # before the export: ONNX Runtime on a GPU needs its CUDA provider
        compression.check_device(compression.get_method("onnx"), resolve_device(device))
    found.verify()
    path = found.model_dir
    with tempfile.TemporaryDirectory(prefix="bakeoff-bench-") as scratch:
        is_compressed = (path / compression.MANIFEST).is_file()
        if backend == "onnxruntime" and not is_compressed:
            compression.write(path, compression.get_method("onnx"), Path(scratch) / "onnx")
            path = Path(scratch) / "onnx"
        loaded = load_model(path, precision, device)
        if backend != "auto" and loaded.backend != backend:
            raise BakeoffError(f"{path} is a {loaded.method} model for {loaded.backend}: use --backend "
                               f"{loaded.backend} (or leave --backend out)")
        encoded, primary = labelled_split(loaded, found.config, split, speed_only=True, task=task, data=data)
        figures, labels = measure(loaded, encoded, split, primary, batch_sizes, requests)
    return {"model": model, "split": split, "rows": len(encoded), **as_dict(figures, labels)}
