"""The contract for bad input: one line naming the problem and the fix, a non-zero exit, nothing left in the store.

Each row is one case a user hit; add a case with one line. Rows run through the real CLI, before any model or data
is loaded (the checks come first), so the table stays fast.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bakeoff.cli import app
from bakeoff.track import Store

runner = CliRunner()
T = ["train", "--model", "minilm-l3", "--max-steps", "2", "--batch-size", "4", "--quiet"]

CASES = [
    # options that would break the maths: each has a range, and "off" where off is a real choice
    (T + ["--max-grad-norm", "-1"], "--max-grad-norm must be > 0 (or off: no clipping), got -1.0"),
    (T + ["--max-grad-norm", "0"], "--max-grad-norm must be > 0"),
    (T + ["--weight-decay", "-1"], "--weight-decay must be >= 0"),
    (T + ["--threads", "0"], "--threads must be >= 1"),
    (T + ["--max-length", "1"], "--max-length must be >= 4"),
    (T + ["--learning-rate", "inf"], "--learning-rate must be a number"),
    (T + ["--precision", "fp64"], "--precision 'fp64' is not one of auto, bf16, fp16, fp32"),
    (T + ["--best-metric", "nonsense"],
     "--best-metric 'nonsense' is not one of accuracy, f1, f1_macro, mcc, balanced_accuracy, spearman"),
    (T + ["--device", "gpu"], "--device 'gpu' is not one of auto, cpu, cuda, cuda:N, mps"),
    # run names become folders
    (T + ["--name", "two\nlines"], "is not a usable run name"),
    (T + ["--name", "x" * 300], "is not a usable run name"),
    (T + ["--name", "../escape"], "is not a usable run name"),
    (T + ["--project", "two\twords"], "is not a usable project name"),
    # budgets and tolerances that every row would "meet" (nan compares false) or that mean nothing
    (["recommend", "p", "--max-latency-ms", "nan", "--min-metric", "nan"], "--max-latency-ms nan: not a number"),
    (["recommend", "p", "--min-metric", "nan"], "--min-metric nan: not a number"),
    (["recommend", "p", "--max-size-mb", "inf"], "--max-size-mb inf: the budget must be a positive, finite number"),
    (["recommend", "p", "--max-train-seconds", "-5"], "--max-train-seconds -5: the budget must be a positive"),
    (["recommend", "p", "--max-latency-ms", "0"], "--max-latency-ms 0: the budget must be a positive"),
    (["recommend", "p", "--min-metric", "-inf"], "--min-metric -inf: the budget must be a finite number"),
    (["recommend", "p", "--tolerance", "nan"], "--tolerance nan: give the largest difference that does not matter"),
    (["leaderboard", "p", "--tolerance", "0"], "--tolerance 0.0: give the largest difference that does not matter"),
    (["report", "p", "--tolerance", "-1"], "--tolerance -1.0: give the largest difference that does not matter"),
]

# files a user points bakeoff at: name -> (files to write, the arguments, the expected line)
FILES = {
    "a CSV with a header only": ({"d.csv": "text,label\n"}, ["--data", "d.csv"], "d.csv has no rows (a header only?)"),
    "two rows, nothing to hold out": ({"d.csv": "text,label\ngood,1\nbad,0\n"}, ["--data", "d.csv"],
                                      "d.csv: 2 labelled row(s) are too few to hold out a validation split"),
    "an empty validation file": ({"d/train.csv": "text,label\n" + "good,1\nbad,0\n" * 10,
                                  "d/validation.csv": "text,label\n"}, ["--data", "d"],
                                 "validation.csv has no rows"),
    "an empty test file beside a training file": ({"d/train.csv": "text,label\n" + "good,1\nbad,0\n" * 20,
                                                   "d/test.csv": "text,label\n"}, ["--data", "d"],
                                                  "test.csv has no rows"),
    "one class": ({"d.csv": "text,label\n" + "good,1\n" * 20}, ["--data", "d.csv"],
                  "every training row has the label '1': a classifier needs at least two classes"),
    "a pickled model": ({"m/config.json": "{}", "m/pytorch_model.bin": "pickle"}, ["--model", "m", "--task", "demo"],
                        "holds its weights as a pickle (pytorch_model.bin), which bakeoff never loads"),
    "a model folder without weights": ({"m/config.json": "{}"}, ["--model", "m", "--task", "demo"],
                                       "has a config.json but no weights"),
}


@pytest.mark.parametrize("case", list(FILES))
def test_bad_files_are_one_clear_line(case, tmp_path, monkeypatch):
    files, args, expected = FILES[case]
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    base = ["train", "--model", "minilm-l3", "--max-steps", "2", "--quiet"]
    result = runner.invoke(app, base + args)
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()) and "Traceback" not in result.output
    assert Store().list() == []


def test_text_that_is_not_utf8_on_the_command_line_is_refused(tmp_path):
    import os
    import subprocess
    import sys

    command = [sys.executable.encode(), b"-m", b"bakeoff", b"embed", b"minilm-l3", b"caf\xe9", b"--out",
               str(tmp_path / "v.npy").encode()]
    result = subprocess.run(command, capture_output=True, timeout=60, env={**os.environ, "LC_ALL": "C.UTF-8"})
    message = " ".join(result.stderr.decode().split())
    assert result.returncode == 2 and "the argument 'caf\\xe9' is not UTF-8 text (byte 0xe9)" in message, message
    assert not (tmp_path / "v.npy").exists()


@pytest.mark.parametrize("args,expected", CASES, ids=[" ".join(a[len(T):] if a[:len(T)] == T else a)[:40]
                                                      for a, _ in CASES])
def test_bad_input_is_one_clear_line(args, expected):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) <= 2 and lines[0].startswith("error:"), result.output  # one message (may wrap once)
    assert expected in " ".join(result.output.split()) and "Traceback" not in result.output
    assert Store().list() == []


def test_a_store_that_is_a_file_is_refused_before_any_work(tmp_path, monkeypatch):
    store = tmp_path / "store-file"
    store.write_text("not a folder")
    result = runner.invoke(app, ["runs", "ls", "--store", str(store)])
    assert result.exit_code == 2 and "is a file, not a folder" in result.output
    monkeypatch.setenv("BAKEOFF_STORE", str(store))
    result = runner.invoke(app, T)
    assert result.exit_code == 2 and "is a file, not a folder" in " ".join(result.output.split())
    assert store.read_text() == "not a folder"


def test_one_unreadable_run_does_not_lock_the_user_out_of_the_others(tmp_path):
    from bakeoff.track import Experiment

    with Experiment(name="good", project="p", local_path=tmp_path):
        pass
    with Experiment(name="bad", project="p", local_path=tmp_path) as bad:
        pass
    (bad.path / "experiment.json").write_text("{not json")
    result = runner.invoke(app, ["runs", "ls", "--store", str(tmp_path), "--json"])
    assert result.exit_code == 0 and '"name": "good"' in result.output and '"bad"' not in result.output
    assert runner.invoke(app, ["runs", "show", "p/good", "--store", str(tmp_path)]).exit_code == 0


def test_an_unexpected_error_is_one_line_with_the_way_to_the_traceback(monkeypatch):
    import bakeoff.tasks

    def broken():
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(bakeoff.tasks, "all_tasks", broken)
    result = runner.invoke(app, ["tasks"])
    assert result.exit_code == 1
    assert "unexpected RuntimeError: boom" in result.output and "BAKEOFF_TRACEBACK=1" in result.output
    assert "second line" not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("command", ["evaluate", "compress"])
def test_an_unknown_split_is_refused_before_any_model_loads(command):
    """Checked first: 'some-run' does not exist, so a lookup before the check would say 'no run' instead."""
    result = runner.invoke(app, [command, "some-run", "--split", "nope"])
    assert result.exit_code == 2 and "--split 'nope': use validation, test or train" in result.output
