"""The store's layout is ml-dash 0.5.9's: each can read what the other wrote."""

from __future__ import annotations

import ml_dash  # noqa: E402  (in the test extra: a broken install must fail here, not skip these tests)
import pytest

from bakeoff.track import Experiment, Store


def test_ml_dash_reads_a_run_bakeoff_wrote(tmp_path):
    with Experiment(name="bk", project="proj", local_path=tmp_path) as experiment:
        experiment.parameters().set(model={"name": "minilm", "lr": 5e-5}, seed=1)
        for step in range(1500):
            experiment.metric("loss").append(value=1.0 / (step + 1), step=step)
        experiment.metric("train/loss").append(value=0.5, step=0)
        experiment.log("hello", epoch=0)

    theirs = ml_dash.Experiment(name="bk", project="proj", local_path=str(tmp_path))
    with theirs.run:
        assert theirs.params.get() == {"model.name": "minilm", "model.lr": 5e-5, "seed": 1}
        page = theirs.metrics("loss").read(start_index=0, limit=1000)
        assert [int(p["index"]) for p in page["data"]] == list(range(1000))
        assert page["data"][10]["data"] == {"value": 1.0 / 11, "step": 10}
        assert page["hasMore"] is True
        assert int(theirs.metrics("loss").stats()["totalDataPoints"]) == 1500
        assert theirs.metrics("train/loss").read()["data"][0]["data"]["value"] == 0.5


def test_bakeoff_lists_and_reads_a_run_ml_dash_wrote(tmp_path):
    source = tmp_path / "weights.bin"
    source.write_bytes(b"abc")
    theirs = ml_dash.Experiment(name="md", project="proj", local_path=str(tmp_path / "store"), tags=["x"])
    with theirs.run:
        theirs.params.set(optimizer={"name": "adam", "lr": 1e-3})
        for epoch in range(4):
            theirs.metrics("accuracy").append(value=0.6 + epoch / 10, epoch=epoch)
        theirs.log("from ml-dash")
        theirs.files(file_path=str(source), prefix="/models").save()

    store = Store(tmp_path / "store")
    table = store.runs(project="proj")
    assert list(table["name"]) == ["md"]
    row = table.iloc[0]
    assert row["optimizer.lr"] == 1e-3 and row["accuracy.count"] == 4
    assert row["accuracy.best"] == pytest.approx(0.9) and row["status"] == "UNKNOWN"
    run = store.get("proj/md")
    assert [p["epoch"] for p in run.metric("accuracy")] == [0, 1, 2, 3]
    assert run.logs()[0]["message"] == "from ml-dash"
    assert run.file_path(run.files()[0]).read_bytes() == b"abc"
    assert store.get(run.id[:8]).path == run.path
