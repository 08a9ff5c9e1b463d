"""One run as an operation on the store: train it, evaluate it, predict with it, compress it, bench it, embed
with it; evaluate frozen embeddings as a run; locate a run from what a user typed; its typed results and the names
of what its folder holds."""

from bakeoff.runs.bench_run import bench
from bakeoff.runs.compress_run import compress, compress_methods
from bakeoff.runs.embed_run import Embedder, Index, embed, locate_encoder
from bakeoff.runs.embedding_eval import EmbeddingEvalResult, evaluate_embeddings
from bakeoff.runs.inference import PredictResult, evaluate, predict
from bakeoff.runs.locate import Located, locate
from bakeoff.runs.results import CompressReport, TrainResult
from bakeoff.runs.train_run import train

__all__ = ["CompressReport", "Embedder", "EmbeddingEvalResult", "Index", "Located", "PredictResult", "TrainResult",
           "bench", "compress", "compress_methods", "embed", "evaluate", "evaluate_embeddings", "locate", "locate_encoder", "predict",
           "train"]
