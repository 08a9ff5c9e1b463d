"""Loss weights for imbalanced classes: ``--class-weights balanced|none|w1,w2,...`` resolved against the training
rows, and the weighted cross-entropy the loop uses in place of the model's own loss.

``balanced`` is scikit-learn's rule (``compute_class_weight("balanced")``): ``rows / (classes * rows_of_class)``,
so every class contributes the same total weight to an epoch's loss. The resolved weights are recorded with the
run (``result.json``: ``training.class_weights``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bakeoff.config.options import OptionError
from bakeoff.config.train import parse_class_weights

LossOf = Callable[[nn.Module, dict[str, torch.Tensor]], torch.Tensor]


def resolve_class_weights(value: str | None, labels: np.ndarray, label_names: list[str]) -> list[float] | None:
    """One weight per class (label order), or None for the unweighted loss; a wrong count, or ``balanced`` with
    a class absent from the training rows, is one ``OptionError``.

    >>> resolve_class_weights("balanced", np.array([0, 0, 0, 1]), ["no", "yes"])
    [0.6666666666666666, 2.0]
    """
    if value is None:
        return None
    parsed = parse_class_weights(value)
    classes = len(label_names)
    if parsed == "balanced":
        counts = np.bincount(labels, minlength=classes)
        if (counts == 0).any():
            missing = [name for name, count in zip(label_names, counts, strict=True) if count == 0]
            raise OptionError("class_weights", f"balanced: class {missing[0]!r} has no training rows; give the "
                                               "weights yourself (w1,w2,...)")
        return [float(len(labels) / (classes * count)) for count in counts]
    if len(parsed) != classes:
        raise OptionError("class_weights", f"has {len(parsed)} weights but the task has {classes} classes "
                                           f"({', '.join(label_names)}): give one weight per class, in that order")
    return list(parsed)


def model_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The model's own loss (mean cross-entropy over the batch)."""
    return model(**batch).loss


def weighted_loss(weights: list[float] | None, device: torch.device) -> LossOf:
    """The loss the loop calls: the model's own, or cross-entropy with ``weights`` (a weighted mean, as
    ``torch.nn.CrossEntropyLoss(weight=...)`` takes it)."""
    if weights is None:
        return model_loss
    weight = torch.tensor(weights, dtype=torch.float32, device=device)

    def loss_of(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        logits = model(**inputs).logits  # (batch, classes)
        return F.cross_entropy(logits.float(), batch["labels"], weight=weight)

    return loss_of
