"""How long `bakeoff report` takes on a 50-run study, and how large the HTML is.

    BAKEOFF_DATA_DIR=/work/shared/data PYTHONPATH=src python benchmarks/report_speed.py

Writes 50 synthetic COMPLETED runs (5 learning rates x 5 max lengths x 2 seeds, SST-2's 872 validation rows,
each with result.json, history and predictions.json) into a temporary store, then times the report
(leaderboard, verdicts, baselines trained on first use and then read from the cache, all sections).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ["BAKEOFF_STORE"] = tempfile.mkdtemp(prefix="bakeoff-report-bench-")

from bakeoff.data import DataOptions, load_task_data
from bakeoff.io import write_json_atomic
from bakeoff.runs.files import PREDICTIONS_FILE, RESULT_FILE
from bakeoff.tasks import get_task
from bakeoff.track import Experiment


def main() -> None:
    data = load_task_data(get_task("sst2"), DataOptions(train_fraction=0.03, seed=1))
    truth = data.validation.labels
    rng = np.random.default_rng(0)
    for learning_rate in (1e-5, 2e-5, 5e-5, 1e-4, 2e-4):
        for max_length in (32, 64, 128, 256, 512):
            for seed in (1, 2):
                skill = 0.78 + 0.02 * np.log10(learning_rate / 1e-5) + 0.01 * np.log2(max_length / 32)
                predicted = np.where(rng.random(truth.size) < skill, truth, 1 - truth)
                accuracy = float((predicted == truth).mean())
                config = {"model": "minilm-l6", "task": "sst2", "seed": seed, "learning_rate": learning_rate,
                          "max_length": max_length, "train_fraction": 0.03, "epochs": 2, "batch_size": 16}
                with Experiment(name=f"lr{learning_rate}-len{max_length}-s{seed}", project="bench-50") as run:
                    path = Path(run.path)
                    write_json_atomic(path / PREDICTIONS_FILE, {
                        "fingerprints": data.fingerprints(), "label_names": data.label_names,
                        "validation": {"predicted": predicted.tolist(), "true": truth.tolist()}})
                    write_json_atomic(path / RESULT_FILE, {  # a schema-2 result.json, as TrainResult.load reads it
                        "schema_version": 2, "config": config,
                        "run": {"id": run.id, "project": run.project, "name": run.name, "path": str(path)},
                        "validation": {"split": "validation", "rows": int(truth.size), "primary_metric": "accuracy",
                                       "metrics": {"accuracy": accuracy}},
                        "training": {"seconds": 20.0 * max_length / 128, "samples_per_second": None,
                                     "tokens_per_second": None, "steps": 100, "epochs_completed": 2.0,
                                     "precision": "fp32", "device": "cpu"},
                        "latency_ms": {"p50": 5.0 * max_length / 128},
                        "model": {"name": "minilm-l6", "location": "bench", "origin": "bench",
                                  "checkpoint_files": {"model.safetensors": 90_000_000}},
                        "data": {"task": "sst2", "label_names": data.label_names, "sizes": data.sizes(),
                                 "fingerprints": data.fingerprints()},
                        "history": [{"step": s, "accuracy": accuracy - 0.05 / s} for s in (1, 2, 3)],
                        "hardware": {"cpu": "bench"}, "bakeoff_version": "bench"})
    from bakeoff.api import leaderboard, report

    board = leaderboard("bench-50")
    print(f"{len(board.rows)} rows ({sum(r.baseline for r in board.rows)} baselines) in {len(board.rankings)} ranking(s); "
          f"notes: {board.notes}")

    out = Path(tempfile.mkdtemp()) / "report.html"
    for attempt in ("first (baselines trained)", "second (baselines cached)"):
        start = time.perf_counter()
        report("bench-50", out)
        print(f"{attempt}: {time.perf_counter() - start:.2f} s, {out.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
