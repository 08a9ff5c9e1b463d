"""Compression and inference, side by side in one run, on MiniLM-L6 fine-tuned on SST-2.

    BAKEOFF_DATA_DIR=../shared/data .venv/bin/python benchmarks/compress_speed.py --run PROJECT/NAME
    BAKEOFF_DATA_DIR=../shared/data .venv/bin/python benchmarks/compress_speed.py   # trains one first (~8 min)

Part 1, ``bakeoff compress`` with every method against seed 001's recipe (``torch.ao`` dynamic int8 on Linear
layers only, measured in memory: its pickle is never written): size, dev accuracy, flips, batch-1 p50/p95.
Part 2, batched prediction over the SST-2 dev set: ``transformers.pipeline("text-classification")`` with its
defaults, ``Trainer.evaluate``-style prediction in bf16, and ``bakeoff predict``; samples/s, ratios, and how
many predictions differ from each peer's for the same weights. Part 3, whether each compressed model's predictions
depend on the batch. Needs ``pip install -e '.[bench,onnx]'``.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import bakeoff
from bakeoff.data import DataOptions, load_task_data
from bakeoff.data.batching import encode
from bakeoff.eval.bench import batch1_latency_ms
from bakeoff.eval.predict import predict_with
from bakeoff.models.checkpoint import load_checkpoint
from bakeoff.models.forward import torch_forward
from bakeoff.runs.files import CHECKPOINT_DIR
from bakeoff.runs.locate import locate
from bakeoff.tasks import get_task

METHODS = ("dynamic-int8", "onnx-int8", "bf16", "onnx")


def seed_recipe(checkpoint: Path, encoded) -> dict[str, float]:
    """Seed 001: ``quantize_dynamic`` on Linear layers; size of its saved state, batch-1 latency, predictions."""
    model, _ = load_checkpoint(checkpoint)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation: this is the peer, as the seed runs it
        quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        buffer = io.BytesIO()
        torch.save(quantized.state_dict(), buffer)  # in memory only: bakeoff never writes or reads a pickle
    forward = torch_forward(quantized, "fp32", torch.device("cpu"))
    latency = batch1_latency_ms(forward, encoded)
    predictions = predict_with(forward, encoded, 64, 2).labels
    return {"bytes": buffer.getbuffer().nbytes, "p50": latency["p50"], "p95": latency["p95"],
            "accuracy": float((predictions == encoded.labels).mean())}


def part1(run: str, checkpoint: Path, dev) -> None:
    _, tokenizer = load_checkpoint(checkpoint)
    encoded = encode(tokenizer, dev, 128)
    print(f"\npart 1: compression of {run}, SST-2 dev ({len(dev)} rows), {torch.get_num_threads()} threads")
    print(f"{'method':<22}{'MB':>7}{'x smaller':>10}{'acc':>8}{'d acc pt':>9}{'flips':>6}{'McNemar p':>10}"
          f"{'p50 ms':>8}{'p95 ms':>8}{'p50 x':>7}")
    fp32_bytes = (checkpoint / "model.safetensors").stat().st_size
    for method in METHODS:
        result = bakeoff.compress(run, method, overwrite=True)
        report = result.to_dict()  # the same JSON `bakeoff compress --json` prints
        before, after, change = report["original"], report["compressed"], report["change"]
        if method == METHODS[0]:
            lat = before["bench"]["latency_ms"]
            print(f"{'fp32 (torch)':<22}{before['weights_bytes'] / 1e6:>7.1f}{1:>10.2f}"
                  f"{before['metrics']['accuracy']:>8.4f}{'':>9}{'':>6}{'':>10}{lat['p50']:>8.2f}{lat['p95']:>8.2f}")
        lat = after["bench"]["latency_ms"]
        print(f"{method:<22}{after['weights_bytes'] / 1e6:>7.1f}{change['size_ratio']:>10.2f}"
              f"{after['metrics']['accuracy']:>8.4f}{change['metrics']['accuracy'] * 100:>+9.2f}{change['flips']:>6}"
              f"{change['mcnemar']['p_value']:>10.3g}{lat['p50']:>8.2f}{lat['p95']:>8.2f}"
              f"{change['latency_p50_speedup']:>7.2f}")
    seed = seed_recipe(checkpoint, encoded)
    fp32_p50 = batch1_latency_ms(torch_forward(load_checkpoint(checkpoint)[0], "fp32", torch.device("cpu")),
                                 encoded)["p50"]
    print(f"{'seed 001 (ao, Linear)':<22}{seed['bytes'] / 1e6:>7.1f}{fp32_bytes / seed['bytes']:>10.2f}"
          f"{seed['accuracy']:>8.4f}{'':>9}{'':>6}{'':>10}{seed['p50']:>8.2f}{seed['p95']:>8.2f}"
          f"{fp32_p50 / seed['p50']:>7.2f}  (p50 x against fp32 re-measured now: {fp32_p50:.2f} ms)")


def part2(run: str, checkpoint: Path, dev) -> None:
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    print(f"\npart 2: batched prediction over SST-2 dev ({len(dev)} rows), {torch.get_num_threads()} threads")
    rates, labels = {}, {}

    classifier = pipeline("text-classification", model=str(checkpoint), device="cpu")
    start = time.perf_counter()
    out = classifier(list(dev.texts))
    rates["pipeline (defaults, fp32)"] = len(dev) / (time.perf_counter() - start)
    names = classifier.model.config.label2id
    labels["pipeline (defaults, fp32)"] = np.array([names[row["label"]] for row in out])

    labels["trainer-style bf16, batch 8"], rates["trainer-style bf16, batch 8"] = trainer_predict(checkpoint, dev)

    for label, kwargs in (("bakeoff predict bf16 (+recheck)", {"precision": "bf16"}),
                          ("bakeoff predict fp32", {"precision": "fp32"}),
                          ("bakeoff predict onnx-int8", {"method": "onnx-int8"}),
                          ("bakeoff predict dynamic-int8", {"method": "dynamic-int8"})):
        start = time.perf_counter()
        result = bakeoff.predict(run, list(dev.texts), **kwargs)  # loading + tokenizing counted, as for the peers
        rates[label] = len(dev) / (time.perf_counter() - start)
        labels[label] = result.label_ids
    base, trainer = rates["pipeline (defaults, fp32)"], rates["trainer-style bf16, batch 8"]
    print(f"{'setup':<32}{'samples/s':>10}{'x pipeline':>11}{'x trainer':>10}{'acc':>8}"
          f"{'!= pipeline':>12}{'!= trainer':>11}")
    for label, rate in rates.items():
        print(f"{label:<32}{rate:>10.0f}{rate / base:>11.2f}{rate / trainer:>10.2f}"
              f"{(labels[label] == dev.labels).mean():>8.4f}"
              f"{int((labels[label] != labels['pipeline (defaults, fp32)']).sum()):>12}"
              f"{int((labels[label] != labels['trainer-style bf16, batch 8']).sum()):>11}")


def trainer_predict(checkpoint: Path, dev) -> tuple[np.ndarray, float]:
    """``Trainer.predict`` with bf16 and its default eval batch (8), dynamic padding; model load counted."""
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint)
    enc = tokenizer(list(dev.texts), truncation=True, max_length=128)
    rows = [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
             "token_type_ids": enc["token_type_ids"][i], "labels": int(dev.labels[i])} for i in range(len(dev))]
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, bf16=True, use_cpu=True, report_to="none", disable_tqdm=True)
        trainer = Trainer(model=model, args=args, data_collator=DataCollatorWithPadding(tokenizer))
        predictions = trainer.predict(rows)
    seconds = time.perf_counter() - start
    if not np.array_equal(predictions.label_ids, dev.labels):
        raise SystemExit("Trainer.predict returned rows in another order: cannot compare predictions row by row")
    return predictions.predictions.argmax(-1), len(dev) / seconds


def part3(checkpoint: Path, dev) -> None:
    """Do predictions depend on the batch? Batch 1 against length-sorted batches of 64, per compressed model."""
    from bakeoff.compression import artefact

    print(f"\npart 3: batch 1 against batches of 64 over SST-2 dev ({len(dev)} rows)")
    for method in METHODS:
        loaded = artefact.load(checkpoint.parent / "compressed" / method)
        encoded = encode(loaded.tokenizer, dev, 128)
        one = predict_with(loaded.forward, encoded, 1, loaded.num_labels).logits
        many = predict_with(loaded.forward, encoded, 64, loaded.num_labels).logits
        print(f"{method:<14} labels that differ: {int((one.argmax(1) != many.argmax(1)).sum()):>3}   "
              f"largest logit difference: {np.abs(one - many).max():.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a trained MiniLM-L6 SST-2 run (default: train one, ~8 minutes)")
    parser.add_argument("--part", choices=("1", "2", "3", "all"), default="all")
    args = parser.parse_args()
    if not os.environ.get("BAKEOFF_DATA_DIR"):
        raise SystemExit("set BAKEOFF_DATA_DIR to the folder holding sst2/ (e.g. ../shared/data)")
    run = args.run
    if run is None:
        result = bakeoff.train(model="minilm-l6", task="sst2", epochs=1, project="benchmark", name="compress-sst2",
                               quiet=True)
        run = f"{result.run['project']}/{result.run['name']}"
    checkpoint = locate(run).model_dir
    assert checkpoint.name == CHECKPOINT_DIR
    dev = load_task_data(get_task("sst2"), DataOptions()).validation
    if args.part in ("1", "all"):
        part1(run, checkpoint, dev)
    if args.part in ("2", "all"):
        part2(run, checkpoint, dev)
    if args.part in ("3", "all"):
        part3(checkpoint, dev)


if __name__ == "__main__":
    main()
