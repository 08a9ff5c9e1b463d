from __future__ import annotations

import json
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from bakeoff.track import Experiment, Store, StoreError
from bakeoff.track.layout import effective_status


def test_seed_api_round_trip(tmp_path):
    source = tmp_path / "cnn_model.safetensors"
    source.write_bytes(b"weights" * 100)
    with Experiment(name="comparison-cnn", project="architecture-comparison", description="d",
                    tags=["comparison", "cnn"], local_path=tmp_path / "s") as experiment:
        experiment.parameters().set(architecture="cnn", batch_size=128, optimizer={"name": "adam", "lr": 1e-3})
        experiment.log("Training cnn architecture", level="warn", epoch=1)
        for epoch in range(3):
            experiment.metric("accuracy").append(value=0.5 + epoch / 10, epoch=epoch)
        experiment.metric("loss").append_batch([{"value": 2.0, "step": 0}, {"value": 1.0, "step": 1}])
        entry = experiment.file(source, prefix="/models")

        assert experiment.parameters().get() == {
            "architecture": "cnn", "batch_size": 128, "optimizer.name": "adam", "optimizer.lr": 1e-3}
        assert experiment.parameters().get(flatten=False)["optimizer"] == {"name": "adam", "lr": 1e-3}
        assert [p["epoch"] for p in experiment.metric("accuracy").read()] == [0, 1, 2]
        stats = experiment.metric("loss").stats()
        assert (stats["count"], stats["last"], stats["best"]) == (2, 1.0, 1.0)
        assert experiment.files()[0]["filename"] == "cnn_model.safetensors"

    import hashlib

    assert entry["checksum"] == hashlib.sha256(source.read_bytes()).hexdigest()
    run = Store(tmp_path / "s").get("architecture-comparison/comparison-cnn")
    assert run.status == "COMPLETED"
    assert run.file_path(run.files()[0]).read_bytes() == source.read_bytes()
    assert run.logs()[0]["level"] == "warn" and run.logs()[0]["metadata"] == {"epoch": 1}


def test_nested_metric_name_and_nan_inf_round_trip(tmp_path):
    values = [float("nan"), float("inf"), float("-inf"), 1e-310, 0.1]
    with Experiment(name="n", project="p", local_path=tmp_path) as experiment:
        for value in values:
            experiment.metric("train/loss").append(value=value)
        got = [p["value"] for p in experiment.metric("train/loss").read()]
    assert math.isnan(got[0]) and got[1:] == values[1:]
    assert (tmp_path / "p" / "n" / "metrics" / "train" / "loss" / "data.jsonl").is_file()
    assert Store(tmp_path).get("p/n").metric_names() == ["train/loss"]


@pytest.mark.parametrize("project,name", [
    ("..", "x"), ("p", ".."), ("/etc", "x"), ("p", "a/b"), ("p", "x\x00y"), ("p", "a\\b"), ("", "x"),
])
def test_names_that_leave_the_root_are_refused_before_writing(tmp_path, project, name):
    with pytest.raises(StoreError):
        Experiment(name=name, project=project, local_path=tmp_path / "root").open()
    assert not (tmp_path / "root").exists()


def test_metric_and_prefix_escapes_are_refused(tmp_path):
    with Experiment(name="n", project="p", local_path=tmp_path) as experiment:
        for bad in ("../x", "a/../../b", "/abs", "a//b"):
            with pytest.raises(StoreError):
                experiment.metric(bad)
        (tmp_path / "f.bin").write_bytes(b"x")
        with pytest.raises(StoreError):
            experiment.file(tmp_path / "f.bin", prefix="/../../outside")
    assert not (tmp_path / "outside").exists()


def test_if_exists_policies(tmp_path):
    with Experiment(name="sweep", project="p", local_path=tmp_path) as first:
        first.metric("loss").append(value=1.0)
    with Experiment(name="sweep", project="p", local_path=tmp_path) as second:
        pass
    assert second.name == "sweep-2" and second.id != first.id
    with pytest.raises(StoreError, match="exists"):
        Experiment(name="sweep", project="p", local_path=tmp_path, if_exists="error").open()
    with Experiment(name="sweep", project="p", local_path=tmp_path, if_exists="resume") as resumed:
        resumed.metric("loss").append(value=0.5)
        assert resumed.id == first.id
        assert [p["value"] for p in resumed.metric("loss").read()] == [1.0, 0.5]
    indices = [json.loads(line)["index"] for line in
               (tmp_path / "p" / "sweep" / "metrics" / "loss" / "data.jsonl").read_text().splitlines()]
    assert indices == [0, 1]


def test_failure_and_interrupt_statuses(tmp_path):
    with pytest.raises(ValueError):
        with Experiment(name="boom", project="p", local_path=tmp_path):
            raise ValueError("loss is NaN at step 7")
    with pytest.raises(KeyboardInterrupt):
        with Experiment(name="ctrl-c", project="p", local_path=tmp_path):
            raise KeyboardInterrupt
    store = Store(tmp_path)
    failed = store.get("p/boom")
    assert failed.status == "FAILED" and "loss is NaN at step 7" in failed.info["error"]
    assert store.get("p/ctrl-c").status == "INTERRUPTED"


def test_truncated_last_line_is_skipped_with_a_warning_and_appends_continue(tmp_path):
    with Experiment(name="n", project="p", local_path=tmp_path) as experiment:
        experiment.metric("loss").append(value=1.0)
    data = tmp_path / "p" / "n" / "metrics" / "loss" / "data.jsonl"
    with open(data, "a") as handle:
        handle.write('{"index": 1, "data": {"val')  # what a kill mid-write leaves
    with pytest.warns(UserWarning, match="skipped unreadable line 2"):
        assert Store(tmp_path).get("p/n").metric("loss") == [{"value": 1.0}]
    with Experiment(name="n", project="p", local_path=tmp_path, if_exists="resume") as experiment:
        experiment.metric("loss").append(value=2.0)
    with pytest.warns(UserWarning):
        assert Store(tmp_path).get("p/n").metric("loss") == [{"value": 1.0}, {"value": 2.0}]


def test_json_documents_are_replaced_never_rewritten_in_place(tmp_path):
    with Experiment(name="n", project="p", local_path=tmp_path) as experiment:
        experiment.parameters().set(a=1)
        inode = os.stat(tmp_path / "p" / "n" / "parameters.json").st_ino
        experiment.parameters().set(b=2)
        assert os.stat(tmp_path / "p" / "n" / "parameters.json").st_ino != inode
        assert experiment.parameters().get() == {"a": 1, "b": 2}


_CHILD = textwrap.dedent("""
    import sys, time
    from bakeoff.track import Experiment
    experiment = Experiment(name="victim", project="p", local_path=sys.argv[1]).open()
    print(experiment.id, flush=True)
    i = 0
    while True:
        experiment.metric("loss").append(value=float(i), step=i)
        i += 1
        if i % 500 == 0:
            print(i, flush=True)
""")


def test_sigkill_loses_no_appended_point_and_reads_cleanly_as_crashed(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    child.stdout.readline()
    acknowledged = 0
    while acknowledged < 3000:  # the child has returned from append() this many times at least
        acknowledged = int(child.stdout.readline())
    child.send_signal(signal.SIGKILL)
    child.wait()
    run = Store(tmp_path).get("p/victim")
    points = run.metric("loss")
    assert len(points) >= acknowledged
    assert [p["step"] for p in points] == list(range(len(points)))  # dense, in order, none corrupted
    assert run.status == "CRASHED"


def test_sigterm_marks_interrupted_and_flushes(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    child.stdout.readline()
    child.stdout.readline()
    child.send_signal(signal.SIGTERM)
    child.wait()
    run = Store(tmp_path).get("p/victim")
    assert run.status == "INTERRUPTED" and "SIGTERM" in run.info["error"]
    meta = json.loads((run.path / "metrics" / "loss" / "metadata.json").read_text())
    assert meta["totalDataPoints"] == len(run.metric("loss")) >= 500


def test_stale_heartbeat_from_another_host_reads_as_crashed():
    info = {"status": "RUNNING", "hostname": "elsewhere", "pid": 1, "heartbeat_at": "2020-01-01T00:00:00.000000Z"}
    assert effective_status(info) == "CRASHED"
    fresh = dict(info, heartbeat_at=time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()))
    assert effective_status(fresh) == "RUNNING"
    assert effective_status({"status": "COMPLETED"}) == "COMPLETED"


def _append_points(root: str, worker: int, count: int) -> None:
    with Experiment(name="shared", project="p", local_path=root, if_exists="resume") as experiment:
        metric = experiment.metric("loss")
        for i in range(count):
            metric.append(value=float(i), worker=worker)


def test_four_processes_append_to_one_run_and_lose_nothing(tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_points, args=(str(tmp_path), w, 2000)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    runs = Store(tmp_path).list(project="p")
    assert len(runs) == 1
    records = [json.loads(line) for line in
               (runs[0].path / "metrics" / "loss" / "data.jsonl").read_text().splitlines()]
    assert len(records) == 8000
    assert sorted(r["index"] for r in records) == list(range(8000))
    for worker in range(4):
        assert [r["data"]["value"] for r in records if r["data"]["worker"] == worker] == [float(i) for i in range(2000)]


def test_threads_append_to_one_metric_and_lose_nothing(tmp_path):
    import threading

    with Experiment(name="t", project="p", local_path=tmp_path) as experiment:
        threads = [threading.Thread(target=lambda: [experiment.metric("m").append(value=1.0) for _ in range(500)])
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(experiment.metric("m").read()) == 2000


def test_import_makes_no_network_call():
    code = ("import socket\n"
            "def refuse(*a, **k): raise AssertionError('network call')\n"
            "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
            "import bakeoff.track, tempfile\n"
            "with bakeoff.track.Experiment(name='n', local_path=tempfile.mkdtemp()) as e:\n"
            "    e.metric('m').append(value=1)\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_run_ids_made_together_differ_in_their_first_characters():
    """Users type the first 6 characters of an id; ids made in the same second must differ there (with the time
    first, they shared 7). 20 ids over 16**5 random heads collide with probability 0.0002."""
    from bakeoff.track.layout import new_run_id

    ids = [new_run_id() for _ in range(20)]
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)
    assert len({i[:6] for i in ids}) == 20
