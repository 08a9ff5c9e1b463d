"""Typed results, and the documented schema of what a run writes. Readers use fields, never string keys.

``result.json`` (``TrainResult``, schema_version 4; schema 1-3 files still load) — every key, once:

- ``schema_version``; ``bakeoff_version``, ``git_commit`` (of the bakeoff source tree, or null), ``created_at``
  (UTC ISO-8601).
- ``run`` (``RunInfo``): ``id``, ``project``, ``name``, ``path``, ``status`` (COMPLETED or INTERRUPTED).
- ``config``: the resolved ``TrainConfig`` (every option, defaults filled in).
- ``model`` (``ModelInfo``): ``name``, ``location``, ``origin``, ``layers``, ``parameters``, ``checkpoint`` (a
  folder ``transformers.pipeline("text-classification", model=...)`` loads, or null), ``checkpoint_bytes``,
  ``checkpoint_files`` ({file: bytes}), ``checkpoint_sha256`` ({file: sha256} of every checkpoint file: weights,
  config.json with the label names, the tokenizer; schema 2: checked before loading; older runs hashed weights only).
- ``data`` (``DataInfo``): ``task``, ``label_names``, ``sizes`` {split: rows}, ``fingerprints`` {split: sha256[:16]},
  ``notes``, ``rows_at_max_length`` {split: rows whose tokens reached max_length, i.e. were cut or exactly fit},
  (schema 4) ``problem_type`` (single_label, regression or multi_label: ``bakeoff.problems``; files written before
  it existed are single-label and load so, and older readers ignore it: an addition within schema 4).
- ``training`` (``TrainingInfo``): ``seconds``, ``samples_per_second``, ``tokens_per_second`` (training rows and
  their real tokens per wall second), ``steps``, ``epochs_completed``, ``precision``, ``device``, ``best_step``,
  ``best_epoch``, ``selected_by``, ``stopped_early``, ``oom_fallbacks``, ``shortcuts`` (the same-function speed-ups
  that applied: ``training/first_token.py``, ``training/dropout.py``), ``world_size`` (processes that trained the
  run: ``--nproc``; 1 in files written before it existed) and ``backend`` (their process group: gloo or nccl;
  null in one process).
- ``validation`` / ``test``: an ``EvalResult`` (``test`` null where the task has no labelled test split): ``split``,
  ``rows``, ``loss``, ``metrics`` {name: value}, ``primary_metric``, ``per_class`` (per label, with its decision
  threshold, for multi-label; empty for regression), ``confusion_matrix`` (rows true, columns predicted;
  single-label only), ``seconds``, ``samples_per_second``. Both come from the same evaluation path as
  ``bakeoff evaluate`` (bf16 close calls re-checked in fp32).
- ``history``: one entry per evaluation during training: ``{"step", "epoch", "loss", metric: value, ...}``.
- ``latency_ms``: batch-1 inference on validation rows after warm-up: ``p50``, ``p95``, ``p99``, ``mean``,
  ``requests``, ``threads``, in the training precision; (schema 3) ``spread`` (p95 / p50) and ``conditions``: how
  busy the machine was while they were timed (``eval/bench.py``'s ``Contention``; its ``busy`` says why not to trust
  them, null when nothing competed enough to matter; absent in older files: not looked); (schema 5) ``budget_s``
  (the time bound the requests were timed under: at least 30 requests and ``budget_s`` seconds, at most
  ``requests_asked``; null: exactly ``requests_asked``) and ``p50_interval`` (the median's distribution-free 95%
  interval, ``eval/bench.py``'s ``median_interval``); ``requests`` is the number timed.
- (schema 4) ``decision``: ``eval/decision.py``'s Decision (the ``--calibrate`` temperature and the ``--threshold``
  chosen on validation, with where they were chosen), null when neither was asked for; ``training.class_weights``
  (the loss weight per class, null: unweighted); each split's probability metrics (``roc_auc``, ``pr_auc``, ``ece``,
  ``brier``) in ``metrics`` and its ``calibration`` (the reliability bins), absent in older files.
- ``hardware``: CPU model, core count, torch threads, relevant CPU flags, CUDA device, Python/torch versions.

``result.json`` of an embedding evaluation (``EmbeddingEvalResult``, schema_version 2; schema 1 files still load;
``load_result`` tells the two kinds of ``result.json`` apart by ``config.kind``/``kind``):

- ``run``, ``bakeoff_version``, ``git_commit``, ``created_at``, ``hardware``: as above.
- ``config`` (schema 2): the resolved ``EmbeddingConfig`` (``config/embedding.py``): the leaderboard's row key and
  a study trial's identity, as ``config`` is for training (schema 1 files: rebuilt from the fields below).
- ``model``: the resolved encoder (``EncoderSource``: reference, location, origin, layers, run_max_length).
- ``task``, ``kind`` (pairs, probe, retrieval), ``split``, ``pooling``, ``normalize``, ``precision``,
  ``max_length``; ``metrics`` {name: value} and ``primary_metric``.
- ``per_example``: per row of the split, in order, for paired verdicts: ``score``/``label``/``correct`` for pairs,
  ``predicted``/``true`` for probe, ``rank`` (1-based, of each query's relevant document) for retrieval.
- ``details`` (thresholds, corpus size); ``data`` {sizes, fingerprints, notes}; ``timings`` {embed_seconds,
  texts_embedded, texts_per_second, seconds}.

``compressed/<method>/report.json`` (``CompressReport``, schema_version 3; schema 1-2 files still load): ``run``,
``method``, ``path``, ``split``, ``rows``, ``primary_metric``; ``original`` and ``compressed`` (``MeasuredModel``:
``method``, ``backend``, ``metrics``, ``loss``, ``weights_bytes``, ``folder_bytes``, ``bench`` = latency percentiles,
throughput per length bucket and batch size, peak memory, and (schema 2) ``conditions``: how busy the machine was
while they were timed, ``eval/bench.py``'s ``Contention``); ``change`` (``Change``: metric deltas, ``flips``
(rows whose answer changed: a label, a score by ``SAME_SCORE`` or more, a label set), ``flip_share``, McNemar's test
on paired correctness (for scores: which model is closer to the gold score), ``size_ratio``, ``latency_p50_speedup``,
``latency_p95_speedup``, and (schema 2) ``timing_busy``: why the speed ratios are unreliable, the machine being busy
while either model was timed, or null; null in schema 1 files, which did not look); ``manifest``; ``predictions``
(the compressed model's answers on the split, in row order: label ids, scores or label sets as lists of label ids);
``problem_type`` (single_label, regression or multi_label: what ``flips`` and the test count, ``bakeoff.problems``;
absent in older files, which are single-label); (schema 3) ``original_source``: where the
original's figures came from (``runs/compress_run.py``): ``scores`` ``"measured"`` in this call or ``"reused"``
from ``from`` (a ``compressed/original-<split>.json`` measured at ``measured_at`` under the same checkpoint, rows,
threads, precision and machine), ``timings`` always ``"measured"`` in this call, and ``shared_by``: the methods of
this call that were compared with that one measurement of the original (empty in older files: not recorded).

``latency_ms`` of a ``bench`` of a ``MeasuredModel`` (schema 2) also carries ``spread`` and ``conditions``, as a
``result.json``'s ``latency_ms`` does; readers treat their absence as "not looked".
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bakeoff.config.embedding import KINDS
from bakeoff.errors import BakeoffError
from bakeoff.eval.results import EvalResult
from bakeoff.io import read_json, write_json_atomic
from bakeoff.runs.files import RESULT_FILE

SCHEMA_VERSION = 5
EMBEDDING_SCHEMA_VERSION = 2
COMPRESS_SCHEMA_VERSION = 3
T = TypeVar("T")


def _build(cls: type[T], values: dict[str, Any] | None) -> T:
    """A dataclass from a dict, ignoring keys it does not know and leaving missing ones at their defaults."""
    values = values or {}
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in values.items() if k in known})


@dataclass
class RunInfo:
    id: str
    project: str
    name: str
    path: str
    status: str = "COMPLETED"


@dataclass
class ModelInfo:
    name: str
    location: str
    origin: str
    layers: list[int] | None = None
    parameters: int | None = None
    checkpoint: str | None = None
    checkpoint_bytes: int | None = None
    checkpoint_files: dict[str, int] = field(default_factory=dict)
    checkpoint_sha256: dict[str, str] = field(default_factory=dict)

    @property
    def weights_bytes(self) -> int | None:
        """Bytes of the safetensors weights alone (what compressed models are compared against)."""
        sizes = [size for name, size in self.checkpoint_files.items() if name.endswith(".safetensors")]
        return sum(sizes) if sizes else None


@dataclass
class DataInfo:
    task: str
    label_names: list[str]
    sizes: dict[str, int]
    fingerprints: dict[str, str]
    notes: list[str] = field(default_factory=list)
    rows_at_max_length: dict[str, int] = field(default_factory=dict)
    problem_type: str = "single_label"


@dataclass
class TrainingInfo:
    seconds: float
    samples_per_second: float | None
    tokens_per_second: float | None
    steps: int
    epochs_completed: float
    precision: str
    device: str
    best_step: int | None = None
    best_epoch: float | None = None
    selected_by: str | None = None
    stopped_early: bool = False
    oom_fallbacks: list[dict[str, int]] = field(default_factory=list)
    shortcuts: dict[str, Any] = field(default_factory=dict)
    world_size: int = 1  # processes that trained the run (training/distributed.py)
    backend: str | None = None  # their process group (gloo, nccl); None in one process
    class_weights: list[float] | None = None  # the loss weight per class (--class-weights), None: unweighted


@dataclass
class TrainResult:
    """What ``bakeoff.train`` returns; ``to_dict()`` is ``result.json``."""

    run: RunInfo
    config: dict[str, Any]
    model: ModelInfo
    data: DataInfo
    training: TrainingInfo
    validation: EvalResult
    test: EvalResult | None
    history: list[dict[str, Any]]
    hardware: dict[str, Any]
    latency_ms: dict[str, float]
    bakeoff_version: str
    git_commit: str | None
    created_at: str
    decision: dict[str, Any] | None = None  # eval/decision.py's Decision (schema 4): temperature, threshold
    schema_version: int = SCHEMA_VERSION

    @property
    def checkpoint(self) -> str | None:
        return self.model.checkpoint

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: Path) -> None:
        write_json_atomic(path, self.to_dict())

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainResult:
        """Any schema version so far: 1 lacked ``checkpoint_sha256`` (loaded as empty); 1 and 2 lacked
        ``latency_ms``'s ``spread`` and ``conditions`` (read as not looked); 1-3 lacked ``decision``,
        ``training.class_weights`` and the probability metrics and ``calibration`` of each split (None, absent);
        1-4 lacked ``latency_ms``'s ``budget_s``, ``requests_asked`` and ``p50_interval`` (absent: exactly
        ``requests`` were timed)."""
        version = int(values.get("schema_version", 1))
        if version > SCHEMA_VERSION:
            raise BakeoffError(f"result schema {version} is newer than this bakeoff reads ({SCHEMA_VERSION}): "
                               "upgrade bakeoff")
        test = values.get("test")
        return cls(run=_build(RunInfo, values["run"]), config=dict(values["config"]),
                   model=_build(ModelInfo, values["model"]), data=_build(DataInfo, values["data"]),
                   training=_build(TrainingInfo, values["training"]),
                   validation=EvalResult.from_dict(values["validation"]),
                   test=EvalResult.from_dict(test) if test else None, history=list(values.get("history") or []),
                   hardware=dict(values.get("hardware") or {}), latency_ms=dict(values.get("latency_ms") or {}),
                   bakeoff_version=values.get("bakeoff_version", ""), git_commit=values.get("git_commit"),
                   created_at=values.get("created_at", ""), decision=values.get("decision"),
                   schema_version=version)

    @classmethod
    def load(cls, path: Path) -> TrainResult:
        """A run's ``result.json``; a missing or unreadable one is a ``BakeoffError`` naming the file."""
        return _parsed(path, "result", cls.from_dict)


@dataclass
class EmbeddingEvalResult:
    """What ``evaluate_embeddings`` returns; ``to_dict()`` is the run's ``result.json`` (see the module docstring)."""

    run: RunInfo
    model: dict[str, Any]
    task: str
    kind: str
    split: str
    pooling: str
    normalize: bool
    precision: str
    max_length: int
    metrics: dict[str, float]
    primary_metric: str
    per_example: dict[str, list[Any]] = field(repr=False)
    details: dict[str, Any]
    data: dict[str, Any]
    timings: dict[str, float]
    hardware: dict[str, Any]
    bakeoff_version: str
    created_at: str
    git_commit: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    schema_version: int = EMBEDDING_SCHEMA_VERSION

    @property
    def primary(self) -> float:
        return self.metrics[self.primary_metric]

    @property
    def seed(self) -> int:
        return int(self.config.get("seed", 42))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> EmbeddingEvalResult:
        """Any schema so far: 1 had no ``config`` (rebuilt from the run's own fields and parameters)."""
        version = int(document.get("schema_version", 1))
        if version > EMBEDDING_SCHEMA_VERSION:
            raise BakeoffError(f"embedding result schema {version} is newer than this bakeoff reads "
                               f"({EMBEDDING_SCHEMA_VERSION}): upgrade bakeoff")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in document.items() if k in known}
        if not values.get("config"):
            values["config"] = {"model": (document.get("model") or {}).get("reference"), "task": document["task"],
                                "kind": document["kind"], "pooling": document["pooling"],
                                "normalize": document["normalize"], "precision": document["precision"],
                                "max_length": document["max_length"], "split": document["split"]}
        return cls(**{**values, "run": _build(RunInfo, document["run"]), "schema_version": version})

    @classmethod
    def load(cls, path: str | Path) -> EmbeddingEvalResult:
        """Read a run folder's (or a file's) ``result.json``."""
        path = Path(path)
        file = path / RESULT_FILE if path.is_dir() else path
        document = _read(file, "result")
        if document.get("kind") not in KINDS:
            raise BakeoffError(f"{path}: not an embedding evaluation result")
        return _checked(file, "result", cls.from_dict, document)


def load_result(path: Path) -> TrainResult | EmbeddingEvalResult:
    """A run's ``result.json``, typed by what it holds: a training result or an embedding evaluation.

    >>> load_result(Path("store/bakeoff/sst2-minilm-l6-seed42/result.json")).run.status  # doctest: +SKIP
    'COMPLETED'
    """
    document = _read(path, "result")
    parse = EmbeddingEvalResult.from_dict if document.get("kind") in KINDS else TrainResult.from_dict
    return _checked(path, "result", parse, document)


@dataclass
class MeasuredModel:
    """One model measured on one split: metrics, size, and its ``bench`` (latency, throughput, memory)."""

    method: str
    backend: str
    metrics: dict[str, float]
    loss: float | None
    weights_bytes: int
    folder_bytes: int
    bench: dict[str, Any]

    @property
    def latency_p50_ms(self) -> float:
        return float(self.bench["latency_ms"]["p50"])


@dataclass
class Change:
    """What compression cost and gained, the compressed model against the original on the same rows."""

    metrics: dict[str, float]
    flips: int
    flip_share: float
    mcnemar: dict[str, Any]
    size_ratio: float
    latency_p50_speedup: float
    latency_p95_speedup: float
    timing_busy: str | None = None  # schema 2: why the latency ratios are unreliable (a busy machine), or None

    @property
    def timing_note(self) -> str | None:
        """The line a table or report shows beside the ratios, when they cannot be trusted."""
        if not self.timing_busy:
            return None
        return f"measured while the machine was busy: ratio unreliable ({self.timing_busy})"


@dataclass
class CompressReport:
    """A compressed model measured against its original on the same split, threads and machine;
    ``to_dict()`` is the ``report.json`` stored beside the compressed model."""

    run: str
    method: str
    path: str
    split: str
    rows: int
    primary_metric: str
    original: MeasuredModel
    compressed: MeasuredModel
    change: Change
    manifest: dict[str, Any]
    predictions: list[Any] = field(repr=False, default_factory=list)
    original_source: dict[str, Any] = field(default_factory=dict)  # schema 3: see the module docstring
    problem_type: str = "single_label"
    schema_version: int = COMPRESS_SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CompressReport:
        return cls(run=values["run"], method=values["method"], path=values["path"], split=values["split"],
                   rows=values["rows"], primary_metric=values["primary_metric"],
                   original=_build(MeasuredModel, values["original"]),
                   compressed=_build(MeasuredModel, values["compressed"]), change=_build(Change, values["change"]),
                   manifest=dict(values.get("manifest") or {}), predictions=list(values.get("predictions") or []),
                   original_source=dict(values.get("original_source") or {}),
                   problem_type=str(values.get("problem_type") or "single_label"),
                   schema_version=int(values.get("schema_version", 1)))

    @classmethod
    def load(cls, path: Path) -> CompressReport:
        return _parsed(path, "compression report", cls.from_dict)


def _read(path: Path, what: str) -> dict[str, Any]:
    try:
        values = read_json(path, default=None)
    except ValueError as error:
        raise BakeoffError(f"{path}: the {what} is not valid JSON ({error}): run it again") from None
    if not isinstance(values, dict):
        raise BakeoffError(f"{path}: no {what} there (the run did not finish?)")
    return values


def _parsed(path: Path, what: str, parse: Any) -> Any:
    return _checked(path, what, parse, _read(path, what))


def _checked(path: Path, what: str, parse: Any, values: dict[str, Any]) -> Any:
    try:
        return parse(values)
    except (KeyError, TypeError) as error:
        raise BakeoffError(f"{path}: the {what} is incomplete ({type(error).__name__}: {error}): run it again") \
            from None
