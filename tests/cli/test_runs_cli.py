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
    assert result.exit_code == 0 and "demo/sweep-3" in result.output


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
