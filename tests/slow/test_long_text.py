"""Long IMDB reviews with the real MiniLM-L6: windows cover every token, each reading reaches the model, and
``evaluate`` / ``predict`` take them through the CLI and the API."""

from __future__ import annotations

import csv
import gzip
import json

import numpy as np
import pytest
from typer.testing import CliRunner

import bakeoff
from bakeoff.cli import app
from bakeoff.data import TextDataset
from bakeoff.data.windows import Windows, encode_for

pytestmark = pytest.mark.slow


def _rows(path):
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return [(row["text"], row["label"]) for row in csv.DictReader(handle)]


def test_minilm_reads_long_imdb_reviews_by_head_head_tail_and_chunks(shared_data, tmp_path):
    rng = np.random.default_rng(0)
    train = _rows(shared_data / "imdb" / "train.csv.gz")
    picked = [train[i] for i in rng.choice(len(train), size=240, replace=False)]
    folder = tmp_path / "imdb"
    folder.mkdir()
    for name, rows in (("train.csv", picked[:200]), ("dev.csv", picked[200:])):
        with open(folder / name, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([["text", "label"], *rows])
    # a checkpoint to read reviews with (what it learned is not asserted: 2 optimizer steps, not an epoch's 13)
    result = bakeoff.train(model="minilm-l6", task=None, data=str(folder), max_length=64, max_steps=2,
                           learning_rate=1e-4, batch_size=16, quiet=True, name="imdb-long")

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(result.checkpoint)
    test = _rows(shared_data / "imdb" / "test.csv.gz")[:400]
    long = [(text, label) for text, label in test if len(tokenizer(text)["input_ids"]) > 512][:12]
    assert len(long) == 12
    texts = [text for text, _ in long]

    windows = encode_for(tokenizer, TextDataset(texts, np.zeros(12, dtype=np.int64)), 64, "head", "chunks", 16)
    assert isinstance(windows, Windows) and len(windows.encoded) > 12 * 8  # > 512 tokens in 62-token windows
    for row, text in enumerate(texts):  # the windows, overlaps removed, are exactly the review's tokens
        own = [ids[1:-1] for ids, owner in zip(windows.encoded.input_ids, windows.owner) if owner == row]
        assert all(ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id and len(ids) <= 64
                   for ids, owner in zip(windows.encoded.input_ids, windows.owner) if owner == row)
        whole = tokenizer(text, add_special_tokens=False)["input_ids"]
        spans, after = [], 0
        for ids in own:  # each window is a slice of the review's tokens, in order, overlapping its neighbour
            start = next(i for i in range(after, len(whole) - len(ids) + 1) if whole[i : i + len(ids)] == ids)
            assert not spans or start <= spans[-1][1] - 16  # no gap: neighbours share the stride
            spans.append((start, start + len(ids)))
            after = start + 1
        assert spans[0][0] == 0 and spans[-1][1] == len(whole)

    readings = {name: bakeoff.predict("bakeoff/imdb-long", texts, max_length=64, truncation=truncation,
                                      long_text=long_text, stride=16, precision="fp32").probabilities
                for name, truncation, long_text in (("head", "head", "cut"), ("head+tail", "head+tail", "cut"),
                                                    ("chunks", "head", "chunks"))}
    assert not np.allclose(readings["head"], readings["head+tail"])  # different tokens reached the model
    assert not np.allclose(readings["head"], readings["chunks"])

    test_file = folder / "test.csv"
    with open(test_file, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["text", "label"], *long])
    out = CliRunner().invoke(app, ["evaluate", "bakeoff/imdb-long", "--data", str(folder), "--split", "test",
                                   "--long-text", "chunks", "--stride", "16", "--max-length", "64", "--json"])
    assert out.exit_code == 0, out.output
    evaluated = json.loads(out.output)
    assert evaluated["rows"] == 12 and 0 <= evaluated["metrics"]["accuracy"] <= 1

