"""bakeoff: fair, fast, reproducible comparisons of encoder transformers on text classification.

>>> import bakeoff
>>> result = bakeoff.train(model="minilm-l3", task="demo", epochs=3)  # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

import bakeoff.report  # noqa: E402,F401  loaded before the api, so its ``report`` function keeps the name

# ``compress`` and ``report`` name API functions; the ``bakeoff.compress``/``bakeoff.report`` packages stay importable by its full name.
from bakeoff.api import (  # noqa: E402
    CompressResult,
    PredictResult,
    bench,
    compress,
    evaluate,
    leaderboard,
    predict,
    recommend,
    report,
    run_study,
    train,
)
from bakeoff.config import TrainConfig  # noqa: E402
from bakeoff.errors import BakeoffError  # noqa: E402
from bakeoff.eval import EvalResult, TrainResult  # noqa: E402
from bakeoff.track import Experiment, Store  # noqa: E402

__all__ = ["BakeoffError", "CompressResult", "EvalResult", "Experiment", "PredictResult", "Store", "TrainConfig",
           "TrainResult", "__version__", "bench", "compress", "evaluate", "leaderboard", "predict", "recommend", "report", "run_study",
           "train"]
