"""A single-label run's options for imbalanced classes, decisions and long texts, composed at the run level:
checked against the loaded data before anything is written, then applied where the run encodes, trains,
decides and scores. Training, ``evaluate`` and ``predict`` each call in here at one place.

The mechanics live below: loss weights in ``training/class_weights.py``, temperature and threshold in
``eval/decision.py``, windows in ``data/windows.py`` and ``eval/windows.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bakeoff.config import TrainConfig
from bakeoff.config.options import OptionError
from bakeoff.config.train import parse_threshold
from bakeoff.data import TaskData
from bakeoff.data.batching import Encoded
from bakeoff.data.windows import Windows, check_long_text, encode_for
from bakeoff.eval.decision import Decision, fit_decision, load_decision
from bakeoff.eval.windows import predict_rows
from bakeoff.models.forward import Forward
from bakeoff.runs.files import CHECKPOINT_DIR
from bakeoff.training.class_weights import resolve_class_weights


def check_options(config: TrainConfig, data: TaskData) -> list[float] | None:
    """Refuse options the task cannot take (one line each), before the run is created; the loss weights.
    They are single-label classification's: a regression or multi-label task refuses them (multi-label runs choose
    their per-label thresholds on validation by themselves)."""
    if data.problem_type != "single_label":
        given = [name for name, on in (("class_weights", config.class_weights is not None),
                                       ("threshold", config.threshold is not None), ("calibrate", config.calibrate),
                                       ("truncation", config.truncation != "head"),
                                       ("long_text", config.long_text != "cut"), ("stride", config.stride is not None))
                 if on]
        if given:
            raise OptionError(given[0], f"applies to single-label classification; this task is {data.problem_type}: "
                                        "leave it out")
    check_long_text(data.pair, config.truncation, config.long_text)
    if config.threshold is not None:
        check_binary(data.label_names, "threshold")
    return resolve_class_weights(config.class_weights, data.train.labels, data.label_names)


def check_binary(label_names: list[str], flag: str) -> None:
    """A decision threshold needs two classes: one positive probability to cut."""
    if len(label_names) != 2:
        raise OptionError(flag, f"applies to binary tasks; this one has {len(label_names)} classes "
                                f"({', '.join(label_names[:6])}{', ...' if len(label_names) > 6 else ''}): leave "
                                "it out (the most probable class is predicted)")


def encode_splits(tokenizer: Any, data: TaskData, config: TrainConfig) -> dict[str, Encoded | Windows]:
    """Training rows as one window each (``--truncation``); validation and test as ``--long-text`` says."""
    splits: dict[str, Encoded | Windows] = {}
    for name, split in (("train", data.train), ("validation", data.validation), ("test", data.test)):
        if split is not None:
            long_text = "cut" if name == "train" else config.long_text
            splits[name] = encode_for(tokenizer, split, config.max_length, config.truncation, long_text,
                                      config.stride)
    return splits


def decide(config: TrainConfig, label_names: list[str], forward: Forward, validation: Encoded | Windows,
           batch_size: int) -> Decision | None:
    """Fit the temperature (``--calibrate``) and the threshold (``--threshold``) on the validation rows."""
    if not config.calibrate and config.threshold is None:
        return None
    predictions = predict_rows(forward, validation, batch_size, len(label_names))
    threshold = parse_threshold(config.threshold) if config.threshold is not None else None
    return fit_decision(predictions, validation.labels, label_names, calibrate=config.calibrate,
                        threshold=threshold, threshold_metric=config.threshold_metric)


def decision_for(model_dir: Path, run_dir: Path | None) -> Decision | None:
    """The decision a model folder is read with: its own ``decision.json``, else (a compressed model) its run's
    checkpoint's: compression keeps the weights' meaning, so the run's temperature and threshold still apply,
    and ``compress`` measures how calibrated they leave the compressed model."""
    own = load_decision(model_dir)
    if own is not None or run_dir is None:
        return own
    return load_decision(run_dir / CHECKPOINT_DIR)


def long_text_options(run_config: dict[str, Any], truncation: str | None, long_text: str | None,
                      stride: int | None) -> dict[str, Any]:
    """``truncation``, ``long_text`` and ``stride`` for ``evaluate``/``predict``: what was given (checked as the
    training options are), else what the run trained with, else the defaults."""
    from bakeoff.config.options import coerce_option

    defaults = TrainConfig()
    given = {"truncation": truncation, "long_text": long_text, "stride": stride}
    return {name: coerce_option(TrainConfig, name, value if value is not None
                                else run_config.get(name, getattr(defaults, name)))
            for name, value in given.items()}
