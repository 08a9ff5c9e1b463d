"""Sentence embeddings: pooling, an ``Embedder`` for any encoder, an ``Index`` for semantic search, and
embedding tasks (pair similarity, classification probe, retrieval) evaluated without training the encoder."""

from bakeoff.embed.encoder import Embedder, embed
from bakeoff.embed.index import Hit, Index
from bakeoff.embed.pooling import POOLINGS, l2_normalize, pool
from bakeoff.embed.quantize import quantize_vectors

__all__ = ["POOLINGS", "Embedder", "Hit", "Index", "embed", "l2_normalize", "pool", "quantize_vectors"]
