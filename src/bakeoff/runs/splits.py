"""The rows a run is measured on: a task's split, tokenized for a model, labels in that model's ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bakeoff.compression.artefact import LoadedModel
from bakeoff.config import TrainConfig
from bakeoff.data import DataOptions, TaskData, TextDataset, load_task_data
from bakeoff.data.batching import Encoded, encode
from bakeoff.data.windows import Windows, encode_for
from bakeoff.errors import BakeoffError
from bakeoff.tasks import get_task

SPLITS = ("validation", "test", "train")


def data_options(config: TrainConfig) -> DataOptions:
    return DataOptions(data=Path(config.data) if config.data else None, text_column=config.text_column,
                       text_pair_column=config.text_pair_column, label_column=config.label_column,
                       train_fraction=config.train_fraction, seed=config.seed, problem_type=config.problem_type,
                       label_separator=config.label_separator)


def load_data(config: TrainConfig) -> TaskData:
    return load_task_data(get_task(config.task) if config.task else None, data_options(config))


def check_split(split: str) -> str:
    """``split`` if it names one (called first, before any model loads)."""
    if split not in SPLITS:
        raise BakeoffError(f"--split {split!r}: use validation, test or train")
    return split


def labelled_split(loaded: LoadedModel, run_config: dict[str, Any], split: str, speed_only: bool = False,
                   **given: Any) -> tuple[Encoded | Windows, str | None]:
    """The split to measure on, tokenized for ``loaded``, with labels in the model's ids; and its primary metric.

    Options in ``given`` override the run's config; with neither, the built-in demo task is used. With
    ``speed_only``, texts whose labels the model does not know are still returned (metric None): their
    timings are as good as any.
    """
    check_split(split)
    overrides = {k: v for k, v in given.items() if v is not None}
    config = TrainConfig.from_dict({**run_config, **overrides})
    if given.get("task") is not None or given.get("data") is not None:
        config.task, config.data = given.get("task"), given.get("data")
    if not config.task and not config.data:
        config.task = "demo"
    task_data = load_data(config)
    try:
        dataset = relabel(pick(task_data, split), task_data.label_names, loaded.label_names)
    except BakeoffError:
        if not speed_only:
            raise
        texts = pick(task_data, split)
        unlabelled = TextDataset(texts.texts, np.zeros(len(texts), dtype=np.int64), texts.pairs, texts.source)
        return encode(loaded.tokenizer, unlabelled, config.max_length), None
    return (encode_for(loaded.tokenizer, dataset, config.max_length, config.truncation, config.long_text,
                       config.stride), task_data.primary_metric)


def pick(task_data: TaskData, split: str) -> TextDataset:
    chosen = {"validation": task_data.validation, "test": task_data.test, "train": task_data.train}.get(split)
    if chosen is None:
        raise BakeoffError(f"task {task_data.task!r} has no labelled {split} split here: use --split validation")
    return chosen


def relabel(dataset: TextDataset, data_names: list[str], model_names: list[str]) -> TextDataset:
    """Express the data's labels in the model's label ids (they may be ordered differently)."""
    if data_names == model_names:
        return dataset
    index = {name: i for i, name in enumerate(model_names)}
    missing = [name for name in data_names if name not in index]
    if missing:
        raise BakeoffError(f"the data has labels the model does not know ({', '.join(missing)}); "
                           f"the model's labels: {', '.join(model_names)}")
    mapping = np.array([index[name] for name in data_names])
    if dataset.labels.ndim == 2:  # label sets: move each label's column to the model's place
        moved = np.zeros((len(dataset), len(model_names)), dtype=dataset.labels.dtype)
        moved[:, mapping] = dataset.labels
        return TextDataset(dataset.texts, moved, dataset.pairs, dataset.source)
    return TextDataset(dataset.texts, mapping[dataset.labels], dataset.pairs, dataset.source)
