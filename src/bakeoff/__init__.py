"""bakeoff: fair, fast, reproducible comparisons of encoder transformers on text classification.

>>> import bakeoff
>>> result = bakeoff.train(model="minilm-l3", task="demo", epochs=3)  # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from bakeoff.api import PredictResult, evaluate, predict, train  # noqa: E402
from bakeoff.config import TrainConfig  # noqa: E402
from bakeoff.errors import BakeoffError  # noqa: E402
from bakeoff.eval import EvalResult, TrainResult  # noqa: E402
from bakeoff.track import Experiment, Store  # noqa: E402

__all__ = ["BakeoffError", "EvalResult", "Experiment", "PredictResult", "Store", "TrainConfig", "TrainResult",
           "__version__", "evaluate", "predict", "train"]
