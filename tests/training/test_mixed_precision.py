"""Mixed precision on the CPU: the bf16 path and the fp16 GradScaler path reach fp32's losses step by step.

The same checks run on a GPU in ``tests/gpu/test_cuda.py``; here they pin the logic (autocast dtype, loss scaling,
unscaling before clipping, skipped steps on overflow) on the machine CI has.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bakeoff.errors import BakeoffError
from bakeoff.runtime import resolve_precision
from bakeoff.training.loop import _clip_and_step
from bakeoff.training.optim import build_optimizers
from tests.mixed_precision import LOSS_TOLERANCE, largest_gap, step_losses, without_dropout


@pytest.fixture(scope="module")
def quiet_model_dir(tiny_model_dir, tmp_path_factory):
    return without_dropout(tiny_model_dir, tmp_path_factory.mktemp("no-dropout") / "tiny")


def test_bf16_and_fp16_with_the_scaler_reach_fp32s_losses_and_a_lost_update_does_not(quiet_model_dir):
    fp32 = step_losses(quiet_model_dir, "cpu", "fp32")
    for precision in ("bf16", "fp16"):
        losses = step_losses(quiet_model_dir, "cpu", precision)
        assert losses != fp32  # the lower precision really ran: rounding shows in some step's loss
        assert largest_gap(losses, fp32) <= LOSS_TOLERANCE, precision
    frozen = step_losses(quiet_model_dir, "cpu", "fp32", learning_rate=0.0)
    assert largest_gap(frozen, fp32) > 5 * LOSS_TOLERANCE  # the tolerance would catch updates that went missing


def _tiny_classifier() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(8, 2))
    model.get_input_embeddings = lambda: model[0]  # build_optimizers' sparse word-embedding path
    return model


def _gradients(model: nn.Module, scaler: torch.amp.GradScaler) -> None:
    ids = torch.tensor([[1, 2], [3, 3]])
    loss = nn.functional.cross_entropy(model(ids), torch.tensor([0, 1]))
    scaler.scale(loss).backward()  # as training/loop.py does: the scaled loss when enabled, the loss itself else


def test_the_scaler_unscales_dense_and_sparse_gradients_before_clipping_and_stepping():
    """fp16's step (scaled loss, unscale, clip, step) moves the weights exactly as fp32's does."""
    plain, scaled = _tiny_classifier(), _tiny_classifier()
    results = []
    for model, enabled in ((plain, False), (scaled, True)):
        optimizers = build_optimizers(model, 1e-2, 0.01, sparse_embeddings=True)
        schedulers = [torch.optim.lr_scheduler.LambdaLR(o, lambda step: 1.0) for o in optimizers]
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12, enabled=enabled)
        assert model[0].weight.requires_grad and model[0].sparse  # the sparse embedding path is in play
        _gradients(model, scaler)
        _clip_and_step(model, optimizers, schedulers, scaler, max_grad_norm=0.05)  # clipping binds
        results.append([p.detach().clone() for p in model.parameters()])
    for before, after in zip(*results, strict=True):
        torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-6)


def test_an_overflowing_fp16_step_is_skipped_and_the_scale_halves():
    model = _tiny_classifier()
    start = [p.detach().clone() for p in model.parameters()]
    optimizers = build_optimizers(model, 1e-2, 0.0, sparse_embeddings=True)
    schedulers = [torch.optim.lr_scheduler.LambdaLR(o, lambda step: 1.0) for o in optimizers]
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    _gradients(model, scaler)
    model[2].weight.grad[0, 0] = float("inf")  # an fp16 overflow
    _clip_and_step(model, optimizers, schedulers, scaler, max_grad_norm=1.0)
    assert scaler.get_scale() == 2.0**11
    for before, after in zip(start, model.parameters(), strict=True):
        assert torch.equal(before, after.detach())  # nothing moved, the sparse embedding rows included


class _FakeCuda:
    def __init__(self, major: int) -> None:
        self.major = major


@pytest.mark.parametrize(("major", "expected"), [(7, "fp16"), (8, "bf16"), (9, "bf16")])
def test_auto_precision_on_a_gpu_takes_bf16_only_where_it_is_native(monkeypatch, major, expected):
    """torch.cuda.is_bf16_supported() says yes on a T4 or V100 (emulated bf16, slower than fp16): auto must not."""
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (major, 0))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    monkeypatch.setattr(torch.version, "hip", None)
    assert resolve_precision("auto", torch.device("cuda")) == expected


def test_fp16_is_refused_on_the_cpu():
    with pytest.raises(BakeoffError, match="fp16 is for CUDA"):
        resolve_precision("fp16", torch.device("cpu"))
