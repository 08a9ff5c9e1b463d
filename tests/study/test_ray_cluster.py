"""The Ray executor on a cluster that shares no disk with the driver: a head node with no CPUs, and a worker node
that cannot see the driver's store, data or tiny model (an empty tmpfs over the folder holding them, in a mount
namespace of its own). Everything a trial reads travels with it; its run folder travels back."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from typer.testing import CliRunner

import bakeoff
from bakeoff.cli import app
from bakeoff.io import read_json, sha256
from bakeoff.study import load_study
from bakeoff.study.executors import RayExecutor
from bakeoff.study.runner import _payload
from bakeoff.track import Store
from tests.study.ray_cluster import cannot_run, two_node_cluster

pytestmark = [pytest.mark.slow, pytest.mark.skipif(cannot_run() is not None, reason=str(cannot_run()))]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The two-node cluster, for this file's tests; the worker node cannot see pytest's temporary folders (every
    test's store and data, the tiny model)."""
    with two_node_cluster(tmp_path_factory.getbasetemp()) as started:
        yield started
    assert not started.running(), "processes of the test's Ray cluster were left running"


def _records(project):
    """Per run: status, validation metrics, predictions, config (its store project aside), checkpoint check."""
    out = {}
    for run in Store().list(project):
        result = read_json(run.path / "result.json")
        config = {k: v for k, v in result["config"].items() if k not in ("project", "tags")}
        weights = {name: sha256(run.path / "checkpoint" / name) == digest
                   for name, digest in result["model"]["checkpoint_sha256"].items()}
        out[run.name] = (run.status, result["validation"]["metrics"], read_json(run.path / "predictions.json"),
                         config, result["model"]["location"], weights)
    return out


def _run(study, address):
    return CliRunner().invoke(app, ["run", str(study), "--executor", "ray", "--ray-address", address])


def _run_while(study, address, action):
    """Run the study while ``action`` (a kill) runs beside it in a thread; the study's result."""
    beside = threading.Thread(target=action)
    beside.start()
    try:
        return _run(study, address)
    finally:
        beside.join()


def test_trials_on_a_node_without_the_drivers_disk_land_in_its_store_as_local_ones(cluster, tiny_study):
    on_ray, on_local = tiny_study(name="on-ray"), tiny_study(name="on-local")
    result = _run(on_ray, cluster.address)
    assert result.exit_code == 0, result.output
    assert bakeoff.run_study(on_local).count("COMPLETED") == 4
    ray_runs, local_runs = _records("on-ray"), _records("on-local")
    assert ray_runs.keys() == local_runs.keys() and len(ray_runs) == 4
    for name, (status, metrics, predictions, config, location, weights) in ray_runs.items():
        assert status == "COMPLETED"
        assert metrics == local_runs[name][1]  # deterministic training: identical, not merely close
        assert predictions == local_runs[name][2]
        assert config == local_runs[name][3] and location == local_runs[name][4]  # the driver's paths, not the node's
        assert weights and all(weights.values())  # the checkpoint came back whole (checkpoints: all, the default)
    project = Store().root / "on-ray"
    assert sorted(p.name for p in project.iterdir() if p.is_dir()) == sorted([*ray_runs, "baselines"])


def test_a_trial_whose_worker_is_killed_is_crashed_in_the_drivers_store_and_runs_again(cluster, tmp_path,
                                                                                          tiny_model_dir,
                                                                                          sentiment_dir):
    study = tmp_path / "killed.yaml"
    study.write_text(f"name: killed\nmodels: [{tiny_model_dir}]\nseeds: [1]\nresources: {{cpus: 1}}\n"
                     f"settings: {{data: {sentiment_dir}, epochs: 40, batch_size: 16, precision: fp32}}\n")
    killed = []

    def kill_the_trial() -> None:  # the Ray worker process running the trial, as an OOM killer would
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            for pid in cluster.running("ray::_ray_trial"):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    first = _run_while(study, cluster.address, kill_the_trial)
    assert killed, first.output
    [run] = Store().list("killed")
    assert run.status == "CRASHED" and run.info["error"].startswith("Ray task failed"), (run.status, run.info)
    assert "CRASHED" in first.output and first.exit_code == 1

    again = _run(study, cluster.address)  # the resume: the crashed trial runs again, into the same one folder
    assert again.exit_code == 0, again.output
    [run] = Store().list("killed")
    assert run.status == "COMPLETED" and (run.path / "checkpoint").is_dir()


def test_checkpoints_best_brings_back_the_weights_of_a_trial_only_if_it_beat_those_ended_before(cluster, tiny_study):
    import ray

    study = load_study(tiny_study(name="best-only", seeds="[1]"))  # lr 3e-3 learns the task, 1e-4 does not
    executor = RayExecutor(cluster.address, cpus=1, max_parallel=1, checkpoints="best")  # one after the other
    try:
        summaries = [summary for _, summary in executor.map([_payload(trial, study, cpus=1) for trial in study.trials])]
    finally:
        ray.shutdown()
    assert [summary.status for summary in summaries] == ["COMPLETED", "COMPLETED"]
    runs = {read_json(run.path / "result.json")["config"]["learning_rate"]: run for run in Store().list("best-only")}
    good, poor = runs[3.0e-3], runs[1.0e-4]  # in this order: the poor one ended second
    accuracy = {lr: read_json(run.path / "result.json")["validation"]["metrics"]["accuracy"] for lr, run in runs.items()}
    assert accuracy[3.0e-3] > accuracy[1.0e-4], accuracy
    assert (good.path / "checkpoint" / "model.safetensors").is_file()  # the best always has its weights
    assert not (poor.path / "checkpoint").exists()
    assert (poor.path / "predictions.json").is_file() and (poor.path / "result.json").is_file()


def test_a_trial_whose_node_dies_is_crashed_in_the_drivers_store(cluster, tmp_path, tiny_model_dir, sentiment_dir):
    """The last test of the file: it kills the cluster's worker node (raylet, agents, workers), as a preempted
    machine goes."""
    study = tmp_path / "lost-node.yaml"
    study.write_text(f"name: lost-node\nmodels: [{tiny_model_dir}]\nseeds: [1]\nresources: {{cpus: 1}}\n"
                     f"settings: {{data: {sentiment_dir}, epochs: 400, batch_size: 16, precision: fp32}}\n")
    killed = []

    def kill_the_node() -> None:
        deadline = time.monotonic() + 60
        while not cluster.running("ray::_ray_trial") and time.monotonic() < deadline:
            time.sleep(0.05)
        killed.extend(cluster.node_processes(1))  # the worker node's session: never the head's
        for pid in killed:
            os.kill(pid, signal.SIGKILL)

    result = _run_while(study, cluster.address, kill_the_node)
    assert killed, result.output
    [run] = Store().list("lost-node")
    assert run.status == "CRASHED" and "node" in run.info["error"], (run.status, run.info, result.output)
