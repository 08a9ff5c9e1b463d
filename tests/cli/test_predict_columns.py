"""`predict --file` reads the columns the run was trained on, and refuses rather than score the wrong one."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bakeoff.cli import app
from tests.conftest import sentiment_rows

runner = CliRunner()


@pytest.fixture
def run_id(tiny_model_dir, sentiment_dir):
    result = runner.invoke(app, ["train", "--model", str(tiny_model_dir), "--data", str(sentiment_dir), "--epochs",
                                 "4", "--learning-rate", "3e-3", "--batch-size", "16", "--precision", "fp32",
                                 "--text-column", "sentence", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["run"]["id"]


def test_a_glue_test_file_is_scored_on_its_sentence_column_not_its_index(run_id, tmp_path):
    rows = sentiment_rows(6, seed=3)
    file = tmp_path / "test.tsv"  # GLUE's test layout: index first, then the sentence
    file.write_text("index\tsentence\n" + "".join(f"{i}\t{text}\n" for i, (text, _) in enumerate(rows)))
    by_file = runner.invoke(app, ["predict", run_id, "--file", str(file), "--json"])
    assert by_file.exit_code == 0, by_file.output
    one_by_one = [json.loads(runner.invoke(app, ["predict", run_id, text, "--json"]).output)[0]["label"]
                  for text, _ in rows]
    assert [row["label"] for row in json.loads(by_file.output)] == one_by_one
    shown = runner.invoke(app, ["predict", run_id, "--file", str(file)])
    assert rows[0][0][:30] in shown.output  # the console shows the text it scored


def test_a_file_without_a_known_text_column_is_refused_with_its_columns(run_id, tmp_path):
    file = tmp_path / "other.csv"
    file.write_text("id,body\n1,a great film\n")
    result = runner.invoke(app, ["predict", run_id, "--file", str(file)])
    assert result.exit_code == 2
    assert "its columns: id, body: pass --text-column NAME" in " ".join(result.output.split())


def test_a_single_text_model_given_a_pair_is_refused_and_out_must_be_a_file(run_id, tmp_path):
    result = runner.invoke(app, ["predict", run_id, "a great film", "and a second text"])
    assert result.exit_code == 2 and "reads single texts, not pairs" in result.output
    file = tmp_path / "in.csv"
    file.write_text("sentence\na great film\n")
    result = runner.invoke(app, ["predict", run_id, "--file", str(file), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "is a folder: give a file name" in " ".join(result.output.split())
    assert not list(tmp_path.glob(".*.tmp"))
