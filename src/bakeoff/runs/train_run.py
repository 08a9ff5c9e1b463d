"""Train one run: config in, a recorded run out (metrics, checkpoint, predictions, ``result.json``).

Read top to bottom as torchtune's recipes are: ``setup`` (data, problem type, model, tokenized splits; everything
that can be wrong with the input fails here, before a run exists), ``fit`` (the loop, ``training/loop.py``), then
``finish`` (the final evaluation with the best weights) and ``record`` (checkpoint, predictions, ``result.json``).
The problem type (``bakeoff.problems``) is chosen once, in ``setup``, from the task; every later step asks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from bakeoff._version import __version__
from bakeoff.config import TrainConfig, run_name
from bakeoff.data import TaskData
from bakeoff.data.batching import Encoded
from bakeoff.data.windows import Windows, plain
from bakeoff.eval import EvalResult
from bakeoff.eval.decision import Decision, save_decision
from bakeoff.eval.bench import LATENCY_BUDGET_S, batch1_latency_ms
from bakeoff.hardware import default_threads, describe
from bakeoff.io import check_free_space, sha256, write_json_atomic
from bakeoff.metrics import metric_info
from bakeoff.models import (
    ModelSource,
    check_max_length,
    load_for_classification,
    load_tokenizer,
    parameter_count,
    resolve_model,
    set_output_bias,
)
from bakeoff.models.checkpoint import save_checkpoint
from bakeoff.models.forward import torch_forward
from bakeoff.problems import SINGLE_LABEL, THRESHOLDS_KEY, Problem, get_problem
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
from bakeoff.training.distributed import World, current_world
from bakeoff.training.loop import FitOutcome


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
    run = setup(config, source, world)
    if not world.is_main:  # another rank of several processes: trains its shard; rank 0 evaluates and records
        train_model(run, world, log=lambda *a, **k: None, display=SilentDisplay())
        return None  # type: ignore[return-value]
    if config.save_checkpoint:  # a full disk found now, not after the training it would waste
        check_free_space(Store().root, _weights_bytes(run.model), f"the checkpoint of {config.model}")
    name = config.name or run_name(config.to_dict(), f"seed{config.seed}")
    with Experiment(name=name, project=config.project, tags=[*config.tags, run.data.task, config.model],
                    description=f"fine-tune {config.model} on {run.data.task}") as experiment:
        experiment.parameters().set(**config.to_dict(), precision_resolved=run.precision,
                                    device_resolved=str(run.device), world_size=world.size, backend=world.backend,
                                    problem_type_resolved=run.problem.name)
        experiment.log(f"training {config.model} on {run.data.task}: {run.data.sizes()}",
                       fingerprints=run.data.fingerprints())
        display = display or (SilentDisplay() if config.quiet else BarDisplay(f"{config.model} on {run.data.task}"))
        outcome = train_model(run, world, log=lambda metric, **fields: experiment.metric(metric).append(**fields),
                              display=display)
        validation, test = finish(run)
        result = record(experiment, run, outcome, validation, test, world)
    return result


@dataclass
class Setup:
    """Everything a run trains on and with, made before the run is recorded."""

    config: TrainConfig
    data: TaskData
    problem: Problem
    source: ModelSource
    tokenizer: Any
    model: torch.nn.Module
    splits: dict[str, Encoded | Windows]
    device: torch.device
    precision: str
    select_by: str
    class_weights: list[float] | None = None  # single-label --class-weights, resolved on the training rows
    decision: Decision | None = None  # a single-label run's temperature and threshold, fitted in ``finish``
    thresholds: list[float] | None = None  # a multi-label run's, chosen on validation at each evaluation
    predicted: dict[str, list[Any]] = field(default_factory=dict)  # the last answers per split (paired verdicts)

    def evaluate(self, split: str, module: torch.nn.Module) -> EvalResult:
        """Score ``module`` on ``split``; the validation split chooses the decision thresholds the test split and
        the checkpoint then use (multi-label only)."""
        reference = torch_forward(module, "fp32", self.device) if self.precision != "fp32" else None
        scoring = score(torch_forward(module, self.precision, self.device), reference, self.splits[split], split,
                        self.data.label_names, self.data.primary_metric, self.config.eval_batch_size, self.problem,
                        self.thresholds, choose_thresholds=split == "validation", decision=self.decision)
        if split == "validation":
            self.thresholds = scoring.thresholds
        self.predicted[split] = self.problem.to_stored(scoring.predicted)
        return scoring.result


def setup(config: TrainConfig, source: ModelSource | None = None, world: World | None = None) -> Setup:
    """Data, problem type, model and tokenized splits; every input check happens here, before a run exists."""
    source = source or resolve_model(config.model, config.layers)
    world = world or current_world()
    data = load_data(config)
    problem = get_problem(data.problem_type)
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
    model = load_for_classification(source, data.label_names, problem.hf_problem_type,
                                    problem.outputs(data.label_names))
    bias = problem.initial_bias(data.train.labels)
    if bias is not None:
        set_output_bias(model, bias)
    model = model.to(device)
    splits = encode_splits(tokenizer, data, config)  # long texts: --truncation, --long-text (data/windows.py)
    return Setup(config, data, problem, source, tokenizer, model, splits, device, precision, select_by,
                 class_weights=class_weights)


def train_model(run: Setup, world: World, *, log: Any, display: Any) -> FitOutcome:
    """The loop (``training/loop.py``) with this run's loss, evaluating on validation; the model ends with the
    best weights seen."""
    return fit(run.model, run.splits["train"], run.config, evaluate=lambda m: run.evaluate("validation", m),
               select_by=run.select_by, precision=run.precision, device=run.device, log=log, display=display,
               world=world, loss=run.problem.loss, class_weights=run.class_weights)


def finish(run: Setup) -> tuple[EvalResult, EvalResult | None]:
    """The best weights on validation (choosing a multi-label run's thresholds, or fitting a single-label run's
    temperature and threshold: ``eval/decision.py``) and, where there is one, test."""
    if run.problem is SINGLE_LABEL:
        run.decision = decide(run.config, run.data.label_names, torch_forward(run.model, run.precision, run.device),
                              run.splits["validation"], run.config.eval_batch_size)
    validation = run.evaluate("validation", run.model)
    test = run.evaluate("test", run.model) if "test" in run.splits else None
    if run.thresholds is not None:
        setattr(run.model.config, THRESHOLDS_KEY, run.thresholds)  # saved in config.json with the checkpoint
    return validation, test


def record(experiment: Experiment, run: Setup, outcome: FitOutcome, validation: EvalResult,
           test: EvalResult | None, world: World) -> TrainResult:
    """Checkpoint, predictions and ``result.json`` in the run's folder; final metrics in its metric files."""
    config, data, splits = run.config, run.data, run.splits
    latency = batch1_latency_ms(torch_forward(run.model, run.precision, run.device), plain(splits["validation"]),
                                budget_s=LATENCY_BUDGET_S)  # bounded: a base-size model under load, a minute at most
    assert experiment.path is not None and experiment.id is not None
    checkpoint = _save(run.model, run.tokenizer, experiment.path / CHECKPOINT_DIR, config.save_checkpoint)
    if checkpoint["checkpoint"]:
        save_decision(Path(checkpoint["checkpoint"]), run.decision)
    status = "INTERRUPTED" if outcome.interrupted else "COMPLETED"
    per_second = (lambda count: count / outcome.seconds if outcome.seconds else None)
    result = TrainResult(
        run=RunInfo(experiment.id, experiment.project, experiment.name, str(experiment.path.resolve()), status),
        config=config.to_dict(),
        model=ModelInfo(config.model, run.source.location, run.source.origin,
                        list(run.source.layers) if run.source.layers else None, parameter_count(run.model),
                        **checkpoint),
        data=DataInfo(data.task, data.label_names, data.sizes(), data.fingerprints(), data.notes,
                      {name: int((enc.lengths >= config.max_length).sum()) for name, enc in splits.items()},
                      run.problem.name),
        training=TrainingInfo(outcome.seconds, per_second(outcome.samples), per_second(outcome.tokens),
                              outcome.steps, outcome.epochs_completed, run.precision, str(run.device),
                              outcome.best_step, outcome.best_epoch, run.select_by, outcome.stopped_early,
                              outcome.oom_fallbacks, outcome.shortcuts, world.size, world.backend,
                              run.class_weights),
        validation=validation, test=test, history=outcome.history, hardware=describe(),
        bakeoff_version=__version__, git_commit=git_commit(), created_at=utc_now(), latency_ms=latency,
        decision=run.decision.to_dict() if run.decision else None,
    )
    write_json_atomic(experiment.path / PREDICTIONS_FILE,
                      {"fingerprints": data.fingerprints(), "label_names": data.label_names,
                       "problem_type": run.problem.name,
                       **({"thresholds": run.thresholds} if run.thresholds is not None else {}),
                       **{split: {"predicted": run.predicted[split],
                                  "true": run.problem.to_stored(splits[split].labels)}
                          for split in ("validation", "test") if split in run.predicted}})
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
