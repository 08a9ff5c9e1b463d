"""bakeoff on a GPU, side by side with Hugging Face's Trainer at its best, in one run (``benchmarks/gpu_check.sh``).

1. MiniLM-L6 on SST-2 (``--sst2-rows`` training rows, all 872 dev rows): bakeoff and Trainer (bf16 where the GPU
   runs it natively, dynamic padding, ``group_by_length``), same rows, hyperparameters and seed: samples/s and
   dev accuracy.
2. A BERT-base-sized model on IMDB at 512 tokens (seed 004's workload: batch 8, lr 7.5e-6; ``--imdb-rows`` rows):
   built from BERT-base's config with *random weights* (400 MB of weights cannot travel to the GPU machine), so
   this part measures speed only; its accuracy means nothing and is not reported.
3. Latency of the trained MiniLM (batch 1: p50/p95 over dev rows one at a time; batch 64: p50 per batch) in fp32,
   bf16 (autocast) and ONNX (ONNX Runtime's CUDA provider where it has one; otherwise its one-line refusal is
   recorded and ONNX is timed on the CPU, labelled so).
4. MiniLM sentence embeddings of the SST-2 dev sentences on the device against the CPU: min cosine and texts/s.

Every GPU timing waits for the device (``eval/bench.py``'s ``finished``). On the CPU, ``--device cpu --quick``
rehearses every step with tiny row counts and a 2-layer stand-in for BERT-base (figures meaningless):

    BAKEOFF_DATA_DIR=../shared/data python benchmarks/gpu.py --device cpu --quick --out /tmp/gpu-rehearsal
    python benchmarks/gpu.py --data .gpu/data --minilm .gpu/minilm-l6 --out "$OUT/benchmark"    # on the GPU
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import bakeoff
from bakeoff.compression import artefact as compression
from bakeoff.data import DataOptions, TextDataset, load_task_data
from bakeoff.data.batching import encode
from bakeoff.errors import BakeoffError
from bakeoff.eval.bench import batch1_latency_ms, finished
from bakeoff.eval.predict import model_inputs
from bakeoff.hardware import describe
from bakeoff.models import load_tokenizer, resolve_model
from bakeoff.runtime import resolve_device, resolve_precision
from bakeoff.tasks import get_task

SST2 = {"learning_rate": 5e-5, "batch_size": 32, "epochs": 1.0, "max_length": 128, "seed": 42}
IMDB = {"learning_rate": 7.5e-6, "batch_size": 8, "epochs": 1.0, "max_length": 512, "seed": 42}  # seed 004, 512


def train_fraction(task: str, rows: int) -> tuple[float, TextDataset, TextDataset]:
    """The stratified fraction of ``task``'s training split that holds ``rows`` rows, and the splits it gives."""
    full = load_task_data(get_task(task), DataOptions(seed=42))
    fraction = min(1.0, rows / len(full.train))
    data = load_task_data(get_task(task), DataOptions(train_fraction=fraction, seed=42))
    return fraction, data.train, data.validation


def run_bakeoff(model: str, task: str, fraction: float, settings: dict[str, Any], device: str,
                save: bool) -> dict[str, Any]:
    result = bakeoff.train(model=model, task=task, train_fraction=fraction, device=device, quiet=True,
                           save_checkpoint=save, project="gpu-benchmark", **settings)
    training = result.training
    return {"samples_per_second": training.samples_per_second, "seconds": training.seconds,
            "accuracy": result.validation.metrics["accuracy"], "rows": result.data.sizes["train"],
            "precision": training.precision, "device": training.device, "checkpoint": result.model.checkpoint}


def run_trainer(model: str, train: TextDataset, dev: TextDataset, settings: dict[str, Any], device: str,
                precision: str, predict: bool) -> dict[str, Any]:
    """Trainer at its best: dynamic padding, length grouping, the precision bakeoff's ``auto`` picked."""
    from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding, Trainer, TrainingArguments
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    source = resolve_model(model)
    tokenizer = load_tokenizer(source)

    def rows(data: TextDataset) -> list[dict[str, Any]]:
        enc = tokenizer(data.texts, truncation=True, max_length=settings["max_length"])
        return [{**{name: enc[name][i] for name in enc}, "labels": int(data.labels[i])} for i in range(len(data))]

    torch.manual_seed(settings["seed"])
    network = AutoModelForSequenceClassification.from_pretrained(source.location, num_labels=2,
                                                                 use_safetensors=True)
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, learning_rate=settings["learning_rate"], per_device_train_batch_size=settings["batch_size"],
            per_device_eval_batch_size=128, num_train_epochs=settings["epochs"], seed=settings["seed"],
            bf16=precision == "bf16", fp16=precision == "fp16", train_sampling_strategy="group_by_length",
            use_cpu=device == "cpu", report_to="none", save_strategy="no", eval_strategy="no",
            logging_strategy="no", disable_tqdm=True)
        trainer = Trainer(model=network, args=args, train_dataset=rows(train),
                          data_collator=DataCollatorWithPadding(tokenizer))
        metrics = trainer.train().metrics
        accuracy = None
        if predict:
            predictions = trainer.predict(rows(dev))
            # against the label_ids Trainer returns: its eval loader may reorder rows (grouped by length)
            accuracy = float(np.mean(predictions.predictions.argmax(-1) == predictions.label_ids))
    return {"samples_per_second": len(train) * settings["epochs"] / metrics["train_runtime"],
            "seconds": metrics["train_runtime"], "accuracy": accuracy, "rows": len(train), "precision": precision}


def bert_base_folder(minilm: str, folder: Path, quick: bool) -> str:
    """BERT-base's architecture (12 x 768, 110M parameters) with random weights and MiniLM's tokenizer (the same
    30,522-token uncased WordPiece vocabulary); ``quick``: a 2-layer, 128-wide stand-in for the CPU rehearsal."""
    from transformers import BertConfig, BertModel

    shape = {"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 2, "intermediate_size": 512} \
        if quick else {}  # BertConfig's defaults are BERT-base's
    config = BertConfig(vocab_size=30522, max_position_embeddings=512, **shape)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    load_tokenizer(resolve_model(minilm)).save_pretrained(folder)
    return str(folder)


def batch_latency_ms(forward: Any, encoded: Any, batch_size: int, batches: int) -> dict[str, float]:
    """p50/p95 milliseconds per batch of ``batch_size`` dev rows (in file order, padded to each batch's longest)."""
    count = min(batches, max(1, len(encoded) // batch_size))
    inputs = [model_inputs(encoded, np.arange(i * batch_size, min((i + 1) * batch_size, len(encoded))))
              for i in range(count)]
    for batch in inputs[:3]:
        finished(forward(batch))  # warm-up
    timings = []
    with torch.inference_mode():
        for batch in inputs:
            start = time.perf_counter()
            finished(forward(batch))
            timings.append((time.perf_counter() - start) * 1000)
    return {"p50": float(np.percentile(timings, 50)), "p95": float(np.percentile(timings, 95)),
            "batches": len(timings)}


def latencies(checkpoint: Path, dev: TextDataset, device: torch.device, requests: int,
              batches: int) -> dict[str, Any]:
    """Batch-1 and batch-64 latency of a trained checkpoint in fp32, bf16 and ONNX on ``device``."""
    out: dict[str, Any] = {}
    loaded = compression.load(checkpoint, precision="fp32", device=device)
    encoded = encode(loaded.tokenizer, dev, 128)
    for precision in ("fp32", "bf16"):
        model = compression.load(checkpoint, precision=precision, device=device)
        out[precision] = {"device": str(device), "batch1": batch1_latency_ms(model.forward, encoded, requests),
                          "batch64": batch_latency_ms(model.forward, encoded, 64, batches)}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "onnx"
        try:
            compression.write(checkpoint, compression.get_method("onnx"), folder)
        except BakeoffError as error:  # e.g. the `onnx` package is not on this machine
            out["onnx_unavailable"] = str(error)
            return out
        where = device
        try:
            onnx = compression.load(folder, device=device)
        except BakeoffError as error:
            out["onnx_refused_on_device"] = str(error)
            where = torch.device("cpu")
            onnx = compression.load(folder, device=where)
        out["onnx"] = {"device": str(where), "batch1": batch1_latency_ms(onnx.forward, encoded, requests),
                       "batch64": batch_latency_ms(onnx.forward, encoded, 64, batches)}
    return out


def embeddings(minilm: str, texts: list[str], device: str) -> dict[str, Any]:
    """MiniLM-L6 sentence vectors on ``device`` against the CPU: the smallest cosine, and texts/s on each."""
    from bakeoff.embedding.encoder import Embedder

    on_device = Embedder(minilm, device=device)
    on_device.encode(texts[:64])  # warm-up
    vectors = on_device.encode(texts)
    seconds = on_device.last_seconds
    on_cpu = Embedder(minilm, device="cpu")
    reference = on_cpu.encode(texts)
    return {"texts": len(texts), "min_cosine": float((vectors * reference).sum(axis=1).min()),
            "texts_per_second": len(texts) / seconds, "cpu_texts_per_second": len(texts) / on_cpu.last_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (the benchmark) or cpu (a rehearsal)")
    parser.add_argument("--quick", action="store_true", help="tiny row counts and a tiny BERT: rehearse the steps")
    parser.add_argument("--data", default=os.environ.get("BAKEOFF_DATA_DIR"), help="folder holding sst2/, imdb/")
    parser.add_argument("--minilm", default="minilm-l6", help="MiniLM-L6: the alias, or a folder")
    parser.add_argument("--sst2-rows", type=int, default=20000)
    parser.add_argument("--imdb-rows", type=int, default=2000)
    parser.add_argument("--skip", default="", help="comma list of: sst2, imdb, latency, embed, trainer")
    parser.add_argument("--out", type=Path, required=True, help="folder for results.json and results.md")
    args = parser.parse_args()
    if not args.data:
        raise SystemExit("give --data (or set BAKEOFF_DATA_DIR): the folder holding sst2/ and imdb/")
    os.environ["BAKEOFF_DATA_DIR"] = str(Path(args.data).resolve())
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("BAKEOFF_STORE", str(args.out / "store"))
    if args.quick:
        args.sst2_rows, args.imdb_rows = min(args.sst2_rows, 256), min(args.imdb_rows, 48)
    device = resolve_device(args.device)
    precision = resolve_precision("auto", device)
    minilm = resolve_model(args.minilm).location
    skip = set(filter(None, args.skip.split(",")))
    results: dict[str, Any] = {"hardware": describe(), "device": str(device), "precision": precision,
                               "quick": args.quick, "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                               "torch": torch.__version__}
    if device.type == "cuda":
        results["gpu"] = torch.cuda.get_device_name(device)

    def save() -> None:
        (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str))
        (args.out / "results.md").write_text(markdown(results))

    if "sst2" not in skip:
        fraction, train, dev = train_fraction("sst2", args.sst2_rows)
        ours = run_bakeoff(minilm, "sst2", fraction, SST2, args.device, save=True)
        print("sst2 bakeoff", ours, flush=True)
        results["sst2"] = {"bakeoff": ours}
        save()
        if "trainer" not in skip:
            results["sst2"]["trainer"] = run_trainer(minilm, train, dev, SST2, args.device, precision, predict=True)
            print("sst2 trainer", results["sst2"]["trainer"], flush=True)
            save()
        if "latency" not in skip:
            requests, batches = (20, 3) if args.quick else (200, 12)
            results["latency"] = latencies(Path(ours["checkpoint"]), dev, device, requests, batches)
            print("latency", json.dumps(results["latency"]), flush=True)
            save()
        if "embed" not in skip:
            texts = dev.texts[:64] if args.quick else dev.texts
            results["embeddings"] = embeddings(minilm, texts, args.device)
            print("embeddings", results["embeddings"], flush=True)
            save()
    if "imdb" not in skip:
        fraction, train, dev = train_fraction("imdb", args.imdb_rows)
        settings = {**IMDB, "max_length": 128} if args.quick else IMDB
        with tempfile.TemporaryDirectory() as scratch:
            model = bert_base_folder(minilm, Path(scratch) / "bert-base-random", args.quick)
            results["imdb"] = {"model": "random-weight stand-in" if args.quick else "BERT-base config, random weights",
                               "settings": settings,
                               "bakeoff": run_bakeoff(model, "imdb", fraction, settings, args.device, save=False)}
            print("imdb bakeoff", results["imdb"]["bakeoff"], flush=True)
            save()
            if "trainer" not in skip:
                results["imdb"]["trainer"] = run_trainer(model, train, dev, settings, args.device, precision,
                                                         predict=False)
                print("imdb trainer", results["imdb"]["trainer"], flush=True)
        for side in ("bakeoff", "trainer"):  # random weights: accuracy means nothing
            results["imdb"].get(side, {}).pop("accuracy", None)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    save()
    print(markdown(results))


def markdown(results: dict[str, Any]) -> str:
    """The figures as BENCHMARKS.md tables, with the ratios against Trainer."""
    where = results.get("gpu") or results["hardware"]["cpu"]
    lines = [f"Measured on {where} ({results['device']}, {results['precision']}), {results['started']}"
             + (" -- QUICK REHEARSAL: figures meaningless" if results["quick"] else ""), ""]
    tokens = results.get("imdb", {}).get("settings", {}).get("max_length")
    for task, title in (("sst2", "MiniLM-L6 on SST-2, 1 epoch"),
                        ("imdb", f"{results.get('imdb', {}).get('model')} (speed only) on IMDB at {tokens} tokens")):
        if task not in results:
            continue
        lines += [f"| {title} | rows | precision | train s | samples/s | dev accuracy |", "|---|---|---|---|---|---|"]
        for side in ("bakeoff", "trainer"):
            if side in results[task]:
                r = results[task][side]
                accuracy = f"{r['accuracy']:.4f}" if r.get("accuracy") is not None else "-"
                lines.append(f"| {side} | {r['rows']} | {r['precision']} | {r['seconds']:.1f} | "
                             f"{r['samples_per_second']:.1f} | {accuracy} |")
        if "trainer" in results[task]:
            ratio = results[task]["bakeoff"]["samples_per_second"] / results[task]["trainer"]["samples_per_second"]
            lines.append(f"\nbakeoff / Trainer samples/s: {ratio:.2f}x\n")
    if "latency" in results:
        lines += ["| trained MiniLM-L6 | runs on | batch 1 p50 ms | batch 1 p95 ms | batch 64 p50 ms |",
                  "|---|---|---|---|---|"]
        for name in ("fp32", "bf16", "onnx"):
            if name not in results["latency"]:
                lines.append(f"| {name} | {results['latency'].get('onnx_unavailable', 'not measured')} | | | |")
                continue
            r = results["latency"][name]
            lines.append(f"| {name} | {r['device']} | {r['batch1']['p50']:.2f} | {r['batch1']['p95']:.2f} | "
                         f"{r['batch64']['p50']:.2f} |")
        if "onnx_refused_on_device" in results["latency"]:
            lines.append(f"\nONNX on {results['device']}: {results['latency']['onnx_refused_on_device']}")
        lines.append("")
    if "embeddings" in results:
        e = results["embeddings"]
        lines.append(f"MiniLM-L6 embeddings of {e['texts']} SST-2 dev sentences: min cosine {e['min_cosine']:.6f} "
                     f"against the CPU; {e['texts_per_second']:.0f} texts/s on {results['device']}, "
                     f"{e['cpu_texts_per_second']:.0f} on the CPU")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
