"""One run in one process against the same run in N processes (``--nproc``), side by side, interleaved.

    BAKEOFF_DATA_DIR=../shared/data .venv/bin/python benchmarks/nproc_speed.py
    BAKEOFF_DATA_DIR=../shared/data .venv/bin/python benchmarks/nproc_speed.py --steps 60 --repeats 2 --nproc 2

Each setup is a ``bakeoff train`` command of its own (MiniLM-L6 on SST-2, same seed, batch and steps), so the
wall time includes what a user waits for: start-up (N processes each import torch and load the model), training,
and rank 0's evaluation and save. ``train s`` is the loop's own time (evaluation excluded); samples/s counts the
whole (global) batch. The setups run in turn, ``--repeats`` times, so a noisy neighbour hits them all alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(store: Path, nproc: int, threads: int, args: argparse.Namespace, index: int) -> dict[str, float]:
    command = [sys.executable, "-m", "bakeoff", "train", "--model", "minilm-l6", "--task", "sst2",
               "--train-fraction", str(args.fraction), "--max-steps", str(args.steps), "--batch-size", "32",
               "--precision", args.precision, "--threads", str(threads), "--nproc", str(nproc),
               "--project", "nproc", "--name", f"n{nproc}-t{threads}-{index}", "--quiet", "--json"]
    env = {**os.environ, "BAKEOFF_STORE": str(store)}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    result = json.loads(done.stdout)
    return {"wall": wall, "train": result["training"]["seconds"],
            "samples_per_second": result["training"]["samples_per_second"],
            "accuracy": result["validation"]["metrics"]["accuracy"], "world_size": result["training"]["world_size"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--fraction", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    setups = [(1, cores), (1, max(1, cores // args.nproc)), (args.nproc, max(1, cores // args.nproc))]
    figures: dict[tuple[int, int], list[dict[str, float]]] = {setup: [] for setup in setups}
    with tempfile.TemporaryDirectory(prefix="bakeoff-nproc-bench-") as store:
        for index in range(args.repeats):
            for nproc, threads in setups:
                figures[(nproc, threads)].append(run(Path(store), nproc, threads, args, index))
                print(f"  {nproc} process(es) x {threads} thread(s), run {index + 1}: "
                      f"{figures[(nproc, threads)][-1]}", flush=True)
    print(f"\nMiniLM-L6, SST-2 {args.fraction:.0%}, {args.steps} steps of 32, precision {args.precision}, "
          f"{cores} cores; median of {args.repeats}")
    print("| setup | wall s | train s | samples/s | dev accuracy |\n|---|---:|---:|---:|---:|")
    base = statistics.median(f["samples_per_second"] for f in figures[setups[0]])
    for (nproc, threads), runs in figures.items():
        speed = statistics.median(f["samples_per_second"] for f in runs)
        accuracies = " / ".join(f"{f['accuracy']:.4f}" for f in runs)
        print(f"| {nproc} process(es) x {threads} thread(s) | {statistics.median(f['wall'] for f in runs):.1f} | "
              f"{statistics.median(f['train'] for f in runs):.1f} | {speed:.1f} ({speed / base:.2f}x) | "
              f"{accuracies} |")


if __name__ == "__main__":
    main()
