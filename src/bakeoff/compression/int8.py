"""Dynamic int8 for PyTorch: int8 weights with per-row scales, activations quantized per token at run time.

Why these modules rather than a library (measured on MiniLM-L6, batch 1, this 2-core AVX-512 VNNI CPU):

- ``torch.ao.quantization.quantize_dynamic`` (seed 001's recipe) is deprecated in this torch, its quantized
  tensors (``torch.qint8``) too (pytorch#184982), and its modules only save as pickles.
- torchao's ``Int8DynamicActivationInt8WeightConfig`` ran *slower* than fp32 in eager mode here (34.7 ms against
  23.8 ms; its int8 speed comes from ``torch.compile``), and its weight-only config was slower still.
- ``torch._int_mm`` (int8 x int8 -> int32, oneDNN VNNI kernels) is a plain aten op: with per-token activation
  scales computed in a few elementwise ops it runs the same matmuls about 3-4x faster than fp32, and everything
  it needs is ordinary tensors, so the weights live in safetensors and the module is rebuilt from a recipe.

On a CPU without VNNI or AMX (AVX2 only), ``torch._int_mm`` is a plain loop: 40x *slower* than the fp32 matmul
at MiniLM's shapes (498 against 12.9 ms for 1024 x 384 x 1536, measured on this project's AMD EPYC). There the same
integer products are summed by the fp32 GEMM over integer-valued floats: exact while every partial sum stays under
2**24 (always, for up to 1,040 input features; beyond that a sum rounds by at most 1 part in 16 million), so the
artefact predicts alike on both kinds of CPU. The Linear weights are then held as float at run time: on such a
CPU int8 saves disk, not memory, and runs no faster than fp32 (0.8x at batch 1: the activation quantization
is extra work there; BENCHMARKS.md).

Accuracy: per-output-channel symmetric weight scales, and a scale per token for activations (one scale per tensor
is what collapses MiniLM's accuracy: a few outlier features set the scale for every token). Padding and batch size
do not change a token's scale, so predictions do not depend on them.

Embeddings are half of MiniLM's weights; storing them as int8 rows with a scale per row is what takes the size
past 3.5x. Only the rows a batch looks up are dequantized.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from bakeoff.hardware import cpu_supports_int8_dot

INT8_MAX = 127


def quantize_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per row: ``weight ~= q * scale[:, None]``; returns (q int8, scale float32)."""
    weight = weight.detach().float()
    scale = weight.abs().amax(dim=1).clamp(min=1e-12) / INT8_MAX  # (rows,)
    q = torch.clamp(torch.round(weight / scale[:, None]), -INT8_MAX, INT8_MAX).to(torch.int8)
    return q, scale


class Int8Linear(nn.Module):
    """``nn.Linear`` with int8 weights (per output channel) and int8 activations (per token)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        # Stored transposed, (in, out): the layout torch._int_mm multiplies by, so no copy is made at run time.
        self.register_buffer("weight_int8_t", torch.zeros(in_features, out_features, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(out_features))
        self.register_buffer("bias", torch.zeros(out_features) if bias else None)
        self._float_weight: tuple[tuple[int, int], torch.Tensor] | None = None  # see _weight_as_float; never saved

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> Int8Linear:
        module = cls(linear.in_features, linear.out_features, linear.bias is not None)
        weight_int8, module.weight_scale = quantize_rows(linear.weight)  # per output channel
        module.weight_int8_t = weight_int8.t().contiguous()
        if linear.bias is not None:
            module.bias = linear.bias.detach().float().clone()
        return module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, shape[-1]).float()  # (tokens, in)
        token_scale = rows.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / INT8_MAX  # (tokens, 1)
        rows_q = torch.round(rows / token_scale)  # integers in [-127, 127]
        if int8_dot_is_native(rows.device):
            out = torch._int_mm(rows_q.to(torch.int8), self.weight_int8_t).float()  # (tokens, out) int32 -> float
        else:
            out = rows_q @ self._weight_as_float()  # the same integer sums, by the fp32 GEMM (module docstring)
        scale = token_scale * self.weight_scale  # (tokens, out)
        out = torch.addcmul(self.bias, out, scale) if self.bias is not None else out * scale
        return out.reshape(*shape[:-1], self.out_features)

    def _weight_as_float(self) -> torch.Tensor:
        """``weight_int8_t`` as float32, converted once and again only if the buffer changes (e.g. loading)."""
        key = (self.weight_int8_t.data_ptr(), self.weight_int8_t._version)
        if self._float_weight is None or self._float_weight[0] != key:
            with torch.inference_mode(False):  # a plain tensor, usable in and out of inference mode
                self._float_weight = (key, self.weight_int8_t.float())
        return self._float_weight[1]

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8"


def int8_dot_is_native(device: torch.device) -> bool:
    """Whether ``torch._int_mm`` is fast here: on CUDA, and on CPUs with VNNI or AMX."""
    return device.type == "cuda" or (device.type == "cpu" and cpu_supports_int8_dot())


class Int8Embedding(nn.Module):
    """``nn.Embedding`` stored as int8 rows with a float32 scale per row."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.register_buffer("weight_int8", torch.zeros(num_embeddings, embedding_dim, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(num_embeddings))

    @classmethod
    def from_embedding(cls, embedding: nn.Embedding) -> Int8Embedding:
        module = cls(embedding.num_embeddings, embedding.embedding_dim, embedding.padding_idx)
        module.weight_int8, module.weight_scale = quantize_rows(embedding.weight)
        return module

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = F.embedding(ids, self.weight_int8).float()  # (..., dim), only the looked-up rows
        return rows * self.weight_scale[ids].unsqueeze(-1)

    @property
    def weight(self) -> torch.Tensor:
        """The dequantized matrix, for code that reads ``embeddings.weight`` (e.g. its dtype or shape)."""
        return self.weight_int8.float() * self.weight_scale[:, None]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, int8"


def quantize_model(model: nn.Module, embeddings: bool = True, skip: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Swap Linear (and, with ``embeddings``, Embedding) modules for int8 ones in place; returns the recipe.

    ``skip`` names modules to leave in float (the classifier head: a few hundred weights whose error would
    land straight on the logits).
    """
    recipe: dict[str, list[str]] = {"linear": [], "embedding": []}
    for name, module in list(model.named_modules()):
        if name in skip or any(name.startswith(prefix + ".") for prefix in skip):
            continue
        if isinstance(module, nn.Linear):
            _replace(model, name, Int8Linear.from_linear(module))
            recipe["linear"].append(name)
        elif embeddings and isinstance(module, nn.Embedding):
            _replace(model, name, Int8Embedding.from_embedding(module))
            recipe["embedding"].append(name)
    return recipe


def apply_recipe(model: nn.Module, recipe: dict[str, list[str]]) -> None:
    """Give a freshly built float model the int8 module shells named by ``recipe`` (weights load afterwards)."""
    for name in recipe["linear"]:
        linear = model.get_submodule(name)
        _replace(model, name, Int8Linear(linear.in_features, linear.out_features, linear.bias is not None))
    for name in recipe["embedding"]:
        embedding = model.get_submodule(name)
        _replace(model, name, Int8Embedding(embedding.num_embeddings, embedding.embedding_dim,
                                            embedding.padding_idx))


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, module)
