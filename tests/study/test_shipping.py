"""What travels between a study's driver and a Ray node, without Ray: what a trial reads from the driver's disk,
the trial run on shipped copies into a node-local store, its run folder landed in the driver's store at once."""

from __future__ import annotations

import os
import tempfile

import pytest

import bakeoff
from bakeoff.errors import BakeoffError
from bakeoff.io import read_json
from bakeoff.runs.locate import locate
from bakeoff.study import load_study
from bakeoff.study.runner import _payload
from bakeoff.study.shipping import (
    BestSoFar,
    clear_incoming,
    keeps_checkpoint,
    land,
    pack,
    record_crashed,
    run_on_node,
    shipments,
    task_key,
    travels,
    unpack,
)
from bakeoff.study.trials import TrialSummary
from bakeoff.study.worker import TrialPayload
from bakeoff.track import Store
from tests.conftest import sentiment_rows, write_tsv


def _config(**values):
    return {"model": "minilm-l6", "task": None, "data": None, **values}


def test_aliases_hub_ids_and_built_in_tasks_resolve_on_the_node(tmp_path):
    assert shipments(_config(task="demo")) == []
    assert shipments(_config(model="org/some-encoder", task="demo")) == []


def test_a_model_folder_and_exactly_the_data_files_a_trial_reads_travel(tmp_path, tiny_model_dir, sentiment_dir):
    (sentiment_dir / "notes.txt").write_text("not read by a run, not shipped")
    model, data = shipments(_config(model=str(tiny_model_dir), data=str(sentiment_dir)))
    assert (model.kind, model.source) == ("model", str(tiny_model_dir))
    assert set(model.read()) == {p.name for p in tiny_model_dir.iterdir()}
    assert (data.kind, data.source, data.files, data.file) == ("data", str(sentiment_dir), ("dev.tsv", "train.tsv"),
                                                               None)
    assert set(data.read()) == {"dev.tsv", "train.tsv"}
    [one_file] = shipments(_config(data=str(sentiment_dir / "train.tsv")))
    assert (one_file.source, one_file.files, one_file.file) == (str(sentiment_dir), ("train.tsv",), "train.tsv")


def test_a_task_from_bakeoff_data_dir_travels_as_its_split_files(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    write_tsv(data_dir / "sst2" / "train.tsv", sentiment_rows(20))
    write_tsv(data_dir / "sst2" / "dev.tsv", sentiment_rows(10))
    (data_dir / "sst2" / "big-unrelated.bin").write_bytes(b"\0" * 1000)
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(data_dir))
    [shipment] = shipments(_config(task="sst2"))
    assert (shipment.kind, shipment.source) == ("data_dir", str(data_dir / "sst2"))
    assert set(shipment.read()) == {"dev.tsv", "train.tsv"}


def test_a_shipped_path_that_leaves_its_folder_is_refused(tmp_path):
    for bad in ("../escape.txt", "/etc/passwd", "a/../../b"):
        with pytest.raises(BakeoffError, match="outside"):
            unpack({bad: b"x"}, tmp_path / "into")
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize(("policy", "checkpoint"), [("all", True), ("none", False)])
def test_a_trial_on_shipped_copies_comes_back_with_the_drivers_paths(tmp_path, tiny_study, policy, checkpoint):
    study = load_study(tiny_study(seeds="[1]", axes="[]"))
    payload = _payload(study.trials[0], study, cpus=1)
    shipped = [(shipment, shipment.read()) for shipment in shipments(payload.config)]
    driver_store = str(Store().root)
    summary, folder = run_on_node(payload, shipped, driver_store, weights=lambda ended: policy == "all")
    assert summary.status == "COMPLETED" and os.environ["BAKEOFF_STORE"] == driver_store  # the worker's env back
    assert not Store().list()  # nothing written to the driver's store by the node
    assert any(name.startswith("checkpoint/") for name in folder) == checkpoint
    assert {"result.json", "predictions.json", "experiment.json", "parameters.json"} <= set(folder)
    assert not [name for name, data in folder.items() if b"bakeoff-trial-" in data and name.endswith("json")]
    run_dir = land(folder, Store().root, payload.config["project"], payload.config["name"])
    result = read_json(run_dir / "result.json")
    assert result["run"]["path"] == str(run_dir) and result["config"]["model"] == payload.config["model"]
    assert result["config"]["data"] == payload.config["data"] and Store().get(str(run_dir)).status == "COMPLETED"
    assert result["model"]["location"] == payload.config["model"]
    if not checkpoint:  # a run without its weights says why where they are looked for
        with pytest.raises(BakeoffError, match=r"checkpoints: best or none"):
            locate(payload.run_ref)


def test_relative_model_and_data_paths_are_recorded_as_the_study_wrote_them(tmp_path, tiny_model_dir,
                                                                           sentiment_dir, monkeypatch):
    import shutil

    shutil.copytree(tiny_model_dir, tmp_path / "models" / "tiny")
    monkeypatch.chdir(tmp_path)
    config = {"model": "models/tiny", "data": str(sentiment_dir / "train.tsv"), "task": None, "epochs": 1,
              "batch_size": 16, "precision": "fp32", "project": "p", "name": "relative", "quiet": True, "tags": []}
    shipped = [(shipment, shipment.read()) for shipment in shipments(config)]
    summary, folder = run_on_node(TrialPayload("t", config), shipped, str(Store().root))
    assert summary.status == "COMPLETED" and os.getcwd() == str(tmp_path)  # the worker's folder back
    run_dir = land(folder, Store().root, "p", "relative")
    result = read_json(run_dir / "result.json")
    assert result["config"]["model"] == "models/tiny"  # as written, not the node's path nor an absolute one
    assert result["model"]["location"] == str(tmp_path / "models" / "tiny")
    assert result["config"]["data"] == str(sentiment_dir / "train.tsv")
    assert "models/tiny" in read_json(run_dir / "experiment.json")["tags"]


def test_a_trial_reads_only_the_shipped_copies_of_its_task_and_model(tmp_path, tiny_model_dir, monkeypatch):
    import shutil

    data_dir, model = tmp_path / "data", tmp_path / "model"
    write_tsv(data_dir / "sst2" / "train.tsv", sentiment_rows(80, seed=1))
    write_tsv(data_dir / "sst2" / "dev.tsv", sentiment_rows(20, seed=2))
    shutil.copytree(tiny_model_dir, model)
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(data_dir))
    config = {"model": str(model), "data": None, "task": "sst2", "epochs": 1, "batch_size": 16, "precision": "fp32",
              "project": "p", "name": "copies", "quiet": True, "tags": []}
    shipped = [(shipment, shipment.read()) for shipment in shipments(config)]
    assert sorted(shipment.kind for shipment, _ in shipped) == ["data_dir", "model"]
    shutil.rmtree(data_dir)  # as on a node that shares no disk with the driver: only the shipped bytes are left
    shutil.rmtree(model)
    summary, folder = run_on_node(TrialPayload("t", config), shipped, str(Store().root))
    assert summary.status == "COMPLETED", summary.error
    assert os.environ["BAKEOFF_DATA_DIR"] == str(data_dir)  # the worker's own setting back
    result = read_json(land(folder, Store().root, "p", "copies") / "result.json")
    assert result["data"]["sizes"]["train"] == 80 and result["model"]["location"] == str(model)


def test_a_compressions_report_always_travels_its_model_with_the_checkpoint():
    for name in ("result.json", "logs/logs.jsonl", "metrics/train/loss/data.jsonl", "compressed/bf16/report.json"):
        assert travels(name, weights=False) and travels(name, weights=True)
    for name in ("checkpoint/model.safetensors", "compressed/bf16/model.safetensors",
                 "compressed/bf16/compressed.json"):
        assert not travels(name, weights=False) and travels(name, weights=True)


def test_landing_is_all_or_nothing_and_replaces_a_leftover(tmp_path):
    root = tmp_path / "store"
    half = root / "p" / ".incoming-killed" / "run"  # a driver killed while landing
    half.mkdir(parents=True)
    (half / "experiment.json").write_text('{"name": "run", "status": "COMPLETED"}')
    assert Store(root).list("p") == []  # a half-landed run is never seen
    (root / "p" / "run").mkdir()
    (root / "p" / "run" / "stale.txt").write_text("a leftover")
    run_dir = land({"experiment.json": b'{"name": "run", "status": "COMPLETED"}', "logs/logs.jsonl": b""},
                   root, "p", "run")
    assert sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*")) == ["experiment.json", "logs",
                                                                                    "logs/logs.jsonl"]
    clear_incoming(root / "p")
    assert sorted(p.name for p in (root / "p").iterdir()) == ["run"]


def test_pack_and_unpack_round_trip(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c.bin").write_bytes(bytes(range(256)))
    (tmp_path / "a" / "d.json").write_text("{}")
    unpack(pack(tmp_path / "a"), tmp_path / "copy")
    assert (tmp_path / "copy" / "b" / "c.bin").read_bytes() == bytes(range(256))
    assert pack(tmp_path / "copy") == pack(tmp_path / "a")


def test_a_crashed_trial_is_recorded_and_runs_again_on_resume(tiny_study):
    path = tiny_study(seeds="[1]", axes="[]")
    study = load_study(path)
    payload = _payload(study.trials[0], study, cpus=1)
    record_crashed(payload, "Ray task failed: The worker died unexpectedly", Store().root)
    [run] = Store().list(study.name)
    assert run.status == "CRASHED" and run.info["error"] == "Ray task failed: The worker died unexpectedly"
    outcome = bakeoff.run_study(path)  # the resume
    assert outcome.count("COMPLETED") == 1 and not outcome.outcomes[0].resumed
    [run] = Store().list(study.name)
    assert run.status == "COMPLETED"


@pytest.mark.parametrize(("policy", "status", "offered", "kept"), [
    ("all", "COMPLETED", False, True),
    ("all", "FAILED", False, True),  # its record, as locally
    ("none", "COMPLETED", True, False),
    ("best", "COMPLETED", True, True),
    ("best", "COMPLETED", False, False),
    ("best", "INTERRUPTED", True, False),
])
def test_the_checkpoint_policy(policy, status, offered, kept):
    asked = []

    def offer(name, value):
        asked.append((name, value))
        return offered

    assert keeps_checkpoint(policy, TrialSummary("t", status, 0.8, "accuracy"), offer) is kept
    assert asked == ([("accuracy", 0.8)] if policy == "best" and status == "COMPLETED" else [])


def test_best_so_far_is_per_task_keeps_ties_and_follows_the_metrics_direction():
    best = BestSoFar()
    assert best.offer("sst2", "accuracy", 0.8) and not best.offer("sst2", "accuracy", 0.7)
    assert best.offer("sst2", "accuracy", 0.8) and best.offer("sst2", "accuracy", 0.9)  # a tie, then better
    assert best.offer("cola", "mcc", 0.1)  # another task: its own best
    assert best.offer("sst2", "loss", 0.5) and not best.offer("sst2", "loss", 0.6) and best.offer("sst2", "loss", 0.4)
    assert task_key({"task": "sst2", "data": None}) == "sst2" and task_key({"task": None, "data": "a.csv"}) == "a.csv"


def test_whole_gpus_per_trial_make_one_run_across_that_many_processes(tiny_study):
    study = load_study(tiny_study(seeds="[1]", axes="[]", extra="checkpoints: best\n"))
    assert study.checkpoints == "best"
    assert _payload(study.trials[0], study, cpus=1).config["nproc"] == 1
    study.gpus = 2
    assert _payload(study.trials[0], study, cpus=1).config["nproc"] == 2
    study.gpus = 0.5  # a share of one GPU: one process
    assert _payload(study.trials[0], study, cpus=1).config["nproc"] == 1
    assert load_study(tiny_study(seeds="[1]", axes="[]")).checkpoints == "all"


def test_nothing_left_of_a_node_scratch_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "node-tmp"))
    (tmp_path / "node-tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)
    bad = _config(model=str(tmp_path / "missing"), task="demo", project="p", name="r", tags=[])
    summary, folder = run_on_node(TrialPayload("t", bad), [], str(Store().root))
    assert summary.status == "FAILED" and "experiment.json" in folder  # a failure before the run is recorded too
    assert list((tmp_path / "node-tmp").iterdir()) == []


def test_a_ray_trial_gets_the_studys_switches_not_the_drivers_folders(tmp_path, monkeypatch):
    from bakeoff.study.executors import ray_environment

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(tmp_path / "data"))
    env = ray_environment()
    assert env["HF_HUB_OFFLINE"] == "1"  # set for every test (tests/conftest.py)
    assert not {"HF_HOME", "HF_HUB_CACHE", "BAKEOFF_STORE", "BAKEOFF_DATA_DIR"} & set(env)


def test_an_embedding_trial_on_a_trained_run_ships_the_run(tmp_path, tiny_model_dir, sentiment_dir, monkeypatch):
    """An embedding study's model may be a trained run (project/name): on a node with an empty store it travels
    as the run's folder (record, result, checkpoint), and the trial embeds with that run's encoder."""
    import shutil

    bakeoff.train(model=str(tiny_model_dir), data=str(sentiment_dir), max_steps=2, batch_size=8, project="base",
                  name="tiny", quiet=True, precision="fp32")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("query,document\n" + "".join(f"text {i},text {i} again\n" for i in range(6)))
    from bakeoff.config.embedding import EmbeddingConfig

    config = EmbeddingConfig(model="base/tiny", data=str(pairs), kind="retrieval", project="emb",
                             name="on-run").to_dict()  # a trial's resolved config
    [run] = [shipment for shipment in shipments(config) if shipment.kind == "model"]
    assert run.source == str(Store().get("base/tiny").path.resolve())
    assert "result.json" in run.files and any(name.startswith("checkpoint/") for name in run.files)
    assert not any(name.startswith(("metrics/", "logs/")) for name in run.files)
    shipped = [(shipment, shipment.read()) for shipment in shipments(config)]
    driver_store = Store().root
    monkeypatch.chdir(tmp_path)
    summary, folder = run_on_node(TrialPayload("t", config), shipped, str(driver_store))
    assert summary.status == "COMPLETED", summary.error
    result = read_json(land(folder, driver_store, "emb", "on-run") / "result.json")
    assert result["model"]["origin"] == "run" and result["config"]["model"] == "base/tiny"
    shutil.rmtree(driver_store / "emb")
