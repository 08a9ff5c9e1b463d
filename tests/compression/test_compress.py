"""Compression: every method round-trips through disk, in safe formats, and is measured against its original."""

from __future__ import annotations

import builtins
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import bakeoff
from bakeoff.cli import app
from bakeoff.compression import artefact as compression
from bakeoff.compression import int8
from bakeoff.compression.int8 import Int8Embedding, Int8Linear
from bakeoff.data import TextDataset
from bakeoff.data.batching import encode
from bakeoff.errors import BakeoffError
from bakeoff.eval.predict import model_inputs, predict_with
from bakeoff.eval.significance import mcnemar
from bakeoff.models.checkpoint import load_checkpoint
from tests.conftest import sentiment_rows

runner = CliRunner()
TOLERANCE = {"dynamic-int8": 0.05, "bf16": 0.05, "onnx": 1e-4, "onnx-int8": 0.05}


@pytest.fixture
def trained_run(tiny_model_dir, sentiment_dir):
    """A tiny BERT fine-tuned on the sentiment fixture, stored as run ``bakeoff/tiny``."""
    result = bakeoff.train(model=str(tiny_model_dir), task=None, data=str(sentiment_dir), epochs=6, learning_rate=3e-3,
                           batch_size=16, precision="fp32", quiet=True, name="tiny")
    assert result.validation.metrics["accuracy"] >= 0.85
    return result


def _encoded(tokenizer, count=24):
    rows = sentiment_rows(count, seed=7)
    dataset = TextDataset([text for text, _ in rows], np.array([label for _, label in rows]))
    return encode(tokenizer, dataset, 64)


@pytest.mark.parametrize("method", list(compression.METHODS))
def test_every_method_round_trips_through_disk(trained_run, tmp_path, method):
    checkpoint = Path(trained_run.model.checkpoint)
    original, tokenizer = load_checkpoint(checkpoint)
    encoded = _encoded(tokenizer)
    expected = predict_with(lambda b: original(**b).logits, encoded, 8, 2).logits

    manifest = compression.write(checkpoint, compression.get_method(method), tmp_path / method)
    loaded = compression.load(tmp_path / method)
    got = predict_with(loaded.forward, encoded, 8, loaded.num_labels).logits
    assert loaded.method == method and loaded.label_names == ["0", "1"]
    assert np.abs(got - expected).max() <= TOLERANCE[method]
    assert (got.argmax(1) == expected.argmax(1)).mean() >= 0.9
    for name, facts in manifest["files"].items():  # size accounting: the manifest is what is on disk
        assert (tmp_path / method / name).stat().st_size == facts["bytes"]
    assert loaded.weights_bytes == manifest["files"][manifest["weights"]]["bytes"]


def test_int8_swaps_modules_and_sizes_add_up(trained_run, tmp_path):

    from safetensors import safe_open

    checkpoint = Path(trained_run.model.checkpoint)
    manifest = compression.write(checkpoint, compression.get_method("dynamic-int8"), tmp_path / "q")
    model = compression._rebuild(tmp_path / "q", load_checkpoint(checkpoint)[0].config, manifest)
    kinds = {type(module) for module in model.modules()}
    assert Int8Linear in kinds and Int8Embedding in kinds
    assert isinstance(model.classifier, torch.nn.Linear)  # the head stays float
    assert manifest["recipe"]["kept_float"] == ["classifier"]
    with safe_open(tmp_path / "q" / "model.safetensors", "pt") as handle:
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 - no __iter__ here
    payload = sum(t.numel() * t.element_size() for t in tensors.values())
    dtypes = {t.dtype for name, t in tensors.items() if name.endswith("weight_int8_t")}
    size = (tmp_path / "q" / "model.safetensors").stat().st_size
    assert dtypes == {torch.int8}
    assert payload <= size <= payload + 64 * 1024  # tensors plus the safetensors header, nothing else
    fp32 = (checkpoint / "model.safetensors").stat().st_size
    assert fp32 / size > 2.5  # int8 weights with fp32 scales, biases and LayerNorms on a 32-wide model


def test_int8_predictions_do_not_depend_on_batch_size_or_padding(trained_run, tmp_path):

    checkpoint = Path(trained_run.model.checkpoint)
    compression.write(checkpoint, compression.get_method("dynamic-int8"), tmp_path / "q")
    loaded = compression.load(tmp_path / "q")
    encoded = _encoded(loaded.tokenizer)
    one_by_one = predict_with(loaded.forward, encoded, 1, 2).logits
    batched = predict_with(loaded.forward, encoded, 16, 2).logits
    assert np.abs(one_by_one - batched).max() < 1e-4
    longest = int(encoded.lengths.argmax())
    padded = loaded.forward(model_inputs(encoded, np.array([0, longest])))[0]  # row 0 padded to the longest
    assert torch.allclose(padded, torch.as_tensor(one_by_one[0]), atol=1e-4)


def test_nothing_pickled_is_written_or_read(trained_run, tmp_path, monkeypatch):

    checkpoint = Path(trained_run.model.checkpoint)
    for method in compression.METHODS:
        compression.write(checkpoint, compression.get_method(method), tmp_path / method)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not [p for p in written if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".pickle")]
    assert not [p for p in written if p.read_bytes()[:1] == b"\x80"]  # every pickle protocol >= 2 starts so

    def refuse(*args, **kwargs):
        raise AssertionError("a pickle was loaded")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    for method in compression.METHODS:
        compression.load(tmp_path / method)


def test_a_tampered_artefact_is_refused(trained_run, tmp_path):

    compression.write(Path(trained_run.model.checkpoint), compression.get_method("dynamic-int8"), tmp_path / "q")
    weights = tmp_path / "q" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BakeoffError, match="sha256 differs"):
        compression.load(tmp_path / "q")


def test_compress_cli_records_the_comparison_and_predict_and_bench_agree(trained_run, sentiment_dir, tmp_path):
    result = runner.invoke(app, ["compress", "bakeoff/tiny", "--method", "dynamic-int8", "--batch-sizes", "4",
                                 "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    stored = json.loads((tmp_path / "store" / "bakeoff" / "tiny" / "compressed" / "dynamic-int8" /
                         "report.json").read_text())
    assert stored["change"] == report["change"]
    change = report["change"]
    assert change["size_ratio"] > 2.5
    assert change["flips"] == round(change["flip_share"] * report["rows"])
    test = change["mcnemar"]  # the p-value is McNemar's exact test on the recorded discordant counts
    only_original, only_compressed = test["only_original_right"], test["only_compressed_right"]
    assert only_original + only_compressed <= change["flips"]
    correct_original = np.array([1] * only_original + [0] * only_compressed)
    assert test["p_value"] == pytest.approx(mcnemar(correct_original, 1 - correct_original).p_value)
    assert test["significant"] == (test["p_value"] < 0.05)
    assert report["original"]["method"] == "fp32" and report["compressed"]["method"] == "dynamic-int8"
    latency = report["compressed"]["bench"]["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] and latency["threads"] >= 1
    assert {row["batch_size"] for row in report["compressed"]["bench"]["throughput"]} == {4}
    assert report["compressed"]["bench"]["peak_rss_mb"] > 0

    result = runner.invoke(app, ["predict", "bakeoff/tiny", "--method", "dynamic-int8", "--file",
                                 str(sentiment_dir / "dev.tsv"), "--text-column", "sentence", "--json"])
    assert result.exit_code == 0, result.output
    labels = [int(row["label"]) for row in json.loads(result.output)]
    assert labels == report["predictions"]

    result = runner.invoke(app, ["bench", "bakeoff/tiny", "--method", "dynamic-int8", "--batch-sizes", "2",
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["labels"] == report["predictions"]

    result = runner.invoke(app, ["compress", "bakeoff/tiny", "--method", "dynamic-int8"])
    assert result.exit_code == 2 and "--overwrite" in result.output

    result = runner.invoke(app, ["bench", "bakeoff/tiny", "--method", "dynamic-int8", "--backend", "onnxruntime"])
    assert result.exit_code == 2 and "model for torch: use --backend torch" in " ".join(result.output.split())


def test_bench_on_onnxruntime_exports_a_checkpoint_on_the_fly(trained_run):
    result = runner.invoke(app, ["bench", "bakeoff/tiny", "--backend", "onnxruntime", "--batch-sizes", "8", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["backend"] == "onnxruntime" and figures["metrics"]["accuracy"] >= 0.85

    runner.invoke(app, ["compress", "bakeoff/tiny", "--method", "onnx-int8", "--batch-sizes", "4"])
    result = runner.invoke(app, ["bench", "bakeoff/tiny", "--method", "onnx-int8", "--batch-sizes", "8", "--json"])
    assert result.exit_code == 0, result.output  # an ONNX model runs on its own backend without being told
    assert json.loads(result.output)["method"] == "onnx-int8"


@pytest.mark.parametrize(("args", "expected"), [
    (["compress", "bakeoff/tiny", "--method", "gzip"], "unknown method 'gzip': use one of dynamic-int8"),
    (["compress", "nope/none", "--method", "bf16"], "no run"),
    (["predict", "bakeoff/tiny", "--method", "bf16", "fine"], "no bf16 model yet: run `bakeoff compress"),
    (["bench", "bakeoff/tiny", "--batch-sizes", "0"], "--batch-sizes '0'"),
])
def test_bad_input_is_one_line_and_writes_nothing(trained_run, tmp_path, args, expected):
    run_dir = tmp_path / "store" / "bakeoff" / "tiny"
    before = sorted(p.relative_to(run_dir) for p in run_dir.rglob("*"))
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert expected in " ".join(result.output.split()), result.output
    assert result.output.strip().startswith("error:") and "Traceback" not in result.output
    assert sorted(p.relative_to(run_dir) for p in run_dir.rglob("*")) == before


def test_a_folder_without_weights_is_refused(tmp_path):
    folder = tmp_path / "empty-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04not really")
    result = runner.invoke(app, ["compress", str(folder), "--method", "bf16"])
    assert result.exit_code == 2 and "is a pickle, which bakeoff does not load" in " ".join(result.output.split())
    assert not (tmp_path / "compressed").exists()


def test_onnx_without_onnxruntime_says_how_to_install(trained_run, monkeypatch):
    real_import = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name.startswith("onnxruntime"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    result = runner.invoke(app, ["compress", "bakeoff/tiny", "--method", "onnx"])
    assert result.exit_code == 2 and "pip install 'bakeoff[onnx]'" in result.output


def test_bench_measures_a_bare_checkpoint_whose_labels_the_data_does_not_use(tiny_model_dir, tmp_path):
    from bakeoff.models import load_for_classification, load_tokenizer, resolve_model
    from bakeoff.models.checkpoint import save_checkpoint

    source = resolve_model(str(tiny_model_dir))
    save_checkpoint(load_for_classification(source, ["LABEL_0", "LABEL_1", "LABEL_2"]), load_tokenizer(source),
                    tmp_path / "bare")
    result = runner.invoke(app, ["bench", str(tmp_path / "bare"), "--batch-sizes", "8", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["metrics"] == {} and figures["rows"] == 53  # the built-in demo's validation texts
    assert figures["bench"]["latency_ms"]["p50"] > 0


@pytest.mark.parametrize("in_features", [64, 1536])  # 1536: MiniLM's feed-forward output layer
def test_int8_linear_gives_the_same_sums_with_and_without_native_int8(in_features, monkeypatch):
    """Without VNNI the integer products are summed by the fp32 GEMM; both kernels must agree exactly."""
    torch.manual_seed(0)
    module = Int8Linear.from_linear(nn.Linear(in_features, 48))
    x = torch.randn(3, 24, in_features) * torch.linspace(0.1, 8.0, in_features)  # a few outlier features
    monkeypatch.setattr(int8, "int8_dot_is_native", lambda device: True)
    native = module(x)
    monkeypatch.setattr(int8, "int8_dot_is_native", lambda device: False)
    emulated = module(x)
    assert torch.equal(native, emulated)
    assert not torch.equal(native, torch.zeros_like(native))

    # the float copy of the weights follows the buffer when new weights are loaded into the module
    other = Int8Linear.from_linear(nn.Linear(in_features, 48))
    module.load_state_dict(other.state_dict())
    assert torch.equal(module(x), other(x))
    assert not any("float" in name for name in module.state_dict())  # the cache is never saved
