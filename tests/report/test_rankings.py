"""Baselines, verdicts and the minimum detectable effect are made per ranking (one task on one split): each
ranking's baselines come from its own task's data and are scored on its own split's rows; rows on different
splits are never paired."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bakeoff.data import DataOptions, load_task_data
from bakeoff.report.leaderboard import Row, _rank, compare_rows
from tests.conftest import sentiment_rows, write_tsv


def _trained(task: str, folder: Path, split: str = "validation", accuracy: float = 0.9) -> Row:
    """A one-seed row whose predictions answer ``folder``'s validation rows, with their real fingerprint."""
    data = load_task_data(None, DataOptions(data=folder))
    truth = data.validation.labels
    predicted = np.where(np.random.default_rng(0).random(truth.size) < accuracy, truth, 1 - truth)
    value = float((predicted == truth).mean())
    return Row(rank=0, medal="", label="", model="tiny", task=task, split=split, method="trained", seeds=[1],
               metric="accuracy", mean=value, low=None, high=None, values=[value], train_seconds=1.0,
               latency_p50_ms=None, size_mb=None, config={"model": "tiny", "data": str(folder), "seed": 1},
               predictions={1: (predicted, truth, data.fingerprints()["validation"])})


def test_each_ranking_gets_baselines_from_its_own_task(sentiment_dir, tmp_path):
    skewed = tmp_path / "skewed"  # another task: 30 validation rows, three in four negative
    write_tsv(skewed / "train.tsv", [(t, 0 if i % 4 else 1) for i, (t, _) in enumerate(sentiment_rows(120, seed=3))])
    write_tsv(skewed / "dev.tsv", [(t, 0 if i % 4 else 1) for i, (t, _) in enumerate(sentiment_rows(32, seed=4))])
    notes: list[str] = []
    first = _rank("balanced", "validation", [_trained("balanced", sentiment_dir)], tmp_path / "project", notes)
    second = _rank("skewed", "validation", [_trained("skewed", skewed)], tmp_path / "project", notes)
    for ranking, rows, majority_share in ((first, 40, 0.5), (second, 32, 0.75)):
        baselines = {row.model: row for row in ranking.rows if row.baseline}
        assert set(baselines) == {"majority class", "tf-idf + logreg"}, notes
        assert all(row.task == ranking.task and row.split == "validation" for row in baselines.values())
        assert all(row.predictions[0][0].size == rows for row in baselines.values())
        assert abs(baselines["majority class"].mean - majority_share) < 1e-9
        assert f"with {rows} validation rows" in ranking.caption
    assert (tmp_path / "project" / "baselines").is_dir() and len(list((tmp_path / "project" / "baselines").iterdir())) == 2


def test_no_baselines_on_a_split_the_data_lacks_and_rows_never_pair_across_splits(sentiment_dir, tmp_path):
    notes: list[str] = []
    on_test = _trained("custom", sentiment_dir, split="test")
    ranking = _rank("custom", "test", [on_test], tmp_path / "project", notes)
    assert not any(row.baseline for row in ranking.rows)
    assert any("no baselines on the test split" in note for note in notes)
    on_validation = _trained("custom", sentiment_dir, accuracy=0.6)
    assert compare_rows(on_validation, on_test, "accuracy") is None  # same rows' labels, different split
    assert compare_rows(on_validation, _trained("custom", sentiment_dir, accuracy=0.7), "accuracy") is not None


def test_a_trained_row_takes_its_latency_from_the_side_by_side_measurement(tmp_path):
    """Rows compared for speed come from one measurement: the fp32 row's p50 is the one its compression report
    took beside the compressed model, not the one taken at the end of training."""
    from types import SimpleNamespace

    from bakeoff.io import write_json_atomic
    from bakeoff.report.leaderboard import _side_by_side
    from bakeoff.runs.results import Change, CompressReport, MeasuredModel

    def measured(p50):
        return MeasuredModel("m", "torch", {"accuracy": 0.8}, 0.4, 100, 120, {"latency_ms": {"p50": p50}})

    entry = SimpleNamespace(run=SimpleNamespace(path=tmp_path))
    assert _side_by_side(entry) is None  # no compression: the training-time figure stands
    report = CompressReport("r", "dynamic-int8", str(tmp_path), "validation", 10, "accuracy", measured(15.0),
                            measured(9.0), Change({}, 0, 0.0, {}, 4.0, 1.6, 1.5), {})
    write_json_atomic(tmp_path / "compressed" / "dynamic-int8" / "report.json", report.to_dict())
    assert _side_by_side(entry).latency_p50_ms == 15.0
