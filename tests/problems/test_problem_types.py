"""The problem types' arithmetic and label parsing, without a model: left-out statistics, thresholds, labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bakeoff.data import DataOptions, load_task_data
from bakeoff.data.tables import DataError
from bakeoff.problems import LabelError, get_problem, problem_of_config
from bakeoff.problems.multi_label import from_bitmask, split_labels, to_bitmask
from bakeoff.problems.regression import pearson, pearson_left_out, regression_metrics, spearman, spearman_left_out
from bakeoff.report.verdict import compare_scores


def test_regression_left_out_statistics_equal_recomputing_them_with_ties():
    rng = np.random.default_rng(0)
    scores, gold = rng.normal(size=60), np.round(rng.uniform(0, 5, size=60))  # gold has many ties, as STS-B
    scores[:5] = scores[0]  # ties on the model's side too
    for fast, slow in ((spearman_left_out, spearman), (pearson_left_out, pearson)):
        expected = [slow(np.delete(scores, i), np.delete(gold, i)) for i in range(60)]
        assert np.allclose(fast(scores, gold), expected)


def test_regression_metrics_on_the_tasks_scale():
    metrics = regression_metrics(np.array([0.0, 2.5, 5.0]), np.array([1.0, 2.5, 4.0]))
    assert metrics["spearman"] == pytest.approx(1.0) and metrics["mae"] == pytest.approx(2 / 3)
    assert metrics["mse"] == pytest.approx(2 / 3) and metrics["pearson_spearman"] == pytest.approx(1.0)


def test_a_better_regression_wins_a_paired_verdict_and_a_copy_does_not():
    rng = np.random.default_rng(1)
    gold = rng.uniform(0, 5, 400)
    good, bad = gold + rng.normal(0, 0.5, 400), gold + rng.normal(0, 2.0, 400)
    how = get_problem("regression").per_row_metrics(1)["spearman"]
    better = compare_scores(good, bad, how.statistic, labels=gold, left_out=how.left_out)
    same = compare_scores(good, good.copy(), how.statistic, labels=gold, left_out=how.left_out)
    assert better.significant and better.difference > 0
    assert not same.significant and same.difference == 0


def test_multi_label_left_out_metrics_equal_recomputing_them():
    rng = np.random.default_rng(2)
    truth, predicted = (rng.random((50, 6)) < 0.3).astype(int), (rng.random((50, 6)) < 0.3).astype(int)
    problem = get_problem("multi_label")
    values, labels = problem.verdict_values(predicted, truth)
    for name, how in problem.per_row_metrics(6).items():
        expected = [how.statistic(np.delete(values, i), np.delete(labels, i)) for i in range(50)]
        assert np.allclose(how.left_out(values, labels), expected), name
    scored = problem.score(truth, np.where(predicted == 1, 3.0, -3.0), [f"l{k}" for k in range(6)])
    assert scored.metrics["f1_macro"] == pytest.approx(problem.per_row_metrics(6)["f1_macro"].statistic(values, labels))


def test_label_sets_round_trip_through_one_number_per_row():
    sets = np.array([[1, 0, 1, 1], [0, 0, 0, 0], [0, 1, 0, 0]])
    assert (from_bitmask(to_bitmask(sets), 4) == sets).all()


def test_thresholds_are_chosen_per_label_on_validation_and_change_the_answers():
    problem = get_problem("multi_label")
    logits = np.array([[2.0, -2.0], [0.2, -1.2], [-3.0, -0.5], [-2.0, -2.5]])  # label 1 is under-confident
    truth = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
    thresholds = problem.fit_thresholds(logits, truth)
    assert thresholds[1] < 0.5  # 0.5 would miss both positives of label 1
    assert (problem.decide(logits, thresholds) == truth).all()
    assert not (problem.decide(logits) == truth).all()


def test_label_cells_are_lists_or_joined_by_a_separator():
    assert split_labels("4,27", ",", "x") == ["4", "27"]
    assert split_labels("['joy', 'love']", None, "x") == ["joy", "love"]
    with pytest.raises(LabelError, match="--label-separator"):
        split_labels("joy;love", None, "x")


def test_checkpoint_configs_name_their_problem_type():
    assert problem_of_config({"problem_type": "multi_label_classification"}).name == "multi_label"
    assert problem_of_config({}).name == "single_label"


def _write(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_own_file_with_list_labels_is_multi_label_and_an_unknown_label_is_one_line(tmp_path):
    rows = [{"text": f"row {i}", "labels": [["joy"], ["anger", "joy"], ["fear"]][i % 3]} for i in range(30)]
    data = load_task_data(None, DataOptions(data=_write(tmp_path / "train.jsonl", rows), label_column="labels"))
    assert data.problem_type == "multi_label" and data.label_names == ["anger", "fear", "joy"]
    assert data.train.labels.shape[1] == 3 and data.primary_metric == "f1_macro"
    folder = tmp_path / "split"
    folder.mkdir()
    _write(folder / "train.jsonl", rows)
    _write(folder / "dev.jsonl", [{"text": "x", "labels": ["joy", "grief"]}])
    with pytest.raises(DataError, match=r"dev.jsonl, line 1: label 'grief' does not occur in the training data"):
        load_task_data(None, DataOptions(data=folder, label_column="labels"))


def test_a_separator_you_name_makes_a_multi_label_column(tmp_path):
    (tmp_path / "train.csv").write_text("text,tags\n" + "".join(f"row {i},a|b\nrow {i}b,b\n" for i in range(10)))
    data = load_task_data(None, DataOptions(data=tmp_path / "train.csv", label_column="tags", label_separator="|"))
    assert data.problem_type == "multi_label" and data.label_names == ["a", "b"]


def test_a_regression_given_text_labels_is_one_line(tmp_path):
    (tmp_path / "train.csv").write_text("text,score\n" + "".join(f"row {i},{i / 7:.2f}\n" for i in range(20))
                                        + "row x,high\n")
    with pytest.raises(DataError, match=r"line 22: label 'high' is not a number: a regression task needs a number"):
        load_task_data(None, DataOptions(data=tmp_path / "train.csv", label_column="score", problem_type="regression"))
    (tmp_path / "train.csv").write_text("text,score\n" + "".join(f"row {i},{i / 7:.2f}\n" for i in range(20)))
    fine = load_task_data(None, DataOptions(data=tmp_path / "train.csv", label_column="score",
                                            problem_type="regression"))
    assert fine.label_names == ["score"] and fine.train.labels.dtype == np.float32
    assert fine.primary_metric == "spearman" and len(fine.validation) + len(fine.test) == 6  # 80/10/10


def test_heads_start_at_the_training_labels_mean_or_log_odds(tiny_model_dir):
    from bakeoff.models import load_for_classification, resolve_model, set_output_bias

    assert get_problem("regression").initial_bias(np.array([1.0, 2.0, 6.0])).tolist() == [3.0]
    odds = get_problem("multi_label").initial_bias(np.array([[1, 0], [0, 0], [0, 0], [1, 1]], dtype=float))
    assert odds[0] == pytest.approx(0.0) and odds[1] == pytest.approx(np.log(1 / 3))
    assert get_problem("single_label").initial_bias(np.array([0, 1])) is None  # unchanged: transformers' zeros
    model = load_for_classification(resolve_model(str(tiny_model_dir)), ["score"], "regression", 1)
    set_output_bias(model, np.array([2.5]))
    assert model.classifier.bias.tolist() == [2.5] and model.config.problem_type == "regression"
