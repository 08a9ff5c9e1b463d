"""Evaluate and predict with a trained or compressed model — and the one scoring path training uses too."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bakeoff.compression import artefact as compression
from bakeoff.config import check_shared
from bakeoff.data import TextDataset
from bakeoff.data.batching import Encoded
from bakeoff.data.windows import Windows, encode_for
from bakeoff.errors import BakeoffError
from bakeoff.eval import EvalResult, evaluate_predictions
from bakeoff.eval.decision import Decision
from bakeoff.eval.windows import predict_rows
from bakeoff.models import check_max_length
from bakeoff.models.forward import Forward
from bakeoff.runs.locate import locate
from bakeoff.runs.single_label import decision_for, long_text_options
from bakeoff.runs.splits import check_split, labelled_split
from bakeoff.runtime import resolve_device, resolve_precision


def score(forward: Forward, reference: Forward | None, encoded: Encoded | Windows, split: str,
          label_names: list[str], primary: str, batch_size: int,
          decision: Decision | None = None) -> tuple[EvalResult, np.ndarray]:
    """Metrics of ``forward`` on ``encoded`` and its predicted label ids, with ``reference`` (fp32) re-checking
    bf16 close calls. Training, ``evaluate`` and compression all score through here, so a run's own
    ``result.json`` and ``bakeoff evaluate`` of it agree. Rows given as windows are pooled (``eval/windows.py``);
    a ``decision`` (temperature, threshold: ``eval/decision.py``) reads the logits."""
    predictions = predict_rows(forward, encoded, batch_size, len(label_names), reference)
    if decision is not None:
        predictions = decision.apply(predictions)
    return evaluate_predictions(split, predictions, encoded.labels, label_names, primary), predictions.labels


def load_model(path: Path, precision: str, device: str) -> compression.LoadedModel:
    torch_device = resolve_device(device)
    return compression.load(path, precision=resolve_precision(precision, torch_device), device=torch_device)


def check_runs_on(path: Path, device: str) -> None:
    """Refuse a device the model at ``path`` cannot run on (an int8 method on CUDA, ...) before any work: before
    the sha256 of its files is checked and before it loads."""
    compression.check_folder_device(path, resolve_device(device))


def evaluate(model: str, *, task: str | None = None, data: str | None = None, split: str = "validation",
             text_column: str | None = None, text_pair_column: str | None = None, label_column: str | None = None,
             max_length: int | None = None, batch_size: int = 128, precision: str = "auto",
             device: str = "auto", method: str | None = None, truncation: str | None = None,
             long_text: str | None = None, stride: int | None = None) -> EvalResult:
    """Evaluate a trained run (id, prefix, project/name), a checkpoint folder or a compressed model on a split.

    Without ``task``/``data``, the run's own task and data are used; ``method`` picks the run's compressed model.
    ``truncation``/``long_text``/``stride``: how texts over ``max_length`` are read (default: as the run trained);
    the run's temperature and threshold (``decision.json``) are applied.

    >>> bakeoff.evaluate("demo-demo/demo-minilm-l6-seed42", split="test").metrics["accuracy"]  # doctest: +SKIP
    """
    check_split(split)  # before the model loads
    check_shared(batch_size=batch_size, max_length=max_length)
    found = locate(model, method)
    check_runs_on(found.model_dir, device)
    windows = long_text_options(found.config, truncation, long_text, stride)
    found.verify()
    check_max_length(str(found.model_dir), max_length, model)
    loaded = load_model(found.model_dir, precision, device)
    encoded, primary = labelled_split(loaded, found.config, split, task=task, data=data, text_column=text_column,
                                      text_pair_column=text_pair_column, label_column=label_column,
                                      max_length=max_length, **windows)
    assert primary is not None
    result, _ = score(loaded.forward, loaded.reference, encoded, split, loaded.label_names, primary, batch_size,
                      decision_for(found.model_dir, found.run_dir))
    return result


@dataclass
class PredictResult:
    """Labels and class probabilities, in input order."""

    labels: list[str]
    label_ids: np.ndarray  # (n,)
    probabilities: np.ndarray  # (n, num_labels)
    label_names: list[str]
    seconds: float


def predict(model: str, texts: list[str], pairs: list[str] | None = None, *, max_length: int | None = None,
            batch_size: int = 128, precision: str = "auto", device: str = "auto", method: str | None = None,
            truncation: str | None = None, long_text: str | None = None, stride: int | None = None) -> PredictResult:
    """Classify ``texts`` (with ``pairs`` for sentence-pair models) with a run, checkpoint or compressed model.

    Long texts are read as ``truncation``/``long_text`` say (default: as the run trained); labels and
    probabilities use the run's temperature and threshold (``decision.json``) where it has them.

    >>> bakeoff.predict("demo/minilm-l6", ["A delight from start to finish."]).labels  # doctest: +SKIP
    ['positive']
    """
    check_shared(batch_size=batch_size, max_length=max_length)
    if not texts:
        raise BakeoffError("nothing to predict: give at least one text")
    if pairs is not None and len(pairs) != len(texts):
        raise BakeoffError(f"{len(texts)} texts but {len(pairs)} pair texts: give one pair text per text")
    found = locate(model, method)
    check_runs_on(found.model_dir, device)
    windows = long_text_options(found.config, truncation, long_text, stride)
    found.verify()
    check_max_length(str(found.model_dir), max_length, model)
    loaded = load_model(found.model_dir, precision, device)
    dataset = TextDataset(texts=list(texts), pairs=list(pairs) if pairs is not None else None,
                          labels=np.zeros(len(texts), dtype=np.int64))
    encoded = encode_for(loaded.tokenizer, dataset, max_length or found.config.get("max_length", 128), **windows)
    predictions = predict_rows(loaded.forward, encoded, batch_size, loaded.num_labels, loaded.reference)
    decision = decision_for(found.model_dir, found.run_dir)
    if decision is not None:
        predictions = decision.apply(predictions)
    if not np.isfinite(predictions.logits).all():
        raise BakeoffError(f"{found.model_dir}: the model produced NaN or infinite scores: its weights are damaged; "
                           "train it again")
    ids = predictions.labels
    names = loaded.label_names
    return PredictResult([names[i] for i in ids], ids, predictions.probabilities, names, predictions.seconds)



@dataclass
class InputColumns:
    """Which columns of a file a model reads: what it was trained on (its ``--text-column``/``--text-pair-column``
    or its task's columns), then the usual names. ``pair``: whether it reads sentence pairs (None: unknown)."""

    text: list[str]
    pair_columns: list[str]
    pair: bool | None


def input_columns(model: str, method: str | None = None) -> InputColumns:
    """The columns ``model`` (a run, checkpoint or compressed folder) should read from a file."""
    from bakeoff.tasks import get_task

    config = locate(model, method).config
    text, pairs, pair = [], [], None
    if config.get("task"):
        task = get_task(config["task"])
        pair = task.pair
        for source in filter(None, (task.local, task.hub)):
            text.append(source.columns.get("text", ""))
            pairs.append(source.columns.get("text_pair", ""))
    if config.get("text_column"):
        text.insert(0, config["text_column"])
    if config.get("text_pair_column"):
        pairs.insert(0, config["text_pair_column"])
        pair = True
    if config and not config.get("task") and not config.get("text_pair_column"):
        pair = False  # trained on your own single-text data
    return InputColumns([c for c in dict.fromkeys([*text, "text", "sentence"]) if c],
                        [c for c in dict.fromkeys([*pairs, "text_pair", "sentence2"]) if c], pair)
