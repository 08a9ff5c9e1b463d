"""The second round of bad input (issue 20): the newer commands (embed, index, search, studies, report) under the
same contract as ``test_bad_inputs.py``: one line naming the problem and the fix, exit 2, nothing half-written.

Each row is one case a user hit, typed as the user typed it; ``{tiny}`` stands for the tiny BERT's folder. The rows
that need a trained run or a built index are the functions below the tables.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bakeoff.cli import app
from bakeoff.track import Store
from tests.conftest import sentiment_rows, write_tsv

runner = CliRunner()
ROWS = "text,label\n" + "".join(f"{text},{label}\n" for text, label in sentiment_rows(30))


def _parquet(frame: dict) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        import pandas as pd

        pd.DataFrame(frame).to_parquet(path)

    return write


BOMB = "models: [minilm-l3]\ntasks: [demo]\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n" for previous, name in zip("abcdefgh", "bcdefghi"))
GRID = "[" + ", ".join(str(v) for v in range(1, 11)) + "]"
HUGE = ("models: [minilm-l3]\ntasks: [demo]\nseeds: [1, 2]\naxes:\n  - grid: {" + ", ".join(
    f"{name}: {GRID}" for name in ("batch_size", "epochs", "eval_steps", "eval_batch_size", "max_steps",
                                   "gradient_accumulation_steps")) + "}\n")  # 10^6 points x 2 seeds

# name -> (files to write: text, or a function writing the file; the command line; the expected line)
CASES: dict[str, tuple[dict, list[str], str]] = {
    # data read wrong
    "train: an empty label cell": (
        {"d.csv": ROWS.replace(",1\n", ",\n", 1)}, ["train", "--model", "{tiny}", "--data", "d.csv", "--quiet"],
        "d.csv, line 3: empty label in column 'label': give the row its class, or remove it"),
    "embed --file: a blank line in a one-column file": (
        {"t.csv": "text\ngood film\n\nbad film\n"}, ["embed", "{tiny}", "--file", "t.csv", "--out", "v.npy"],
        "t.csv, line 3: an empty text (a blank line) in a one-column file"),
    "embed --file: a spaces-only line in a one-column file": (
        {"t.csv": "text\ngood film\n   \nbad film\n"}, ["embed", "{tiny}", "--file", "t.csv", "--out", "v.npy"],
        "t.csv, line 3: an empty text (a blank line)"),
    "embed --file: a spaces-only text beside an id": (
        {"t.csv": "id,text\na,good film\nb,  \nc,bad film\n"},
        ["embed", "{tiny}", "--file", "t.csv", "--out", "v.npy"], "t.csv, line 3: empty text in column 'text'"),
    "index build --corpus: a blank line": (
        {"t.csv": "text\ngood film\n\nbad film\ndull\n"},
        ["index", "build", "{tiny}", "--corpus", "t.csv", "--out", "ix"], "t.csv, line 3: an empty text"),
    "embed --file: a JSONL row without the text key": (
        {"t.jsonl": '{"text": "good"}\n{"body": "bad"}\n'}, ["embed", "{tiny}", "--file", "t.jsonl"],
        "t.jsonl, line 2: column 'text' is missing (no 'text' key)"),
    "embed --file: a JSONL text that is an object": (
        {"t.jsonl": '{"text": "good"}\n{"text": {"en": "bad"}}\n'}, ["embed", "{tiny}", "--file", "t.jsonl"],
        "t.jsonl, line 2: column 'text' holds a mapping (a JSON object), not a text"),
    "embed --file: a null Parquet text": (
        {"t.parquet": _parquet({"text": ["good", None, "bad"]})}, ["embed", "{tiny}", "--file", "t.parquet"],
        "t.parquet, row 2: column 'text' is empty (null)"),
    "index build --corpus: Parquet list cells": (
        {"t.parquet": _parquet({"text": [["a", "b"], ["c"]]})},
        ["index", "build", "{tiny}", "--corpus", "t.parquet", "--out", "ix"],
        "t.parquet, row 1: column 'text' holds a list, not a text (and 1 more row(s))"),
    "train --data: a null Parquet text": (
        {"t.parquet": _parquet({"text": [t for t, _ in sentiment_rows(29)] + [None],
                                "label": [lab for _, lab in sentiment_rows(30)]})},
        ["train", "--model", "{tiny}", "--data", "t.parquet", "--quiet"], "t.parquet, row 30: column 'text' is empty"),
    # study files
    "a study file with settings: twice": (
        {"s.yaml": "models: [minilm-l3]\ntasks: [demo]\nsettings: {epochs: 1}\nseeds: [1]\nsettings: {epochs: 3}\n"},
        ["run", "s.yaml", "--dry-run"],
        "s.yaml:5: key 'settings' appears twice in one mapping (first at line 3)"),
    "a YAML alias bomb": (
        {"s.yaml": BOMB}, ["run", "s.yaml", "--dry-run"], "expands (through YAML aliases, *name) to more than 100,000"),
    "a 2-million-trial grid": (
        {"s.yaml": HUGE}, ["run", "s.yaml", "--dry-run"],
        "s.yaml:4: these axes make 2,000,000 trials (2 model/task/seed combinations times the axes), more than 10,000"),
    "an embedding study naming a run that does not exist": (
        {"store/p/.keep": "", "s.yaml": "models: [{tiny}, p/nope]\ntasks: [mrpc]\nembedding: pairs\n"},
        ["run", "s.yaml", "--dry-run"], "s.yaml:1: no run 'p/nope' in the store"),
    "a study naming a hub model that is not here, offline": (
        {"s.yaml": "models: [nobody/no-such-model]\ntasks: [demo]\n"}, ["run", "s.yaml", "--dry-run"],
        "s.yaml:1: model 'nobody/no-such-model' is not in the local Hugging Face cache, and HF_HUB_OFFLINE=1"),
    # a --max-length the model cannot take, a batch size of 0: said before any work
    "embed --max-length -5": ({}, ["embed", "{tiny}", "good", "--max-length", "-5"], "--max-length must be >= 4"),
    "embed --max-length 1": ({}, ["embed", "{tiny}", "good", "--max-length", "1"], "--max-length must be >= 4"),
    "embed --max-length 100000": ({}, ["embed", "{tiny}", "good", "--max-length", "100000"],
                                  "--max-length must be <= 8192"),
    "embed --max-length past the model's positions": (
        {}, ["embed", "{tiny}", "good", "--max-length", "200"],
        "--max-length 200: {tiny} takes at most 128 tokens (its position embeddings): give --max-length 128 or less"),
    "index build --max-length past the model's positions": (
        {"t.csv": "text\ngood\nbad\n"},
        ["index", "build", "{tiny}", "--corpus", "t.csv", "--out", "ix", "--max-length", "129"],
        "takes at most 128 tokens"),
    "train --max-length 1000 on a 512-position model": (
        {"d.csv": ROWS}, ["train", "--model", "minilm-l6", "--data", "d.csv", "--max-length", "1000", "--quiet"],
        "--max-length 1000: minilm-l6 takes at most 512 tokens"),
    "predict --batch-size 0": ({}, ["predict", "some-run", "good", "--batch-size", "0"],
                               "--batch-size must be >= 1, got 0"),
    "evaluate --batch-size 0": ({}, ["evaluate", "some-run", "--batch-size", "0"], "--batch-size must be >= 1, got 0"),
    "embed --batch-size 0": ({}, ["embed", "{tiny}", "good", "--batch-size", "0"], "--batch-size must be >= 1, got 0"),
    "search -k 0": ({}, ["search", "no-index", "good", "-k", "0"], "--k must be >= 1, got 0"),
    # output paths
    "embed --out ''": ({}, ["embed", "{tiny}", "good", "--out", ""], "--out an empty name: give a file name"),
    "embed --out an existing folder": ({"adir/.keep": ""}, ["embed", "{tiny}", "good", "--out", "adir"],
                                       "--out adir is a folder: give a file name, e.g. --out adir/vectors.npy"),
    "embed --out under a file": ({"afile": "x"}, ["embed", "{tiny}", "good", "--out", "afile/v.npy"],
                                 "--out afile/v.npy: afile is a file, not a folder"),
    "embed --out where nothing can be written": ({}, ["embed", "{tiny}", "good", "--out", "/proc/v.npy"],
                                                 "--out /proc/v.npy: cannot write in /proc"),
    "index build --out under a file": ({"afile": "x", "t.csv": "text\ngood\n"},
                                       ["index", "build", "{tiny}", "--corpus", "t.csv", "--out", "afile/ix"],
                                       "--out afile/ix: afile is a file, not a folder"),
    "report --out an existing folder": ({"isdir.html/.keep": ""}, ["report", "some-project", "--out", "isdir.html"],
                                        "--out isdir.html is a folder"),
    "report --format md --out under a file": (
        {"afile": "x"}, ["report", "some-project", "--format", "md", "--out", "afile/r.md"],
        "--out afile/r.md: afile is a file, not a folder"),
    "report --out ''": ({}, ["report", "some-project", "--out", ""], "--out an empty name"),
    "predict --out an existing folder": ({"adir/.keep": ""}, ["predict", "some-run", "good", "--out", "adir"],
                                         "--out adir is a folder"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_second_round_bad_input_is_one_clear_line(case, tmp_path, monkeypatch, tiny_model_dir):
    files, args, expected = CASES[case]
    for name, content in files.items():
        path = tmp_path / name.replace("{tiny}", str(tiny_model_dir))
        path.parent.mkdir(parents=True, exist_ok=True)
        content(path) if callable(content) else path.write_text(content.replace("{tiny}", str(tiny_model_dir)))
    monkeypatch.chdir(tmp_path)
    before = _files(tmp_path)
    result = runner.invoke(app, [a.replace("{tiny}", str(tiny_model_dir)) for a in args])
    message = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert message.startswith("error:") and expected.replace("{tiny}", str(tiny_model_dir)) in message, message
    assert "Traceback" not in result.output and "a bug in bakeoff" not in message
    assert _files(tmp_path) == before and Store().list() == []  # nothing written, not even a hidden file


def _files(folder: Path) -> list[Path]:
    """Every file and folder under ``folder`` but the store's own root (``train`` checks it is writable first)."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p != folder / "store")


# -- cases that need a trained run or a built index ----------------------------------------------------------------

@pytest.fixture(scope="module")
def trained_store(tmp_path_factory, tiny_model_dir) -> Path:
    """A store holding one tiny trained run, p/r1 (2 steps): copied into each test's own store."""
    root = tmp_path_factory.mktemp("trained")
    write_tsv(root / "data" / "train.tsv", sentiment_rows(60, seed=1))
    write_tsv(root / "data" / "dev.tsv", sentiment_rows(20, seed=2))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BAKEOFF_STORE", str(root / "store"))
        patch.setenv("HF_HUB_OFFLINE", "1")
        result = runner.invoke(app, ["train", "--model", str(tiny_model_dir), "--data", str(root / "data"),
                                     "--max-steps", "2", "--batch-size", "8", "--quiet", "--project", "p",
                                     "--name", "r1"])
    assert result.exit_code == 0, result.output
    return root / "store"


@pytest.fixture
def store(trained_store, tmp_path) -> Path:
    shutil.copytree(trained_store, tmp_path / "store")  # the autouse fixture points BAKEOFF_STORE here
    return tmp_path / "store"


def refused(args: list[str], expected: str) -> None:
    result = runner.invoke(app, args)
    message = " ".join(result.output.split())
    assert result.exit_code == 2 and message.startswith("error:") and expected in message, result.output
    assert "Traceback" not in result.output


def test_swapped_label_names_in_a_runs_checkpoint_are_refused(store):
    assert runner.invoke(app, ["evaluate", "p/r1"]).exit_code == 0
    config_file = store / "p" / "r1" / "checkpoint" / "config.json"
    config = json.loads(config_file.read_text())
    config["id2label"] = {"0": config["id2label"]["1"], "1": config["id2label"]["0"]}
    config_file.write_text(json.dumps(config, indent=2))
    for command in (["evaluate", "p/r1"], ["predict", "p/r1", "a good film"], ["embed", "p/r1", "good"]):
        refused(command, "config.json: sha256 differs from the one recorded when the run saved it (it holds the "
                         "label names")


def test_a_changed_tokenizer_in_a_runs_checkpoint_is_refused(store):
    tokenizer_file = store / "p" / "r1" / "checkpoint" / "tokenizer.json"
    tokenizer_file.write_text(tokenizer_file.read_text().replace('"good"', '"goood"'))
    refused(["predict", "p/r1", "a good film"], "tokenizer.json: sha256 differs")


@pytest.fixture
def built(tmp_path, tiny_model_dir) -> tuple[Path, Path]:
    """An index of 5 texts built with a copy of the tiny BERT: (index folder, model folder)."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    (tmp_path / "c.csv").write_text("text\ngood film\nbad film\ngreat plot\ndull acting\nfun story\n")
    result = runner.invoke(app, ["index", "build", str(model), "--corpus", str(tmp_path / "c.csv"),
                                 "--out", str(tmp_path / "ix")])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["search", str(tmp_path / "ix"), "good"]).exit_code == 0
    return tmp_path / "ix", model


def test_another_model_in_the_index_models_folder_is_refused(built):
    index, model = built
    from safetensors.numpy import load_file, save_file

    weights = load_file(model / "model.safetensors")
    save_file({name: np.ones_like(value) for name, value in weights.items()}, model / "model.safetensors")
    refused(["search", str(index), "good"], "is not the one the index was built with")


def test_an_edited_index_json_is_refused(built):
    index, _ = built
    manifest = index / "index.json"
    manifest.write_text(manifest.read_text().replace('"reference": "', '"reference": "minilm-l6-was-'))
    refused(["search", str(index), "good"], "index.json: does not match its own manifest_sha256")


def _rewrite(index: Path, change: Callable[[Path], None]) -> None:
    """Change the index's files and recompute every hash, so only the files' agreement can catch it."""
    from bakeoff.embedding.index import _seal
    from bakeoff.io import sha256

    change(index)
    manifest = json.loads((index / "index.json").read_text())
    manifest["files"] = {name: {"bytes": (index / name).stat().st_size, "sha256": sha256(index / name)}
                         for name in manifest["files"]}
    manifest["manifest_sha256"] = _seal(manifest)
    (index / "index.json").write_text(json.dumps(manifest))


def test_index_files_that_disagree_are_refused_on_load(built):
    index, _ = built

    def cut_texts(folder: Path) -> None:
        stored = json.loads((folder / "texts.json").read_text())
        (folder / "texts.json").write_text(json.dumps({"ids": stored["ids"][:3], "texts": stored["texts"][:3]}))

    _rewrite(index, cut_texts)
    refused(["search", str(index), "good"], "the index's files disagree (5 vectors, 3 texts, 3 ids")


def test_index_vectors_of_another_width_are_refused_on_load(built):
    index, _ = built
    _rewrite(index, lambda folder: np.save(folder / "vectors.npy", np.zeros((5, 16), np.float32)))
    refused(["search", str(index), "good"], "vectors.npy: vectors of width 16, but the model the index was built "
                                            "with makes 32")


def test_an_index_whose_source_run_was_moved_away_says_so(store, tmp_path):
    result = runner.invoke(app, ["index", "build", "p/r1", "--corpus", str(_corpus(tmp_path)), "--out",
                                 str(tmp_path / "ix")])
    assert result.exit_code == 0, result.output
    shutil.move(store / "p" / "r1", tmp_path / "elsewhere")
    refused(["search", str(tmp_path / "ix"), "good"], "the index was built with the trained run 'p/r1', whose "
                                                      "model was at")


def _corpus(folder: Path) -> Path:
    path = folder / "corpus.csv"
    path.write_text("text\ngood film\nbad film\ngreat plot\n")
    return path


def test_one_file_of_100_rows_is_split_70_10_20_as_the_note_says(tmp_path, tiny_model_dir):
    """Seed 004 cuts 20% test, then 1/8 of the rest: 70/10/20. The note and README said 80/10/10."""
    data = tmp_path / "d.csv"
    data.write_text("text,label\n" + "".join(f"{text},{label}\n" for text, label in sentiment_rows(100)))
    result = runner.invoke(app, ["train", "--model", str(tiny_model_dir), "--data", str(data), "--max-steps", "1",
                                 "--json"])
    assert result.exit_code == 0, result.output
    recorded = json.loads(result.output)["data"]
    assert recorded["sizes"] == {"train": 70, "validation": 10, "test": 20}
    assert any("70/10/20" in note for note in recorded["notes"]) and not any("80/10/10" in n for n in recorded["notes"])


def test_the_callers_terminal_width_does_not_reach_the_tests():
    """`COLUMNS=80 make test`: a test asking for a wide table (env={"COLUMNS": "150"}) still gets one."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    wide = "tests/embedding/test_embed_cli.py::test_embed_eval_records_a_run"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", wide], cwd=root,
                            capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "80"})
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout[-2000:]


def test_a_report_that_cannot_be_written_leaves_no_hidden_copy(tmp_path):
    """`report --out isdir.html` left the whole report in `.isdir.html.tmp`; the CLI now refuses the folder first,
    and the writer itself (the API's path) removes its temporary file when the rename fails."""
    from bakeoff.report.document import write

    (tmp_path / "isdir.html").mkdir()
    with pytest.raises(OSError):
        write("<html></html>", tmp_path / "isdir.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["isdir.html"]
