"""Compressed models on a GPU: each method runs there or is refused in one line before any work.

The int8 methods are CPU methods (their speed is CPU int8 kernels); bf16 runs on CUDA; ONNX runs there only
through ONNX Runtime's CUDA provider, which the plain ``onnxruntime`` wheel lacks. The GPU itself is faked here
(``torch.cuda.is_available``); ``tests/gpu/test_cuda.py`` runs the same on a real one.
"""

from __future__ import annotations

import json

import pytest
import torch

import bakeoff
from bakeoff.compression import artefact as compression
from bakeoff.errors import BakeoffError
from bakeoff.runs.locate import Located


@pytest.fixture
def fake_gpu(monkeypatch):
    """torch believes a GPU is here; any sha256 check or model load before the refusal fails the test."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)

    def no_work(*args, **kwargs):
        raise AssertionError("work was done before the device was refused")

    monkeypatch.setattr(Located, "verify", no_work)
    monkeypatch.setattr(compression, "verify", no_work)
    monkeypatch.setattr(compression, "_rebuild", no_work)


def _compressed_folder(tmp_path, method):
    """A folder with a compressed model's manifest (the refusal reads nothing else)."""
    folder = tmp_path / method
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / compression.MANIFEST).write_text(json.dumps({"method": method, "files": {}}))
    return folder


@pytest.mark.parametrize("method", ["dynamic-int8", "onnx-int8"])
@pytest.mark.parametrize("operation", ["evaluate", "predict", "bench", "load"])
def test_int8_methods_refuse_a_gpu_in_one_line_before_work(fake_gpu, tmp_path, method, operation):
    folder = _compressed_folder(tmp_path, method)
    calls = {
        "evaluate": lambda: bakeoff.evaluate(str(folder), task="demo", device="cuda"),
        "predict": lambda: bakeoff.predict(str(folder), ["a fine film"], device="cuda"),
        "bench": lambda: bakeoff.bench(str(folder), device="cuda"),
        "load": lambda: compression.load(folder, device=torch.device("cuda")),
    }
    with pytest.raises(BakeoffError) as error:
        calls[operation]()
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"--method {method} is a CPU method") and "--device cpu" in message


def test_onnx_on_a_gpu_needs_onnx_runtimes_cuda_provider(fake_gpu, tmp_path, monkeypatch):
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    folder = _compressed_folder(tmp_path, "onnx")
    with pytest.raises(BakeoffError, match="no CUDA provider.*onnxruntime-gpu"):
        bakeoff.evaluate(str(folder), task="demo", device="cuda")
    with pytest.raises(BakeoffError, match="no CUDA provider"):
        bakeoff.bench(str(folder), backend="onnxruntime", device="cuda")


def test_bf16_and_any_method_on_the_cpu_pass_the_device_check(tmp_path):
    for method in compression.METHODS:
        compression.check_device(compression.METHODS[method], torch.device("cpu"))
    compression.check_device(compression.METHODS["bf16"], torch.device("cuda"))
    compression.check_folder_device(_compressed_folder(tmp_path, "bf16"), torch.device("cuda"))


def test_the_method_table_says_which_run_on_a_gpu():
    on_gpu = {name for name, method in compression.METHODS.items() if "cuda" in method.devices}
    assert on_gpu == {"bf16", "onnx"}



def test_bench_on_the_command_line_says_so_in_one_line(fake_gpu, tmp_path):
    from typer.testing import CliRunner

    from bakeoff.cli import app

    folder = _compressed_folder(tmp_path, "dynamic-int8")
    result = CliRunner().invoke(app, ["bench", str(folder), "--device", "cuda"])
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith("error: --method dynamic-int8 is a CPU method")
    assert "Traceback" not in result.output
