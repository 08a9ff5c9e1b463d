"""Token vectors -> one sentence vector: mean, [CLS] or max pooling, and L2 normalisation.

Padding never takes part: a mean counts only real tokens, and a max sees padded positions as -inf, so a padding
vector can never win a dimension (its values are whatever the encoder computed for a [PAD] token, not zeros).
"""

from __future__ import annotations

import numpy as np
import torch

from bakeoff.config.embedding import POOLINGS

__all__ = ["POOLINGS", "l2_normalize", "pool"]


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """One vector per row from ``hidden`` (batch, seq, dim) where ``attention_mask`` (batch, seq) is 1.

    ``pooling`` is one of ``POOLINGS``, checked once where the options are (``EncoderConfig.validate``).

    >>> hidden = torch.tensor([[[1.0], [3.0], [100.0]]])  # the third position is padding
    >>> pool(hidden, torch.tensor([[1, 1, 0]]), "max").tolist(), pool(hidden, torch.tensor([[1, 1, 0]]), "mean").tolist()
    ([[3.0]], [[2.0]])
    """
    if pooling == "cls":
        return hidden[:, 0]
    real = attention_mask.unsqueeze(-1).to(torch.bool)  # (batch, seq, 1)
    if pooling == "max":
        return hidden.masked_fill(~real, float("-inf")).amax(dim=1)
    total = (hidden * real).sum(dim=1)  # (batch, dim)
    count = real.sum(dim=1).clamp(min=1)  # (batch, 1); every row has at least [CLS]
    return total / count


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (an all-zero row stays zero), so a dot product is the cosine.

    >>> l2_normalize(np.array([[3.0, 4.0]])).tolist()
    [[0.6, 0.8]]
    """
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1)
