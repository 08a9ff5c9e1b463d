"""Batched inference: rows sorted by length into batches, run without gradients, logits back in input order."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from bakeoff.data.batching import Encoded, collate, sorted_batches
from bakeoff.runtime import autocast


@dataclass
class Predictions:
    logits: np.ndarray  # (n, num_labels) float32, in input order
    seconds: float

    @property
    def labels(self) -> np.ndarray:
        return self.logits.argmax(axis=-1)

    @property
    def probabilities(self) -> np.ndarray:
        shifted = self.logits - self.logits.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=-1, keepdims=True)


@torch.inference_mode()
def predict_logits(model: nn.Module, encoded: Encoded, batch_size: int, precision: str,
                   device: torch.device) -> Predictions:
    """Logits for every row of ``encoded``; the model is left in eval mode."""
    model.eval()
    logits = np.zeros((len(encoded), model.config.num_labels), dtype=np.float32)
    start = time.perf_counter()
    for rows in sorted_batches(encoded.lengths, batch_size):
        batch = collate(encoded, rows)
        batch.pop("labels")
        with autocast(precision, device):
            out = model(**{k: v.to(device) for k, v in batch.items()}).logits  # (batch, num_labels)
        logits[rows] = out.float().cpu().numpy()
    return Predictions(logits, time.perf_counter() - start)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy in float64 (the validation loss)."""
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())
