"""Long IMDB reviews: head vs head+tail vs chunks, on test rows longer than 512 tokens.

    BAKEOFF_STORE=/tmp/long-store .venv/bin/python benchmarks/long_text.py --data ../shared/data/imdb

One MiniLM-L6 is fine-tuned briefly (``--train-rows`` IMDB training rows, ``--train-length`` tokens, head
truncation); then the same weights read ``--rows`` test reviews longer than 512 tokens (a seeded sample) three
ways at ``--max-length`` tokens: the first window (head), a quarter head and the rest tail (head+tail, Sun et al.
2019), and every window with ``--stride`` shared tokens, logits averaged (chunks). Each is timed around
``bakeoff.predict`` (tokenizing, windowing and the model); accuracy has a Wilson 95% interval, and each reading is
compared with head on the same rows by an exact McNemar test. Prints a Markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

import bakeoff
from bakeoff.eval.significance import mcnemar
from bakeoff.models import load_tokenizer, resolve_model

NAMES = ["negative", "positive"]
READINGS = (("head", "head", "cut"), ("head+tail", "head+tail", "cut"), ("chunks", "head", "chunks"))


def read_imdb(path: Path) -> list[tuple[str, int]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [(row["text"], int(row["label"])) for row in csv.DictReader(handle)]


def write_split(path: Path, rows: list[tuple[str, int]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows((text, NAMES[label]) for text, label in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/imdb"))
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--train-rows", type=int, default=300)
    parser.add_argument("--train-length", type=int, default=128)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--longer-than", type=int, default=512)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--stride", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bakeoff-long-text"))
    parser.add_argument("--out", type=Path, default=Path("long_text.json"))
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    train = read_imdb(args.data / "train.csv.gz")
    chosen = rng.permutation(len(train))[: args.train_rows + 100]
    folder = args.work / "data"
    folder.mkdir(parents=True, exist_ok=True)
    write_split(folder / "train.csv", [train[i] for i in chosen[: args.train_rows]])
    write_split(folder / "dev.csv", [train[i] for i in chosen[args.train_rows :]])

    test = read_imdb(args.data / "test.csv.gz")
    tokenizer = load_tokenizer(resolve_model(args.model))
    lengths = np.array([len(ids) for ids in tokenizer([t for t, _ in test], add_special_tokens=True)["input_ids"]])
    long_rows = np.flatnonzero(lengths > args.longer_than)
    picked = rng.choice(long_rows, size=min(args.rows, len(long_rows)), replace=False)
    texts, labels = [test[i][0] for i in picked], np.array([test[i][1] for i in picked])

    print(f"{len(texts)} test rows over {args.longer_than} tokens picked; training", flush=True)
    started = time.perf_counter()
    run = bakeoff.train(model=args.model, task=None, data=str(folder), max_length=args.train_length,
                        epochs=args.epochs, learning_rate=1e-4, batch_size=16, warmup_ratio=0.1, seed=args.seed,
                        quiet=True,
                        project="long-text", name=f"imdb-long-{args.model}-seed{args.seed}", save_checkpoint=True)
    train_seconds = time.perf_counter() - started
    print(f"trained in {train_seconds:.0f} s, validation accuracy {run.validation.metrics['accuracy']:.3f}", flush=True)

    results, correct = [], {}
    for name, truncation, long_text in READINGS:
        started = time.perf_counter()
        predicted = bakeoff.predict(run.run.id, texts, max_length=args.max_length, truncation=truncation,
                                    long_text=long_text, stride=args.stride, precision="fp32")
        seconds = time.perf_counter() - started
        print(f"{name}: {seconds:.0f} s", flush=True)
        right = np.array([NAMES.index(label) for label in predicted.labels]) == labels
        correct[name] = right
        interval = binomtest(int(right.sum()), len(right)).proportion_ci(method="wilson")
        versus = mcnemar(correct["head"], right) if name != "head" else None
        results.append({"reading": name, "accuracy": float(right.mean()), "low": interval.low,
                        "high": interval.high, "seconds": seconds, "rows_per_second": len(right) / seconds,
                        "mcnemar_vs_head_p": versus.p_value if versus else None,
                        "only_head_right": versus.only_first if versus else None,
                        "only_this_right": versus.only_second if versus else None})

    load = os.getloadavg()
    record = {"rows": len(texts), "median_tokens": float(np.median(lengths[picked])),
              "longer_than": args.longer_than, "max_length": args.max_length, "stride": args.stride,
              "train_rows": args.train_rows, "train_length": args.train_length, "epochs": args.epochs,
              "train_seconds": train_seconds, "run": run.run.id,
              "validation_accuracy": run.validation.metrics["accuracy"], "results": results,
              "load_average": load, "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()}
    args.out.write_text(json.dumps(record, indent=2))
    print(f"{len(texts)} IMDB test reviews longer than {args.longer_than} tokens (median "
          f"{record['median_tokens']:.0f}); {args.model} fine-tuned on {args.train_rows} rows at "
          f"{args.train_length} tokens ({train_seconds:.0f} s); read at {args.max_length} tokens; load {load}")
    print("| reading | accuracy | 95% interval | vs head (McNemar p) | seconds | rows/s |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for row in results:
        versus = f"{row['mcnemar_vs_head_p']:.3g}" if row["mcnemar_vs_head_p"] is not None else "-"
        print(f"| {row['reading']} | {row['accuracy']:.3f} | {row['low']:.3f}-{row['high']:.3f} | {versus} | "
              f"{row['seconds']:.1f} | {row['rows_per_second']:.2f} |")


if __name__ == "__main__":
    main()
