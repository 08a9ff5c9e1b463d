"""bakeoff's Python API: config in, typed result out. The CLI calls only these.

>>> result = bakeoff.train(model="minilm-l3", task="demo", epochs=3, quiet=True)  # doctest: +SKIP
>>> result.validation.metrics["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bakeoff import __version__
from bakeoff.compress import artefact as compression
from bakeoff.config import TrainConfig
from bakeoff.data import DataOptions, TaskData, TextDataset, load_task_data
from bakeoff.data.batching import Encoded, encode
from bakeoff.errors import BakeoffError
from bakeoff.eval import (
    EvalResult,
    TrainResult,
    evaluate_predictions,
    metric_info,
    predict_logits,
)
from bakeoff.eval.bench import BenchResult, batch1_latency_ms
from bakeoff.eval.bench import bench as measure
from bakeoff.eval.predict import predict_with, torch_forward
from bakeoff.eval.significance import mcnemar
from bakeoff.hardware import describe
from bakeoff.models import (
    load_for_classification,
    load_tokenizer,
    parameter_count,
    resolve_model,
)
from bakeoff.models.checkpoint import save_checkpoint
from bakeoff.runtime import resolve_device, resolve_precision, seed_everything
from bakeoff.tasks import get_task
from bakeoff.track import Experiment, Store
from bakeoff.track._files import read_json, write_json_atomic
from bakeoff.track.layout import utc_now
from bakeoff.train import fit
from bakeoff.train.distributed import current_world
from bakeoff.train.launch import launch
from bakeoff.train.progress import QuietProgress, RichProgress

RESULT_FILE = "result.json"
CHECKPOINT_DIR = "checkpoint"
COMPRESSED_DIR = "compressed"  # <run>/compressed/<method>/: one folder per method, with report.json
REPORT_FILE = "report.json"
PREDICTIONS_FILE = "predictions.json"  # {split: {"predicted", "true"}} label ids in row order, for paired tests


def train(config: TrainConfig | None = None, **overrides: Any) -> TrainResult:
    """Fine-tune a model on a task, evaluate it, save a checkpoint, and record the run in the store.

    Everything that can be wrong with the input (task, data, model name, options) is checked before the
    run is created, so a bad call leaves nothing behind.
    """
    config = TrainConfig.from_dict({**(config.to_dict() if config else {}), **overrides}).validate()
    world = current_world()  # one of several processes when torchrun started this one (train/distributed.py)
    if config.nproc > 1 and world.size == 1:
        return launch(config)  # torchrun runs this function in nproc processes; rank 0 records the run
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

    predicted: dict[str, list[int]] = {}  # the last predictions per split, kept for paired tests between runs

    def evaluate_on(split: str, module: torch.nn.Module) -> EvalResult:
        predictions = predict_logits(module, splits[split], config.eval_batch_size, precision, device)
        predicted[split] = predictions.labels.tolist()
        return evaluate_predictions(split, predictions, splits[split].labels, data.label_names, data.primary_metric)

    if not world.is_main:  # another rank of several processes: trains its shard; rank 0 evaluates and records
        fit(model, splits["train"], config, evaluate=lambda m: evaluate_on("validation", m), select_by=select_by,
            precision=precision, device=device, log=lambda *a, **k: None, progress=QuietProgress(), world=world)
        return None  # type: ignore[return-value]
    name = config.name or _run_name(config)
    with Experiment(name=name, project=config.project, tags=[*config.tags, data.task, config.model],
                    description=f"fine-tune {config.model} on {data.task}") as experiment:
        experiment.parameters().set(**config.to_dict(), precision_resolved=precision, device_resolved=str(device),
                                    world_size=world.size, backend=world.backend)
        experiment.log(f"training {config.model} on {data.task}: {data.sizes()}", fingerprints=data.fingerprints())
        progress = QuietProgress() if config.quiet else RichProgress(f"{config.model} on {data.task}")
        outcome = fit(model, splits["train"], config, evaluate=lambda m: evaluate_on("validation", m),
                      select_by=select_by, precision=precision, device=device,
                      log=lambda metric, **fields: experiment.metric(metric).append(**fields), progress=progress,
                      world=world)
        validation = evaluate_on("validation", model)
        test = evaluate_on("test", model) if "test" in splits else None
        latency = batch1_latency_ms(torch_forward(model, precision, device), splits["validation"])
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
                      "oom_fallbacks": outcome.oom_fallbacks, "shortcuts": outcome.shortcuts,
                      "world_size": world.size, "backend": world.backend},
            validation=validation, test=test, history=outcome.history, hardware=describe(),
            bakeoff_version=__version__, git_commit=_git_commit(), created_at=utc_now(),
            latency_ms=latency,
        )
        write_json_atomic(experiment.path / PREDICTIONS_FILE,
                          {"fingerprints": data.fingerprints(), "label_names": data.label_names,
                           **{split: {"predicted": predicted[split], "true": splits[split].labels.tolist()}
                              for split in ("validation", "test") if split in predicted}})
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
             device: str = "auto", method: str | None = None) -> EvalResult:
    """Evaluate a trained run (id, prefix, project/name), a checkpoint folder or a compressed model on a split.

    Without ``task``/``data``, the run's own task and data are used; ``method`` picks the run's compressed model.
    """
    path, run_config = _locate(model, method)
    loaded = _load(path, precision, device)
    encoded, primary = _labelled_split(loaded, run_config, split, task=task, data=data, text_column=text_column,
                                       text_pair_column=text_pair_column, label_column=label_column,
                                       max_length=max_length)
    predictions = predict_with(loaded.forward, encoded, batch_size, loaded.num_labels, loaded.reference)
    return evaluate_predictions(split, predictions, encoded.labels, loaded.label_names, primary)


@dataclass
class PredictResult:
    """Labels and class probabilities, in input order."""

    labels: list[str]
    label_ids: np.ndarray  # (n,)
    probabilities: np.ndarray  # (n, num_labels)
    label_names: list[str]
    seconds: float


def predict(model: str, texts: list[str], pairs: list[str] | None = None, *, max_length: int | None = None,
            batch_size: int = 128, precision: str = "auto", device: str = "auto",
            method: str | None = None) -> PredictResult:
    """Classify ``texts`` (with ``pairs`` for sentence-pair models) with a run, checkpoint or compressed model.

    >>> bakeoff.predict("demo/minilm-l6", ["A delight from start to finish."]).labels  # doctest: +SKIP
    ['positive']
    """
    if not texts:
        raise BakeoffError("nothing to predict: give at least one text")
    if pairs is not None and len(pairs) != len(texts):
        raise BakeoffError(f"{len(texts)} texts but {len(pairs)} pair texts: give one pair text per text")
    path, run_config = _locate(model, method)
    loaded = _load(path, precision, device)
    dataset = TextDataset(texts=list(texts), pairs=list(pairs) if pairs is not None else None,
                          labels=np.zeros(len(texts), dtype=np.int64))
    encoded = encode(loaded.tokenizer, dataset, max_length or run_config.get("max_length", 128))
    predictions = predict_with(loaded.forward, encoded, batch_size, loaded.num_labels, loaded.reference)
    ids = predictions.labels
    names = loaded.label_names
    return PredictResult([names[i] for i in ids], ids, predictions.probabilities, names, predictions.seconds)


@dataclass
class CompressResult:
    """A compressed model measured against its original on the same split, threads and machine.

    ``to_dict()`` is the ``report.json`` stored beside the compressed model: ``original`` and ``compressed`` each
    hold ``metrics``, ``weights_bytes`` and a ``bench`` (latency percentiles, throughput per length bucket and
    batch size, peak memory); ``change`` holds the metric deltas, the share of predictions that flip, McNemar's
    test on paired correctness, and the size and latency ratios.
    """

    run: str
    method: str
    path: str
    split: str
    rows: int
    primary_metric: str
    original: dict[str, Any]
    compressed: dict[str, Any]
    change: dict[str, Any]
    manifest: dict[str, Any]
    predictions: list[int] = field(repr=False, default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": 1, "run": self.run, "method": self.method, "path": self.path,
                "split": self.split, "rows": self.rows, "primary_metric": self.primary_metric,
                "original": self.original, "compressed": self.compressed, "change": self.change,
                "manifest": self.manifest, "predictions": self.predictions}


def compress(run: str, method: str, *, quantize_embeddings: bool = True, split: str = "validation",
             batch_sizes: tuple[int, ...] = (8, 64), threads: int | None = None,
             overwrite: bool = False) -> CompressResult:
    """Compress a run's checkpoint with ``method``, then measure both models alike on the run's own split.

    The result lands in ``<run>/compressed/<method>/`` only once it is complete; an existing one is replaced
    only with ``overwrite``.

    >>> bakeoff.compress("demo-demo/demo-minilm-l6-seed42", "dynamic-int8").change["size_ratio"]  # doctest: +SKIP
    3.97
    """
    chosen = compression.get_method(method)
    checkpoint, run_config = _locate(run)
    if (checkpoint / compression.MANIFEST).is_file():
        raise BakeoffError(f"{checkpoint} is already compressed: compress the run's fp32 checkpoint instead")
    target = checkpoint.parent / COMPRESSED_DIR / chosen.name
    if target.exists() and not overwrite:
        raise BakeoffError(f"{target} exists: pass --overwrite to replace it")
    if threads:
        torch.set_num_threads(threads)
    reference = compression.load(checkpoint, precision="fp32")  # for its tokenizer and label names
    encoded, primary = _labelled_split(reference, run_config, split)
    del reference
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{chosen.name}-", dir=target.parent))
    try:
        manifest = compression.write(checkpoint, chosen, staging / "model", quantize_embeddings)
        # Each model is measured in a fresh process, loaded from disk as a user will load it, so its peak
        # memory is its own and not the other model's.
        before = _measure_isolated(checkpoint, encoded, split, primary, batch_sizes)
        after = _measure_isolated(staging / "model", encoded, split, primary, batch_sizes)
        result = CompressResult(run=run, method=chosen.name, path=str(target.resolve()), split=split,
                                rows=len(encoded), primary_metric=primary, original=before, compressed=after,
                                change=_change(before, after, encoded.labels), manifest=manifest,
                                predictions=after.pop("labels"))
        before.pop("labels")
        write_json_atomic(staging / "model" / REPORT_FILE, result.to_dict())
        if target.exists():
            shutil.rmtree(target)
        (staging / "model").rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def bench(model: str, *, method: str | None = None, backend: str = "auto", batch_sizes: tuple[int, ...] = (8, 64),
          threads: int | None = None, precision: str = "fp32", task: str | None = None, data: str | None = None,
          split: str = "validation", requests: int = 100) -> dict[str, Any]:
    """Latency, throughput and memory of an existing model, without training.

    ``backend="auto"`` runs a model on the backend it was made for; ``"onnxruntime"`` on a PyTorch checkpoint
    exports it to a temporary ONNX graph first. The result holds the predicted label ids (``labels``) so they can
    be checked against ``predict``.
    """
    if backend not in ("auto", "torch", "onnxruntime"):
        raise BakeoffError(f"--backend {backend!r}: use auto, torch or onnxruntime")
    if threads:
        torch.set_num_threads(threads)
    path, run_config = _locate(model, method)
    with tempfile.TemporaryDirectory(prefix="bakeoff-bench-") as scratch:
        is_compressed = (path / compression.MANIFEST).is_file()
        if backend == "onnxruntime" and not is_compressed:
            compression.write(path, compression.get_method("onnx"), Path(scratch) / "onnx")
            path = Path(scratch) / "onnx"
        loaded = _load(path, precision, "cpu")
        if backend != "auto" and loaded.backend != backend:
            raise BakeoffError(f"{path} is a {loaded.method} model for {loaded.backend}: use --backend "
                               f"{loaded.backend} (or leave --backend out)")
        encoded, primary = _labelled_split(loaded, run_config, split, speed_only=True, task=task, data=data)
        figures = _measure(loaded, encoded, split, primary, batch_sizes, requests)
    return {"model": model, "method": loaded.method,
            "backend": loaded.backend, "split": split, "rows": len(encoded), **figures}


def run_study(study: str | Path, *, executor: str = "local", ray_address: str | None = None, max_parallel: int = 1,
              retry_failed: bool = False, progress: Any = None) -> Any:
    """Run (or resume) a study file; returns a ``StudyOutcome`` with one ``TrialOutcome`` per trial.

    >>> outcome = bakeoff.run_study("examples/offline_minilm.yaml")  # doctest: +SKIP
    >>> outcome.count("COMPLETED")  # doctest: +SKIP
    """
    from bakeoff.study import load_study
    from bakeoff.study import run_study as run

    return run(load_study(study), executor=executor, ray_address=ray_address, max_parallel=max_parallel,
               retry_failed=retry_failed, progress=progress)


def leaderboard(study_or_project: str | Path) -> Any:
    """The ``Leaderboard`` of a study file's project, or of any store project by name."""
    from bakeoff.report import build
    from bakeoff.study import load_study

    name = str(study_or_project)
    if name.endswith((".yaml", ".yml")) or Path(name).is_file():
        name = load_study(name).name
    board = build(name)
    if not board.rows:
        raise BakeoffError(f"no completed runs in project {name!r} of {Store().root}: `bakeoff runs ls` lists them")
    return board


# -- helpers ----------------------------------------------------------------------------------------------
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


def _locate(ref: str, method: str | None = None) -> tuple[Path, dict[str, Any]]:
    """The model folder ``ref`` names (a run, a checkpoint or a compressed folder), and its run's config.

    With ``method``, the run's compressed model of that method. A bare folder has an empty config.
    """
    path = Path(ref)
    if (path / "config.json").is_file():
        model_dir, run_dir = path, _run_dir_of(path)
    elif (path / CHECKPOINT_DIR / "config.json").is_file():
        model_dir, run_dir = path / CHECKPOINT_DIR, path
    elif path.exists():
        raise BakeoffError(f"{path}: neither a run folder nor a model folder (no config.json)")
    else:
        run = Store().get(ref)
        model_dir, run_dir = run.path / CHECKPOINT_DIR, run.path
        if not model_dir.is_dir():
            raise BakeoffError(f"run {ref!r} ({run.status}) has no checkpoint: it was trained with "
                               "save_checkpoint off, or did not finish")
    if method is not None:
        compression.get_method(method)
        base = run_dir if run_dir is not None else model_dir.parent
        model_dir = base / COMPRESSED_DIR / method
        if not model_dir.is_dir():
            raise BakeoffError(f"{ref}: no {method} model yet: run `bakeoff compress {ref} --method {method}`")
    config = (read_json(run_dir / RESULT_FILE, default=None) or {}).get("config", {}) if run_dir else {}
    return model_dir, config


def _run_dir_of(model_dir: Path) -> Path | None:
    """The run folder holding a checkpoint (``<run>/checkpoint``) or compressed model (``<run>/compressed/m``)."""
    for candidate in (model_dir.parent, model_dir.parent.parent):
        if (candidate / RESULT_FILE).is_file():
            return candidate
    return None


def _load(path: Path, precision: str, device: str) -> compression.LoadedModel:
    torch_device = resolve_device(device)
    return compression.load(path, precision=resolve_precision(precision, torch_device), device=torch_device)


def _labelled_split(loaded: compression.LoadedModel, run_config: dict[str, Any], split: str,
                    speed_only: bool = False, **given: Any) -> tuple[Encoded, str | None]:
    """The split to measure on, tokenized for ``loaded``, with labels in the model's ids; and its primary metric.

    Options in ``given`` override the run's config; with neither, the built-in demo task is used. With
    ``speed_only``, texts whose labels the model does not know are still returned (metric None): their
    timings are as good as any.
    """
    config = TrainConfig.from_dict({**run_config, **_given(**given)})
    if given.get("task") is not None or given.get("data") is not None:
        config.task, config.data = given.get("task"), given.get("data")
    if not config.task and not config.data:
        config.task = "demo"
    task_data = load_task_data(get_task(config.task) if config.task else None, _data_options(config))
    try:
        dataset = _relabel(_split(task_data, split), task_data.label_names, loaded.label_names)
    except BakeoffError:
        if not speed_only:
            raise
        texts = _split(task_data, split)
        unlabelled = TextDataset(texts.texts, np.zeros(len(texts), dtype=np.int64), texts.pairs, texts.source)
        return encode(loaded.tokenizer, unlabelled, config.max_length), None
    return encode(loaded.tokenizer, dataset, config.max_length), task_data.primary_metric


def _measure(loaded: compression.LoadedModel, encoded: Encoded, split: str, primary: str | None,
             batch_sizes: tuple[int, ...], requests: int = 100) -> dict[str, Any]:
    """Metrics, size and speed of one model on one split (``labels`` are its predictions, in row order)."""
    predictions = predict_with(loaded.forward, encoded, 64, loaded.num_labels)
    scores = evaluate_predictions(split, predictions, encoded.labels, loaded.label_names, primary) if primary else None
    speed: BenchResult = measure(loaded.forward, encoded, batch_sizes, requests=requests)
    return {"method": loaded.method, "backend": loaded.backend, "metrics": scores.metrics if scores else {},
            "loss": scores.loss if scores else None, "weights_bytes": loaded.weights_bytes,
            "folder_bytes": sum(p.stat().st_size for p in loaded.path.iterdir() if p.is_file()),
            "bench": speed.to_dict(), "labels": predictions.labels.tolist()}


def _measure_isolated(path: Path, encoded: Encoded, split: str, primary: str,
                      batch_sizes: tuple[int, ...]) -> dict[str, Any]:
    """``_measure`` of the model at ``path`` (fp32 if a plain checkpoint) in a new process, same thread count."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_measure_worker, path, encoded, split, primary, batch_sizes,
                           torch.get_num_threads()).result()


def _measure_worker(path: Path, encoded: Encoded, split: str, primary: str, batch_sizes: tuple[int, ...],
                    threads: int) -> dict[str, Any]:
    torch.set_num_threads(threads)
    return _measure(compression.load(path, precision="fp32"), encoded, split, primary, batch_sizes)


def _change(before: dict[str, Any], after: dict[str, Any], truth: np.ndarray) -> dict[str, Any]:
    """What compression cost and gained: metric deltas, flips, McNemar, size and latency ratios."""
    first, second = np.array(before["labels"]), np.array(after["labels"])
    test = mcnemar(first == truth, second == truth)
    latency_before, latency_after = before["bench"]["latency_ms"], after["bench"]["latency_ms"]
    return {"metrics": {name: after["metrics"][name] - value for name, value in before["metrics"].items()},
            "flips": int((first != second).sum()), "flip_share": float((first != second).mean()),
            "mcnemar": {"only_original_right": test.only_first, "only_compressed_right": test.only_second,
                        "p_value": test.p_value, "significant": test.significant},
            "size_ratio": before["weights_bytes"] / after["weights_bytes"],
            "latency_p50_speedup": latency_before["p50"] / latency_after["p50"],
            "latency_p95_speedup": latency_before["p95"] / latency_after["p95"]}


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
