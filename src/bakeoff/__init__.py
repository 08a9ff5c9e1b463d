"""bakeoff: fair, fast, reproducible comparisons of encoder transformers on text classification.

The public API is loaded on first use, so ``import bakeoff`` (and ``bakeoff --help``) stays fast: torch and
transformers are imported only by the operations that need them. The report is written by
``bakeoff.api.report(...)`` (``bakeoff.report`` is the package that builds it: a function cannot share its name).

>>> import bakeoff
>>> result = bakeoff.train(model="minilm-l3", task="demo", epochs=3)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from bakeoff._version import __version__  # noqa: F401  (public)

_PUBLIC = {
    "train": "bakeoff.api", "evaluate": "bakeoff.api", "predict": "bakeoff.api", "compress": "bakeoff.api",
    "compress_methods": "bakeoff.api", "bench": "bakeoff.api", "demo": "bakeoff.api", "run_study": "bakeoff.api", "leaderboard": "bakeoff.api",
    "export_mlflow": "bakeoff.api",
    "recommend": "bakeoff.api", "decision_plan": "bakeoff.api",
    "TrainResult": "bakeoff.api", "CompressReport": "bakeoff.api", "PredictResult": "bakeoff.api",
    "EvalResult": "bakeoff.eval", "TrainConfig": "bakeoff.config", "BakeoffError": "bakeoff.errors",
    "Experiment": "bakeoff.track", "Store": "bakeoff.track",
    "embed": "bakeoff.api", "Embedder": "bakeoff.api", "Index": "bakeoff.api", "evaluate_embeddings": "bakeoff.api",
    "EmbeddingEvalResult": "bakeoff.api",
}

__all__ = sorted([*_PUBLIC, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        import importlib

        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value  # looked up once
        return value
    raise AttributeError(f"module 'bakeoff' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
