"""Regression and multi-label runs through the whole workflow with a tiny model: train, the checkpoint (and
transformers' pipeline on it), evaluate, predict, the leaderboard with baselines and paired verdicts."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import NEGATIVE, POSITIVE
from tests.problems.conftest import sentence

from bakeoff.api import compress, evaluate, leaderboard, predict, train


def _sentence(rng: random.Random, positive: bool) -> str:
    return sentence(rng, positive, longest=6)


def _similarity_rows(count: int, seed: int) -> list[str]:
    """Pairs scored 0-5: high when both sentences share their sentiment (STS-B's layout and scale)."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        first, second = rng.random() < 0.5, rng.random() < 0.5
        score = (4.0 if first == second else 1.0) + rng.choice([0.0, 0.4, 0.8])
        rows.append(f"{i}\t{_sentence(rng, first)}\t{_sentence(rng, second)}\t{score:.1f}\n")
    return rows


@pytest.fixture
def similarity_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "similar"
    folder.mkdir()
    for name, count, seed in (("train.tsv", 160, 1), ("dev.tsv", 48, 2)):
        (folder / name).write_text("index\tsentence1\tsentence2\tscore\n" + "".join(_similarity_rows(count, seed)))
    return folder


@pytest.fixture
def emotions_dir(tmp_path: Path) -> Path:
    """JSONL rows whose label lists hold 'pos' / 'neg' by the sentiment words, and 'long' for long texts."""
    folder = tmp_path / "emotions"
    folder.mkdir()
    for name, count, seed in (("train.jsonl", 160, 3), ("dev.jsonl", 48, 4)):
        rng = random.Random(seed)
        lines = []
        for _ in range(count):
            positive = rng.random() < 0.5
            text = _sentence(rng, positive) + (f" {_sentence(rng, not positive)}" if rng.random() < 0.3 else "")
            labels = sorted({("pos" if w in POSITIVE else "neg") for w in text.split() if w in POSITIVE + NEGATIVE})
            labels += ["long"] if len(text.split()) > 6 else []
            lines.append(json.dumps({"text": text, "emotions": labels}) + "\n")
        (folder / name).write_text("".join(lines))
    return folder


REGRESSION = {"task": None, "text_column": "sentence1", "text_pair_column": "sentence2", "label_column": "score",
              "problem_type": "regression", "epochs": 3, "learning_rate": 1e-3, "max_length": 32, "quiet": True,
              "project": "similar", "batch_size": 16}


def test_a_regression_run_through_checkpoint_pipeline_evaluate_predict_and_leaderboard(tiny_model_dir,
                                                                                         similarity_dir):
    runs = [train(model=str(tiny_model_dir), data=str(similarity_dir), seed=seed, **REGRESSION) for seed in (1, 2)]
    result = runs[0]
    assert result.data.problem_type == "regression" and result.data.label_names == ["score"]
    assert result.validation.primary_metric == "spearman"
    assert set(result.validation.metrics) == {"spearman", "pearson", "pearson_spearman", "mse", "mae"}
    assert result.validation.per_class == {} and result.validation.confusion_matrix == []
    stored = json.loads((Path(result.run.path) / "predictions.json").read_text())
    assert stored["problem_type"] == "regression" and isinstance(stored["validation"]["predicted"][0], float)
    config = json.loads((Path(result.checkpoint) / "config.json").read_text())
    assert config["problem_type"] == "regression" and len(config["id2label"]) == 1

    from transformers import pipeline

    first, second = "the film was good", "a story quite lovely"
    answer = predict(result.run.id, [first], [second], precision="fp32")  # bf16 moves a score by ~1e-3
    assert set(answer.rows[0]) == {"score"}
    scorer = pipeline("text-classification", model=result.checkpoint, function_to_apply="none", device="cpu")
    assert scorer({"text": first, "text_pair": second})["score"] == pytest.approx(answer.rows[0]["score"], abs=1e-4)

    again = evaluate(result.run.id)
    assert again.metrics["spearman"] == pytest.approx(result.validation.metrics["spearman"], abs=1e-6)

    compressed = compress(result.run.id, "dynamic-int8", batch_sizes=(8,))
    assert set(compressed.compressed.metrics) == set(result.validation.metrics)
    assert 0 <= compressed.change.flips <= 48 and len(compressed.predictions) == 48

    board = leaderboard("similar")
    ranking = board.rankings[0]
    assert ranking.metric == "spearman" and ranking.higher_is_better
    assert any(row.method == "dynamic-int8" for row in ranking.rows)
    names = {row.label for row in ranking.rows}
    assert {"baseline: mean score", "baseline: tf-idf cosine"} <= names
    trained = next(row for row in ranking.rows if row.method == "trained")
    mean = next(row for row in ranking.rows if row.label == "baseline: mean score")
    assert trained.seeds == [1, 2] and mean.mean == 0.0  # a constant answer has no correlation
    assert all(not row.verdict.startswith("n/a") for row in ranking.rows)
    assert "seeds" in (trained.verdict_scope or ranking.rows[1].verdict_scope)


def test_a_multi_label_run_keeps_its_thresholds_and_answers_label_sets(tiny_model_dir, emotions_dir):
    result = train(model=str(tiny_model_dir), task=None, data=str(emotions_dir), label_column="emotions", epochs=3,
                   learning_rate=1e-3, max_length=32, quiet=True, project="emotions", seed=1, batch_size=16)
    assert result.data.problem_type == "multi_label" and result.data.label_names == ["long", "neg", "pos"]
    assert result.validation.primary_metric == "f1_macro"
    assert {"f1_macro", "f1_micro", "f1_samples", "subset_accuracy", "average_precision"} == \
        set(result.validation.metrics)
    thresholds = json.loads((Path(result.checkpoint) / "config.json").read_text())["decision_thresholds"]
    assert len(thresholds) == 3 and all(0 < t < 1 for t in thresholds)
    assert [result.validation.per_class[name]["threshold"] for name in ("long", "neg", "pos")] == thresholds
    stored = json.loads((Path(result.run.path) / "predictions.json").read_text())
    assert all(isinstance(row, list) for row in stored["validation"]["true"])

    again = evaluate(result.run.id)  # the saved thresholds, not 0.5
    assert again.metrics == pytest.approx(result.validation.metrics, abs=1e-6)
    answer = predict(result.run.id, ["the film was good and really very quite long plot"])
    assert set(answer.rows[0]) == {"labels", "scores"} and set(answer.rows[0]["labels"]) <= {"long", "neg", "pos"}

    ranking = leaderboard("emotions").rankings[0]
    assert ranking.metric == "f1_macro"
    names = {row.label for row in ranking.rows}
    assert {"baseline: most frequent label set", "baseline: tf-idf + one-vs-rest logreg"} <= names
    frequent = next(row for row in ranking.rows if row.label == "baseline: most frequent label set")
    truth = np.array(stored["validation"]["true"], dtype=object)
    assert 0 <= frequent.mean < 1 and len(truth) == 48
    assert all(not row.verdict.startswith("n/a") for row in ranking.rows)


def test_frozen_sts_scores_cosines_against_gold_scores_and_ranks_by_spearman(tiny_model_dir, similarity_dir):
    from bakeoff.api import evaluate_embeddings
    from bakeoff.errors import BakeoffError
    from bakeoff.problems.regression import spearman

    result = evaluate_embeddings(str(tiny_model_dir), "stsb", "sts", data=str(similarity_dir), project="sts")
    assert result.primary_metric == "spearman" and set(result.metrics) == {"spearman", "pearson"}
    scores, gold = np.array(result.per_example["score"]), np.array(result.per_example["label"])
    assert len(scores) == 48 and result.metrics["spearman"] == pytest.approx(spearman(scores, gold))
    ranking = leaderboard("sts").rankings[0]
    assert ranking.kind == "sts" and ranking.metric == "spearman"
    assert ranking.rows[0].low <= result.metrics["spearman"] <= ranking.rows[0].high  # jackknife over pairs
    with pytest.raises(BakeoffError, match="--kind sts needs a regression pair task such as stsb"):
        evaluate_embeddings(str(tiny_model_dir), "demo", "sts")
