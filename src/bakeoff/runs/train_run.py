"""Train one run: config in, a recorded run out (metrics, checkpoint, predictions, ``result.json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from bakeoff._version import __version__
from bakeoff.config import TrainConfig, run_name
from bakeoff.data.windows import plain
from bakeoff.eval import EvalResult
from bakeoff.eval.decision import Decision, save_decision
from bakeoff.eval.bench import batch1_latency_ms
from bakeoff.hardware import default_threads, describe
from bakeoff.io import check_free_space, sha256, write_json_atomic
from bakeoff.metrics import metric_info
from bakeoff.models import (
    check_max_length,
    load_for_classification,
    load_tokenizer,
    parameter_count,
    resolve_model,
)
from bakeoff.models.checkpoint import save_checkpoint
from bakeoff.models.forward import torch_forward
from bakeoff.runs.files import CHECKPOINT_DIR, PREDICTIONS_FILE, RESULT_FILE
from bakeoff.runs.inference import score
from bakeoff.runs.launch import launch
from bakeoff.runs.provenance import git_commit
from bakeoff.runs.single_label import check_options, decide, encode_splits
from bakeoff.runs.results import DataInfo, ModelInfo, RunInfo, TrainingInfo, TrainResult
from bakeoff.runs.splits import load_data
from bakeoff.runtime import resolve_device, resolve_precision, seed_everything
from bakeoff.track import Experiment, Store
from bakeoff.track.layout import utc_now
from bakeoff.training import fit
from bakeoff.training.display import BarDisplay, SilentDisplay
from bakeoff.training.distributed import current_world


def train(config: TrainConfig | None = None, *, display: Any = None, **overrides: Any) -> TrainResult:
    """Fine-tune a model on a task, evaluate it, save a checkpoint, and record the run in the store.

    Everything that can be wrong with the input (task, data, model name, options) is checked before the
    run is created, so a bad call leaves nothing behind. ``display`` shows the progress (``training.display``'s
    protocol: start/advance/evaluated/stop); by default a bar on stderr, none with ``quiet``.

    >>> result = bakeoff.train(model="minilm-l3", task="demo", epochs=3, quiet=True)  # doctest: +SKIP
    >>> result.validation.metrics["accuracy"]  # doctest: +SKIP
    """
    config = TrainConfig.from_dict({**(config.to_dict() if config else {}), **overrides}).validate()
    Store().check_writable()  # before any data or model is loaded, and before torchrun starts any process
    source = resolve_model(config.model, config.layers)
    check_max_length(source.location, config.max_length, config.model)
    world = current_world()  # one of several processes when torchrun started this one (training/distributed.py)
    if config.nproc > 1 and world.size == 1:
        return launch(config)  # torchrun runs this function in nproc processes; rank 0 records the run
    data = load_data(config)
    select_by = config.best_metric or data.primary_metric
    metric_info(select_by)
    class_weights = check_options(config, data)  # a weight per class, a binary task, single texts: or one line
    if config.threads:
        torch.set_num_threads(config.threads)
    elif world.size == 1:  # (under torchrun, launch.py shared the cores out already)
        torch.set_num_threads(default_threads())  # every core, less those other processes keep busy
    device = resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    seed_everything(config.seed)
    tokenizer = load_tokenizer(source)
    model = load_for_classification(source, data.label_names).to(device)
    splits = encode_splits(tokenizer, data, config)  # long texts: --truncation, --long-text (data/windows.py)
    predicted: dict[str, list[int]] = {}  # the last predictions per split, kept for paired tests between runs

    def evaluate_on(split: str, module: torch.nn.Module, decision: Decision | None = None) -> EvalResult:
        reference = torch_forward(module, "fp32", device) if precision != "fp32" else None
        result, labels = score(torch_forward(module, precision, device), reference, splits[split], split,
                               data.label_names, data.primary_metric, config.eval_batch_size, decision)
        predicted[split] = labels.tolist()
        return result

    if not world.is_main:  # another rank of several processes: trains its shard; rank 0 evaluates and records
        fit(model, splits["train"], config, evaluate=lambda m: evaluate_on("validation", m), select_by=select_by,
            precision=precision, device=device, log=lambda *a, **k: None, display=SilentDisplay(), world=world,
            class_weights=class_weights)
        return None  # type: ignore[return-value]
    if config.save_checkpoint:  # a full disk found now, not after the training it would waste
        check_free_space(Store().root, _weights_bytes(model), f"the checkpoint of {config.model}")
    name = config.name or run_name(config.to_dict(), f"seed{config.seed}")
    with Experiment(name=name, project=config.project, tags=[*config.tags, data.task, config.model],
                    description=f"fine-tune {config.model} on {data.task}") as experiment:
        experiment.parameters().set(**config.to_dict(), precision_resolved=precision, device_resolved=str(device),
                                    world_size=world.size, backend=world.backend)
        experiment.log(f"training {config.model} on {data.task}: {data.sizes()}", fingerprints=data.fingerprints())
        display = display or (SilentDisplay() if config.quiet else BarDisplay(f"{config.model} on {data.task}"))
        outcome = fit(model, splits["train"], config, evaluate=lambda m: evaluate_on("validation", m),
                      select_by=select_by, precision=precision, device=device,
                      log=lambda metric, **fields: experiment.metric(metric).append(**fields), display=display,
                      world=world, class_weights=class_weights)
        # a temperature and a threshold, fitted on validation (eval/decision.py), then used on both splits
        decision = decide(config, data.label_names, torch_forward(model, precision, device), splits["validation"],
                          config.eval_batch_size)
        validation = evaluate_on("validation", model, decision)
        test = evaluate_on("test", model, decision) if "test" in splits else None
        latency = batch1_latency_ms(torch_forward(model, precision, device), plain(splits["validation"]))
        assert experiment.path is not None and experiment.id is not None
        checkpoint = _save(model, tokenizer, experiment.path / CHECKPOINT_DIR, config.save_checkpoint)
        if checkpoint["checkpoint"]:
            save_decision(Path(checkpoint["checkpoint"]), decision)
        status = "INTERRUPTED" if outcome.interrupted else "COMPLETED"
        per_second = (lambda count: count / outcome.seconds if outcome.seconds else None)
        result = TrainResult(
            run=RunInfo(experiment.id, experiment.project, experiment.name, str(experiment.path.resolve()), status),
            config=config.to_dict(),
            model=ModelInfo(config.model, source.location, source.origin,
                            list(source.layers) if source.layers else None, parameter_count(model), **checkpoint),
            data=DataInfo(data.task, data.label_names, data.sizes(), data.fingerprints(), data.notes,
                          {name: int((enc.lengths >= config.max_length).sum()) for name, enc in splits.items()}),
            training=TrainingInfo(outcome.seconds, per_second(outcome.samples), per_second(outcome.tokens),
                                  outcome.steps, outcome.epochs_completed, precision, str(device), outcome.best_step,
                                  outcome.best_epoch, select_by, outcome.stopped_early, outcome.oom_fallbacks,
                                  outcome.shortcuts, world.size, world.backend, class_weights),
            validation=validation, test=test, history=outcome.history, hardware=describe(),
            bakeoff_version=__version__, git_commit=git_commit(), created_at=utc_now(), latency_ms=latency,
            decision=decision.to_dict() if decision else None,
        )
        write_json_atomic(experiment.path / PREDICTIONS_FILE,
                          {"fingerprints": data.fingerprints(), "label_names": data.label_names,
                           **{split: {"predicted": predicted[split], "true": splits[split].labels.tolist()}
                              for split in ("validation", "test") if split in predicted}})
        result.save(experiment.path / RESULT_FILE)
        for split_result in filter(None, (validation, test)):
            for metric, value in {"loss": split_result.loss, **split_result.metrics}.items():
                experiment.metric(f"final/{split_result.split}/{metric}").append(value=value)
        experiment.metric("final/train_samples_per_second").append(value=result.training.samples_per_second)
        if outcome.interrupted:
            experiment.close("INTERRUPTED", "KeyboardInterrupt: stopped by the user; best weights kept")
    return result


def _weights_bytes(model: torch.nn.Module) -> int:
    """What the checkpoint's weights take on disk: every tensor of the state dict at its stored width."""
    return sum(tensor.numel() * tensor.element_size() for tensor in model.state_dict().values())


def _save(model: torch.nn.Module, tokenizer: Any, path: Path, enabled: bool) -> dict[str, Any]:
    """The checkpoint's facts for ``ModelInfo``: folder, sizes, and the sha256 of every file in it.

    Every file, not the weights alone: ``config.json`` holds the label names (``id2label``) and the model's shape,
    the tokenizer's files decide which tokens the weights see; a change to any of them changes the answers.
    """
    if not enabled:
        return {"checkpoint": None, "checkpoint_bytes": None, "checkpoint_files": {}}
    saved = save_checkpoint(model, tokenizer, path)
    digests = {name: sha256(path / name) for name in saved["files"]}
    return {"checkpoint": saved["path"], "checkpoint_bytes": saved["bytes"], "checkpoint_files": saved["files"],
            "checkpoint_sha256": digests}
