"""Smaller output vectors: int8 (a scale per vector) or binary (one bit per dimension, packed).

int8 scales each vector by its own largest magnitude: cosine similarity ignores a vector's length, so no scale
needs to be stored. binary keeps the sign of each dimension; search compares them by Hamming distance.
"""

from __future__ import annotations

import numpy as np

from bakeoff.errors import BakeoffError

QUANTIZATIONS = ("int8", "binary")


def quantize_vectors(vectors: np.ndarray, method: str) -> np.ndarray:
    """``int8``: (n, dim) int8; ``binary``: (n, ceil(dim / 8)) uint8 of packed sign bits.

    >>> quantize_vectors(np.array([[0.5, -1.0]]), "int8").tolist()
    [[64, -127]]
    >>> quantize_vectors(np.array([[0.5, -1.0, 0.2]]), "binary").tolist()
    [[160]]
    """
    if method == "int8":
        peak = np.abs(vectors).max(axis=-1, keepdims=True)
        scaled = vectors / np.where(peak > 0, peak, 1) * 127
        return np.clip(np.rint(scaled), -127, 127).astype(np.int8)
    if method == "binary":
        return np.packbits(vectors > 0, axis=-1)
    raise BakeoffError(f"unknown quantization {method!r}: use one of {', '.join(QUANTIZATIONS)}")


def hamming_similarity(queries: np.ndarray, packed: np.ndarray) -> np.ndarray:
    """(q, n) count of equal bits between packed binary vectors (higher is more similar)."""
    bits = packed.shape[1] * 8
    table = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(axis=1)
    distance = table[queries[:, None, :] ^ packed[None, :, :]].sum(axis=-1)
    return bits - distance
