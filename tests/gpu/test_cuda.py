"""The CUDA paths, on a real GPU: ``pytest -m gpu`` (deselected by default; it fails without CUDA, see conftest).

Each test asserts what would break if its path were wrong: mixed precision reaching fp32's losses, the GPU giving
the CPU's predictions and vectors, timings that wait for queued kernels, every compression method running on the
GPU or refused in one line, a checkpoint written from the GPU loading on the CPU, and NCCL starting a run under
torchrun. ``benchmarks/gpu_check.sh`` runs them on a bare GPU machine. NCCL across several GPUs needs two GPUs
and is not tested here (one process only).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import bakeoff
from bakeoff.compression import artefact as compression
from bakeoff.data import TextDataset
from bakeoff.data.batching import encode
from bakeoff.embedding.encoder import Embedder
from bakeoff.errors import BakeoffError
from bakeoff.eval.bench import batch1_latency_ms, throughput
from tests.conftest import sentiment_rows
from tests.mixed_precision import LOSS_TOLERANCE, largest_gap, step_losses, without_dropout

pytestmark = pytest.mark.gpu

TEXTS = [text for text, _ in sentiment_rows(48, seed=11)]


@pytest.fixture(scope="module")
def quiet_model_dir(tiny_model_dir, tmp_path_factory):
    return without_dropout(tiny_model_dir, tmp_path_factory.mktemp("no-dropout") / "tiny")


@pytest.fixture
def cpu_run(tiny_model_dir, sentiment_dir):
    """A tiny BERT fine-tuned on the CPU (fp32), as a stored run."""
    result = bakeoff.train(model=str(tiny_model_dir), task=None, data=str(sentiment_dir), epochs=6,
                           learning_rate=3e-3, batch_size=16, precision="fp32", device="cpu", quiet=True, name="cpu")
    assert result.validation.metrics["accuracy"] >= 0.85
    return result


def test_bf16_and_fp16_with_the_scaler_reach_fp32s_losses_on_the_gpu(quiet_model_dir):
    cpu = step_losses(quiet_model_dir, "cpu", "fp32")
    fp32 = step_losses(quiet_model_dir, "cuda", "fp32")
    assert largest_gap(fp32, cpu) <= LOSS_TOLERANCE  # the GPU's fp32 is the CPU's (TF32 matmuls are off)
    for precision in ("bf16", "fp16"):
        losses = step_losses(quiet_model_dir, "cuda", precision)
        assert losses != fp32, precision  # autocast really ran in the lower precision
        assert largest_gap(losses, fp32) <= LOSS_TOLERANCE, (precision, losses, fp32)


def test_auto_precision_on_this_gpu_is_native():
    from bakeoff.runtime import resolve_precision

    major = torch.cuda.get_device_capability()[0]
    assert resolve_precision("auto", torch.device("cuda")) == ("bf16" if major >= 8 else "fp16")


def test_the_gpu_predicts_what_the_cpu_predicts_for_the_same_checkpoint(cpu_run):
    run = cpu_run.run.id
    on_cpu = bakeoff.predict(run, TEXTS, precision="fp32", device="cpu")
    on_gpu = bakeoff.predict(run, TEXTS, precision="fp32", device="cuda")
    assert on_gpu.labels == on_cpu.labels
    np.testing.assert_allclose(on_gpu.probabilities, on_cpu.probabilities, atol=1e-4)
    in_bf16 = bakeoff.predict(run, TEXTS, precision="bf16", device="cuda")  # close calls re-checked in fp32
    assert in_bf16.labels == on_cpu.labels
    cpu_eval = bakeoff.evaluate(run, precision="fp32", device="cpu")
    gpu_eval = bakeoff.evaluate(run, precision="fp32", device="cuda")
    assert gpu_eval.confusion_matrix == cpu_eval.confusion_matrix
    assert gpu_eval.loss == pytest.approx(cpu_eval.loss, abs=1e-4)


def test_a_checkpoint_trained_on_the_gpu_loads_and_predicts_alike_on_the_cpu(tiny_model_dir, sentiment_dir):
    result = bakeoff.train(model=str(tiny_model_dir), task=None, data=str(sentiment_dir), epochs=6,
                           learning_rate=3e-3, batch_size=16, device="cuda", quiet=True,
                           name="gpu")  # auto precision: bf16 or fp16
    assert result.training.device.startswith("cuda") and result.training.precision in ("bf16", "fp16")
    assert result.hardware["cuda"] == torch.cuda.get_device_name(0)
    assert result.validation.metrics["accuracy"] >= 0.75  # it learned in mixed precision (majority: 0.5)
    from bakeoff.models.checkpoint import load_checkpoint

    model, _ = load_checkpoint(Path(result.model.checkpoint))  # onto the CPU, no map_location needed
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    on_cpu = bakeoff.predict(result.run.id, TEXTS, precision="fp32", device="cpu")
    on_gpu = bakeoff.predict(result.run.id, TEXTS, precision="fp32", device="cuda")
    assert on_cpu.labels == on_gpu.labels


def _queued_kernel_ms(cycles: int) -> float:
    """How long ``torch.cuda._sleep(cycles)`` keeps the GPU busy, timed by CUDA events."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    torch.cuda._sleep(cycles)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end)


def test_latency_and_throughput_count_the_kernels_a_forward_only_queued():
    """A forward that returns at once while its kernel runs ~50 ms: a clock that does not wait reads ~0 ms."""
    cycles = 10_000_000
    while _queued_kernel_ms(cycles) < 50:
        cycles *= 2
    kernel_ms = _queued_kernel_ms(cycles)
    output = torch.zeros(1, 2, device="cuda")

    def forward(batch):
        torch.cuda._sleep(cycles)  # queued: the call returns before the GPU is done
        return output

    rows = sentiment_rows(8, seed=5)
    encoded = encode(_word_tokenizer(), TextDataset([t for t, _ in rows], np.array([y for _, y in rows])), 32)
    start = time.perf_counter()
    torch.cuda._sleep(cycles)
    unsynchronised_ms = (time.perf_counter() - start) * 1000
    torch.cuda.synchronize()
    assert unsynchronised_ms < kernel_ms / 5  # queuing really is asynchronous here
    latency = batch1_latency_ms(forward, encoded, requests=4, warmup=1)
    assert latency["p50"] >= 0.9 * kernel_ms, (latency, kernel_ms)
    rate = throughput(forward, encoded, batch_sizes=(4,))[0]
    assert rate["samples_per_second"] <= 4 / (0.9 * kernel_ms / 1000) * 1.01  # each batch of 4 waited its kernel


def _word_tokenizer():
    from transformers import BertTokenizerFast

    from tests.conftest import FILLER, NEGATIVE, POSITIVE

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *POSITIVE, *NEGATIVE, *FILLER]
    return BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=True)


@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
def test_embeddings_on_the_gpu_equal_the_cpus(tiny_model_dir, pooling):
    on_cpu = Embedder(str(tiny_model_dir), pooling=pooling, device="cpu").encode(TEXTS)
    gpu = Embedder(str(tiny_model_dir), pooling=pooling, device="cuda")
    assert next(gpu.model.parameters()).device.type == "cuda"
    on_gpu = gpu.encode(TEXTS)
    cosine = (on_cpu * on_gpu).sum(axis=1)  # both unit length
    assert cosine.min() >= 0.9999
    assert Embedder(str(tiny_model_dir), pooling=pooling).device.type == "cuda"  # auto takes the GPU


def test_every_compression_method_runs_on_the_gpu_or_is_refused_in_one_line(cpu_run, tmp_path):
    import onnxruntime

    checkpoint = Path(cpu_run.model.checkpoint)
    cuda_onnx = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    for name, method in compression.METHODS.items():
        if method.backend == "onnxruntime" and importlib.util.find_spec("onnx") is None:
            with pytest.raises(BakeoffError, match=r"pip install 'bakeoff\[onnx\]'"):  # one line, before work
                compression.get_method(name)
            continue
        folder = tmp_path / name
        compression.write(checkpoint, method, folder)  # compression itself is CPU work, on any machine
        on_cpu = bakeoff.predict(str(folder), TEXTS, device="cpu")
        runs_here = "cuda" in method.devices and (method.backend == "torch" or cuda_onnx)
        if runs_here:
            on_gpu = bakeoff.predict(str(folder), TEXTS, device="cuda")
            agree = np.mean(np.array(on_gpu.labels) == np.array(on_cpu.labels))
            assert agree >= 0.95, name
            np.testing.assert_allclose(on_gpu.probabilities, on_cpu.probabilities, atol=0.02)
            figures = bakeoff.bench(str(folder), device="cuda", batch_sizes=(1, 8), requests=10)
            assert figures["bench"]["latency_ms"]["p50"] > 0
        else:
            with pytest.raises(BakeoffError) as error:
                bakeoff.predict(str(folder), TEXTS, device="cuda")
            assert "\n" not in str(error.value) and "--device cpu" in str(error.value), name
    report = bakeoff.compress(cpu_run.run.id, "dynamic-int8")  # a CPU method still compresses on a GPU machine
    assert report.change.size_ratio > 1


def test_nccl_starts_a_run_under_torchrun_on_the_gpu(tiny_model_dir, sentiment_dir):
    """``--nproc`` on CUDA: torchrun starts the process, which joins an NCCL group on its GPU and records the run.
    One GPU means one process (a second would need a second GPU), so the collectives' sums are not exercised."""
    from bakeoff.config import TrainConfig
    from bakeoff.runs.launch import launch

    config = TrainConfig(model=str(tiny_model_dir), task=None, data=str(sentiment_dir), epochs=2, batch_size=16,
                         device="cuda", nproc=1, quiet=True, name="nccl").validate()
    result = launch(config)
    assert result.training.backend == "nccl" and result.training.world_size == 1
    assert result.training.device.startswith("cuda")
    with pytest.raises(BakeoffError, match="GPU"):
        bakeoff.train(model=str(tiny_model_dir), task=None, data=str(sentiment_dir), device="cuda",
                      nproc=torch.cuda.device_count() + 1, quiet=True)
