"""ONNX export and ONNX Runtime inference (``pip install 'bakeoff[onnx]'``, imported only when used).

Choices, measured on MiniLM-L6 (batch 1, p50, one thread, this CPU; see BENCHMARKS.md for the full runs):

- Exporter: ``torch.onnx.export(dynamo=False)``, the TorchScript exporter. The newer ``torch.export``-based one
  (``dynamo=True``) gave the same logits but took 15.8 s instead of 4.2 s, needs ``onnxscript``, and its graph
  stops ONNX Runtime's quantizer (shape inference fails on it); after cleaning that up, its int8 model ran at
  6.4 ms against 2.4 ms for the TorchScript export. Hugging Face Optimum (``optimum-onnx``) pins
  transformers < 5, which bakeoff cannot install beside. The TorchScript exporter warns that it is deprecated:
  if a future torch removes it, ``export`` says so in one line.
- int8: ONNX Runtime's dynamic quantization, int8 weights per output channel for every MatMul and, when asked,
  the embedding Gathers. Its activations get one (uint8) scale per tensor per call.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import nn

from bakeoff.errors import BakeoffError
from bakeoff.models.forward import Forward

OPSET = 17


def require_onnxruntime() -> ModuleType:
    """The ``onnxruntime`` module, or one line saying how to install it."""
    try:
        import onnx  # noqa: F401 - the export writes with it; check it is here too
        import onnxruntime
    except ImportError:
        raise BakeoffError("ONNX Runtime is not installed: pip install 'bakeoff[onnx]'") from None
    return onnxruntime


class _Output(nn.Module):
    """The model as a function of positional tensors, returning one output (what the graph exports): a
    classifier's ``logits``, or a bare encoder's ``last_hidden_state`` (for sentence embeddings)."""

    def __init__(self, model: nn.Module, names: list[str], output: str) -> None:
        super().__init__()
        self.model, self.names, self.output = model, names, output

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return getattr(self.model(**dict(zip(self.names, tensors, strict=True))), self.output)


def export(model: nn.Module, tokenizer: Any, path: Path, output: str = "logits") -> None:
    """Write ``model`` (fp32, eval mode) as an ONNX graph with dynamic batch and sequence axes and one output."""
    require_onnxruntime()
    example = tokenizer(["an example sentence to trace", "and a second one"], return_tensors="pt", padding=True)
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in example]
    axes = {name: {0: "batch", 1: "sequence"} for name in names} | {
        output: {0: "batch", 1: "sequence"} if output == "last_hidden_state" else {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer warnings: see the module docstring
        try:
            torch.onnx.export(_Output(model.float().eval(), names, output), tuple(example[n] for n in names),
                              str(path), input_names=names, output_names=[output], dynamic_axes=axes,
                              opset_version=OPSET, dynamo=False)
        except (TypeError, RuntimeError) as error:
            raise BakeoffError(f"ONNX export failed ({str(error).splitlines()[0][:160]}): "
                               "this model or torch version is not supported by the exporter") from None


def quantize(source: Path, target: Path, embeddings: bool) -> None:
    """int8 weights for MatMuls (and embedding Gathers with ``embeddings``) via ONNX Runtime."""
    require_onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ops = ["MatMul", "Gather"] if embeddings else ["MatMul"]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process the graph is for static quantization
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=ops)
    finally:
        root.setLevel(level)


CUDA_PROVIDER = "CUDAExecutionProvider"


def require_cuda_provider() -> None:
    """One line when this ONNX Runtime cannot run on a GPU (the ``onnxruntime`` wheel is CPU-only)."""
    ort = require_onnxruntime()
    if CUDA_PROVIDER not in ort.get_available_providers():
        raise BakeoffError("this ONNX Runtime has no CUDA provider (the onnxruntime wheel is CPU-only): "
                           "pip install onnxruntime-gpu, or run the ONNX model with --device cpu")


def session_forward(path: Path, threads: int, output: str = "logits",
                    device: torch.device | None = None) -> Forward:
    """An ONNX Runtime session over ``path`` as a ``Forward`` (its ``output`` as float32 NumPy): on the CPU, or
    on a CUDA device through ONNX Runtime's CUDA provider (refused in one line where it has none)."""
    ort = require_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    providers: list[Any] = ["CPUExecutionProvider"]
    if device is not None and device.type == "cuda":
        require_cuda_provider()
        providers.insert(0, (CUDA_PROVIDER, {"device_id": device.index or 0}))
    try:
        session = ort.InferenceSession(str(path), options, providers=providers)
    except Exception as error:
        raise BakeoffError(f"{path}: ONNX Runtime cannot load it ({str(error).splitlines()[0][:160]})") from None
    if len(providers) > 1 and CUDA_PROVIDER not in session.get_providers():
        # ONNX Runtime falls back to the CPU without a word when the CUDA libraries do not load: say so instead
        raise BakeoffError(f"{path}: ONNX Runtime could not start its CUDA provider (CUDA or cuDNN libraries "
                           "missing or mismatched?): fix them, or run the ONNX model with --device cpu")
    names = [node.name for node in session.get_inputs()]

    def forward(batch: dict[str, torch.Tensor]) -> np.ndarray:
        ids = batch["input_ids"]
        feed = {name: (batch[name] if name in batch else torch.zeros_like(ids)).numpy() for name in names}
        return session.run([output], feed)[0]

    return forward
