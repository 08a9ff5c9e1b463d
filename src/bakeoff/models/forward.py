"""``Forward``: one calling convention for every backend — a batch of tensors in, logits out.

A PyTorch module in any precision, an int8 module and an ONNX Runtime session are all reached through it, so
prediction, latency and throughput are measured the same way for each.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from bakeoff.runtime import autocast

Forward = Callable[[dict[str, torch.Tensor]], "torch.Tensor | np.ndarray"]


def torch_forward(model: nn.Module, precision: str, device: torch.device) -> Forward:
    """A module's forward in ``precision`` (autocast for bf16/fp16); the module is put in eval mode."""
    model.eval()

    def forward(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        with autocast(precision, device):
            return model(**{k: v.to(device) for k, v in batch.items()}).logits  # (batch, num_labels)

    forward.device = device  # type: ignore[attr-defined]  # the clock must wait for this device (eval/bench.py)
    return forward
