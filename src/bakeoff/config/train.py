"""``TrainConfig``: every option of a fine-tuning run, declared once with its help and allowed values.

What a run *computes* (its identity) is every option but those marked ``identity=False`` (how it runs: threads,
device, nproc, project, name, quiet, tags). Two runs with the same identity are the same experiment; a study's
trial id and the leaderboard's rows (a *variant*: the identity without the seed) both come from here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bakeoff.config.options import (
    OptionError,
    coerce_option,
    from_mapping,
    option,
    specs,
)
from bakeoff.errors import BakeoffError
from bakeoff.metrics import all_metric_names

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
THRESHOLD_METRICS = ("f1", "f0.5", "f2", "balanced_accuracy")
TRUNCATIONS = ("head", "tail", "head+tail")
LONG_TEXT = ("cut", "chunks")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass
class TrainConfig:
    """One fine-tuning run. The names are the ones users know from Hugging Face and the seeds.

    >>> TrainConfig(model="minilm-l3", task="demo", epochs=2).validate().epochs
    2.0
    """

    model: str = option("minilm-l6", "Alias, hub id or local folder (see `bakeoff models`).", kind=str,
                        study=False)
    task: str | None = option("demo", "Task name (see `bakeoff tasks`).", kind=str, off="your own --data",
                              study=False)
    data: str | None = option(None, "A folder of split files, or one CSV/TSV/JSONL/Parquet file.", kind=str,
                              off="the task's data")
    text_column: str | None = option(None, "Column holding the text.", kind=str, off="the task's")
    text_pair_column: str | None = option(None, "Column holding the second text of a pair.", kind=str,
                                          off="the task's, if any")
    label_column: str | None = option(None, "Column holding the label (strings or integers).", kind=str,
                                      off="the task's")
    problem_type: str | None = option(None, "single_label, regression (a number per row) or multi_label (several "
                                      "labels per row).", kind=str, choices=("single_label", "regression",
                                                                             "multi_label"),
                                      off="the task's; for your own data, from the labels", omit_default=True)
    label_separator: str | None = option(None, "Multi-label: what joins a row's labels in the label column, e.g. ','.",
                                         kind=str, off="lists ([\"a\", \"b\"]) or the task's", omit_default=True)
    layers: list[int] | None = option(None, "Keep only these encoder layers, e.g. 0,2,4.", kind="ints",
                                      at_least=0, off="all layers")
    max_length: int = option(128, "Tokens per text (pairs: both texts); longer ones are cut.", kind=int,
                             at_least=4, at_most=8192)
    learning_rate: float = option(5e-5, "Peak learning rate of AdamW.", kind=float, above=0, at_most=1)
    batch_size: int = option(32, "Rows per optimizer step (before gradient accumulation).", kind=int, at_least=1)
    eval_batch_size: int = option(128, "Rows per batch when evaluating.", kind=int, at_least=1)
    epochs: float = option(1.0, "Passes over the training rows (fractions allowed).", kind=float, above=0)
    max_steps: int | None = option(None, "Stop after this many optimizer steps (overrides --epochs).", kind=int,
                                   at_least=1, off="set by --epochs")
    warmup_ratio: float = option(0.0, "Share of the steps spent warming the learning rate up from 0.", kind=float,
                                 at_least=0, below=1)
    weight_decay: float = option(0.0, "AdamW weight decay (0 = none).", kind=float, at_least=0, below=1)
    max_grad_norm: float | None = option(1.0, "Clip the gradient norm to this.", kind=float, above=0,
                                         off="no clipping")
    sparse_embeddings: bool = option(True, "Update only the word-embedding rows a batch uses (faster on CPU).",
                                     kind=bool)
    gradient_accumulation_steps: int = option(1, "Batches whose gradients are summed per optimizer step.",
                                              kind=int, at_least=1)
    train_fraction: float = option(1.0, "Share of the training rows, stratified and nested.", kind=float, above=0,
                                   at_most=1)
    seed: int = option(42, "Seed for data order, dropout and the head's initial weights.", kind=int, at_least=0,
                       study=False)
    eval_steps: int | None = option(None, "Evaluate every N optimizer steps.", kind=int, at_least=1,
                                    off="once per epoch")
    best_metric: str | None = option(None, "Keep the checkpoint best by this validation metric.", kind=str,
                                     choices=all_metric_names(), off="the task's primary metric")
    early_stopping_patience: int | None = option(None, "Stop after N evaluations without improvement.", kind=int,
                                                 at_least=1, off="no early stopping")
    precision: str = option("auto", "auto (bf16 where the hardware has it natively), bf16, fp16 (CUDA) or fp32.",
                            kind=str, choices=PRECISIONS)
    device: str = option("auto", "auto, cpu, cuda, cuda:N or mps.", kind=str, identity=False)
    threads: int | None = option(None, "Torch intra-op threads. By default a command takes every core it may use, "
                                       "less those other processes keep busy (the load average) and those other "
                                       "bakeoff commands of yours have taken: two started at once do not both take "
                                       "every core, but the first keeps its cores; for an even split give each "
                                       "cores/N (a study shares the cores out among its parallel trials itself).",
                                 kind=int, at_least=1, off="the free cores, at least 1", identity=False,
                                 study=False)
    nproc: int = option(1, "Processes (GPUs) for this one run, under torchrun.", kind=int, at_least=1,
                        identity=False)
    project: str = option("bakeoff", "Store project the run is recorded in.", kind=str, identity=False,
                          study=False)
    name: str | None = option(None, "Run name (default: <task>-<model>-seed<seed>).", kind=str, off="derived",
                              identity=False, study=False)
    # imbalanced classes, thresholds, calibration, long texts (training/class_weights.py, eval/decision.py,
    # data/windows.py); each left out of a run's identity at its default, so earlier runs keep their ids
    class_weights: str | None = option(None, "Loss weight per class: balanced (rows / (classes x class rows), "
                                       "from the training rows) or w1,w2,... in label order.", kind=str,
                                       off="every class weighs 1", omit_default=True)
    threshold: str | None = option(None, "Binary tasks: predict the positive class at or above this probability "
                                   "(0-1), or auto: chosen on validation for --threshold-metric.", kind=str,
                                   off="the most probable class", omit_default=True)
    threshold_metric: str = option("f1", "What --threshold auto maximises on validation.", kind=str,
                                   choices=THRESHOLD_METRICS, omit_default=True)
    calibrate: bool = option(False, "Fit a temperature on validation so probabilities match accuracy; saved with "
                             "the checkpoint, used by evaluate and predict.", kind=bool, omit_default=True)
    truncation: str = option("head", "Which tokens of a long text are kept: head, tail or head+tail (a quarter "
                             "from the start, the rest from the end; Sun et al. 2019).", kind=str,
                             choices=TRUNCATIONS, omit_default=True)
    long_text: str = option("cut", "Evaluation of texts over max_length: cut (one window, as --truncation says) "
                            "or chunks (windows with --stride overlap, logits averaged); training reads one "
                            "window.", kind=str, choices=LONG_TEXT, omit_default=True)
    stride: int | None = option(None, "Tokens two neighbouring windows share (--long-text chunks).", kind=int,
                                at_least=0, off="a quarter of a window", omit_default=True)
    save_checkpoint: bool = option(True, "Save the trained weights (a plain Hugging Face folder).", kind=bool)
    quiet: bool = option(False, "No progress bar (for CI and logs).", kind=bool, identity=False, study=False)
    tags: list[str] = option([], "Tags recorded with the run.", kind="strs", identity=False)

    def validate(self) -> TrainConfig:
        """Coerce and range-check every option, then the ones that depend on each other.

        Raises one ``BakeoffError`` naming the option and the fix; runs before anything is loaded or written.
        """
        for name in specs(TrainConfig):
            setattr(self, name, coerce_option(TrainConfig, name, getattr(self, name)))
        if not _DEVICE.match(self.device):
            raise OptionError("device", f"{self.device!r} is not one of auto, cpu, cuda, cuda:N, mps")
        if self.task is None and self.data is None:
            raise BakeoffError("no data: give --task (see `bakeoff tasks`) or --data FILE_OR_FOLDER")
        if self.name is not None:
            check_run_name(self.name)
        self._check_single_label()
        check_run_name(self.project, "project")
        return self

    def _check_single_label(self) -> None:
        """The spelling of --class-weights and --threshold, and --stride against --max-length (what needs the
        data, a weight per class, a binary task, single texts, is checked once the data is loaded)."""
        if self.class_weights is not None:
            parse_class_weights(self.class_weights)
        if self.threshold is not None:
            parse_threshold(self.threshold)
        if self.long_text == "chunks" and self.stride is not None and self.stride >= self.max_length - 2:
            raise OptionError("stride", f"must be below --max-length minus 2 ({self.max_length - 2}), got "
                                        f"{self.stride}: windows would not move forward")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """A config from a mapping (``result.json``'s ``config``, API keywords); unknown keys are refused."""
        return from_mapping(cls, values)


def parse_class_weights(value: str) -> str | list[float]:
    """``"balanced"`` or one non-negative weight per class, at least one above 0.

    >>> parse_class_weights("1,3.5"), parse_class_weights("balanced")
    ([1.0, 3.5], 'balanced')
    """
    if value.strip().lower() == "balanced":
        return "balanced"
    try:
        weights = [float(part) for part in value.split(",")]
    except ValueError:
        weights = []
    if not weights or not all(w >= 0 and w < float("inf") for w in weights) or not any(weights):
        raise OptionError("class_weights", f"{value!r} is not balanced, none or non-negative numbers w1,w2,... "
                                           "(one per class, in label order, not all 0)")
    return weights


def parse_threshold(value: str) -> str | float:
    """``"auto"`` or a probability strictly between 0 and 1.

    >>> parse_threshold("0.3"), parse_threshold("auto")
    (0.3, 'auto')
    """
    if value.strip().lower() == "auto":
        return "auto"
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 0 < number < 1:
        raise OptionError("threshold", f"{value!r} is not auto or a probability between 0 and 1 (e.g. 0.3)")
    return number


# Names become folders; this is the store's own rule, said where a run's name is chosen.
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_run_name(name: str, option: str = "name") -> str:
    """A run (or project) name is letters, digits, '-', '_' and '.', starts with a letter or digit, at most 128
    characters: it becomes a folder and a cell of every table."""
    if not isinstance(name, str) or not _RUN_NAME.match(name):
        shown = name if len(str(name)) <= 40 else str(name)[:37] + "..."
        what = "run name" if option == "name" else f"{option} name"
        raise OptionError(option, f"{shown!r} is not a usable {what}: use 1-128 letters, digits, '-', '_' or "
                                  "'.', starting with a letter or digit")
    return name


def identity(config: dict[str, Any]) -> dict[str, Any]:
    """The options that decide what a run computes (not how or where it runs); options marked ``omit_default``
    are left out while at their default (older runs never recorded them)."""
    excluded = {name for name, spec in specs(TrainConfig).items() if not spec.identity}
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.metadata["spec"].omit_default}
    return {k: v for k, v in config.items() if k not in excluded and not (k in defaults and v == defaults[k])}


def variant_of(config: dict[str, Any]) -> str:
    """What distinguishes a run from others apart from its seed, as text: the leaderboard's row key."""
    values = identity(config)
    values.pop("seed", None)
    return json.dumps(values, sort_keys=True, default=str)


def config_digest(config: dict[str, Any], extra: dict[str, Any] | None = None) -> str:
    """12 hex digits of the identity (plus ``extra``, e.g. a trial's compression steps)."""
    payload = {"config": identity(config), **(extra or {})}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


def model_label(model: str) -> str:
    """A model reference as a name part: the hub id's or folder's last part, unsafe characters as '-'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", Path(str(model).rstrip("/")).name).strip("-.") or "model"


def run_name(config: dict[str, Any], suffix: str) -> str:
    """``<task>-<model>-<suffix>``: readable in a listing, unique through the suffix."""
    return f"{config.get('task') or 'custom'}-{model_label(config['model'])}-{suffix}"
