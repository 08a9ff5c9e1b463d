from __future__ import annotations

import torch
from torch import nn

from bakeoff.training.dropout import fast_dropout


def _model(p: float = 0.1) -> nn.Module:
    return nn.Sequential(nn.Identity(), nn.Dropout(p))


def test_keeps_one_minus_p_and_scales_the_kept_ones():
    model = _model(0.1).train()
    x = torch.ones(400, 500)
    with fast_dropout(model, seed=0) as replaced:
        y = model(x)
    assert replaced == 1
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.9) < 0.003  # 200,000 draws: 6 standard deviations is 0.004
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.9))
    assert abs(y.mean().item() - 1.0) < 0.004  # unbiased, like nn.Dropout


def test_same_seed_same_masks_other_seed_other_masks():
    x = torch.ones(64, 64)

    def masks(seed: int) -> list[torch.Tensor]:
        model = _model().train()
        with fast_dropout(model, seed=seed):
            return [model(x) != 0 for _ in range(3)]

    first, again, other = masks(1), masks(1), masks(2)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], first[1])  # a fresh mask per call
    assert not torch.equal(first[0], other[0])


def test_gradient_flows_through_the_kept_elements_only():
    model = _model(0.5).train()
    x = torch.ones(32, 32, requires_grad=True)
    with fast_dropout(model, seed=0):
        model(x).sum().backward()
    torch.testing.assert_close(x.grad, (x.grad != 0).float() * 2.0)
    assert 0.3 < (x.grad != 0).float().mean().item() < 0.7


def test_eval_mode_is_identity_and_the_module_is_restored_after():
    model = _model().eval()
    x = torch.randn(8, 8)
    with fast_dropout(model, seed=0):
        assert torch.equal(model(x), x)
    assert "forward" not in vars(model[1])


def test_a_model_off_the_cpu_keeps_its_own_dropout():
    with torch.device("meta"):  # stands in for a GPU: any device but the CPU
        model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1))
    with fast_dropout(model, seed=0) as replaced:
        assert replaced == 0 and "forward" not in vars(model[1])


def test_a_tiny_p_keeps_everything():
    model = _model(1e-6).train()  # rounds to "keep all" at 16 bits; its int16 threshold, 32768, would wrap
    x = torch.ones(64, 64)
    with fast_dropout(model, seed=0):
        torch.testing.assert_close(model(x), x / (1 - 1e-6))
