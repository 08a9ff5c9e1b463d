from __future__ import annotations

import torch
from torch import nn

from bakeoff.training.optim import RowAdamW, clip_gradients


def _embedding_steps(sparse: bool, batches, weight_decay=0.0):
    torch.manual_seed(0)
    embedding = nn.Embedding(6, 4, sparse=sparse)
    optimizer = (RowAdamW([embedding.weight], lr=0.1, weight_decay=weight_decay) if sparse else
                 torch.optim.AdamW([embedding.weight], lr=0.1, weight_decay=weight_decay))
    for ids in batches:
        embedding(torch.tensor(ids)).pow(2).sum().backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return embedding.weight.detach()


def test_row_adamw_equals_adamw_when_every_row_is_in_every_batch():
    batches = [[0, 1, 2, 3, 4, 5, 5, 2], [5, 4, 3, 2, 1, 0], [0, 0, 1, 2, 3, 4, 5]]
    torch.testing.assert_close(_embedding_steps(True, batches, 0.01), _embedding_steps(False, batches, 0.01))


def test_row_adamw_leaves_rows_a_batch_does_not_use():
    start = _embedding_steps(True, [])
    after = _embedding_steps(True, [[0, 1], [1]])
    torch.testing.assert_close(after[2:], start[2:])
    assert not torch.equal(after[:2], start[:2])


def test_clip_gradients_scales_dense_and_sparse_together():
    dense = nn.Parameter(torch.zeros(2))
    dense.grad = torch.tensor([3.0, 0.0])
    sparse = nn.Parameter(torch.zeros(3, 1))
    sparse.grad = torch.sparse_coo_tensor([[1, 1]], torch.tensor([[2.0], [2.0]]), (3, 1),  # row 1 sums to 4
                                          check_invariants=True)
    assert clip_gradients([dense, sparse], max_norm=1.0) == 5.0
    assert torch.allclose(dense.grad, torch.tensor([0.6, 0.0]), atol=1e-5)
    assert torch.allclose(sparse.grad.to_dense(), torch.tensor([[0.0], [0.8], [0.0]]), atol=1e-5)
