"""Metric points per second into a local MLflow server: ``bakeoff export mlflow`` against two ways to do it by hand.

    .venv/bin/python benchmarks/export_mlflow.py [--runs 20] [--points 5000] [--naive-runs 1] [--workers 4]

One run of this script starts an MLflow tracking server on 127.0.0.1 (SQLite backend, proxied artefacts, one
worker, no job runner) in a temporary folder, writes a store of RUNS runs x POINTS points (``train/loss`` with
step and epoch, a few parameters), then exports it three ways, each into its own experiment:

- bakeoff: ``export_project`` (packed ``log_batch`` calls of 999 points, plus tags, status and artefacts), with
  1 and with WORKERS runs in flight; then once more with nothing new (what re-exporting a finished study costs);
- naive: ``MlflowClient.log_metric`` once per point (one HTTP request each), on NAIVE_RUNS runs only (slow);
- log_batch: ``MlflowClient.log_batch`` with all of a run's points in one call (MLflow's client chunks it),
  metrics only: the floor for what any exporter can reach through the REST API.

Server and client share the machine's cores; the figures are for that setting.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bakeoff.export import export_project
from bakeoff.export.points import timestamp_ms
from bakeoff.track import Experiment, Store, layout


def write_store(root: Path, runs: int, points: int) -> Store:
    for index in range(runs):
        with Experiment(name=f"run-{index:02d}", project="bench", local_path=root) as experiment:
            experiment.parameters().set(model="minilm-l6", task="sst2", seed=index, learning_rate=5e-5, batch_size=32)
            metric = experiment.metric("train/loss")
            for step in range(points):
                metric.append(value=1.0 / (step + 1), step=step, epoch=step // 1000)
    return Store(root)


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--default-artifact-root", "mlflow-artifacts:/", "--artifacts-destination", str(folder / "artefacts"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=open(folder / "server.log", "wb"),  # noqa: SIM115 - the server holds it until it stops
        stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2):
                return server, uri
        except OSError:
            time.sleep(0.5)
    stop_server(server)
    raise SystemExit(f"mlflow server did not start:\n{(folder / 'server.log').read_text()[-2000:]}")


def stop_server(server: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
            server.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            continue


def naive(client, store: Store, runs: int) -> int:
    """One request per point: what a loop over the store with ``log_metric`` does."""
    experiment_id = client.create_experiment("naive")
    count = 0
    for run in store.list("bench")[:runs]:
        mlflow_run = client.create_run(experiment_id, run_name=run.name)
        for key, value in run.parameters().items():
            client.log_param(mlflow_run.info.run_id, key, value)
        for record in layout.read_metric(run.path, "train/loss"):
            client.log_metric(mlflow_run.info.run_id, "train/loss", record["data"]["value"],
                              timestamp=timestamp_ms(record["createdAt"]), step=record["data"]["step"])
            count += 1
    return count


def whole_run_batches(client, store: Store) -> int:
    from mlflow.entities import Metric

    experiment_id = client.create_experiment("log-batch")
    count = 0
    for run in store.list("bench"):
        mlflow_run = client.create_run(experiment_id, run_name=run.name)
        metrics = [Metric("train/loss", r["data"]["value"], timestamp_ms(r["createdAt"]), r["data"]["step"])
                   for r in layout.read_metric(run.path, "train/loss")]
        client.log_batch(mlflow_run.info.run_id, metrics=metrics)
        count += len(metrics)
    return count


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--naive-runs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=4, help="bakeoff's runs in flight (also measured with 1)")
    args = parser.parse_args()
    from mlflow import MlflowClient

    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores (server and client share them)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = write_store(folder / "store", args.runs, args.points)
        server, uri = start_server(folder)
        try:
            client = MlflowClient(uri)
            total = args.runs * args.points
            bakeoff_s = {}
            for workers in (1, args.workers):
                start = time.perf_counter()
                summary = export_project("bench", uri, experiment=f"bakeoff-{workers}", store=store, workers=workers)
                bakeoff_s[workers] = time.perf_counter() - start
                assert summary.points == total and summary.count("created") == args.runs
                first = summary.runs[0].mlflow_run_id
                assert len(client.get_metric_history(first, "train/loss")) == args.points
            start = time.perf_counter()
            again = export_project("bench", uri, experiment=f"bakeoff-{args.workers}", store=store,
                                   workers=args.workers)
            again_s = time.perf_counter() - start
            assert again.points == 0 and again.count("unchanged") == args.runs

            start = time.perf_counter()
            batch_points = whole_run_batches(client, store)
            batch_s = time.perf_counter() - start

            start = time.perf_counter()
            naive_points = naive(client, store, args.naive_runs)
            naive_s = time.perf_counter() - start
        finally:
            stop_server(server)

    print(f"store: {args.runs} runs x {args.points} points = {total} points")
    naive_rate, batch_rate = naive_points / naive_s, batch_points / batch_s
    for workers, seconds in bakeoff_s.items():
        rate = total / seconds
        print(f"bakeoff export, {workers} worker{'s' if workers > 1 else ' '}: {total:>7} points in {seconds:7.2f} s = "
              f"{rate:6.0f} points/s = {rate / naive_rate:5.1f}x naive, {rate / batch_rate:.2f}x log_batch "
              "(with params, tags, status, 3 artefacts a run)")
    print(f"  again, nothing new    : {again_s:7.2f} s for {args.runs} runs")
    print(f"log_batch, whole runs   : {batch_points:>7} points in {batch_s:7.2f} s = {batch_rate:6.0f} points/s "
          "(metrics only, one run after another)")
    print(f"naive log_metric loop   : {naive_points:>7} points in {naive_s:7.2f} s = {naive_rate:6.0f} points/s "
          f"({args.naive_runs} run{'s' if args.naive_runs > 1 else ''})")

if __name__ == "__main__":
    main()
