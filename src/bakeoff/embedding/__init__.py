"""Sentence embeddings: pooling, an ``Embedder`` for any encoder, an ``Index`` for semantic search, and
the scoring of embedding tasks (pair similarity, classification probe, retrieval) without training the encoder.

The mechanics only: resolving a trained run and recording an evaluation as a run are ``bakeoff.runs.embed_run``
and ``bakeoff.runs.embedding_eval``."""

from bakeoff.embedding.encoder import Embedder, embed
from bakeoff.embedding.index import Hit, Index
from bakeoff.embedding.locate import EncoderSource, model_source
from bakeoff.embedding.pooling import POOLINGS, l2_normalize, pool
from bakeoff.embedding.quantize import quantize_vectors

__all__ = ["POOLINGS", "Embedder", "EncoderSource", "Hit", "Index", "embed", "l2_normalize", "model_source", "pool",
           "quantize_vectors"]
