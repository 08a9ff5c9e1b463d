"""Fine-tuning speed and accuracy, side by side in one run: Hugging Face Trainer as the seeds use it, Trainer at
its best, and bakeoff — same model (minilm-l6), data (SST-2 from $BAKEOFF_DATA_DIR), hyperparameters and seed.

Trainer "at its best" is dynamic padding + length grouping + the fastest precision this CPU has: bf16 where it
runs natively (AVX-512 BF16 / AMX), else fp32 — on a CPU without them bf16 is emulated and ~100x slower than
fp32 (measured: 1.2 vs 128 GFLOP/s on an AVX2-only EPYC), which would make the peer a straw man.

    BAKEOFF_DATA_DIR=../shared/data .venv/bin/python benchmarks/train_speed.py            # all of SST-2
    BAKEOFF_DATA_DIR=../shared/data .venv/bin/python benchmarks/train_speed.py --rows 8000

The seeds' setup (padding to 128, fp32) runs about 12 samples/s here, so it trains on ``--seeds-rows`` rows
(default 1,000): its samples/s is comparable, its accuracy is not (fewer rows), and is printed as such.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch

import bakeoff
from bakeoff.data import DataOptions, TextDataset, load_task_data
from bakeoff.hardware import cpu_supports_bf16
from bakeoff.models import load_tokenizer, resolve_model
from bakeoff.tasks import get_task

SETTINGS = {"learning_rate": 5e-5, "batch_size": 32, "epochs": 1.0, "max_length": 128, "seed": 42}
SST2_ROWS = 67349


def run_trainer(train: TextDataset, dev: TextDataset, best: bool) -> dict[str, float]:
    """Trainer; ``best``: dynamic padding + length grouping + native bf16 if any; else padding to 128 in fp32."""
    from transformers import (
        AutoModelForSequenceClassification,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        default_data_collator,
    )
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    source = resolve_model("minilm-l6")
    tokenizer = load_tokenizer(source)
    padding = False if best else "max_length"

    def rows(data: TextDataset) -> list[dict]:
        enc = tokenizer(data.texts, truncation=True, max_length=SETTINGS["max_length"], padding=padding)
        return [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
                 "token_type_ids": enc["token_type_ids"][i], "labels": int(data.labels[i])} for i in range(len(data))]

    torch.manual_seed(SETTINGS["seed"])
    model = AutoModelForSequenceClassification.from_pretrained(source.location, num_labels=2)
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, learning_rate=SETTINGS["learning_rate"], per_device_train_batch_size=SETTINGS["batch_size"],
            per_device_eval_batch_size=128, num_train_epochs=SETTINGS["epochs"], seed=SETTINGS["seed"],
            bf16=best and cpu_supports_bf16(), train_sampling_strategy="group_by_length" if best else "random",
            use_cpu=True, report_to="none", save_strategy="no", eval_strategy="no", logging_strategy="no",
            disable_tqdm=True,
        )
        trainer = Trainer(model=model, args=args, train_dataset=rows(train),
                          data_collator=DataCollatorWithPadding(tokenizer) if best else default_data_collator)
        metrics = trainer.train().metrics
        predictions = trainer.predict(rows(dev))
    # compare with the label_ids Trainer returns: in 5.x its eval loader may reorder rows (grouped by length)
    accuracy = float(np.mean(predictions.predictions.argmax(-1) == predictions.label_ids))
    return {"samples_per_second": len(train) * SETTINGS["epochs"] / metrics["train_runtime"],
            "seconds": metrics["train_runtime"], "accuracy": accuracy, "rows": len(train),
            "precision": "bf16" if args.bf16 else "fp32"}


def run_bakeoff(fraction: float) -> dict[str, float]:
    result = bakeoff.train(model="minilm-l6", task="sst2", train_fraction=fraction, quiet=True,
                           save_checkpoint=False, project="benchmark", **SETTINGS)
    training = result.training
    return {"samples_per_second": training.samples_per_second, "seconds": training.seconds,
            "accuracy": result.validation.metrics["accuracy"], "rows": result.data.sizes["train"],
            "tokens_per_second": training.tokens_per_second, "precision": training.precision}


def matmul_peak(dtype: torch.dtype) -> float:
    """GFLOP/s of a matmul at MiniLM's shapes in ``dtype`` (the ceiling training FLOP/s is measured against)."""
    a = torch.randn(4096, 384, dtype=dtype)
    b = torch.randn(384, 1536, dtype=dtype)
    for _ in range(5):
        a @ b
    start, repeats = time.perf_counter(), 50
    for _ in range(repeats):
        a @ b
    return 2 * 4096 * 384 * 1536 * repeats / (time.perf_counter() - start) / 1e9


def training_gflops(tokens_per_second: float) -> float:
    """6 x non-embedding parameters x tokens (forward + backward), MiniLM-L6: 6 layers x 1.77M + pooler."""
    non_embedding = 6 * (4 * 384 * 384 + 2 * 384 * 1536) + 384 * 384
    return 6 * non_embedding * tokens_per_second / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=SST2_ROWS, help="SST-2 training rows (stratified subset)")
    parser.add_argument("--seeds-rows", type=int, default=1000, help="rows for the slow seeds' setup")
    parser.add_argument("--skip", default="", help="comma list of: seeds, best, bakeoff")
    args = parser.parse_args()
    if not os.environ.get("BAKEOFF_DATA_DIR"):
        raise SystemExit("set BAKEOFF_DATA_DIR to the folder holding sst2/ (e.g. ../shared/data)")
    skip = set(args.skip.split(","))
    fraction = min(1.0, args.rows / SST2_ROWS)
    data = load_task_data(get_task("sst2"), DataOptions(train_fraction=fraction, seed=SETTINGS["seed"]))
    results = {}
    if "bakeoff" not in skip:
        results["bakeoff"] = run_bakeoff(fraction)
        print("bakeoff", results["bakeoff"], flush=True)
    if "best" not in skip:
        results["trainer best"] = run_trainer(data.train, data.validation, best=True)
        print("trainer best", results["trainer best"], flush=True)
    if "seeds" not in skip:
        seeds_fraction = min(1.0, args.seeds_rows / SST2_ROWS)
        small = load_task_data(get_task("sst2"), DataOptions(train_fraction=seeds_fraction, seed=SETTINGS["seed"]))
        results["trainer seeds"] = run_trainer(small.train, small.validation, best=False)
        print("trainer seeds", results["trainer seeds"], flush=True)

    print(f"\nMiniLM-L6 on SST-2, lr {SETTINGS['learning_rate']}, batch {SETTINGS['batch_size']}, 1 epoch, "
          f"seed {SETTINGS['seed']}, {torch.get_num_threads()} threads")
    print(f"{'setup':15} {'precision':>9} {'rows':>6} {'train s':>8} {'samples/s':>10} {'dev acc':>8}")
    for name, r in results.items():
        print(f"{name:15} {r['precision']:>9} {r['rows']:6d} {r['seconds']:8.1f} {r['samples_per_second']:10.1f} "
              f"{r['accuracy']:8.4f}")
    ours = results.get("bakeoff")
    if ours:
        for peer in ("trainer best", "trainer seeds"):
            if peer in results:
                ratio = ours["samples_per_second"] / results[peer]["samples_per_second"]
                delta = (ours["accuracy"] - results[peer]["accuracy"]) * 100
                same_rows = ours["rows"] == results[peer]["rows"]
                accuracy = f"dev accuracy {delta:+.2f} points" if same_rows else "accuracy not comparable (fewer rows)"
                print(f"bakeoff vs {peer}: {ratio:.2f}x samples/s, {accuracy}")
        precision = ours["precision"]
        peak = matmul_peak(torch.bfloat16 if precision == "bf16" else torch.float32)
        achieved = training_gflops(ours["tokens_per_second"])
        print(f"training: {achieved:.0f} GFLOP/s (6 x non-embedding params x tokens) = {achieved / peak:.0%} "
              f"of this CPU's {precision} matmul peak, {peak:.0f} GFLOP/s measured now")


if __name__ == "__main__":
    main()
