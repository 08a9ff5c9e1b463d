"""Append N metric points and read them back: bakeoff's store vs ml-dash 0.5.9 local mode, in one run.

    .venv/bin/python benchmarks/store_append.py [--points 100000]

ml-dash 0.5.9's local mode writes every point straight through (no buffering), which is its only durable
setting; bakeoff's append is durable to the OS when it returns (and fsynced every 2 s and on close).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bakeoff.track import Experiment, Store


def bench_bakeoff(root: Path, points: int) -> tuple[float, float]:
    start = time.perf_counter()
    with Experiment(name="bench", project="bench", local_path=root) as experiment:
        metric = experiment.metric("loss")
        for step in range(points):
            metric.append(value=1.0 / (step + 1), step=step)
    append_s = time.perf_counter() - start
    start = time.perf_counter()
    read = Store(root).get("bench/bench").metric("loss")
    read_s = time.perf_counter() - start
    assert len(read) == points
    return append_s, read_s


def bench_ml_dash(root: Path, points: int) -> tuple[float, float]:
    import ml_dash

    experiment = ml_dash.Experiment(name="bench", project="bench", local_path=str(root))
    start = time.perf_counter()
    with experiment.run:
        metric = experiment.metrics("loss")
        for step in range(points):
            metric.append(value=1.0 / (step + 1), step=step)
    append_s = time.perf_counter() - start
    start = time.perf_counter()
    with experiment.run:
        got = 0
        while True:  # ml-dash reads at most 10,000 points per call
            page = experiment.metrics("loss").read(start_index=got, limit=10_000)
            got += len(page["data"])
            if not page["hasMore"]:
                break
    read_s = time.perf_counter() - start
    assert got == points, got
    return append_s, read_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ours = bench_bakeoff(Path(tmp) / "bakeoff", args.points)
        theirs = bench_ml_dash(Path(tmp) / "ml-dash", args.points)
    print(f"{'':10} {'append s':>10} {'points/s':>10} {'read s':>8}")
    for label, (append_s, read_s) in (("bakeoff", ours), ("ml-dash", theirs)):
        print(f"{label:10} {append_s:10.2f} {args.points / append_s:10.0f} {read_s:8.3f}")
    print(f"append speed-up: {theirs[0] / ours[0]:.1f}x   bakeoff read of {args.points:,} points: {ours[1]:.3f} s")


if __name__ == "__main__":
    main()
