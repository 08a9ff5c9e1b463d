from __future__ import annotations

import json

from typer.testing import CliRunner

from bakeoff.cli import app
from bakeoff.track import Experiment

runner = CliRunner()


def _sweep(root):
    ids = []
    for lr, final in ((1e-5, 0.80), (5e-5, 0.90), (1e-4, 0.85)):
        with Experiment(name="sweep", project="demo", local_path=root) as experiment:
            experiment.parameters().set(learning_rate=lr, model={"name": "minilm"})
            for epoch, acc in enumerate((0.5, final, final - 0.01)):
                experiment.metric("accuracy").append(value=acc, epoch=epoch)
        ids.append(experiment.id)
    return ids


def test_ls_where_and_sort(tmp_path):
    ids = _sweep(tmp_path)
    result = runner.invoke(app, ["runs", "ls", "--store", str(tmp_path), "--sort", "-accuracy", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == [ids[1], ids[2], ids[0]]
    assert rows[0]["accuracy.best"] == 0.90 and rows[0]["accuracy.last"] == 0.89
    result = runner.invoke(app, ["runs", "ls", "--store", str(tmp_path), "--where", "learning_rate < 5e-5", "--json"])
    assert [r["id"] for r in json.loads(result.output)] == [ids[0]]
    result = runner.invoke(app, ["runs", "ls", "--store", str(tmp_path)])
    assert result.exit_code == 0 and "sweep-3" in result.output and "COMPLETED" in result.output


def test_show_and_compare(tmp_path):
    ids = _sweep(tmp_path)
    result = runner.invoke(app, ["runs", "show", ids[1][:14], "--store", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    detail = json.loads(result.output)
    assert detail["parameters"]["model.name"] == "minilm" and detail["metrics"]["accuracy"]["best"] == 0.90
    result = runner.invoke(app, ["runs", "compare", "demo/sweep", "demo/sweep-2", "--only-diff",
                                 "--store", str(tmp_path), "--json"])
    compared = json.loads(result.output)
    assert "learning_rate" in compared[ids[0]] and "model.name" not in compared[ids[0]]


def test_unknown_run_and_bad_filter_are_one_line_errors(tmp_path):
    _sweep(tmp_path)
    result = runner.invoke(app, ["runs", "show", "nope", "--store", str(tmp_path)])
    assert result.exit_code == 2 and "no run 'nope'" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["runs", "ls", "--store", str(tmp_path), "--where", "learning_rate <"])
    assert result.exit_code == 2 and "--where" in result.output


def test_ls_shows_each_run_by_its_name_model_and_task_in_80_columns(tmp_path):
    """A run whose config left ``name`` unset (derived) is listed by its real name, not its parameter's None."""
    with Experiment(name="demo-minilm-l6-seed42", project="demo-demo", local_path=tmp_path) as experiment:
        experiment.parameters().set(model="minilm-l6", task="demo", name=None, project="demo-demo")
        experiment.metric("final/validation/accuracy").append(value=0.849)
    result = runner.invoke(app, ["runs", "ls", "--store", str(tmp_path)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "status" in line)
    for column in ("id", "name", "model", "task", "status", "metric", "seconds"):
        assert column in header  # whole words on one line: nothing folded to a letter per line
    assert "demo-mi" in result.output and "seed42" in result.output  # the name, folded inside its cell
    assert "None" not in result.output and "0.8490" in result.output and "minilm-" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert f"│ {experiment.id[:8]} │" in result.output and experiment.id not in result.output  # short, like git
    assert runner.invoke(app, ["runs", "show", experiment.id[:8], "--store", str(tmp_path)]).exit_code == 0
    result = runner.invoke(app, ["runs", "ls", "--store", str(tmp_path), "--columns", "name,accuracy", "--json"])
    assert result.exit_code == 0
    result = runner.invoke(app, ["runs", "ls", "--store", str(tmp_path), "--columns", "name,accuracy"])
    assert result.exit_code == 0 and "0.849" in result.output


def test_short_ids_grow_until_they_tell_runs_apart():
    from bakeoff.cli.runs import _short_ids

    assert _short_ids(["abcdef0123456789", "abcdef0199999999"]) == {"abcdef0123456789": "abcdef012",
                                                                     "abcdef0199999999": "abcdef019"}
    assert _short_ids(["1234567890abcdef"]) == {"1234567890abcdef": "12345678"}
