"""A regression and a multi-label study through the rest of the workflow with a tiny model: `compress` with each
CPU method (its metrics, changed answers and paired test in the problem's own terms, a multi-label copy keeping its
thresholds), `predict` on the compressed copy, then `recommend` and the HTML report naming the problem's metric."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bakeoff.api import leaderboard, predict, recommend, report, train
from bakeoff.cli import app
from bakeoff.problems.regression import SAME_SCORE
from bakeoff.runs.results import CompressReport

runner = CliRunner()
METHODS = ("dynamic-int8", "onnx", "onnx-int8")
TRAIN = {"task": None, "epochs": 6, "learning_rate": 3e-3, "batch_size": 16, "max_length": 32, "precision": "fp32",
         "quiet": True}


@pytest.fixture
def in_process(monkeypatch):
    """`compress` measures both models in this process: a fresh interpreter per model (what keeps each one's peak
    memory its own, tested in tests/compression) would cost seconds per method here and test nothing new."""
    from bakeoff.compression import artefact
    from bakeoff.runs import compress_run, measure

    def measure_here(path, encoded, split, primary, batch_sizes, requests=None, scores=True):
        return measure.measure(artefact.load(path, precision="fp32"), encoded, split, primary, batch_sizes,
                               requests=5, scores=scores)

    monkeypatch.setattr(compress_run, "measure_isolated", measure_here)


def _compress(run, method: str) -> tuple[CompressReport, str, str]:
    """The report `compress` stored, its comparison table's header line, and its summary sentence (one line)."""
    outcome = runner.invoke(app, ["compress", run.id, "--method", method, "--batch-sizes", "4"])
    assert outcome.exit_code == 0, outcome.output
    header = next(line for line in outcome.output.splitlines() if "p50" in line and "model" in line)
    words = " ".join(outcome.output.split())
    summary = words[words.index(" points; ") - 30:]  # from the metric's change on (the table's caption before it)
    return CompressReport.load(Path(run.path) / "compressed" / method / "report.json"), header, summary


def _no_accuracy(text: str) -> bool:
    """No word 'accuracy' other than multi-label's subset_accuracy, and no majority class."""
    return re.search(r"(?<!subset_)accuracy", text, flags=re.IGNORECASE) is None and "majority" not in text


def _study_checks(project: str, metric: str, tmp_path: Path) -> None:
    """Leaderboard, recommend and the HTML report of ``project``: the right metric, no single-label sections."""
    ranking = leaderboard(project).rankings[0]
    assert ranking.metric == metric
    assert {row.method for row in ranking.rows} >= {"trained", *METHODS}
    assert not any(row.failed_to_learn for row in ranking.rows if not row.baseline)

    choice = recommend(project)
    assert choice.choice is not None and f"has the best {metric} (" in choice.paragraph, choice.paragraph
    assert _no_accuracy(choice.paragraph), choice.paragraph
    outcome = runner.invoke(app, ["recommend", project])
    assert outcome.exit_code == 0 and _no_accuracy(outcome.output), outcome.output

    html = report(project, tmp_path / f"{project}.html").read_text()
    titles = re.findall(r"<h2>([^<]*)</h2>", html)
    assert f"Leaderboard: custom, validation" in titles and f"Learning curves" in titles
    assert f"{metric.replace('_', ' ').capitalize()} against latency and size" in titles
    assert not [t for t in titles if t.startswith(("Calibration", "Errors"))]  # single-label's: no ECE, no confusion
    assert "reliability" not in html.lower() and _no_accuracy(html)
    assert f"has the best {metric} (" in html and html.count("<svg") >= 3
    assert html.rstrip().endswith("</html>") and html.count("<table") == html.count("</table>")


def test_a_regression_study_compresses_predicts_recommends_and_reports_in_spearman(
        tiny_model_dir, learnable_scores_dir, in_process, tmp_path):
    runs = [train(model=str(tiny_model_dir), data=str(learnable_scores_dir), text_column="sentence1",
                  text_pair_column="sentence2", label_column="score", problem_type="regression", project="scores",
                  seed=seed, **TRAIN) for seed in (1, 2)]
    run_id = runs[0].run.id
    assert runs[0].validation.metrics["spearman"] > 0.6  # it learned: the answers compared below are not a constant
    dev = [line.split("\t") for line in (learnable_scores_dir / "dev.tsv").read_text().splitlines()[1:]]
    original = predict(run_id, [row[1] for row in dev], [row[2] for row in dev], precision="fp32")
    before = np.array([row["score"] for row in original.rows])  # the fp32 scores compress measures against

    for method in METHODS:
        compressed, header, summary = _compress(runs[0].run, method)
        assert compressed.problem_type == "regression" and compressed.primary_metric == "spearman"
        assert set(compressed.compressed.metrics) == {"spearman", "pearson", "pearson_spearman", "mse", "mae"}
        assert set(compressed.change.metrics) == set(compressed.compressed.metrics)
        after = np.array(compressed.predictions, dtype=float)
        moved = int((np.abs(after - before) >= SAME_SCORE).sum())
        assert compressed.change.flips == moved, method
        assert "spearman" in header and "pearson" in header and " acc " not in f"{header} "
        delta = compressed.change.metrics["spearman"] * 100
        assert f"spearman {delta:+.2f} points; {moved} scores move by 0.01 or more (" in summary
        assert "sign test (which copy is closer to the gold score) p=" in summary and "flip" not in summary
        if method == "onnx":  # the same fp32 weights on another runtime: the same scores
            assert moved == 0 and abs(delta) < 1e-6

        outcome = runner.invoke(app, ["predict", run_id, "--method", method, "--file",
                                      str(learnable_scores_dir / "dev.tsv"), "--json"])
        assert outcome.exit_code == 0, outcome.output
        assert [row["score"] for row in json.loads(outcome.output)] == pytest.approx(compressed.predictions, abs=1e-5)
        outcome = runner.invoke(app, ["predict", run_id, "--method", method, dev[0][1], dev[0][2]])
        assert outcome.exit_code == 0 and outcome.output.split()[0] == f"{compressed.predictions[0]:.4f}"

    _study_checks("scores", "spearman", tmp_path)


def test_a_multi_label_study_keeps_its_thresholds_in_every_copy_and_reports_in_macro_f1(
        tiny_model_dir, learnable_sets_dir, in_process, tmp_path):
    from bakeoff.compression import artefact

    runs = [train(model=str(tiny_model_dir), data=str(learnable_sets_dir), label_column="moods", project="sets",
                  seed=seed, **TRAIN) for seed in (1, 2)]
    run_id, checkpoint = runs[0].run.id, Path(runs[0].checkpoint)
    assert runs[0].data.problem_type == "multi_label" and runs[0].validation.metrics["f1_macro"] > 0.8
    thresholds = json.loads((checkpoint / "config.json").read_text())["decision_thresholds"]
    assert any(t != 0.5 for t in thresholds)  # chosen on validation: a copy at 0.5 would answer differently
    texts = [json.loads(line)["text"] for line in (learnable_sets_dir / "dev.jsonl").read_text().splitlines()]
    original = predict(run_id, texts, precision="fp32")
    names = original.label_names
    before = [sorted(names.index(label) for label in row["labels"]) for row in original.rows]

    for method in METHODS:
        compressed, header, summary = _compress(runs[0].run, method)
        folder = Path(compressed.path)
        assert json.loads((folder / "config.json").read_text())["decision_thresholds"] == thresholds
        loaded = artefact.load(folder)
        assert loaded.problem.name == "multi_label" and loaded.thresholds == thresholds
        assert compressed.problem_type == "multi_label" and compressed.primary_metric == "f1_macro"
        assert set(compressed.compressed.metrics) == {"f1_macro", "f1_micro", "f1_samples", "subset_accuracy",
                                                      "average_precision"}
        changed = sum(a != b for a, b in zip(compressed.predictions, before, strict=True))
        assert compressed.change.flips == changed, method
        assert "f1_macro" in header and "f1_micro" in header and " acc " not in f"{header} "
        delta = compressed.change.metrics["f1_macro"] * 100
        assert f"f1_macro {delta:+.2f} points; {changed} label sets change (" in summary
        assert "McNemar (whole label set right) p=" in summary and "flip" not in summary
        if method == "onnx":
            assert changed == 0 and abs(delta) < 1e-9

        answer = predict(run_id, texts, method=method)  # each label at its own threshold, not at 0.5
        probabilities = answer.probabilities
        assert [[names[k] for k in range(len(names)) if probabilities[i, k] >= thresholds[k]]
                for i in range(len(texts))] == [row["labels"] for row in answer.rows]
        assert [sorted(names.index(label) for label in row["labels"]) for row in answer.rows] == \
            compressed.predictions
        outcome = runner.invoke(app, ["predict", run_id, "--method", method, texts[0]])
        assert outcome.exit_code == 0
        assert outcome.output.split()[0] == (",".join(answer.rows[0]["labels"]) or "(no")

    _study_checks("sets", "f1_macro", tmp_path)


def test_label_sets_past_one_number_per_row_rank_by_seeds_without_crashing(tiny_model_dir, tmp_path):
    """53+ labels do not fit the bitmask a verdict pairs rows on: the leaderboard compares seeds and says so."""
    from bakeoff.problems.multi_label import MAX_BITMASK_LABELS

    from tests.conftest import sentiment_rows

    folder = tmp_path / "many"
    folder.mkdir()
    for name, count in (("train.jsonl", 2 * MAX_BITMASK_LABELS), ("dev.jsonl", 30)):
        (folder / name).write_text("".join(
            json.dumps({"text": text, "tags": [f"mood{label}", f"topic{i % (MAX_BITMASK_LABELS + 1)}"]}) + "\n"
            for i, (text, label) in enumerate(sentiment_rows(count, seed=count))))
    for learning_rate in (3e-3, 1e-4):
        for seed in (1, 2):
            train(model=str(tiny_model_dir), data=str(folder), label_column="tags", project="many", seed=seed,
                  **{**TRAIN, "epochs": 1, "learning_rate": learning_rate})
    board = leaderboard("many")
    ranking = board.rankings[0]
    assert ranking.metric == "f1_macro" and [row.method for row in ranking.rows] == ["trained", "trained"]
    assert ranking.rows[1].verdict_scope is None or "seed" in ranking.rows[1].verdict_scope
    assert not ranking.rows[1].verdict.startswith("n/a")  # compared on the seeds' values
    assert any("rows are compared by their seeds alone, without baselines" in note for note in board.notes)
    html = report("many", tmp_path / "many.html").read_text()
    assert "Leaderboard: custom, validation" in html and "Errors (" not in html
