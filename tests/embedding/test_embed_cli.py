"""``bakeoff embed``, ``index build``, ``search``, ``embed-eval`` on the tiny BERT, and their bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from bakeoff.cli import app

runner = CliRunner()
DOCS = ["the film was good", "a dull and boring plot", "really excellent acting", "the story was poor"]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.csv"
    path.write_text("id,body\n" + "".join(f"d{i},{text}\n" for i, text in enumerate(DOCS)))
    return path


def test_embed_texts_to_npy_and_a_file_to_parquet(tiny_model_dir, corpus, tmp_path):
    out = tmp_path / "v.npy"
    result = runner.invoke(app, ["embed", str(tiny_model_dir), *DOCS[:2], "--pooling", "max", "--out", str(out)])
    assert result.exit_code == 0, result.output
    vectors = np.load(out, allow_pickle=False)
    assert vectors.shape == (2, 32) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)

    out = tmp_path / "v.parquet"
    result = runner.invoke(app, ["embed", str(tiny_model_dir), "--file", str(corpus), "--text-column", "body",
                                 "--id-column", "id", "--out", str(out), "--quantize", "int8"])
    assert result.exit_code == 0, result.output
    import pandas as pd

    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["id", "text", "vector"] and frame["id"].tolist() == ["d0", "d1", "d2", "d3"]
    assert frame["text"].tolist() == DOCS and len(frame["vector"][0]) == 32 and frame["vector"][0].dtype == np.int8


def test_index_build_then_search_text_and_file(tiny_model_dir, corpus, tmp_path):
    folder = tmp_path / "index"
    result = runner.invoke(app, ["index", "build", str(tiny_model_dir), "--corpus", str(corpus),
                                 "--text-column", "body", "--id-column", "id", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["search", str(folder), DOCS[2], "-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)[0]["hits"]
    assert [h["rank"] for h in hits] == [1, 2] and hits[0]["id"] == "d2" and hits[0]["text"] == DOCS[2]

    queries = tmp_path / "queries.csv"
    queries.write_text("question\nthe story was poor\nthe film was good\n")
    result = runner.invoke(app, ["search", str(folder), "--file", str(queries), "--text-column", "question",
                                 "--json"])
    assert result.exit_code == 0, result.output
    answers = json.loads(result.output)
    assert [a["hits"][0]["id"] for a in answers] == ["d3", "d0"] and len(answers[0]["hits"]) == 4

    result = runner.invoke(app, ["search", str(folder), "good acting"])
    assert result.exit_code == 0 and "really excellent acting" in result.output


def _error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_bad_inputs_are_one_line_exit_2_and_write_nothing(tiny_model_dir, corpus, tmp_path):
    model = str(tiny_model_dir)
    empty = tmp_path / "empty.csv"
    empty.write_text("body\n")
    out = tmp_path / "out"
    assert "no rows" in _error(runner.invoke(app, ["index", "build", model, "--corpus", str(empty),
                                                   "--text-column", "body", "--out", str(out)]))
    assert "no column 'text'" in _error(runner.invoke(app, ["index", "build", model, "--corpus", str(corpus),
                                                            "--text-column", "text", "--out", str(out)]))
    assert "--pooling 'sum' is not one of mean, cls, max" in _error(runner.invoke(app, ["index", "build", model, "--corpus", str(corpus),
                                                                 "--text-column", "body", "--out", str(out),
                                                                 "--pooling", "sum"]))
    assert "--pooling 'avg' is not one of" in _error(runner.invoke(app, ["embed", model, "x", "--pooling", "avg",
                                                           "--out", str(tmp_path / "x.npy")]))
    assert not out.exists() and not (tmp_path / "x.npy").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left behind

    runner.invoke(app, ["index", "build", model, "--corpus", str(corpus), "--text-column", "body", "--out", str(out)])
    queries = tmp_path / "queries.csv"
    queries.write_text("question\nthe story\n")
    assert "no column 'query'" in _error(runner.invoke(app, ["search", str(out), "--file", str(queries),
                                                             "--text-column", "query"]))
    other = tmp_path / "other-model"
    import shutil

    shutil.copytree(tiny_model_dir, other)
    assert "the index was built with" in _error(runner.invoke(app, ["search", str(out), "x", "--model", str(other)]))
    assert "exists" in _error(runner.invoke(app, ["index", "build", model, "--corpus", str(corpus),
                                                  "--text-column", "body", "--out", str(out)]))
    vectors = out / "vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-1] ^= 0xFF
    vectors.write_bytes(bytes(data))
    assert "vectors.npy does not match its sha256" in _error(runner.invoke(app, ["search", str(out), "x"]))


def test_embed_eval_records_a_run(tiny_model_dir, tmp_path):
    data = tmp_path / "pairs.csv"
    data.write_text("query,document\n" + "".join(f"{t},{t} very\n" for t in DOCS))
    result = runner.invoke(app, ["embed-eval", str(tiny_model_dir), "--kind", "retrieval", "--data", str(data),
                                 "--pooling", "cls", "--json"])
    assert result.exit_code == 0, result.output
    stored = json.loads(result.output)
    assert stored["kind"] == "retrieval" and stored["pooling"] == "cls" and stored["details"]["documents"] == 4
    assert set(stored["metrics"]) == {"recall@1", "recall@10", "mrr@10", "ndcg@10"}
    assert stored["metrics"]["recall@10"] == 1.0  # 4 documents: the relevant one is always in the top 10
    listed = runner.invoke(app, ["runs", "ls"], env={"COLUMNS": "150"})
    assert f"ndcg@10 {stored['metrics']['ndcg@10']:.4f}" in listed.output  # ranked by its kind's metric
    assert "--kind 'nope'" in _error(runner.invoke(app, ["embed-eval", str(tiny_model_dir), "--kind", "nope"]))


def test_embedding_commands_take_their_flags_from_their_configs(tiny_model_dir, sentiment_dir):
    """One declaration per option: every EmbeddingConfig option is an embed-eval flag (--split and --threads too),
    every EncoderConfig option an embed / index build flag, and what the flags say reaches the recorded run."""
    import typer

    from bakeoff.config import specs
    from bakeoff.config.embedding import EmbeddingConfig, EncoderConfig

    command = typer.main.get_command(app)
    flags = {name: {p.name for p in command.commands[name].params} for name in ("embed-eval", "embed")}
    flags["index build"] = {p.name for p in command.commands["index"].commands["build"].params}
    assert set(specs(EmbeddingConfig)) <= flags["embed-eval"]
    assert set(specs(EncoderConfig)) <= flags["embed"]
    assert set(specs(EncoderConfig)) - {"normalize"} <= flags["index build"]  # an index's vectors are unit length

    (sentiment_dir / "test.tsv").write_text((sentiment_dir / "dev.tsv").read_text())
    result = runner.invoke(app, ["embed-eval", str(tiny_model_dir), "--kind", "probe", "--data", str(sentiment_dir),
                                 "--split", "test", "--threads", "1", "--max-length", "16", "--json"])
    assert result.exit_code == 0, result.output
    stored = json.loads(result.output)
    assert stored["split"] == "test" and stored["config"]["split"] == "test"
    assert stored["config"]["threads"] == 1 and stored["max_length"] == 16
    assert "--split 'train' is not one of validation, test" in _error(
        runner.invoke(app, ["embed-eval", str(tiny_model_dir), "--kind", "probe", "--split", "train"]))
