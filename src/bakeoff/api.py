"""bakeoff's Python API: config in, typed result out. The CLI calls only these.

>>> result = bakeoff.train(model="minilm-l3", task="demo", epochs=3, quiet=True)  # doctest: +SKIP
>>> result.validation.metrics["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bakeoff import __version__
from bakeoff.config import TrainConfig
from bakeoff.data import DataOptions, TaskData, TextDataset, load_task_data
from bakeoff.data.batching import encode
from bakeoff.errors import BakeoffError
from bakeoff.eval import EvalResult, TrainResult, evaluate_predictions, metric_info, predict_logits
from bakeoff.eval.latency import batch1_latency_ms
from bakeoff.hardware import describe
from bakeoff.models import load_for_classification, load_tokenizer, parameter_count, resolve_model
from bakeoff.models.checkpoint import label_names as checkpoint_labels
from bakeoff.models.checkpoint import load_checkpoint, save_checkpoint
from bakeoff.runtime import resolve_device, resolve_precision, seed_everything
from bakeoff.tasks import get_task
from bakeoff.track import Experiment, Store
from bakeoff.track._files import read_json, write_json_atomic
from bakeoff.track.layout import utc_now
from bakeoff.train import fit
from bakeoff.train.progress import QuietProgress, RichProgress

RESULT_FILE = "result.json"
CHECKPOINT_DIR = "checkpoint"


def train(config: TrainConfig | None = None, **overrides: Any) -> TrainResult:
    """Fine-tune a model on a task, evaluate it, save a checkpoint, and record the run in the store.

    Everything that can be wrong with the input (task, data, model name, options) is checked before the
    run is created, so a bad call leaves nothing behind.
    """
    config = TrainConfig.from_dict({**(config.to_dict() if config else {}), **overrides}).validate()
    task = get_task(config.task) if config.task else None
    data = load_task_data(task, _data_options(config))
    select_by = config.best_metric or data.primary_metric
    metric_info(select_by)
    source = resolve_model(config.model, config.layers)
    if config.threads:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    seed_everything(config.seed)
    tokenizer = load_tokenizer(source)
    model = load_for_classification(source, data.label_names).to(device)
    splits = {name: encode(tokenizer, split, config.max_length)
              for name, split in (("train", data.train), ("validation", data.validation), ("test", data.test))
              if split is not None}

    def evaluate_on(split: str, module: torch.nn.Module) -> EvalResult:
        predictions = predict_logits(module, splits[split], config.eval_batch_size, precision, device)
        return evaluate_predictions(split, predictions, splits[split].labels, data.label_names, data.primary_metric)

    name = config.name or _run_name(config)
    with Experiment(name=name, project=config.project, tags=[*config.tags, data.task, config.model],
                    description=f"fine-tune {config.model} on {data.task}") as experiment:
        experiment.parameters().set(**config.to_dict(), precision_resolved=precision, device_resolved=str(device))
        experiment.log(f"training {config.model} on {data.task}: {data.sizes()}", fingerprints=data.fingerprints())
        progress = QuietProgress() if config.quiet else RichProgress(f"{config.model} on {data.task}")
        outcome = fit(model, splits["train"], config, evaluate=lambda m: evaluate_on("validation", m),
                      select_by=select_by, precision=precision, device=device,
                      log=lambda metric, **fields: experiment.metric(metric).append(**fields), progress=progress)
        validation = evaluate_on("validation", model)
        test = evaluate_on("test", model) if "test" in splits else None
        latency = batch1_latency_ms(model, splits["validation"], precision, device)
        assert experiment.path is not None
        checkpoint = _save(model, tokenizer, experiment.path / CHECKPOINT_DIR, config.save_checkpoint)
        status = "INTERRUPTED" if outcome.interrupted else "COMPLETED"
        result = TrainResult(
            run={"id": experiment.id, "project": experiment.project, "name": experiment.name,
                 "path": str(experiment.path.resolve()), "status": status},
            config=config.to_dict(),
            model={"name": config.model, "location": source.location, "origin": source.origin,
                   "layers": list(source.layers) if source.layers else None, "parameters": parameter_count(model),
                   "checkpoint": checkpoint["path"], "checkpoint_bytes": checkpoint["bytes"],
                   "checkpoint_files": checkpoint["files"]},
            data={"task": data.task, "label_names": data.label_names, "sizes": data.sizes(),
                  "fingerprints": data.fingerprints(), "notes": data.notes,
                  "rows_at_max_length": {name: int((enc.lengths >= config.max_length).sum())
                                         for name, enc in splits.items()}},
            training={"seconds": outcome.seconds,
                      "samples_per_second": outcome.samples / outcome.seconds if outcome.seconds else None,
                      "tokens_per_second": outcome.tokens / outcome.seconds if outcome.seconds else None,
                      "steps": outcome.steps, "epochs_completed": outcome.epochs_completed, "precision": precision,
                      "device": str(device), "best_step": outcome.best_step, "best_epoch": outcome.best_epoch,
                      "selected_by": select_by, "stopped_early": outcome.stopped_early,
                      "oom_fallbacks": outcome.oom_fallbacks},
            validation=validation, test=test, history=outcome.history, hardware=describe(),
            bakeoff_version=__version__, git_commit=_git_commit(), created_at=utc_now(),
            latency_ms=latency,
        )
        write_json_atomic(experiment.path / RESULT_FILE, result.to_dict())
        for split_result in filter(None, (validation, test)):
            for metric, value in {"loss": split_result.loss, **split_result.metrics}.items():
                experiment.metric(f"final/{split_result.split}/{metric}").append(value=value)
        experiment.metric("final/train_samples_per_second").append(value=result.training["samples_per_second"])
        if outcome.interrupted:
            experiment.close("INTERRUPTED", "KeyboardInterrupt: stopped by the user; best weights kept")
    return result


def evaluate(model: str, *, task: str | None = None, data: str | None = None, split: str = "validation",
             text_column: str | None = None, text_pair_column: str | None = None, label_column: str | None = None,
             max_length: int | None = None, batch_size: int = 128, precision: str = "auto",
             device: str = "auto") -> EvalResult:
    """Evaluate a trained run (id, prefix, project/name) or a checkpoint folder on a labelled split.

    Without ``task``/``data``, the run's own task and data are used.
    """
    checkpoint, run_config = _locate(model)
    config = TrainConfig.from_dict({**run_config, **_given(task=task, data=data, text_column=text_column,
                                                            text_pair_column=text_pair_column,
                                                            label_column=label_column, max_length=max_length)})
    if task is not None or data is not None:
        config.task, config.data = task, data
    torch_device = resolve_device(device)
    resolved_precision = resolve_precision(precision, torch_device)
    network, tokenizer = load_checkpoint(checkpoint, torch_device)
    task_data = load_task_data(get_task(config.task) if config.task else None, _data_options(config))
    names = checkpoint_labels(network)
    dataset = _split(task_data, split)
    dataset = _relabel(dataset, task_data.label_names, names)
    encoded = encode(tokenizer, dataset, config.max_length)
    predictions = predict_logits(network, encoded, batch_size, resolved_precision, torch_device)
    return evaluate_predictions(split, predictions, encoded.labels, names, task_data.primary_metric)


@dataclass
class PredictResult:
    """Labels and class probabilities, in input order."""

    labels: list[str]
    label_ids: np.ndarray  # (n,)
    probabilities: np.ndarray  # (n, num_labels)
    label_names: list[str]
    seconds: float


def predict(model: str, texts: list[str], pairs: list[str] | None = None, *, max_length: int | None = None,
            batch_size: int = 128, precision: str = "auto", device: str = "auto") -> PredictResult:
    """Classify ``texts`` (with ``pairs`` for sentence-pair models) with a run or checkpoint folder.

    >>> bakeoff.predict("demo/minilm-l6", ["A delight from start to finish."]).labels  # doctest: +SKIP
    ['positive']
    """
    if not texts:
        raise BakeoffError("nothing to predict: give at least one text")
    if pairs is not None and len(pairs) != len(texts):
        raise BakeoffError(f"{len(texts)} texts but {len(pairs)} pair texts: give one pair text per text")
    checkpoint, run_config = _locate(model)
    torch_device = resolve_device(device)
    network, tokenizer = load_checkpoint(checkpoint, torch_device)
    names = checkpoint_labels(network)
    dataset = TextDataset(texts=list(texts), pairs=list(pairs) if pairs is not None else None,
                          labels=np.zeros(len(texts), dtype=np.int64))
    encoded = encode(tokenizer, dataset, max_length or run_config.get("max_length", 128))
    predictions = predict_logits(network, encoded, batch_size, resolve_precision(precision, torch_device),
                                 torch_device)
    ids = predictions.labels
    return PredictResult([names[i] for i in ids], ids, predictions.probabilities, names, predictions.seconds)


# -- helpers ----------------------------------------------------------------------------------------------
DEMO_MODELS = ("minilm-l6", "minilm-l3")
DEMO_SETTINGS = {"demo": {"epochs": 8, "learning_rate": 1e-4, "batch_size": 16, "warmup_ratio": 0.1},
                 "default": {"epochs": 1, "learning_rate": 5e-5, "batch_size": 32, "train_fraction": 0.1}}


def demo(task: str = "demo", models: tuple[str, ...] = DEMO_MODELS, quiet: bool = False,
         **overrides: Any) -> list[TrainResult]:
    """The default main job: fine-tune each model on ``task`` with identical settings, best first.

    On the built-in ``demo`` task it runs offline in about a minute on 2 CPU cores; on a GLUE task it trains
    on a 10% stratified subset unless ``train_fraction`` says otherwise.
    """
    settings = {**DEMO_SETTINGS.get(task, DEMO_SETTINGS["default"]), **overrides}
    results = [train(model=model, task=task, project=f"demo-{task}", quiet=quiet, **settings) for model in models]
    metric = results[0].validation.primary_metric
    return sorted(results, key=lambda r: r.validation.metrics[metric], reverse=metric_info(metric).higher_is_better)


def _data_options(config: TrainConfig) -> DataOptions:
    return DataOptions(data=Path(config.data) if config.data else None, text_column=config.text_column,
                       text_pair_column=config.text_pair_column, label_column=config.label_column,
                       train_fraction=config.train_fraction, seed=config.seed)


def _run_name(config: TrainConfig) -> str:
    model = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(config.model).name).strip("-") or "model"
    return f"{config.task or 'custom'}-{model}-seed{config.seed}"


def _save(model: torch.nn.Module, tokenizer: Any, path: Path, enabled: bool) -> dict[str, Any]:
    if not enabled:
        return {"path": None, "bytes": None, "files": {}}
    return save_checkpoint(model, tokenizer, path)


def _locate(ref: str) -> tuple[Path, dict[str, Any]]:
    """A checkpoint folder and the config of the run that made it (empty for a bare folder)."""
    path = Path(ref)
    if (path / "config.json").is_file():
        run_result = read_json(path.parent / RESULT_FILE, default=None) or {}
        return path, run_result.get("config", {})
    if (path / CHECKPOINT_DIR / "config.json").is_file():
        run_result = read_json(path / RESULT_FILE, default=None) or {}
        return path / CHECKPOINT_DIR, run_result.get("config", {})
    if path.exists():
        raise BakeoffError(f"{path}: neither a run folder nor a checkpoint folder (no config.json)")
    run = Store().get(ref)
    if not (run.path / CHECKPOINT_DIR).is_dir():
        raise BakeoffError(f"run {ref!r} ({run.status}) has no checkpoint: it was trained with "
                           "save_checkpoint off, or did not finish")
    return run.path / CHECKPOINT_DIR, (read_json(run.path / RESULT_FILE, default=None) or {}).get("config", {})


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _split(task_data: TaskData, split: str) -> TextDataset:
    chosen = {"validation": task_data.validation, "test": task_data.test, "train": task_data.train}.get(split)
    if split not in ("validation", "test", "train"):
        raise BakeoffError(f"--split {split!r}: use validation, test or train")
    if chosen is None:
        raise BakeoffError(f"task {task_data.task!r} has no labelled {split} split here: use --split validation")
    return chosen


def _relabel(dataset: TextDataset, data_names: list[str], model_names: list[str]) -> TextDataset:
    """Express the data's labels in the model's label ids (they may be ordered differently)."""
    if data_names == model_names:
        return dataset
    index = {name: i for i, name in enumerate(model_names)}
    missing = [name for name in data_names if name not in index]
    if missing:
        raise BakeoffError(f"the data has labels the model does not know ({', '.join(missing)}); "
                           f"the model's labels: {', '.join(model_names)}")
    mapping = np.array([index[name] for name in data_names])
    return TextDataset(dataset.texts, mapping[dataset.labels], dataset.pairs, dataset.source)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(Path(__file__).parent), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None
