"""Imbalanced classes, thresholds, calibration and long texts through the CLI, the Python API and a study file."""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

import bakeoff
from bakeoff.cli import app
from bakeoff.track import Store
from tests.conftest import FILLER, NEGATIVE, POSITIVE, sentiment_rows, write_tsv
from tests.study.conftest import tiny_study  # noqa: F401  the study tests' tiny study files

runner = CliRunner()


def _train(model_dir, data_dir, *extra):
    return ["train", "--model", str(model_dir), "--data", str(data_dir), "--epochs", "6", "--learning-rate", "3e-3",
            "--batch-size", "16", "--precision", "fp32", "--quiet", *extra]


def test_weights_threshold_and_temperature_are_recorded_saved_and_used(tiny_model_dir, sentiment_dir):
    result = runner.invoke(app, _train(tiny_model_dir, sentiment_dir, "--name", "decided", "--class-weights",
                                       "balanced", "--threshold", "auto", "--calibrate", "--json"))
    assert result.exit_code == 0, result.output
    trained = json.loads(result.output)
    assert trained["schema_version"] == 5 and trained["training"]["class_weights"] == [1.0, 1.0]  # 80 / 80 rows
    decision = trained["decision"]
    assert decision["chosen_on"] == "validation" and decision["threshold_metric"] == "f1"
    assert 0 < decision["threshold"] < 1 and decision["temperature"] != 1.0 and "optimistic" in decision["note"]
    validation = trained["validation"]
    assert {"roc_auc", "pr_auc", "ece", "brier"} <= set(validation["metrics"])
    assert validation["calibration"]["bins"] == 15 and "ece_before" in validation["calibration"]
    checkpoint = Store().get("bakeoff/decided").path / "checkpoint"
    assert json.loads((checkpoint / "decision.json").read_text())["threshold"] == decision["threshold"]

    evaluated = runner.invoke(app, ["evaluate", "bakeoff/decided", "--precision", "fp32", "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output)["metrics"] == pytest.approx(validation["metrics"])

    said = runner.invoke(app, ["predict", "bakeoff/decided", "a great and charming film", "--json"])
    assert json.loads(said.output)[0]["label"] == "1"
    (checkpoint / "decision.json").write_text(json.dumps({**decision, "temperature": 1.0, "threshold": 0.999999}))
    said = runner.invoke(app, ["predict", "bakeoff/decided", "a great and charming film", "--json"])
    row = json.loads(said.output)[0]
    assert row["label"] == "0" and row["score"] > 0.000001  # the saved threshold, not the argmax, decides

    compressed = runner.invoke(app, ["compress", "bakeoff/decided", "--method", "dynamic-int8"])
    assert compressed.exit_code == 0, compressed.output
    assert "calibration: ECE " in compressed.output and "Brier" in compressed.output


def _three_classes(folder):
    rows = [(text, label) for text, label in sentiment_rows(60)] + [
        (" ".join(random.Random(i).sample(FILLER, 4)), 2) for i in range(30)]
    write_tsv(folder / "train.tsv", rows)
    write_tsv(folder / "dev.tsv", rows[:20] + rows[-10:])
    return folder


def _both_splits(folder, header, rows):
    """``rows`` as train.tsv and dev.tsv of ``folder``, under ``header``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train.tsv", "dev.tsv"):
        (folder / name).write_text(header + "\n" + "\n".join(rows) + "\n")
    return folder


def _pairs(folder):
    rows = [f"{text}\tthe film\t{label}" for text, label in sentiment_rows(40)]
    return _both_splits(folder, "sentence1\tsentence2\tlabel", rows)


def _scores(folder):
    rows = [f"{text}\t{label * 4 + 0.5:.1f}" for text, label in sentiment_rows(40)]
    return _both_splits(folder, "sentence\tlabel", rows)


def _label_sets(folder):
    rows = [f"{text}\t{'good,film' if label else 'bad'}" for text, label in sentiment_rows(40)]
    return _both_splits(folder, "sentence\tlabel", rows)


def _bad_dev_row(folder, row):
    """``folder``'s data with one more validation row, ``row``, at line 42 of dev.tsv."""
    with (folder / "dev.tsv").open("a") as handle:
        handle.write(row + "\n")
    return folder


@pytest.mark.parametrize("data, extra, expected", [
    ("regression", ["--calibrate"], "--calibrate applies to single-label classification; this task is regression"),
    ("multi", ["--calibrate"], "--calibrate applies to single-label classification; this task is multi_label"),
    ("multi", ["--class-weights", "balanced"],
     "--class-weights applies to single-label classification; this task is multi_label"),
    ("regression", ["--class-weights", "balanced"],
     "--class-weights applies to single-label classification; this task is regression"),
    ("multi", ["--threshold", "auto"], "--threshold applies to single-label classification; this task is multi_label"),
    ("text scores", [], "dev.tsv, line 42: label 'high' is not a number: a regression task needs a number per row"),
    ("unknown label", [], "dev.tsv, line 42: label 'grief' does not occur in the training data"),
    ("binary", ["--class-weights", "1,2,3"], "--class-weights has 3 weights but the task has 2 classes"),
    ("binary", ["--class-weights", "-1,2"], "--class-weights '-1,2' is not balanced, none or non-negative"),
    ("binary", ["--threshold", "1.5"], "--threshold '1.5' is not auto or a probability between 0 and 1"),
    ("three", ["--threshold", "auto"], "--threshold applies to binary tasks; this one has 3 classes"),
    ("pairs", ["--truncation", "tail"], "--truncation tail applies to single texts; this task reads sentence pairs"),
    ("pairs", ["--long-text", "chunks"], "--long-text chunks applies to single texts"),
    ("binary", ["--truncation", "middle"], "--truncation 'middle' is not one of head, tail, head+tail"),
    ("binary", ["--long-text", "chunks", "--max-length", "16", "--stride", "14"], "--stride must be below"),
])
def test_options_a_task_cannot_take_are_one_line_and_leave_nothing(tiny_model_dir, sentiment_dir, tmp_path, data,
                                                                   extra, expected):
    folder = {"binary": lambda: sentiment_dir, "three": lambda: _three_classes(tmp_path / "three"),
              "pairs": lambda: _pairs(tmp_path / "pairs"), "regression": lambda: _scores(tmp_path / "scores"),
              "multi": lambda: _label_sets(tmp_path / "sets"),
              "text scores": lambda: _bad_dev_row(_scores(tmp_path / "scores"), "a plot\thigh"),
              "unknown label": lambda: _bad_dev_row(_label_sets(tmp_path / "sets"), "a plot\tbad,grief")}[data]()
    regression, multi = ["--problem-type", "regression"], ["--problem-type", "multi_label", "--label-separator", ","]
    pair = {"pairs": ["--text-column", "sentence1", "--text-pair-column", "sentence2"],
            "regression": regression, "text scores": regression, "multi": multi, "unknown label": multi}.get(data, [])
    result = runner.invoke(app, _train(tiny_model_dir, folder, *pair, *extra))
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [f"error: {result.output.strip()[7:]}"]
    assert expected in result.output
    assert Store().list() == []


def test_long_texts_through_the_api_evaluate_and_predict(tiny_model_dir, tmp_path):
    rng = random.Random(3)
    rows = []
    for i in range(200):  # the sentiment word sits at the end of a long text: the head never sees it
        label = i % 2
        words = [rng.choice(FILLER) for _ in range(24)] + [rng.choice(POSITIVE if label else NEGATIVE)]
        rows.append((" ".join(words), label))
    folder = tmp_path / "long"
    write_tsv(folder / "train.tsv", rows[:160])
    write_tsv(folder / "dev.tsv", rows[160:])
    result = bakeoff.train(model=str(tiny_model_dir), task=None, data=str(folder), max_length=16, epochs=8,
                           learning_rate=3e-3, batch_size=16, precision="fp32", quiet=True, truncation="tail",
                           long_text="chunks", stride=4, name="long")
    assert result.data.rows_at_max_length["validation"] == 40 and result.validation.rows == 40  # rows, not windows
    head = bakeoff.evaluate("bakeoff/long", truncation="head", long_text="cut", precision="fp32")
    tail = bakeoff.evaluate("bakeoff/long", long_text="cut", precision="fp32")  # the run's own truncation: tail
    chunks = bakeoff.evaluate("bakeoff/long", precision="fp32")  # the run's own reading: chunks
    assert chunks.metrics == pytest.approx(result.validation.metrics)  # a run scores its splits as evaluate does
    assert tail.metrics["accuracy"] >= 0.85  # trained and read on the tail, where the label's word is
    assert tail.metrics["accuracy"] > head.metrics["accuracy"] + 0.2  # the head cuts the sentiment word away
    predicted = bakeoff.predict("bakeoff/long", [rows[0][0], rows[1][0]], long_text="cut", precision="fp32")
    assert predicted.labels == ["0", "1"]
    bad = runner.invoke(app, ["evaluate", "bakeoff/long", "--long-text", "windows"])
    assert bad.exit_code == 2 and "--long-text 'windows' is not one of cut, chunks" in bad.output


def test_a_study_sets_them_the_leaderboard_shows_calibration_and_the_report_draws_it(tiny_study, tmp_path):
    path = tiny_study(name="calibrated", axes="[{grid: {calibrate: [true, false]}}]", seeds="[1]",
                      extra="settings_extra: {}\n".replace("settings_extra: {}\n", ""))
    text = path.read_text().replace("precision: fp32}", "precision: fp32, class_weights: balanced, "
                                                          "threshold: auto, threshold_metric: balanced_accuracy, "
                                                          "learning_rate: 3.0e-3}")
    path.write_text(text)
    outcome = bakeoff.run_study(path)
    assert outcome.count("COMPLETED") == 2, [o.error for o in outcome.outcomes]
    configs = [run.parameters() for run in Store().list("calibrated")]
    assert {c["class_weights"] for c in configs} == {"balanced"} and {c["calibrate"] for c in configs} == {True, False}

    board = runner.invoke(app, ["leaderboard", str(path), "--columns", "ece,brier,roc_auc"], env={"COLUMNS": "80"})
    assert board.exit_code == 0, board.output
    extra = board.output[board.output.index("validation: mean over seeds"):]
    assert all(len(line) <= 80 for line in board.output.splitlines())
    assert "ece" in extra and "brier" in extra and "roc_auc" in extra and "ece lower is better" in extra
    shown = json.loads(runner.invoke(app, ["leaderboard", str(path), "--columns", "ece", "--json"]).output)
    values = [row["columns"]["ece"] for row in shown["rankings"][0]["rows"] if not row["baseline"]]
    assert len(values) == 2 and all(0 <= v <= 1 for v in values)
    wrong = runner.invoke(app, ["leaderboard", str(path), "--columns", "eec"])
    assert wrong.exit_code == 2 and "--columns 'eec': not a metric" in wrong.output

    out = tmp_path / "report.html"
    assert runner.invoke(app, ["report", str(path), "--out", str(out)]).exit_code == 0
    html = out.read_text()
    assert "<h2>Calibration" in html and "15 equal-mass bins" in html and "perfect calibration" in html
    assert "chosen on the validation split" in html and "(before T)" in html
