"""``EncoderConfig`` (how texts become vectors) and ``EmbeddingConfig`` (an embedding evaluation: frozen vectors
scored on a task), every option declared once: the embedding commands' flags are made from them, as train's are.

The names an embedding study may set or sweep (``pooling``, ``normalize``, ``precision``, ``max_length``, ...)
are checked against these declarations at their line of the study file, as training settings are against
``TrainConfig``. The non-identity options (how it runs: threads, project, name, quiet, tags) carry the same names
as ``TrainConfig``'s, so ``identity``, ``variant_of`` and ``config_digest`` treat both configs alike.

The names of the embedding kinds, poolings and precisions live here, on the lowest floor, so the study checks and
``bakeoff.embedding`` read the same tuples.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from bakeoff.config.options import coerce_option, from_mapping, option, specs
from bakeoff.errors import BakeoffError

KINDS = ("pairs", "probe", "retrieval", "sts")
PRIMARY_METRICS = {"pairs": "average_precision", "probe": "accuracy", "retrieval": "ndcg@10",
                   "sts": "spearman"}  # what ranks a kind
POOLINGS = ("mean", "cls", "max")
# int8: bakeoff's dynamic int8 Linear layers; onnx / onnx-int8: the bare encoder exported to ONNX Runtime (fp32, or
# int8 MatMul weights quantized per channel), made when the Embedder is (a few seconds)
EMBEDDING_PRECISIONS = ("fp32", "bf16", "int8", "onnx", "onnx-int8")
SPLITS = ("validation", "test")  # train fits the probe and chooses the pair thresholds


@dataclass
class EncoderConfig:
    """How an encoder turns texts into sentence vectors: the ``Embedder``'s options, and the flags of ``bakeoff
    embed`` and ``bakeoff index build``.

    >>> EncoderConfig(model="minilm-l6", pooling="max", batch_size="16").validate().batch_size
    16
    """

    model: str = option("minilm-l6", "Alias, hub id, local folder, or a trained run (its encoder).", kind=str,
                        study=False)
    pooling: str = option("mean", "Token vectors -> one sentence vector: mean, cls or max.", kind=str,
                          choices=POOLINGS)
    normalize: bool = option(True, "Scale every vector to unit length.", kind=bool)
    precision: str = option("fp32", "fp32, bf16, int8 (dynamic int8 Linear layers), onnx or onnx-int8 (ONNX "
                            "Runtime).", kind=str, choices=EMBEDDING_PRECISIONS)
    max_length: int | None = option(None, "Tokens per text; longer ones are cut.", kind=int, at_least=4,
                                    at_most=8192, off="the model's own")
    batch_size: int = option(64, "Texts per forward pass.", kind=int, at_least=1)
    threads: int | None = option(None, "Torch intra-op threads.", kind=int, at_least=1, off="torch's choice",
                                 identity=False, study=False)
    device: str = option("auto", "auto (a GPU for fp32/bf16 when there is one), cpu, cuda or cuda:N.", kind=str,
                         identity=False, study=False)

    def validate(self) -> EncoderConfig:
        """Coerce and range-check every option; one ``BakeoffError`` naming the option and the fix."""
        for name in specs(type(self)):
            setattr(self, name, coerce_option(type(self), name, getattr(self, name)))
        return self

    def encoder(self) -> EncoderConfig:
        """The encoder's part of this config (a copy of it, or an ``EmbeddingConfig``'s encoder options)."""
        return EncoderConfig(**{name: getattr(self, name) for name in specs(EncoderConfig)})

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EncoderConfig:
        """A config from a mapping (keywords, an index's settings); unknown keys are refused with a hint."""
        return from_mapping(cls, values, "embedding option")


@dataclass
class EmbeddingConfig(EncoderConfig):
    """One embedding evaluation: ``model``'s frozen vectors (``EncoderConfig``'s options) scored on ``task`` as
    ``kind``.

    >>> EmbeddingConfig(model="minilm-l6", task="mrpc", kind="pairs", pooling="max").validate().pooling
    'max'
    """

    task: str | None = option(None, "Task name (see `bakeoff tasks`).", kind=str, off="your own --data",
                              study=False)
    kind: str = option("pairs", "pairs (cosine -> AP), probe (logistic regression), retrieval (nDCG@10) or sts "
                       "(cosine vs gold similarity scores -> Spearman).",
                       kind=str, choices=KINDS, study=False)
    data: str | None = option(None, "A folder of split files, or one CSV/TSV/JSONL/Parquet file.", kind=str,
                              off="the task's data")
    text_column: str | None = option(None, "Column holding the text (retrieval files: the query).", kind=str,
                                     off="the task's")
    text_pair_column: str | None = option(None, "Column holding the second text (retrieval files: the document).",
                                          kind=str, off="the task's, if any")
    label_column: str | None = option(None, "Column holding the label.", kind=str, off="the task's")
    split: str = option("validation", "The split scored (train fits the probe and the thresholds).", kind=str,
                        choices=SPLITS)
    train_fraction: float = option(1.0, "Share of the training rows (probe, thresholds).", kind=float, above=0,
                                   at_most=1)
    seed: int = option(42, "Seed for the training subset and the probe.", kind=int, at_least=0, study=False)
    project: str = option("embeddings", "Store project the run is recorded in.", kind=str, identity=False,
                          study=False)
    name: str | None = option(None, "Run name (default: <kind>-<task>-<model>-<pooling>).", kind=str,
                              off="derived", identity=False, study=False)
    quiet: bool = option(True, "No progress output.", kind=bool, identity=False, study=False)
    tags: list[str] = option([], "Tags recorded with the run.", kind="strs", identity=False)

    def validate(self) -> EmbeddingConfig:
        """Coerce and range-check every option; one ``BakeoffError`` naming the option and the fix."""
        super().validate()
        if self.task is None and self.data is None:
            raise BakeoffError("no data: give a task (see `bakeoff tasks`) or data (a folder or a file)")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EmbeddingConfig:
        """A config from a mapping (a result's ``config``, a study's trial); unknown keys are refused."""
        return from_mapping(cls, values, "embedding setting")


def is_embedding(config: dict[str, Any]) -> bool:
    """Does this resolved config (a trial's, a result's) describe an embedding evaluation rather than training?

    >>> is_embedding(EmbeddingConfig(task="mrpc").to_dict()), is_embedding({"model": "x", "epochs": 1})
    (True, False)
    """
    return config.get("kind") in KINDS and "pooling" in config
