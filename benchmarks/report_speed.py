"""How long `bakeoff report` takes on a 50-run study, and how large the HTML is.

    BAKEOFF_DATA_DIR=/work/shared/data PYTHONPATH=src python benchmarks/report_speed.py

Writes 50 synthetic COMPLETED runs (5 learning rates x 5 max lengths x 2 seeds, SST-2's 872 validation rows,
each with result.json, history, predictions.json and 300 steps of training loss) into a temporary store, then
times the report (leaderboard, verdicts, rank intervals over every pair of rows, baselines trained on first use
and then read from the cache, all sections), and the Markdown report with its charts as .svg files.
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

STEPS = 300  # optimizer steps per synthetic run: its training-loss curve


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
                    run.metric("train/loss").append_batch([  # as the loop logs it: one point per optimizer step
                        {"value": 0.7 * (1 - skill * step / STEPS) + 0.05 * rng.random(), "step": step, "epoch": 0}
                        for step in range(1, STEPS + 1)])
                    write_json_atomic(path / PREDICTIONS_FILE, {
                        "fingerprints": data.fingerprints(), "label_names": data.label_names,
                        "validation": {"predicted": predicted.tolist(), "true": truth.tolist()}})
                    write_json_atomic(path / RESULT_FILE, {  # a schema-2 result.json, as TrainResult.load reads it
                        "schema_version": 2, "config": config,
                        "run": {"id": run.id, "project": run.project, "name": run.name, "path": str(path)},
                        "validation": {"split": "validation", "rows": int(truth.size), "primary_metric": "accuracy",
                                       "metrics": {"accuracy": accuracy}},
                        "training": {"seconds": 20.0 * max_length / 128, "samples_per_second": None,
                                     "tokens_per_second": None, "steps": STEPS, "epochs_completed": 2.0,
                                     "precision": "fp32", "device": "cpu"},
                        "latency_ms": {"p50": 5.0 * max_length / 128},
                        "model": {"name": "minilm-l6", "location": "bench", "origin": "bench",
                                  "checkpoint_files": {"model.safetensors": 90_000_000}},
                        "data": {"task": "sst2", "label_names": data.label_names, "sizes": data.sizes(),
                                 "fingerprints": data.fingerprints()},
                        "history": [{"step": s, "accuracy": accuracy - 5 / s} for s in (100, 200, 300)],
                        "hardware": {"cpu": "bench"}, "bakeoff_version": "bench"})
    from bakeoff.api import leaderboard, report

    board = leaderboard("bench-50")
    print(f"{len(board.rows)} rows ({sum(r.baseline for r in board.rows)} baselines) in {len(board.rankings)} ranking(s); "
          f"notes: {board.notes}")

    folder = Path(tempfile.mkdtemp())
    for attempt, fmt in (("first (baselines trained)", "html"), ("second (baselines cached)", "html"),
                         ("markdown (charts as .svg files)", "md")):
        start = time.perf_counter()
        out = report("bench-50", folder / f"report.{fmt}", fmt)
        seconds = time.perf_counter() - start
        weight = out.stat().st_size + sum(f.stat().st_size for f in folder.glob("report-figures/*.svg"))
        print(f"{attempt}: {seconds:.2f} s, {weight / 1e3:.0f} kB" + (
            f" (with {len(list(folder.glob('report-figures/*.svg')))} .svg files)" if fmt == "md" else ""))


if __name__ == "__main__":
    main()
