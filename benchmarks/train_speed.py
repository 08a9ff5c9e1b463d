"""Fine-tuning speed and accuracy, side by side in one run: Hugging Face Trainer as the seeds use it, Trainer at
its best, and bakeoff — same model (``--model``, default minilm-l6), data (SST-2 from $BAKEOFF_DATA_DIR, or a
folder in its layout: ``--data``), hyperparameters and seed.

Trainer "at its best" is dynamic padding + length grouping + the fastest precision this CPU has: bf16 where it
runs natively (AVX-512 BF16 / AMX), else fp32 — on a CPU without them bf16 is emulated and ~100x slower than
fp32 (measured: 1.2 vs 128 GFLOP/s on an AVX2-only EPYC), which would make the peer a straw man.

    BAKEOFF_DATA_DIR=../shared/data .venv/bin/python benchmarks/train_speed.py            # all of SST-2
    BAKEOFF_DATA_DIR=../shared/data .venv/bin/python benchmarks/train_speed.py --rows 8000
    BAKEOFF_MPNET_BASE=$(../shared/models/get-mpnet-base) BAKEOFF_DATA_DIR=../shared/data \
        .venv/bin/python benchmarks/train_speed.py --model mpnet-base --data glue-small/sst2 --skip seeds

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


def run_trainer(model_name: str, train: TextDataset, dev: TextDataset, best: bool) -> dict[str, float]:
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
    source = resolve_model(model_name)
    tokenizer = load_tokenizer(source)
    padding = False if best else "max_length"

    def rows(data: TextDataset) -> list[dict]:
        enc = tokenizer(data.texts, truncation=True, max_length=SETTINGS["max_length"], padding=padding)
        # the inputs this model's tokenizer gives (MPNet, RoBERTa, DistilBERT have no token_type_ids)
        return [{**{name: enc[name][i] for name in tokenizer.model_input_names if name in enc},
                 "labels": int(data.labels[i])} for i in range(len(data))]

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


def run_bakeoff(model_name: str, fraction: float, data: str | None) -> dict[str, float]:
    result = bakeoff.train(model=model_name, task="sst2", data=data, train_fraction=fraction, quiet=True,
                           save_checkpoint=False, project="benchmark", **SETTINGS)
    training = result.training
    return {"samples_per_second": training.samples_per_second, "seconds": training.seconds,
            "accuracy": result.validation.metrics["accuracy"], "rows": result.data.sizes["train"],
            "tokens_per_second": training.tokens_per_second, "precision": training.precision}


def matmul_peak(dtype: torch.dtype, hidden: int, intermediate: int) -> float:
    """GFLOP/s of a matmul at the model's shapes in ``dtype`` (the ceiling training FLOP/s is measured against)."""
    a = torch.randn(4096, hidden, dtype=dtype)
    b = torch.randn(hidden, intermediate, dtype=dtype)
    for _ in range(5):
        a @ b
    start, repeats = time.perf_counter(), 50
    for _ in range(repeats):
        a @ b
    return 2 * 4096 * hidden * intermediate * repeats / (time.perf_counter() - start) / 1e9


def training_gflops(tokens_per_second: float, layers: int, hidden: int, intermediate: int) -> float:
    """6 x non-embedding parameters x tokens (forward + backward): layers x (4 h^2 + 2 h ffn) + the pooler/head's
    h^2 (MiniLM-L6: 6 x 1.77M + 0.15M; MPNet-base: 12 x 7.08M + 0.59M)."""
    non_embedding = layers * (4 * hidden * hidden + 2 * hidden * intermediate) + hidden * hidden
    return 6 * non_embedding * tokens_per_second / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm-l6", help="alias, hub id or folder (default minilm-l6)")
    parser.add_argument("--data", default=None, help="a folder in SST-2's layout (default: $BAKEOFF_DATA_DIR/sst2)")
    parser.add_argument("--rows", type=int, default=SST2_ROWS, help="SST-2 training rows (stratified subset)")
    parser.add_argument("--seeds-rows", type=int, default=1000, help="rows for the slow seeds' setup")
    parser.add_argument("--skip", default="", help="comma list of: seeds, best, bakeoff")
    args = parser.parse_args()
    if not os.environ.get("BAKEOFF_DATA_DIR") and not args.data:
        raise SystemExit("set BAKEOFF_DATA_DIR to the folder holding sst2/ (e.g. ../shared/data)")
    skip = set(args.skip.split(","))
    total = SST2_ROWS if not args.data else len(load_task_data(get_task("sst2"), _options(args.data, 1.0)).train)
    fraction = min(1.0, args.rows / total)
    data = load_task_data(get_task("sst2"), _options(args.data, fraction))
    results = {}
    if "bakeoff" not in skip:
        results["bakeoff"] = run_bakeoff(args.model, fraction, args.data)
        print("bakeoff", results["bakeoff"], flush=True)
    if "best" not in skip:
        results["trainer best"] = run_trainer(args.model, data.train, data.validation, best=True)
        print("trainer best", results["trainer best"], flush=True)
    if "seeds" not in skip:
        seeds_fraction = min(1.0, args.seeds_rows / total)
        small = load_task_data(get_task("sst2"), _options(args.data, seeds_fraction))
        results["trainer seeds"] = run_trainer(args.model, small.train, small.validation, best=False)
        print("trainer seeds", results["trainer seeds"], flush=True)

    print(f"\n{args.model} on SST-2, lr {SETTINGS['learning_rate']}, batch {SETTINGS['batch_size']}, 1 epoch, "
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
        config = _model_config(args.model)
        shape = (config.hidden_size, config.intermediate_size)
        peak = matmul_peak(torch.bfloat16 if precision == "bf16" else torch.float32, *shape)
        achieved = training_gflops(ours["tokens_per_second"], config.num_hidden_layers, *shape)
        print(f"training: {achieved:.0f} GFLOP/s (6 x non-embedding params x tokens) = {achieved / peak:.0%} "
              f"of this CPU's {precision} matmul peak, {peak:.0f} GFLOP/s measured now")


def _options(folder: str | None, fraction: float) -> DataOptions:
    from pathlib import Path

    return DataOptions(data=Path(folder) if folder else None, train_fraction=fraction, seed=SETTINGS["seed"])


def _model_config(model_name: str):
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(resolve_model(model_name).location)


if __name__ == "__main__":
    main()
