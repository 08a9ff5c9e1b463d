"""Study machinery, side by side in one run: what ``bakeoff run`` costs per trial beyond a plain training loop,
and what the Ray executor gains running two trials at once on two CPUs.

    BAKEOFF_DATA_DIR=../shared/data .venv/bin/python benchmarks/study_overhead.py   # needs '.[ray]'

Part 1: the same six trials (minilm-l3, demo task, 1 epoch, six seeds) as a notebook would run them (a Python loop
calling ``bakeoff.train`` in one process) and as a study (``bakeoff run``: a process per trial, store scans,
lock, leaderboard). Overhead per trial = (study wall time - loop wall time) / trials.
Part 2: two trials (minilm-l3 on 20% of SST-2, 1.5 minutes each, 1 CPU each) run one after the other by the
local executor, then at once on a local Ray cluster (``ray.init(num_cpus=2)``; its start-up is timed apart and included in the ratio).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import bakeoff

SEEDS = [1, 2, 3, 4, 5, 6]


def part1(folder: Path) -> None:
    settings = {"model": "minilm-l3", "task": "demo", "epochs": 1.0, "batch_size": 16, "threads": 2, "quiet": True}
    os.environ["BAKEOFF_STORE"] = str(folder / "loop-store")
    start = time.perf_counter()
    for seed in SEEDS:
        bakeoff.train(**settings, seed=seed, project="loop")
    loop = time.perf_counter() - start
    study = folder / "overhead.yaml"
    study.write_text(f"name: overhead\nmodels: [minilm-l3]\ntasks: [demo]\nsettings: {{epochs: 1, batch_size: 16}}\n"
                     f"seeds: {SEEDS}\nresources: {{cpus: 2}}\n")
    os.environ["BAKEOFF_STORE"] = str(folder / "study-store")
    start = time.perf_counter()
    outcome = bakeoff.run_study(study)
    wall = time.perf_counter() - start
    assert outcome.count("COMPLETED") == len(SEEDS)
    inside = sum(o.seconds for o in outcome.outcomes)
    print(f"\npart 1: {len(SEEDS)} trials of minilm-l3 on demo, 1 epoch, 2 threads")
    print(f"{'setup':<44}{'wall s':>8}{'per trial s':>13}")
    print(f"{'python loop calling bakeoff.train':<44}{loop:>8.1f}{loop / len(SEEDS):>13.2f}")
    print(f"{'bakeoff run (process per trial)':<44}{wall:>8.1f}{wall / len(SEEDS):>13.2f}")
    print(f"study overhead per trial vs the loop: {(wall - loop) / len(SEEDS):+.2f} s; "
          f"outside the trial processes' own work: {(wall - inside) / len(SEEDS):.2f} s")


def part2(folder: Path, fraction: float) -> None:
    import ray

    task = "sst2" if os.environ.get("BAKEOFF_DATA_DIR") else "demo"
    fraction = fraction if task == "sst2" else 1.0
    for name in ("sequential", "on-ray"):
        (folder / f"{name}.yaml").write_text(
            f"name: {name}\nmodels: [minilm-l3]\ntasks: [{task}]\nsettings: {{epochs: 1, batch_size: 16, "
            f"train_fraction: {fraction}}}\nseeds: [1, 2]\nresources: {{cpus: 1}}\n")
    os.environ["BAKEOFF_STORE"] = str(folder / "ray-store")
    start = time.perf_counter()
    sequential = bakeoff.run_study(folder / "sequential.yaml")
    one_by_one = time.perf_counter() - start
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    startup = time.perf_counter() - start
    parallel = bakeoff.run_study(folder / "on-ray.yaml", executor="ray")
    together = time.perf_counter() - start
    ray.shutdown()
    assert sequential.count("COMPLETED") == parallel.count("COMPLETED") == 2
    same = sorted(o.metric for o in sequential.outcomes) == sorted(o.metric for o in parallel.outcomes)
    print(f"\npart 2: 2 trials of minilm-l3 on {task} (train_fraction {fraction}), 1 CPU each, 2 CPUs")
    print(f"one after the other (local executor): {one_by_one:.1f} s")
    print(f"at once on Ray (ray.init {startup:.1f} s included): {together:.1f} s = "
          f"{together / one_by_one:.2f}x of one after the other; without start-up "
          f"{(together - startup) / one_by_one:.2f}x; same metrics per trial: {same}")


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("1", "2", "both"), default="both")
    parser.add_argument("--fraction", type=float, default=0.2, help="share of SST-2 each part-2 trial trains on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bakeoff-study-bench-") as scratch:
        if args.part in ("1", "both"):
            part1(Path(scratch))
        if args.part in ("2", "both"):
            part2(Path(scratch), args.fraction)


if __name__ == "__main__":
    main()
