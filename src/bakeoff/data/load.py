"""Find a task's data, read it, check it, and cut the splits a run needs.

Where data comes from, first match wins:
1. ``--data PATH``: a folder of split files (train / dev|validation|val / test), or one file;
2. ``$BAKEOFF_DATA_DIR/<task>/`` in GLUE's TSV layout (as ``shared/data``);
3. files that ship inside bakeoff (the ``demo`` task);
4. the Hugging Face hub via ``datasets.load_dataset``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bakeoff.data.dataset import (
    TaskData,
    TextDataset,
    nested_fraction,
    stratified_split,
)
from bakeoff.data.tables import FORMATS, DataError, Table, read_table
from bakeoff.problems import LabelError, Problem, get_problem
from bakeoff.tasks import Source, TaskSpec

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "tasks" / "builtin"
SPLIT_STEMS = {"train": ("train",), "validation": ("validation", "dev", "val", "valid"), "test": ("test",)}


@dataclass(frozen=True)
class DataOptions:
    """How to read the user's own files (any of these overrides the task spec)."""

    data: Path | None = None
    text_column: str | None = None
    text_pair_column: str | None = None
    label_column: str | None = None
    train_fraction: float = 1.0
    seed: int = 42
    problem_type: str | None = None  # single_label, regression, multi_label (None: the task's, or the labels')
    label_separator: str | None = None  # multi-label: what joins a row's labels in a cell


def load_task_data(task: TaskSpec | None, options: DataOptions) -> TaskData:
    """Read, validate and split the data of ``task`` (or of ``options.data`` alone)."""
    if not 0.0 < options.train_fraction <= 1.0:
        raise DataError(f"--train-fraction must be in (0, 1], got {options.train_fraction}")
    label_names = list(task.label_names) if task else None
    raw = _read_splits(task, options)
    problem = _problem(task, options, raw)
    separator = options.label_separator or (task.local.label_separator if task and task.local else None)
    try:
        data = _to_task_data(task, raw, label_names, options.seed, problem, separator)
    except LabelError as error:
        raise DataError(str(error)) from None
    if options.train_fraction < 1.0:
        keep = nested_fraction(problem.strata(data.train.labels), options.train_fraction, options.seed)
        data.train = data.train.subset(keep)
        data.notes.append(f"train: stratified {options.train_fraction:g} of the training rows (seed {options.seed})")
    return data


@dataclass
class _RawSplit:
    texts: list[str]
    pairs: list[str] | None
    labels: list[str]
    lines: list[int]
    source: str


def has_local_data(task: TaskSpec) -> bool:
    """Whether the task's data is on this machine ($BAKEOFF_DATA_DIR/<task>/ or shipped), without the hub."""
    env_dir = os.environ.get("BAKEOFF_DATA_DIR")
    local = task.local
    folder = Path(env_dir) / task.name if env_dir else None
    return bool(local and ((folder and folder.is_dir() and any(folder.iterdir())) or local.builtin))


def local_files(task: TaskSpec | None, data: Path | None) -> tuple[Path, list[Path]] | None:
    """The folder and the files in it that a run reads from this machine's disk, by the rules above.

    None when nothing is read from disk: the task ships inside bakeoff or comes from the hub. A study on a
    cluster ships exactly these files to the node that runs the trial.

    >>> local_files(None, Path("reviews.csv"))  # doctest: +SKIP
    (PosixPath('.'), [PosixPath('reviews.csv')])
    """
    local = task.local if task else None
    if data is not None:
        files = _split_files(Path(data), local)[0]
        return (Path(data) if Path(data).is_dir() else Path(data).parent), list(files.values())
    env_dir = os.environ.get("BAKEOFF_DATA_DIR")
    if task is not None and local and env_dir and (Path(env_dir) / task.name).is_dir():
        return Path(env_dir) / task.name, list(_split_files(Path(env_dir) / task.name, local)[0].values())
    return None


def _read_splits(task: TaskSpec | None, options: DataOptions) -> dict[str, _RawSplit]:
    local = task.local if task else None
    if options.data is not None:
        return _read_files(*_split_files(Path(options.data), local), local, options)
    if task is None:
        raise DataError("no data: name a --task or pass --data FILE_OR_FOLDER")
    env_dir = os.environ.get("BAKEOFF_DATA_DIR")
    if local and env_dir and (Path(env_dir) / task.name).is_dir():
        return _read_files(*_split_files(Path(env_dir) / task.name, local), local, options)
    if local and local.builtin:
        return _read_files(*_split_files(BUILTIN_DIR / task.name, local), local, options)
    if task.hub:
        return _read_hub(task, task.hub, env_dir)
    raise DataError(f"task {task.name!r} has no data source: pass --data FOLDER")


def _split_files(path: Path, local: Source | None) -> tuple[dict[str, Path], bool]:
    """Split name -> file, for a folder (by the spec's file names, else by stem) or a single file.

    The flag says whether the folder is in the task's own layout (then its header rules apply).
    """
    if path.is_file():
        return {"all": path}, False
    if not path.is_dir():
        raise DataError(f"{path}: no such file or folder: check --data or $BAKEOFF_DATA_DIR")
    if local and all((path / f).is_file() for f in local.splits.values()):
        return {split: path / name for split, name in local.splits.items()}, True
    found: dict[str, Path] = {}
    for candidate in sorted(path.iterdir()):
        stem = candidate.name.split(".")[0].lower()
        ext_ok = any(s.lstrip(".").lower() in FORMATS for s in candidate.suffixes)
        for split, stems in SPLIT_STEMS.items():
            if ext_ok and stem in stems and split not in found:
                found[split] = candidate
    if "train" not in found:
        raise DataError(f"{path}: no train file (train.csv, train.tsv, train.jsonl or train.parquet, .gz too)")
    return found, False


def _read_files(files: dict[str, Path], task_layout: bool, local: Source | None,
                options: DataOptions) -> dict[str, _RawSplit]:
    spec_columns = local.columns if local else {}
    text_col = options.text_column or spec_columns.get("text")
    pair_col = options.text_pair_column or spec_columns.get("text_pair")
    label_col = options.label_column or spec_columns.get("label") or "label"
    header = local.header if local and task_layout else True
    names = local.column_names if local and task_layout else ()
    splits = {}
    for split, path in files.items():
        table = read_table(path, header=header, column_names=names)
        text_column = text_col or _guess_text_column(table)
        splits[split] = _RawSplit(
            texts=_checked_texts(table, text_column, "--text-column"),
            pairs=_checked_texts(table, pair_col, "--text-pair-column") if pair_col else None,
            labels=_checked_labels(table, label_col),
            lines=table.lines, source=str(path),
        )
    return splits


def _guess_text_column(table: Table) -> str:
    for name in ("text", "sentence", "review", "content"):
        if name in table.columns:
            return name
    raise DataError(f"{table.path}: which column is the text? (columns: {', '.join(table.columns)}): "
                    "pass --text-column")


def _checked_texts(table: Table, column: str, flag: str) -> list[str]:
    return table.texts(column, flag)


def _checked_labels(table: Table, column: str) -> list[str]:
    """The label column, stripped; an empty cell is refused at its line (it would become a class named '')."""
    labels = [v.strip() for v in table.column(column, "--label-column", lists=True)]
    for label, line in zip(labels, table.lines, strict=True):
        if not label:
            raise DataError(f"{table.path}, {table.unit} {line}: empty label in column {column!r}: give the row its "
                            "class, or remove it")
    return labels


def _read_hub(task: TaskSpec, hub: Source, env_dir: str | None) -> dict[str, _RawSplit]:
    looked = f"$BAKEOFF_DATA_DIR/{task.name}" + (f" (= {env_dir}/{task.name})" if env_dir else " (unset)")
    fix = (f"no local copy of {task.name!r} in {looked}, and the Hugging Face hub could not be used "
           f"({{why}}): set BAKEOFF_DATA_DIR to a folder holding {task.name}/"
           f"{next(iter(task.local.splits.values())) if task.local else 'train.csv'}, or pass --data FOLDER")
    try:
        import datasets
    except ImportError:
        raise DataError(fix.format(why="the datasets package is not installed: pip install 'bakeoff[hub]'")) from None
    splits = {}
    for split, hub_split in hub.splits.items():
        try:
            rows = datasets.load_dataset(hub.path, hub.name, split=hub_split)
        except Exception as error:  # offline, unknown id, ...: all end the same way for the user
            raise DataError(fix.format(why=f"{type(error).__name__}: {str(error).splitlines()[0][:120]}")) from None
        labels = [str(v) for v in rows[hub.columns["label"]]]
        keep = [i for i, label in enumerate(labels) if label != "-1"]  # GLUE's hidden test labels
        pair_col = hub.columns.get("text_pair")
        splits[split] = _RawSplit(
            texts=[rows[hub.columns["text"]][i] for i in keep],
            pairs=[rows[pair_col][i] for i in keep] if pair_col else None,
            labels=[labels[i] for i in keep], lines=[i + 1 for i in keep], source=f"hub:{hub.path}/{hub_split}",
        )
    return splits


def _problem(task: TaskSpec | None, options: DataOptions, raw: dict[str, _RawSplit]) -> Problem:
    """The problem type, chosen once: --problem-type, else the task's, else single-label (lists of labels in your
    own file's label column make it multi-label)."""
    if options.problem_type:
        chosen = get_problem(options.problem_type)
        if task is not None and task.problem_type != chosen.name:
            raise DataError(f"--problem-type {chosen.name}: task {task.name!r} is {task.problem_type}: leave "
                            "--problem-type out, or use your own --data without --task")
        return chosen
    if task is not None:
        return get_problem(task.problem_type)
    train = raw.get("train") or raw.get("all")
    if train and train.labels and all(v.startswith("[") for v in train.labels[:100]):
        return get_problem("multi_label")
    if options.label_separator:
        return get_problem("multi_label")
    return get_problem("single_label")


def _to_task_data(task: TaskSpec | None, raw: dict[str, _RawSplit], label_names: list[str] | None,
                  seed: int, problem: Problem, separator: str | None) -> TaskData:
    notes = []
    if "all" in raw:
        raw["train"] = raw.pop("all")
    if label_names is None:
        if not raw["train"].labels:
            raise DataError(f"{raw['train'].source} has no rows (a header only?): add labelled rows")
        label_names = problem.label_names_from(raw["train"].labels, raw["train"].source, separator)
    datasets = {split: _encode(split_raw, label_names, task is None, problem, separator)
                for split, split_raw in raw.items()}
    train = datasets["train"]
    validation, test = datasets.get("validation"), datasets.get("test")
    if validation is None and test is None:
        # seed 004's split, computed as seed 004 does it: 20% test, then 1/8 of the other 80% as validation, so
        # 70/10/20 (seed 004's own comment calls it "80/10/10"; its numbers, and bakeoff's, are 70/10/20)
        rest, test_index = stratified_split(problem.strata(train.labels), 0.20, seed)
        pool = train.subset(rest)
        train_index, val_index = stratified_split(problem.strata(pool.labels), 0.125, seed)
        train, validation, test = pool.subset(train_index), pool.subset(val_index), train.subset(test_index)
        notes.append(f"one labelled file: stratified 70/10/20 train/validation/test split (seed {seed})")
    elif validation is None:
        train_index, val_index = stratified_split(problem.strata(train.labels), 0.10, seed)
        train, validation = train.subset(train_index), train.subset(val_index)
        notes.append(f"no validation split: stratified 10% of train held out (seed {seed})")
    for name, split in (("train", train), ("validation", validation), ("test", test)):
        if split is not None and len(split) == 0:
            _refuse_empty(name, split, raw)
    return TaskData(task=task.name if task else "custom", label_names=label_names, train=train,
                    validation=validation, test=test,
                    primary_metric=task.primary_metric if task else problem.default_metric, notes=notes,
                    problem_type=problem.name)


def _refuse_empty(name: str, split: TextDataset, raw: dict[str, _RawSplit]) -> None:
    """A split with no rows: a file holding only its header, or data too small to hold rows out of."""
    if name in raw and not raw[name].labels:
        raise DataError(f"{split.source} has no rows (a header only?): add labelled rows, or leave the file out")
    rows = len(raw["train"].labels)
    raise DataError(f"{raw['train'].source}: {rows} labelled row(s) are too few to hold out a {name} split: "
                    "give at least 10 rows per class, or a validation file beside the training file")


def _encode(raw: _RawSplit, label_names: list[str], custom: bool, problem: Problem,
            separator: str | None) -> TextDataset:
    labels = problem.parse_labels(raw.labels, label_names, raw.source, raw.lines, custom, separator)
    return TextDataset(texts=raw.texts, pairs=raw.pairs, labels=labels, source=raw.source)
