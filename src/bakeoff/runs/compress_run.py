"""Compress a run's checkpoint, and measure the compressed model against the original on the same rows."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import torch

from bakeoff.compression import artefact as compression
from bakeoff.errors import BakeoffError
from bakeoff.eval.decision import load_decision, save_decision
from bakeoff.hardware import default_threads
from bakeoff.io import check_free_space, write_json_atomic
from bakeoff.runs.files import REPORT_FILE, compressed_dir
from bakeoff.runs.locate import locate
from bakeoff.runs.measure import change, measure_isolated
from bakeoff.runs.results import CompressReport
from bakeoff.runs.splits import check_split, labelled_split

ROOM_FIX = ("free some space there, or keep the store on a disk with room (BAKEOFF_STORE): a compressed model is "
            "written beside its run")


def compress(run: str, method: str, *, quantize_embeddings: bool = True, split: str = "validation",
             batch_sizes: tuple[int, ...] = (8, 64), threads: int | None = None,
             overwrite: bool = False) -> CompressReport:
    """Compress a run's checkpoint with ``method``, then measure both models alike on the run's own split.

    The result lands in ``<run>/compressed/<method>/`` only once it is complete; an existing one is replaced
    only with ``overwrite``.

    >>> bakeoff.compress("demo-demo/demo-minilm-l6-seed42", "dynamic-int8").change.size_ratio  # doctest: +SKIP
    3.97
    """
    chosen = compression.get_method(method)
    check_split(split)  # before the model loads
    found = locate(run)
    checkpoint = found.model_dir
    _check_writable(checkpoint.parent)
    if (checkpoint / compression.MANIFEST).is_file():
        raise BakeoffError(f"{checkpoint} is already compressed: compress the run's fp32 checkpoint instead")
    found.verify()
    target = compressed_dir(checkpoint.parent, chosen.name)
    if target.exists() and not overwrite:
        raise BakeoffError(f"{target} exists: pass --overwrite to replace it")
    check_free_space(target.parent, compression.disk_bytes(checkpoint, chosen, quantize_embeddings),
                     f"--method {chosen.name} of {run}", fix=ROOM_FIX)  # before the model loads and is measured
    torch.set_num_threads(threads or default_threads())  # every core, less those other processes keep busy
    reference = compression.load(checkpoint, precision="fp32")  # for its tokenizer and label names
    encoded, primary = labelled_split(reference, found.config, split)
    assert primary is not None
    problem = reference.problem
    del reference
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{chosen.name}-", dir=target.parent))
    try:
        manifest = compression.write(checkpoint, chosen, staging / "model", quantize_embeddings)
        save_decision(staging / "model", load_decision(checkpoint))  # the run's temperature and threshold go along
        before, before_labels = measure_isolated(checkpoint, encoded, split, primary, batch_sizes)
        after, after_labels = measure_isolated(staging / "model", encoded, split, primary, batch_sizes)
        report = CompressReport(run=run, method=chosen.name, path=str(target.resolve()), split=split,
                                rows=len(encoded), primary_metric=primary, original=before, compressed=after,
                                change=change(before, before_labels, after, after_labels, encoded.labels, problem),
                                manifest=manifest, predictions=after_labels)
        write_json_atomic(staging / "model" / REPORT_FILE, report.to_dict())
        if target.exists():
            shutil.rmtree(target)
        (staging / "model").rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _check_writable(folder: Path) -> None:
    """Refuse at once, before the measurement, where the compressed model could not be written."""
    import os

    target = folder / "compressed"
    probe = target if target.exists() else folder
    if not os.access(probe, os.W_OK):
        raise BakeoffError(f"{probe} is not writable: compressed models are stored beside the run; copy the run "
                           "to a folder you can write to")
