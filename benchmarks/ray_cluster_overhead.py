"""What a Ray cluster that shares no disk costs per trial, against the local executor, side by side in one run.

    sudo .venv/bin/python benchmarks/ray_cluster_overhead.py      # root: the worker node's own mount namespace

The same tiny study (the tests' 2-layer BERT saved as a local folder, a 160-row TSV task, 4 learning rates x
2 seeds = 8 trials, 6 epochs, 1 CPU each) runs twice, each into a fresh study:
1. the local executor, two trials at a time (``--max-parallel 2``);
2. a two-node Ray cluster on this machine: a head with no CPUs, a worker node with 2 CPUs in a mount namespace
   with an empty tmpfs over the folder holding the store, the data and the model, so everything a trial reads
   travels through Ray's object store and its run folder travels back.
Overhead per trial = (Ray wall time - local wall time) / trials. The cluster's start is timed apart: a study
finds its cluster already running. (Ray's workers belong to one driver: each ``bakeoff run`` starts its own.)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' tiny model, data and cluster helpers

import bakeoff  # noqa: E402
from bakeoff.track import Store  # noqa: E402
from tests.conftest import save_tiny_bert, sentiment_rows, write_tsv  # noqa: E402
from tests.study.ray_cluster import cannot_run, two_node_cluster  # noqa: E402

LEARNING_RATES = [3.0e-3, 1.0e-3, 3.0e-4, 1.0e-4]
SEEDS = [1, 2]


def write_study(folder: Path, name: str, model: Path, data: Path) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\nmodels: [{model}]\nsettings: {{data: {data}, epochs: 6, batch_size: 16, "
                    f"precision: fp32}}\naxes: [{{grid: {{learning_rate: {LEARNING_RATES}}}}}]\nseeds: {SEEDS}\n"
                    "resources: {cpus: 1}\n")
    return path


def timed(study: Path, **options) -> tuple[float, object]:
    start = time.perf_counter()
    outcome = bakeoff.run_study(study, **options)
    return time.perf_counter() - start, outcome


def main() -> None:
    reason = cannot_run()
    if reason:
        sys.exit(f"cannot start the two-node cluster: {reason}")
    trials = len(LEARNING_RATES) * len(SEEDS)
    with tempfile.TemporaryDirectory(prefix="bakeoff-ray-bench-") as scratch:
        hidden = Path(scratch)
        os.environ["BAKEOFF_STORE"] = str(hidden / "store")
        model = save_tiny_bert(hidden / "tiny-bert")
        data = hidden / "sentiment"
        write_tsv(data / "train.tsv", sentiment_rows(160, seed=1))
        write_tsv(data / "dev.tsv", sentiment_rows(40, seed=2))
        local_wall, local = timed(write_study(hidden, "local", model, data), max_parallel=2)
        start = time.perf_counter()
        with two_node_cluster(hidden) as cluster:
            startup = time.perf_counter() - start
            ray_wall, on_ray = timed(write_study(hidden, "on-ray", model, data), executor="ray",
                                     ray_address=cluster.address)
        for outcome in (local, on_ray):
            assert outcome.count("COMPLETED") == trials, [(o.status, o.error) for o in outcome.outcomes]
        same = _metrics("local") == _metrics("on-ray")
        shipped = sum(p.stat().st_size for p in [*model.iterdir(), *data.iterdir()])
    print(f"\n{trials} trials of a 2-layer BERT (6 epochs, 160 rows), 1 CPU each, 2 at a time; "
          f"{shipped / 1e6:.2f} MB shipped once per study; two-node cluster started in {startup:.1f} s (apart)")
    print(f"{'executor':<52}{'wall s':>8}{'per trial s':>13}{'vs local':>10}")
    for label, wall in (("local (--max-parallel 2)", local_wall), ("ray, worker node sharing no disk", ray_wall)):
        print(f"{label:<52}{wall:>8.1f}{wall / trials:>13.2f}{wall / local_wall:>9.2f}x")
    print(f"overhead per trial against local: {(ray_wall - local_wall) / trials:+.2f} s; "
          f"same metrics per trial on both executors: {same}")


def _metrics(project: str) -> dict[str, float]:
    return {run.name: run.metric_summary("final/validation/accuracy").get("last") for run in Store().list(project)
            if run.name != "baselines"}


if __name__ == "__main__":
    main()
