"""Batched inference: rows sorted by length into batches, run without gradients, logits back in input order.

Every backend is reached through one ``Forward`` (``models/forward.py``), so prediction is the same for all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from bakeoff.data.batching import Encoded, collate, sorted_batches
from bakeoff.models.forward import Forward, torch_forward

RECHECK_MARGIN = 0.25  # logit gap under which a bf16 prediction is recomputed in fp32


@dataclass
class Predictions:
    """Logits in input order, and how they become a decision (``eval/decision.py``): ``temperature`` divides the
    logits before the softmax (calibration), ``threshold`` on a binary task's positive probability picks label 1."""

    logits: np.ndarray  # (n, num_labels) float32, in input order
    seconds: float
    temperature: float = 1.0
    threshold: float | None = None

    @property
    def labels(self) -> np.ndarray:
        if self.threshold is not None and self.logits.shape[-1] == 2:
            return (self.probabilities[:, 1] >= self.threshold).astype(np.int64)
        return self.logits.argmax(axis=-1)

    @property
    def probabilities(self) -> np.ndarray:
        logits = self.logits / self.temperature
        shifted = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=-1, keepdims=True)


def model_inputs(encoded: Encoded, rows: np.ndarray) -> dict[str, torch.Tensor]:
    """The padded batch of ``rows`` without its labels."""
    batch = collate(encoded, rows)
    batch.pop("labels")
    return batch


CloseCalls = Callable[[np.ndarray, float], np.ndarray]  # (logits, margin) -> rows a small change could flip


def top_two_close(logits: np.ndarray, margin: float) -> np.ndarray:
    """Rows whose top two logits are closer than ``margin`` (single-label classification's close calls)."""
    if logits.shape[-1] < 2:
        return np.array([], dtype=np.int64)
    top2 = np.sort(logits, axis=-1)[:, -2:]
    return np.flatnonzero(top2[:, 1] - top2[:, 0] < margin)


@torch.inference_mode()
def predict_with(forward: Forward, encoded: Encoded, batch_size: int, num_labels: int,
                 recheck: Forward | None = None, margin: float = RECHECK_MARGIN,
                 close_calls: CloseCalls = top_two_close) -> Predictions:
    """Logits for every row of ``encoded`` through any backend's ``forward``.

    With ``recheck`` (the same weights in fp32), the rows ``close_calls`` names (the problem type's: top two
    logits closer than ``margin``, or a logit that near its threshold) are run again through it: bf16 rounding
    moves logits by a few hundredths, which only changes an answer that was a close call, so bf16 speed comes with
    fp32's answers. A regression score has no close call: it keeps bf16's rounding, a few hundredths.
    """
    logits = np.zeros((len(encoded), num_labels), dtype=np.float32)
    start = time.perf_counter()
    _fill(logits, forward, encoded, np.arange(len(encoded)), batch_size)
    if recheck is not None:
        close = close_calls(logits, margin)
        if len(close):
            _fill(logits, recheck, encoded, close, batch_size)
    return Predictions(logits, time.perf_counter() - start)


def _fill(logits: np.ndarray, forward: Forward, encoded: Encoded, rows: np.ndarray, batch_size: int) -> None:
    for batch in sorted_batches(encoded.lengths[rows], batch_size):
        chosen = rows[batch]
        out = forward(model_inputs(encoded, chosen))
        logits[chosen] = out.float().cpu().numpy() if isinstance(out, torch.Tensor) else out


def predict_logits(model: nn.Module, encoded: Encoded, batch_size: int, precision: str,
                   device: torch.device) -> Predictions:
    """Logits of a PyTorch module for every row of ``encoded``; the model is left in eval mode."""
    return predict_with(torch_forward(model, precision, device), encoded, batch_size, model.config.num_labels)
