from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bakeoff.cli import app
from bakeoff.track import Store
from tests.conftest import sentiment_rows

runner = CliRunner()


def _train_args(model_dir, data_dir, *extra):
    return ["train", "--model", str(model_dir), "--data", str(data_dir), "--epochs", "6", "--learning-rate", "3e-3",
            "--batch-size", "16", "--precision", "fp32", "--quiet", *extra]


def test_train_evaluate_predict_through_the_cli(tiny_model_dir, sentiment_dir, tmp_path):
    result = runner.invoke(app, _train_args(tiny_model_dir, sentiment_dir, "--name", "cli-run", "--json"))
    assert result.exit_code == 0, result.output
    trained = json.loads(result.output)
    assert trained["run"]["name"] == "cli-run" and trained["validation"]["metrics"]["accuracy"] >= 0.85

    result = runner.invoke(app, ["evaluate", "bakeoff/cli-run", "--precision", "fp32", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["metrics"]["accuracy"] == pytest.approx(trained["validation"]["metrics"]["accuracy"])

    result = runner.invoke(app, ["predict", trained["run"]["id"], "a great and charming film", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)[0]["label"] == "1"

    infile, outfile = tmp_path / "in.csv", tmp_path / "out.csv"
    infile.write_text("id,text\n1,dreadful plot\n2,superb acting\n")
    result = runner.invoke(app, ["predict", "bakeoff/cli-run", "--file", str(infile), "--out", str(outfile)])
    assert result.exit_code == 0, result.output
    lines = outfile.read_text().splitlines()
    assert lines[0] == "id,text,label,score" and lines[1].startswith("1,dreadful plot,0,")
    assert lines[2].startswith("2,superb acting,1,")


def test_tasks_and_models_list():
    result = runner.invoke(app, ["tasks", "--json"])
    tasks = json.loads(result.output)
    assert {"sst2", "mrpc", "cola", "rte", "qnli", "qqp", "mnli", "imdb", "demo"} <= set(tasks)
    assert tasks["mrpc"]["pair"] and tasks["cola"]["primary_metric"] == "mcc"
    assert len(tasks["mnli"]["labels"]) == 3
    models = json.loads(runner.invoke(app, ["models", "--json"]).output)
    assert {m["alias"]: m["layers"] for m in models}["minilm-l3"] == [0, 2, 4]


def _bad(tmp_path, train_text: bytes | str, dev_text: str = "sentence\tlabel\ngood film\t1\n"):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "train.tsv").write_bytes(train_text if isinstance(train_text, bytes) else train_text.encode())
    (folder / "dev.tsv").write_text(dev_text)
    return folder


GOOD_TRAIN = "sentence\tlabel\n" + "".join(f"{t}\t{label}\n" for t, label in sentiment_rows(20))


@pytest.mark.parametrize("train_text,dev_text,expected", [
    (GOOD_TRAIN.replace("sentence\t", "review\t", 1), None, "no column 'sentence'"),
    (GOOD_TRAIN + "\t1\n", None, "train.tsv, line 22: empty text"),
    (GOOD_TRAIN, "sentence\tlabel\nfine\t1\nodd\t7\n", "dev.tsv, line 3: label '7' does not occur"),
    (GOOD_TRAIN.encode() + b"caf\xe9\t1\n", None, "train.tsv, line 22: bytes that are not UTF-8"),
    (GOOD_TRAIN + "too\tmany\tfields\n", None, "train.tsv, line 22: 3 fields where the header has 2"),
])
def test_bad_data_is_one_line_naming_file_line_and_problem(tmp_path, tiny_model_dir, train_text, dev_text, expected):
    folder = _bad(tmp_path, train_text, *( [dev_text] if dev_text else []))
    result = runner.invoke(app, _train_args(tiny_model_dir, folder, "--text-column", "sentence"))
    assert result.exit_code == 2
    assert expected in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.strip().splitlines() if line.strip()]) <= 2  # one message (may wrap)
    assert Store().list() == []  # nothing written for that run


@pytest.mark.parametrize("args,expected", [
    (["train", "--task", "sst3"], "unknown task 'sst3': did you mean 'sst2'?"),
    (["train", "--model", "minilm-l7"], "did you mean 'minilm-l6'?"),
    (["train", "--train-fraction", "1.5"], "--train-fraction must be <= 1, got 1.5"),
    (["train", "--task", "sst2"], "no local copy of 'sst2'"),
    (["train", "--layers", "0,x"], "--layers must be a list of whole numbers, or off (all layers), got '0,x'"),
    (["evaluate", "no-such-run"], "no run 'no-such-run'"),
    (["predict", "no-such-run"], "give either a text"),
])
def test_bad_options_are_one_clear_error(args, expected):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()) and "Traceback" not in result.output
    assert Store().list() == []


def test_every_command_option_and_argument_says_what_it_is_for():
    """`--help` is the CLI's manual: no option without a description (five had none)."""
    import click
    import typer.main

    def walk(command, path):
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), command

    missing = [f"{path} {param.name}" for path, command in walk(typer.main.get_command(app), [])
               for param in command.params if param.name != "help" and not getattr(param, "help", None)]
    assert missing == []


def test_tasks_say_whether_their_data_is_on_this_machine(tmp_path, monkeypatch):
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2" / "train.tsv").write_text("sentence\tlabel\n")
    (tmp_path / "mrpc").mkdir()  # an empty folder is not data
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["tasks", "--json"])
    here = {name: task["on_this_machine"] for name, task in json.loads(result.output).items()}
    assert here["sst2"] == "yes" and here["demo"] == "shipped" and here["mrpc"] == "hub only"
    monkeypatch.delenv("BAKEOFF_DATA_DIR")
    result = runner.invoke(app, ["tasks"])
    assert "BAKEOFF_DATA_DIR is not set" in " ".join(result.output.split())
