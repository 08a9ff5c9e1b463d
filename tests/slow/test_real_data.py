"""Real data (../shared/data) and the real MiniLM-L6: the claims the README makes, at a size CI can afford."""

from __future__ import annotations

import csv
import gzip

import numpy as np
import pytest

import bakeoff
from bakeoff.data import DataOptions, load_task_data
from bakeoff.tasks import get_task

pytestmark = pytest.mark.slow


def test_minilm_l6_on_2000_sst2_examples_reaches_080_and_int8_keeps_it(shared_data, monkeypatch):
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(shared_data))
    result = bakeoff.train(model="minilm-l6", task="sst2", train_fraction=2000 / 67349, epochs=3,
                           learning_rate=1e-4, batch_size=16, quiet=True)
    assert result.data.sizes == {"train": 2001, "validation": 872}
    assert result.validation.metrics["accuracy"] >= 0.80
    assert result.training.precision in ("bf16", "fp32")

    # the bound on the real model and the full SST-2 dev set: >= 3.5x smaller, <= 1 point lost
    compressed = bakeoff.compress(result.run.id, "dynamic-int8", batch_sizes=(64,))
    assert compressed.rows == 872
    assert compressed.change.size_ratio >= 3.5
    assert compressed.change.metrics["accuracy"] >= -0.010
    assert compressed.compressed.weights_bytes < 26e6  # 90.9 MB of fp32 safetensors before


def test_mrpc_sentence_pairs(shared_data, monkeypatch):
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(shared_data))
    result = bakeoff.train(model="minilm-l6", task="mrpc", train_fraction=0.3, epochs=3, learning_rate=1e-4,
                           batch_size=16, quiet=True)
    majority = 279 / 408  # "equivalent" on the dev split: a model that learned nothing scores this
    assert result.validation.metrics["accuracy"] > majority + 0.03
    assert result.test is not None and result.test.rows == 1725  # MRPC's labelled test file
    assert result.validation.primary_metric == "f1"


def test_imdb_long_reviews_are_truncated_and_still_learned(shared_data, tmp_path):
    """A stratified 1,000-review sample of IMDB train (written here, never committed), at max_length 128."""
    with gzip.open(shared_data / "imdb" / "train.csv.gz", "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    rng = np.random.default_rng(0)
    sample = [rows[i] for i in rng.choice(len(rows), size=1000, replace=False)]
    with open(tmp_path / "reviews.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["text", "label"], *sample])
    data = load_task_data(get_task("imdb"), DataOptions(data=tmp_path / "reviews.csv"))
    assert data.sizes() == {"train": 700, "validation": 100, "test": 200}
    result = bakeoff.train(model="minilm-l6", task="imdb", data=str(tmp_path / "reviews.csv"), max_length=128,
                           epochs=2, learning_rate=1e-4, batch_size=16, quiet=True)
    assert result.data.rows_at_max_length["train"] > 0.5 * 700  # most reviews are longer than 128 tokens
    assert result.validation.metrics["accuracy"] >= 0.70 and result.test.metrics["accuracy"] >= 0.70
