"""``bakeoff export mlflow`` against a real MLflow tracking server (SQLite backend), read back with MlflowClient."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bakeoff
from bakeoff.cli import app
from bakeoff.errors import BakeoffError
from bakeoff.export.mlflow import connect
from bakeoff.track import Experiment, Store
from tests.export.conftest import free_port

mlflow = pytest.importorskip("mlflow", reason="MLflow is not installed: pip install 'bakeoff[mlflow]'")
from mlflow import MlflowClient

runner = CliRunner()
LONG = "token " * 1500  # 9,000 characters: past MLflow's 6,000 a parameter value
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _write_run(name: str, project: str = "export-test", points: int = 1500, seed: int = 1) -> None:
    """A run with nested, list, long and oddly named parameters; 1,500 loss points (two log_batch calls)."""
    with Experiment(name=name, project=project, tags=[f"study:{project}", "trial:abc", "smoke"],
                    description="an exported run") as experiment:
        experiment.parameters().set(model="tiny-bert", task="sst2", seed=seed, layers=[0, 2, 4],
                                    optimizer={"name": "adamw", "lr": 5e-5}, notes=LONG, **{"acc@1_goal": 0.9})
        loss = experiment.metric("train/loss")
        for step in range(points):
            loss.append(value=1.0 / (step + 1), step=step, epoch=step // 500)
        experiment.metric("validation/accuracy").append(value=0.75, epoch=1)
        experiment.metric("validation/accuracy").append(value=0.8125, epoch=2)
        experiment.metric("final/throughput").append(value=123.5)  # no step, no epoch: its index
        experiment.log("done", level="info")


def _expected_points(run, name: str) -> list[tuple[int, int, float]]:
    """(step, ms timestamp, value) per store point, worked out here independently of the exporter."""
    from bakeoff.track import layout

    expected = []
    for record in layout.read_metric(run.path, name):
        data = record["data"]
        step = data.get("step", data.get("epoch", record["index"]))
        moment = datetime.fromisoformat(record["createdAt"].replace("Z", "+00:00"))
        expected.append((int(step), (moment - EPOCH) // timedelta(milliseconds=1), float(data["value"])))
    return sorted(expected)


def _history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, int, float]]:
    return sorted((m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key))


def _mlflow_runs(client: MlflowClient, experiment: str) -> dict[str, object]:
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], max_results=1000)
    return {run.data.tags["bakeoff.run_id"]: run for run in runs}


def _assert_equal_to_store(client: MlflowClient, experiment: str, tmp_path: Path) -> dict[str, object]:
    exported = _mlflow_runs(client, experiment)
    store_runs = Store().list("export-test")
    assert set(exported) == {run.id for run in store_runs}  # one MLflow run per store run, no more
    for run in store_runs:
        mlflow_run = exported[run.id]
        params = mlflow_run.data.params
        assert params["model"] == "tiny-bert" and params["seed"] == str(run.parameters()["seed"])
        assert params["optimizer.lr"] == "5e-05" and params["optimizer.name"] == "adamw"
        assert params["layers"] == "[0, 2, 4]" and params["acc_1_goal"] == "0.9"  # '@' is not allowed in MLflow
        assert len(params["notes"]) <= 6000 and params["notes"].startswith(LONG[:5000])
        assert "bakeoff/parameters.json" in params["notes"]  # says where the whole value is
        whole = json.loads(Path(client.download_artifacts(mlflow_run.info.run_id, "bakeoff/parameters.json",
                                                          str(tmp_path))).read_text())
        assert whole["data"]["notes"] == LONG
        for name in ("train/loss", "validation/accuracy", "final/throughput"):
            assert _history(client, mlflow_run.info.run_id, name) == _expected_points(run, name), name
        tags = mlflow_run.data.tags
        assert tags["study"] == "export-test" and tags["trial"] == "abc" and tags["task"] == "sst2"
        assert tags["model"] == "tiny-bert" and tags["bakeoff.status"] == "COMPLETED"
        assert tags["bakeoff.project"] == "export-test" and tags["mlflow.runName"] == run.name
        assert mlflow_run.info.status == "FINISHED" and mlflow_run.info.end_time is not None
    return exported


def test_every_run_is_exported_point_for_point_and_a_second_export_changes_nothing(mlflow_server, tmp_path):
    _write_run("first", seed=1)
    _write_run("second", seed=2)
    summary = bakeoff.export_mlflow("export-test", tracking_uri=mlflow_server)
    assert summary.count("created") == 2 and summary.points == 2 * (1500 + 2 + 1)
    client = MlflowClient(mlflow_server)
    before = _assert_equal_to_store(client, "export-test", tmp_path)

    again = bakeoff.export_mlflow("export-test", tracking_uri=mlflow_server)
    assert again.count("unchanged") == 2 and again.points == 0
    after = _assert_equal_to_store(client, "export-test", tmp_path)
    assert {k: r.info.run_id for k, r in after.items()} == {k: r.info.run_id for k, r in before.items()}

    # one new point in one run, one new run: only those are sent
    first = Store().get("export-test/first")
    with Experiment(name="first", project="export-test", if_exists="resume") as experiment:
        experiment.metric("train/loss").append(value=0.0001, step=1500, epoch=3)
    _write_run("third", points=10, seed=3)
    third = bakeoff.export_mlflow("export-test", tracking_uri=mlflow_server)
    actions = {run.name: (run.action, run.points) for run in third.runs}
    assert actions["first"] == ("updated", 1) and actions["second"] == ("unchanged", 0)
    assert actions["third"] == ("created", 10 + 2 + 1)
    exported = _assert_equal_to_store(client, "export-test", tmp_path)
    assert len(client.get_metric_history(exported[first.id].info.run_id, "train/loss")) == 1501


def test_points_sent_but_not_counted_are_not_doubled(mlflow_server):
    """A server that stored a batch's points but not its count tag: the next export resends them, no doubles."""
    _write_run("lost-count", project="export-crash", points=1200)
    bakeoff.export_mlflow("export-crash", tracking_uri=mlflow_server)
    client = MlflowClient(mlflow_server)
    (mlflow_run,) = _mlflow_runs(client, "export-crash").values()
    client.set_tag(mlflow_run.info.run_id, "bakeoff.points.train/loss", "0")  # as if the count never arrived
    again = bakeoff.export_mlflow("export-crash", tracking_uri=mlflow_server)
    assert again.points == 1200  # sent again...
    assert len(client.get_metric_history(mlflow_run.info.run_id, "train/loss")) == 1200  # ...kept once
    assert client.get_run(mlflow_run.info.run_id).data.tags["bakeoff.points.train/loss"] == "1200"


def test_status_changes_are_updated(mlflow_server):
    with pytest.raises(RuntimeError), Experiment(name="broken", project="export-status") as experiment:
        experiment.metric("train/loss").append(value=1.0, step=0)
        raise RuntimeError("diverged")
    bakeoff.export_mlflow("export-status", tracking_uri=mlflow_server)
    client = MlflowClient(mlflow_server)
    (mlflow_run,) = _mlflow_runs(client, "export-status").values()
    assert mlflow_run.info.status == "FAILED" and mlflow_run.data.tags["bakeoff.status"] == "FAILED"
    assert "diverged" in mlflow_run.data.tags["bakeoff.error"]
    with Experiment(name="broken", project="export-status", if_exists="resume") as experiment:
        experiment.metric("train/loss").append(value=0.5, step=1)
    summary = bakeoff.export_mlflow("export-status", tracking_uri=mlflow_server)
    assert summary.runs[0].action == "updated" and summary.runs[0].points == 1
    run = client.get_run(mlflow_run.info.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["bakeoff.status"] == "COMPLETED"


def test_a_trained_and_compressed_study_run_exports_its_files(mlflow_server, tiny_model_dir, sentiment_dir, tmp_path):
    result = bakeoff.train(model=str(tiny_model_dir), task=None, data=str(sentiment_dir), epochs=2,
                           learning_rate=3e-3, batch_size=16, precision="fp32", quiet=True, project="tiny-export",
                           name="tiny", tags=["study:tiny-export"])
    bakeoff.compress(result.run.id, "dynamic-int8")
    study = tmp_path / "tiny.yaml"  # the STUDY argument: its name is the project
    study.write_text(f"name: tiny-export\nmodels: [{tiny_model_dir}]\nsettings: {{data: {sentiment_dir}}}\n")

    outcome = runner.invoke(app, ["export", "mlflow", str(study), "--tracking-uri", mlflow_server, "--json"])
    assert outcome.exit_code == 0, outcome.output
    summary = json.loads(outcome.output)  # nothing but JSON on stdout (MLflow's "View run" lines are silenced)
    assert summary["experiment"] == "tiny-export" and summary["runs"][0]["action"] == "created"

    client = MlflowClient(mlflow_server)
    (mlflow_run,) = _mlflow_runs(client, "tiny-export").values()
    run_id = mlflow_run.info.run_id
    names = _artefacts(client, run_id)
    assert {"result.json", "predictions.json", "compressed/dynamic-int8/report.json", "bakeoff/parameters.json",
            "bakeoff/logs.jsonl", "bakeoff/experiment.json"} <= names
    assert not any(name.startswith("checkpoint/") for name in names)  # only with --checkpoints
    stored = Path(result.run.path)
    for name in ("result.json", "predictions.json", "compressed/dynamic-int8/report.json"):
        copy = Path(client.download_artifacts(run_id, name, str(tmp_path / "down")))
        assert json.loads(copy.read_text()) == json.loads((stored / name).read_text()), name
    run = Store().get(result.run.id)
    for name in run.metric_names():  # the training loop's own points: loss per step, validation per epoch
        assert _history(client, run_id, name) == _expected_points(run, name), name
    tags = mlflow_run.data.tags
    assert tags["study"] == "tiny-export" and tags["seed"] == "42" and tags["model"] == str(tiny_model_dir)
    assert json.loads(tags["variant"])["learning_rate"] == 3e-3

    outcome = runner.invoke(app, ["export", "mlflow", "tiny-export", "--tracking-uri", mlflow_server,
                                  "--checkpoints", "--json"])
    assert outcome.exit_code == 0, outcome.output
    assert json.loads(outcome.output)["runs"][0]["points"] == 0
    names = _artefacts(client, run_id)
    assert {"checkpoint/model.safetensors", "checkpoint/config.json"} <= names
    assert any(name.startswith("compressed/dynamic-int8/") and name.endswith(".safetensors") for name in names)
    assert len(_mlflow_runs(client, "tiny-export")) == 1


def test_each_problem_type_exports_its_own_metrics_and_its_type(mlflow_server, tiny_model_dir, sentiment_dir,
                                                                   tmp_path):
    """A regression, a multi-label and a calibrated binary run: each one's final metrics, and its type as a tag."""
    from tests.conftest import sentiment_rows

    rows = sentiment_rows(100, seed=5)
    scores, sets = tmp_path / "scores.csv", tmp_path / "sets.jsonl"
    scores.write_text("text,score\n" + "".join(f"{text},{label * 4 + 0.5:.1f}\n" for text, label in rows))
    sets.write_text("".join(json.dumps({"text": text, "tags": ["film", "good"] if label else ["bad"]}) + "\n"
                            for text, label in rows))
    common = {"model": str(tiny_model_dir), "task": None, "epochs": 1, "batch_size": 16, "precision": "fp32",
              "quiet": True, "project": "problems-export"}
    bakeoff.train(data=str(scores), label_column="score", problem_type="regression", name="scores", **common)
    bakeoff.train(data=str(sets), label_column="tags", name="sets", **common)
    bakeoff.train(data=str(sentiment_dir), calibrate=True, threshold="auto", name="calibrated", **common)
    bakeoff.export_mlflow("problems-export", tracking_uri=mlflow_server)

    client = MlflowClient(mlflow_server)
    exported = {run.data.tags["bakeoff.name"]: run for run in _mlflow_runs(client, "problems-export").values()}
    expected = {"scores": ("regression", {"spearman", "pearson", "pearson_spearman", "mse", "mae"}),
                "sets": ("multi_label", {"f1_macro", "f1_micro", "f1_samples", "subset_accuracy",
                                         "average_precision"}),
                "calibrated": ("single_label", {"accuracy", "f1", "ece", "brier", "roc_auc", "pr_auc"})}
    for name, (problem, metrics) in expected.items():
        mlflow_run = exported[name]
        assert mlflow_run.data.tags["problem_type"] == problem
        assert mlflow_run.data.params["problem_type_resolved"] == problem
        stored = json.loads((Store().get(f"problems-export/{name}").path / "result.json").read_text())
        sent = {key.removeprefix("final/validation/"): value for key, value in mlflow_run.data.metrics.items()
                if key.startswith("final/validation/")}
        assert metrics <= set(sent), (name, sorted(sent))
        assert "accuracy" not in sent if problem != "single_label" else sent["accuracy"] > 0
        for metric in metrics:  # the last value, as the run's result.json has it
            assert sent[metric] == pytest.approx(stored["validation"]["metrics"][metric], rel=1e-9), (name, metric)
    calibrated = exported["calibrated"].data
    assert calibrated.params["calibrate"] == "True" and calibrated.params["threshold"] == "auto"


def _artefacts(client: MlflowClient, run_id: str, path: str | None = None) -> set[str]:
    names = set()
    for entry in client.list_artifacts(run_id, path):
        names |= _artefacts(client, run_id, entry.path) if entry.is_dir else {entry.path}
    return names


def test_a_server_that_is_down_is_one_clear_line(tmp_path):
    _write_run("lonely", points=3)
    port = free_port()  # nothing listens there
    outcome = runner.invoke(app, ["export", "mlflow", "export-test", "--tracking-uri", f"http://127.0.0.1:{port}"])
    assert outcome.exit_code == 2
    lines = outcome.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: no MLflow tracking server answers at http://127.0.0.1:{port}")


@pytest.mark.parametrize("uri,expected", [
    ("htp:/bad", "--tracking-uri 'htp:/bad': MLflow takes no 'htp' URIs (http, https, sqlite, postgresql, mysql, "
                 "mssql, databricks, file): did you mean http://...?"),
    ("not a uri", "--tracking-uri 'not a uri' is not a tracking URI: give the address `mlflow server` prints"),
    ("http:/bad", "--tracking-uri 'http:/bad' names no host: write http://HOST:PORT"),
])
def test_a_tracking_uri_that_is_not_one_is_one_clear_line(uri, expected):
    _write_run("lonely", points=3)
    outcome = runner.invoke(app, ["export", "mlflow", "export-test", "--tracking-uri", uri])
    lines = outcome.output.strip().splitlines()
    assert outcome.exit_code == 2 and len(lines) == 1 and expected in lines[0], outcome.output
    assert "a bug in bakeoff" not in outcome.output


def test_a_web_server_that_is_not_mlflow_is_named_as_such():
    """Something answers HTTP at the address, but a 404 for MLflow's API is not the story: it is not MLflow."""
    import http.server
    import threading

    _write_run("lonely", points=3)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # no request log on stderr
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    uri = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        outcome = runner.invoke(app, ["export", "mlflow", "export-test", "--tracking-uri", uri])
    finally:
        server.shutdown()
        server.server_close()
    lines = outcome.output.strip().splitlines()
    assert outcome.exit_code == 2 and len(lines) == 1, outcome.output
    assert f"{uri} answers, but it is not an MLflow tracking server (GET /health: HTTP 404)" in lines[0]
    assert "Response body" not in outcome.output


def test_mlflow_messages_are_cut_at_a_sentence_not_mid_word():
    from bakeoff.export.mlflow import whole_sentences

    long = "The file store is in maintenance mode. " + "Please migrate to a database backend now. " * 20
    cut_text = whole_sentences(long, 120)
    assert cut_text.endswith("now.") and len(cut_text) <= 120 and whole_sentences("short", 120) == "short"


def test_an_unknown_project_is_one_clear_line():
    outcome = runner.invoke(app, ["export", "mlflow", "nothing-here", "--tracking-uri", "http://127.0.0.1:9"])
    assert outcome.exit_code == 2 and "no runs in project 'nothing-here'" in outcome.output


def test_without_mlflow_the_message_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    with pytest.raises(BakeoffError, match=r"pip install 'bakeoff\[mlflow\]'"):
        connect("http://127.0.0.1:5000")


def test_runs_and_experiments_deleted_in_mlflow_are_not_recreated(mlflow_server):
    _write_run("kept", project="export-deleted", points=5)
    _write_run("binned", project="export-deleted", points=5, seed=2)
    bakeoff.export_mlflow("export-deleted", tracking_uri=mlflow_server, workers=1)
    client = MlflowClient(mlflow_server)
    binned = Store().get("export-deleted/binned")
    client.delete_run(_mlflow_runs(client, "export-deleted")[binned.id].info.run_id)
    summary = bakeoff.export_mlflow("export-deleted", tracking_uri=mlflow_server)
    assert {run.name: run.action for run in summary.runs} == {"kept": "unchanged", "binned": "skipped"}
    assert "deleted in MLflow" in summary.runs[1].notes[0]
    experiment = client.get_experiment_by_name("export-deleted")
    assert len(client.search_runs([experiment.experiment_id], run_view_type=3)) == 2  # ViewType.ALL: no third

    client.delete_experiment(experiment.experiment_id)
    outcome = runner.invoke(app, ["export", "mlflow", "export-deleted", "--tracking-uri", mlflow_server])
    assert outcome.exit_code == 2 and len(outcome.output.strip().splitlines()) == 1
    assert "MLflow experiment 'export-deleted' is deleted: restore it" in outcome.output
