"""Verdicts on metrics of per-example values (an embedding run's pair scores -> average precision, its query
ranks -> nDCG@10): the jackknife is the right one, calm under the null, and sees a real gap."""

from __future__ import annotations

import numpy as np
import pytest

from bakeoff.embedding.metrics import PER_EXAMPLE, average_precision, retrieval_scores
from bakeoff.report.verdict import (
    SCOPE_EXAMPLES,
    SCOPE_FIXED,
    compare_scores,
    score_interval,
)
from bakeoff.runs.results import EmbeddingEvalResult, load_result


def _ranks(rng, rows, good):
    """1-based ranks of each query's relevant document: a better encoder ranks it first more often."""
    return np.where(rng.random(rows) < good, 1, rng.integers(2, 30, rows))


@pytest.mark.parametrize("metric", ["ndcg@10", "mrr@10", "recall@1", "recall@10"])
def test_the_gain_shortcut_equals_leaving_each_query_out(metric):
    rng = np.random.default_rng(0)
    first, second = _ranks(rng, 60, 0.6), _ranks(rng, 60, 0.4)
    how = PER_EXAMPLE[metric]
    fast = compare_scores(first, second, how.statistic, gains=how.gains)
    slow = compare_scores(first, second, how.statistic)  # the generic leave-one-out, one recomputation per query
    assert fast.difference == pytest.approx(slow.difference)
    assert fast.p_value == pytest.approx(slow.p_value) and fast.low == pytest.approx(slow.low)
    assert how.statistic(first, None) == pytest.approx(retrieval_scores(first)[metric])


def test_average_precision_left_out_by_prefix_sums_equals_recomputing_it():
    from bakeoff.embedding.metrics import average_precision_left_out

    rng = np.random.default_rng(4)
    for rows in (5, 60, 201):
        labels = (rng.random(rows) < 0.4).astype(int)
        scores = np.round(labels + rng.normal(size=rows), 1)  # rounded: ties, kept in row order as AP keeps them
        keep = ~np.eye(rows, dtype=bool)
        expected = [average_precision(labels[keep[i]], scores[keep[i]]) for i in range(rows)]
        np.testing.assert_allclose(average_precision_left_out(labels, scores), expected, rtol=1e-12)
    how = PER_EXAMPLE["average_precision"]
    first, second = labels + rng.normal(size=201), labels + rng.normal(size=201) * 2
    fast = compare_scores(first, second, how.statistic, labels=labels, left_out=how.left_out)
    slow = compare_scores(first, second, how.statistic, labels=labels)
    assert fast.p_value == pytest.approx(slow.p_value) and fast.standard_error == pytest.approx(slow.standard_error)


def test_a_mean_metric_gets_the_paired_t_test_on_per_query_differences():
    """For a mean of per-example gains the jackknife is exact: Student's paired t-test on the differences."""
    from scipy import stats

    rng = np.random.default_rng(1)
    first, second = _ranks(rng, 80, 0.55), _ranks(rng, 80, 0.45)
    how = PER_EXAMPLE["ndcg@10"]
    ours = compare_scores(first, second, how.statistic, gains=how.gains)
    paired = stats.ttest_rel(how.gains(first), how.gains(second))
    assert ours.p_value == pytest.approx(paired.pvalue, rel=1e-9)
    assert ours.scope == SCOPE_EXAMPLES


def test_average_precision_verdicts_are_calm_under_the_null_and_see_a_real_gap():
    """400 simulated comparisons each: two encoders whose pair scores come from one distribution read "noise"
    in at least 93% (measured: 96%); a better encoder (its positives 1.5 above the negatives instead of 0.8) reads
    "sig." in at least 80% (measured: 95%)."""
    rng = np.random.default_rng(2)
    how = PER_EXAMPLE["average_precision"]
    noise = sig = 0
    for _ in range(400):
        labels = (rng.random(120) < 0.6).astype(int)
        shared = rng.normal(size=120)  # the pairs' own difficulty, seen by both encoders
        same_a = labels * 0.8 + shared + rng.normal(size=120) * 0.5
        same_b = labels * 0.8 + shared + rng.normal(size=120) * 0.5
        noise += not compare_scores(same_a, same_b, how.statistic, labels=labels, first_fixed=True,
                                    second_fixed=True, left_out=how.left_out).significant
        better = labels * 1.5 + shared + rng.normal(size=120) * 0.5
        sig += compare_scores(better, same_a, how.statistic, labels=labels, first_fixed=True,
                              second_fixed=True, left_out=how.left_out).significant
    assert noise / 400 >= 0.93, noise
    assert sig / 400 >= 0.80, sig


def test_a_one_seed_interval_counts_the_examples():
    labels = np.array([1, 0] * 100)
    scores = labels + np.random.default_rng(3).normal(size=200)
    how = PER_EXAMPLE["average_precision"]
    low, high = score_interval(scores, how.statistic, labels=labels, fixed=True)
    assert low < average_precision(labels, scores) < high and high - low < 0.3
    fixed = compare_scores(scores, scores[::-1].copy(), how.statistic, labels=labels, first_fixed=True,
                           second_fixed=True)
    assert fixed.scope == SCOPE_FIXED


def _v1_document():
    return {"run": {"id": "r", "project": "p", "name": "n", "path": "/x"}, "model": {"reference": "minilm-l6"},
            "task": "mrpc", "kind": "pairs", "split": "validation", "pooling": "max", "normalize": True,
            "precision": "fp32", "max_length": 128, "metrics": {"average_precision": 0.8},
            "primary_metric": "average_precision", "per_example": {"score": [0.1], "label": [1]}, "details": {},
            "data": {}, "timings": {}, "hardware": {}, "bakeoff_version": "0", "created_at": "", "schema_version": 1}


def test_an_embedding_result_of_schema_1_still_loads_with_its_config_rebuilt(tmp_path):
    import json

    path = tmp_path / "result.json"
    path.write_text(json.dumps(_v1_document()))
    loaded = load_result(path)
    assert isinstance(loaded, EmbeddingEvalResult) and loaded.schema_version == 1
    assert loaded.config["pooling"] == "max" and loaded.config["model"] == "minilm-l6" and loaded.seed == 42
    path.write_text(json.dumps({**_v1_document(), "schema_version": 9}))
    with pytest.raises(Exception, match="newer than this bakeoff reads"):
        load_result(path)


def test_a_frozen_probe_at_the_majority_share_is_named_with_a_hint_about_embeddings_not_training():
    from bakeoff.report.leaderboard import (
        FAILED_HINT,
        FROZEN,
        FROZEN_HINT,
        Row,
        _placed,
    )

    def row(label, method, value, baseline=False):
        return Row(0, "", label, label, "sst2", "validation", method, [] if baseline else [1], "accuracy", value,
                   None, None, [value], None, None, None, baseline=baseline)

    notes: list[str] = []
    rows = [row("good", FROZEN, 0.8), row("flat", FROZEN, 0.5), row("majority class", "baseline", 0.5, True)]
    rows = _placed(rows, "accuracy", True, 0.01, notes)[0]
    assert rows[1].failed_to_learn.startswith("failed to learn") and not rows[0].failed_to_learn
    assert notes == [FROZEN_HINT] and FAILED_HINT not in notes


@pytest.mark.parametrize("trivial, metric", [("mean score", "spearman"), ("most frequent label set", "f1_macro")])
def test_a_run_at_a_score_or_label_set_baseline_is_named_without_classes(trivial, metric):
    from bakeoff.report.leaderboard import FAILED_HINT, Row, _placed

    def row(label, value, baseline=False):
        return Row(0, "", label, label, "t", "validation", "baseline" if baseline else "trained",
                   [] if baseline else [1], metric, value, None, None, [value], None, None, None, baseline=baseline)

    notes: list[str] = []
    rows = [row("good", 0.8), row("flat", 0.0), row(trivial, 0.0, True)]
    rows = _placed(rows, metric, True, 0.01, notes)[0]
    assert rows[1].failed_to_learn == f"failed to learn: seed 1 at or below the {trivial}"
    assert not rows[0].failed_to_learn
    assert notes == [f"a run that failed to learn scores at or below the {trivial}: " + FAILED_HINT.split(": ", 1)[1]]
    assert "class" not in notes[0]
