"""The fp32 original is measured once per ``compress`` call, however many methods it makes; its scores are reused
by a later call under the same checkpoint, rows, threads and machine (and said to be), never its timings.

The measurements run in this process here (a fresh process each in use), with every forward of each model
counted: no timed assertion."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

import bakeoff
from bakeoff.cli import app
from bakeoff.compression import artefact as compression
from bakeoff.runs import compress_run
from bakeoff.runs import measure as measure_module

runner = CliRunner()


@pytest.fixture
def counted(monkeypatch, tiny_model_dir, sentiment_dir):
    """A trained tiny run, and the list of its measurements: which model, its forward count, what was asked."""
    run = bakeoff.train(model=str(tiny_model_dir), task=None, data=str(sentiment_dir), epochs=6, learning_rate=3e-3,
                        batch_size=16, precision="fp32", quiet=True, name="tiny")
    checkpoint = run.checkpoint
    calls: list[dict] = []

    def in_process(path, encoded, split, primary, batch_sizes, requests=None, scores=True):
        loaded = compression.load(path, precision="fp32")
        count = [0]

        def forward(batch):
            count[0] += 1
            return loaded.forward(batch)

        result = measure_module.measure(dataclasses.replace(loaded, forward=forward), encoded, split, primary,
                                        batch_sizes, requests, scores)
        calls.append({"original": str(path) == str(checkpoint), "forwards": count[0], "scores": scores,
                      "requests": requests, "timed": result[0].bench["latency_ms"]["requests"]})
        return result

    monkeypatch.setattr(compress_run, "measure_isolated", in_process)
    monkeypatch.setattr(measure_module, "LATENCY_BUDGET_S", 1e9)  # every row timed: counts do not depend on load
    return run, calls


def test_two_methods_in_one_call_measure_the_original_once(counted):
    run, calls = counted
    reports = bakeoff.compress_methods(run.run.id, ["dynamic-int8", "bf16"], batch_sizes=(4,), threads=1)
    assert [report.method for report in reports] == ["dynamic-int8", "bf16"]
    original = [call for call in calls if call["original"]]
    copies = [call for call in calls if not call["original"]]
    assert len(original) == 1 and len(copies) == 2 and original[0]["scores"]
    # the original ran as many forwards as one model's measurement (scores, latency, throughput), not two
    assert [copy["forwards"] for copy in copies] == [original[0]["forwards"]] * 2
    # each copy times exactly the requests the original was timed over: the same rows on both sides
    assert [copy["requests"] for copy in copies] == [original[0]["timed"]] * 2
    assert reports[0].original == reports[1].original  # one measurement, in both reports
    assert all(r.original_source["scores"] == "measured" and r.original_source["shared_by"] ==
               ["dynamic-int8", "bf16"] for r in reports)


def test_a_later_call_reuses_the_scores_and_times_the_original_again(counted):
    run, calls = counted
    first = bakeoff.compress(run.run.id, "dynamic-int8", batch_sizes=(4,), threads=1)
    full = calls[0]["forwards"]
    calls.clear()
    result = runner.invoke(app, ["compress", run.run.id, "--method", "bf16", "--batch-sizes", "4", "--threads",
                                 "1"])
    assert result.exit_code == 0, result.output
    assert "scores and predictions reused from" in " ".join(result.output.split())
    original = [call for call in calls if call["original"]]
    assert len(original) == 1 and not original[0]["scores"]  # timed, not scored
    assert 0 < original[0]["forwards"] < full  # the scoring pass is what was saved
    report = json.loads((compress_run.compressed_dir(
        compress_run.locate(run.run.id).model_dir.parent, "bf16") / "report.json").read_text())
    assert report["original_source"]["scores"] == "reused"
    assert report["original"]["metrics"] == first.original.metrics  # the stored scores, not a guess

    calls.clear()  # another thread count: nothing reused
    again = bakeoff.compress(run.run.id, "bf16", batch_sizes=(4,), threads=2, overwrite=True)
    assert again.original_source["scores"] == "measured"
    assert [call["forwards"] for call in calls if call["original"]] == [full]


def test_a_changed_checkpoint_is_scored_again(counted):
    run, calls = counted
    bakeoff.compress(run.run.id, "bf16", batch_sizes=(4,), threads=1)
    stored = compress_run.original_scores_file(compress_run.locate(run.run.id).model_dir.parent, "validation")
    document = json.loads(stored.read_text())
    document["key"]["checkpoint"]["model.safetensors"] = "0" * 64  # as if the weights had been other ones
    stored.write_text(json.dumps(document))
    calls.clear()
    report = bakeoff.compress(run.run.id, "bf16", batch_sizes=(4,), threads=1, overwrite=True)
    assert report.original_source["scores"] == "measured" and [c["scores"] for c in calls if c["original"]] == [True]


def test_one_methods_failure_leaves_the_others_when_asked(counted, monkeypatch):
    run, _ = counted
    real = compression.write

    def write(checkpoint, method, target, quantize_embeddings=True):
        if method.name == "bf16":
            raise RuntimeError("exporter cannot handle this layer")
        return real(checkpoint, method, target, quantize_embeddings)

    monkeypatch.setattr(compression, "write", write)
    failed = {}
    reports = bakeoff.compress_methods(run.run.id, ["bf16", "dynamic-int8"], batch_sizes=(4,), threads=1,
                                       on_error=lambda method, error: failed.setdefault(method, str(error)))
    assert [r.method for r in reports] == ["dynamic-int8"] and failed == {"bf16": "exporter cannot handle this layer"}
    with pytest.raises(RuntimeError, match="exporter cannot handle"):
        bakeoff.compress_methods(run.run.id, ["bf16"], batch_sizes=(4,), threads=1)


def test_a_trials_compression_steps_are_one_call_and_a_failure_stays_with_its_method():
    """A study trial's ``compress: [...]`` is one ``compress_methods`` call (the original measured once); a method
    that fails is reported beside the others, and a failure before any method is every method's."""
    from types import SimpleNamespace

    from bakeoff.study.worker import compress_steps

    calls = []

    def compress_methods(ref, methods, *, overwrite, threads, on_error):
        calls.append(list(methods))
        on_error("onnx-int8", RuntimeError("exporter cannot handle this layer\nsecond line"))
        change = SimpleNamespace(size_ratio=4.0, metrics={"accuracy": 0.0}, latency_p50_speedup=2.0, timing_busy=None)
        return [SimpleNamespace(method="dynamic-int8", change=change)]

    steps = compress_steps(compress_methods, "p/run", ["dynamic-int8", "onnx-int8"], threads=1)
    assert calls == [["dynamic-int8", "onnx-int8"]]
    assert list(steps) == ["dynamic-int8", "onnx-int8"] and steps["dynamic-int8"]["size_ratio"] == 4.0
    assert steps["onnx-int8"] == {"error": "RuntimeError: exporter cannot handle this layer"}

    def broken(ref, methods, **options):
        raise OSError("no space left on device")

    assert compress_steps(broken, "p/run", ["bf16", "onnx"]) == {
        "bf16": {"error": "OSError: no space left on device"}, "onnx": {"error": "OSError: no space left on device"}}
