"""examples/imdb_sweeps_small.yaml: its data script writes a small, stratified IMDB folder in the task's columns,
with no test split, and the study keeps the three sweeps of the full one (as a full length x learning-rate grid)."""

from __future__ import annotations

import csv
import gzip
import importlib.util
from pathlib import Path

from bakeoff.study import load_study

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _script():
    spec = importlib.util.spec_from_file_location("imdb_small_data", EXAMPLES / "imdb_small_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path: Path, rows: int, positive_every: int = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        split = path.name.split(".")[0]
        writer.writerows([f"review {split} {i}, with a comma", int(i % positive_every == 0)] for i in range(rows))


def test_the_data_script_writes_a_stratified_train_and_validation_and_no_test(tmp_path, monkeypatch):
    _write(tmp_path / "data" / "imdb" / "train.csv.gz", 400)
    _write(tmp_path / "data" / "imdb" / "test.csv.gz", 400, positive_every=4)  # a quarter positive
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(tmp_path / "data"))
    assert _script().main([str(tmp_path / "small"), "--train", "100", "--validation", "40"]) == 0
    assert sorted(p.name for p in (tmp_path / "small").iterdir()) == ["dev.csv.gz", "train.csv.gz"]
    read = {name: list(csv.DictReader(gzip.open(tmp_path / "small" / name, "rt", newline="")))
            for name in ("train.csv.gz", "dev.csv.gz")}
    assert len(read["train.csv.gz"]) == 100 and sum(r["label"] == "1" for r in read["train.csv.gz"]) == 50
    assert len(read["dev.csv.gz"]) == 40 and sum(r["label"] == "1" for r in read["dev.csv.gz"]) == 10
    assert all(r["text"].startswith("review test ") for r in read["dev.csv.gz"])  # held out: IMDB's test file
    again = tmp_path / "again"
    assert _script().main([str(again), "--train", "100", "--validation", "40"]) == 0  # seeded: the same rows
    assert (again / "train.csv.gz").read_bytes() != b"" and list(csv.DictReader(gzip.open(
        again / "train.csv.gz", "rt", newline=""))) == read["train.csv.gz"]


def test_the_data_script_says_what_to_set_when_imdb_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(tmp_path))
    assert _script().main([str(tmp_path / "small")]) == 2
    assert "set BAKEOFF_DATA_DIR to a folder holding imdb/train.csv.gz" in capsys.readouterr().err


def test_the_small_study_keeps_the_three_sweeps_as_a_full_grid():
    study = load_study(EXAMPLES / "imdb_sweeps_small.yaml")
    by_sweep: dict[str, list] = {}
    for trial in study.trials:
        by_sweep.setdefault(trial.sweep, []).append(trial.config)
    grid = by_sweep["length-x-learning-rate"]
    assert {(c["max_length"], c["learning_rate"]) for c in grid} == {
        (length, lr) for length in (64, 128, 256) for lr in (5e-5, 1.5e-4)}
    assert {c["train_fraction"] for c in by_sweep["data-fraction"]} == {0.25, 0.5, 0.75}  # 1.0 is a grid trial
    assert [c["model"] for c in by_sweep["model-size"]] == ["minilm-l6"]  # minilm-l3's is a grid trial too
    assert all(c["data"] == "imdb-small" and c["task"] == "imdb" for c in grid)
