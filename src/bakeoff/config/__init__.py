"""Typed configs: every option a run takes, with its default, validated before any work starts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from bakeoff.errors import BakeoffError


@dataclass
class TrainConfig:
    """One fine-tuning run. The names are the ones users know from Hugging Face and the seeds.

    >>> TrainConfig(model="minilm-l3", task="demo", epochs=2).validate().epochs
    2.0
    """

    model: str = "minilm-l6"
    task: str | None = "demo"
    data: str | None = None  # a folder of split files or one file (overrides the task's data)
    text_column: str | None = None
    text_pair_column: str | None = None
    label_column: str | None = None
    layers: list[int] | None = None  # keep only these encoder layers
    max_length: int = 128
    learning_rate: float = 5e-5
    batch_size: int = 32
    eval_batch_size: int = 128
    epochs: float = 1.0
    max_steps: int | None = None  # stop after this many optimizer steps (overrides epochs)
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    sparse_embeddings: bool = True  # update only the word-embedding rows a batch uses (train/optim.py says why)
    gradient_accumulation_steps: int = 1
    train_fraction: float = 1.0
    seed: int = 42
    eval_steps: int | None = None  # evaluate every N optimizer steps; None: once per epoch
    best_metric: str | None = None  # choose the kept checkpoint by this validation metric (default: the task's)
    early_stopping_patience: int | None = None  # stop after N evaluations without improvement
    precision: str = "auto"  # auto | bf16 | fp16 | fp32
    device: str = "auto"
    threads: int | None = None  # torch intra-op threads (default: torch's choice, the core count)
    nproc: int = 1  # processes (GPUs) for this one run, under torchrun (train/launch.py)
    project: str = "bakeoff"
    name: str | None = None
    save_checkpoint: bool = True
    quiet: bool = False
    tags: list[str] = field(default_factory=list)

    def validate(self) -> TrainConfig:
        """Check ranges and types; raise one ``BakeoffError`` naming the option and the fix."""
        for name in ("max_length", "batch_size", "eval_batch_size", "gradient_accumulation_steps", "nproc"):
            _positive_int(name, getattr(self, name))
        if self.max_length > 8192:
            raise BakeoffError(f"--max-length {self.max_length} is larger than any encoder takes: use <= 512")
        for name in ("learning_rate", "epochs"):
            if not float(getattr(self, name)) > 0:
                raise BakeoffError(f"--{name.replace('_', '-')} must be > 0, got {getattr(self, name)}")
        if not 0 < self.train_fraction <= 1:
            raise BakeoffError(f"--train-fraction must be in (0, 1], got {self.train_fraction}")
        if not 0 <= self.warmup_ratio < 1:
            raise BakeoffError(f"--warmup-ratio must be in [0, 1), got {self.warmup_ratio}")
        for name in ("max_steps", "eval_steps", "early_stopping_patience"):
            if getattr(self, name) is not None:
                _positive_int(name, getattr(self, name))
        if self.task is None and self.data is None:
            raise BakeoffError("no data: give --task (see `bakeoff tasks`) or --data FILE_OR_FOLDER")
        self.epochs = float(self.epochs)
        self.learning_rate = float(self.learning_rate)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            import difflib

            close = difflib.get_close_matches(unknown[0], known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise BakeoffError(f"unknown setting {unknown[0]!r}{hint}")
        return cls(**values)


def _positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BakeoffError(f"--{name.replace('_', '-')} must be a whole number >= 1, got {value!r}")


__all__ = ["TrainConfig"]
