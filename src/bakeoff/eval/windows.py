"""Scores of long texts from their windows (``data/windows.py``): every window through the model, then each row's
logits as the mean of its windows' logits.

The mean of logits (not of probabilities, not the max) is what the issue's users compare against and what
chunked classifiers usually report; a window without the opinion pulls its row toward neutral rather than
flipping it, and the pooled logits stay logits, so a temperature and a threshold apply to them as to any row's.
"""

from __future__ import annotations

import numpy as np

from bakeoff.data.batching import Encoded
from bakeoff.data.windows import Windows
from bakeoff.eval.predict import CloseCalls, Predictions, predict_with, top_two_close
from bakeoff.models.forward import Forward


def pool_mean(window_logits: np.ndarray, owner: np.ndarray, rows: int) -> np.ndarray:
    """(rows, labels): the mean of each row's windows.

    >>> pool_mean(np.array([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]]), np.array([0, 0, 1]), 2).tolist()
    [[2.0, 1.0], [5.0, 5.0]]
    """
    sums = np.zeros((rows, window_logits.shape[1]), dtype=np.float64)
    np.add.at(sums, owner, window_logits)
    counts = np.bincount(owner, minlength=rows)[:, None]
    return (sums / np.maximum(counts, 1)).astype(np.float32)


def predict_rows(forward: Forward, encoded: Encoded | Windows, batch_size: int, num_labels: int,
                 recheck: Forward | None = None, close_calls: CloseCalls = top_two_close) -> Predictions:
    """``predict_with`` for rows given whole or as windows: one row of logits per row either way; ``close_calls``
    (the problem type's) picks the rows ``recheck`` runs again."""
    if not isinstance(encoded, Windows):
        return predict_with(forward, encoded, batch_size, num_labels, recheck, close_calls=close_calls)
    windows = predict_with(forward, encoded.encoded, batch_size, num_labels, recheck, close_calls=close_calls)
    return Predictions(pool_mean(windows.logits, encoded.owner, len(encoded)), windows.seconds)
