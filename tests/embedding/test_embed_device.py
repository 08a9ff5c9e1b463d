"""Where an Embedder runs: ``auto`` takes a GPU for fp32/bf16 only; int8 on a GPU is refused before the model loads.

The GPU is faked (``torch.cuda.is_available``); ``tests/gpu/test_cuda.py`` compares real GPU vectors with CPU ones.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bakeoff.embedding import encoder
from bakeoff.embedding.encoder import Embedder, embedding_device
from bakeoff.errors import BakeoffError


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


def test_auto_takes_the_gpu_for_fp32_and_bf16_and_the_cpu_for_int8_and_onnx(fake_gpu):
    assert {p: embedding_device("auto", p).type for p in encoder.PRECISIONS} == {
        "fp32": "cuda", "bf16": "cuda", "int8": "cpu", "onnx": "cpu", "onnx-int8": "cpu"}


@pytest.mark.parametrize("precision", ["int8", "onnx-int8"])
def test_int8_on_a_gpu_is_refused_before_the_model_loads(fake_gpu, tiny_model_dir, monkeypatch, precision):
    monkeypatch.setattr(encoder, "_load_encoder", lambda source: pytest.fail("the model loaded before the refusal"))
    with pytest.raises(BakeoffError, match=f"--precision {precision} is a CPU method.*--device cpu"):
        Embedder(str(tiny_model_dir), precision=precision, device="cuda")


def test_onnx_on_a_gpu_without_the_cuda_provider_is_refused(fake_gpu, tiny_model_dir, monkeypatch):
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(BakeoffError, match="onnxruntime-gpu"):
        Embedder(str(tiny_model_dir), precision="onnx", device="cuda")


def test_a_gpu_that_is_not_here_is_one_line(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(BakeoffError, match="no CUDA device here: use --device cpu"):
        Embedder(str(tiny_model_dir), device="cuda")


def test_an_explicit_cpu_gives_the_same_vectors_as_auto_here(tiny_model_dir):
    texts = ["the film was good", "a dull plot", "great"]
    auto = Embedder(str(tiny_model_dir)).encode(texts)
    assert Embedder(str(tiny_model_dir)).device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    np.testing.assert_allclose(Embedder(str(tiny_model_dir), device="cpu").encode(texts), auto, atol=1e-5)


def test_embed_on_the_command_line_refuses_int8_on_a_gpu_in_one_line(fake_gpu, tiny_model_dir, tmp_path):
    from typer.testing import CliRunner

    from bakeoff.cli import app

    out = tmp_path / "vectors.npy"
    result = CliRunner().invoke(app, ["embed", str(tiny_model_dir), "a fine film", "--precision", "int8",
                                      "--device", "cuda", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith("error: --precision int8 is a CPU method")
    assert not out.exists()
