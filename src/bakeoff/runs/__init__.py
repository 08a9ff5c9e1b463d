"""One run as an operation on the store: train it, evaluate it, predict with it, compress it, bench it; locate it
from what a user typed; its typed results and the names of what its folder holds."""

from bakeoff.runs.bench_run import bench
from bakeoff.runs.compress_run import compress
from bakeoff.runs.inference import PredictResult, evaluate, predict
from bakeoff.runs.locate import Located, locate
from bakeoff.runs.results import CompressReport, TrainResult
from bakeoff.runs.train_run import train

__all__ = ["CompressReport", "Located", "PredictResult", "TrainResult", "bench", "compress", "evaluate", "locate",
           "predict", "train"]
