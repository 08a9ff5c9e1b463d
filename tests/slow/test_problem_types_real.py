"""STS-B (regression) and GoEmotions (multi-label) from ../shared/data with the real MiniLM-L6, on slices CI can
afford: the files parse to the official counts, and the model beats each task's trivial baseline."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest

import bakeoff
from bakeoff.data import DataOptions, load_task_data
from bakeoff.problems.multi_label import _set_metric, most_frequent_set
from bakeoff.tasks import get_task

pytestmark = pytest.mark.slow


def test_stsb_and_goemotions_files_parse_to_the_official_counts(shared_data, monkeypatch):
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(shared_data))
    stsb = load_task_data(get_task("stsb"), DataOptions())
    assert stsb.sizes() == {"train": 5749, "validation": 1500} and stsb.problem_type == "regression"
    assert stsb.train.labels.min() == 0.0 and stsb.train.labels.max() == 5.0
    assert abs(float(stsb.train.labels.mean()) - 2.701) < 0.001  # the data README's mean
    emotions = load_task_data(get_task("goemotions"), DataOptions())
    assert emotions.sizes() == {"train": 43410, "validation": 5426, "test": 5427}
    counts = emotions.train.labels.sum(axis=0).astype(int)
    assert counts[27] == 14219 and counts[16] == 77 and counts[0] == 4130  # neutral, grief, admiration
    assert int((emotions.train.labels.sum(axis=1) > 1).sum()) == 7102  # rows with 2-5 labels


def _slice(source: Path, target: Path, rows: int, seed: int, header: bool) -> None:
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines(keepends=True)
    head, body = (lines[:1], lines[1:]) if header else ([], lines)
    chosen = random.Random(seed).sample(body, rows)
    with (gzip.open if target.suffix == ".gz" else open)(target, "wt", encoding="utf-8") as handle:
        handle.writelines(head + chosen)


def test_minilm_l6_learns_stsb_scores_on_1000_pairs(shared_data, tmp_path):
    folder = tmp_path / "stsb"
    folder.mkdir()
    _slice(shared_data / "stsb" / "train.tsv", folder / "train.tsv", 1000, 0, header=True)
    _slice(shared_data / "stsb" / "dev.tsv", folder / "dev.tsv", 400, 1, header=True)
    result = bakeoff.train(model="minilm-l6", task="stsb", data=str(folder), epochs=2, learning_rate=1e-4,
                           batch_size=16, max_length=64, quiet=True, project="stsb-slow")
    assert result.data.sizes == {"train": 1000, "validation": 400}
    assert result.validation.metrics["spearman"] >= 0.60  # the mean-score baseline's is 0
    assert result.validation.metrics["mae"] < 1.2  # on the 0-5 scale
    ranking = bakeoff.leaderboard("stsb-slow").rankings[0]
    cosine = next(row for row in ranking.rows if row.label == "baseline: tf-idf cosine")
    trained = next(row for row in ranking.rows if not row.baseline)
    assert trained.mean > cosine.mean and cosine.verdict.startswith("worse")  # the baseline, against the leader


def test_minilm_l6_beats_the_most_frequent_label_set_on_goemotions(shared_data, tmp_path):
    folder = tmp_path / "goemotions"
    folder.mkdir()
    _slice(shared_data / "goemotions" / "train.tsv.gz", folder / "train.tsv.gz", 2000, 0, header=False)
    _slice(shared_data / "goemotions" / "dev.tsv", folder / "dev.tsv", 600, 1, header=False)
    _slice(shared_data / "goemotions" / "test.tsv", folder / "test.tsv", 600, 2, header=False)
    result = bakeoff.train(model="minilm-l6", task="goemotions", data=str(folder), epochs=2, learning_rate=2e-4,
                           batch_size=16, max_length=64, quiet=True, project="goemotions-slow")
    thresholds = json.loads((Path(result.checkpoint) / "config.json").read_text())["decision_thresholds"]
    assert len(thresholds) == 28
    data = load_task_data(get_task("goemotions"), DataOptions(data=folder))
    frequent = most_frequent_set(data.train.labels, len(data.test))
    truth = data.test.labels.astype(int)
    baseline_macro = _set_metric("f1_macro", truth, frequent)
    assert result.test is not None  # scored at thresholds chosen on dev: not optimistic
    # the ranked metric (macro F1): the most frequent set scores only its own labels. Micro F1 is not asserted:
    # at 2 epochs on 2,000 rows the model's 0.27 stayed below "always neutral"'s 0.32 (seen 2026-12-06; per-label
    # F1 thresholds on 600 dev rows over-predict rare labels), a finding the closing note records
    assert result.test.metrics["f1_macro"] > baseline_macro + 0.02, (result.test.metrics, baseline_macro)
    assert result.test.metrics["average_precision"] > float(np.mean(truth.mean(axis=0)[truth.sum(axis=0) > 0]))
