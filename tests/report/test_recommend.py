"""``recommend`` against hand-built rows: budgets met, none met, a cheaper row equivalent to the best, one set aside."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from bakeoff.report.leaderboard import Ranking, Row
from bakeoff.report.recommend import Budgets, recommend
from tests.study.conftest import tiny_study  # noqa: F401  the study tests' tiny study files


def _row(label, accuracy, latency, size, truth, rng, seeds=(1, 2, 3)):
    predicted = [np.where(rng.random(truth.size) < accuracy, truth, 1 - truth) for _ in seeds]
    values = [float((p == truth).mean()) for p in predicted]
    return Row(rank=0, medal="", label=label, model=label, task="t", split="validation", method="trained", seeds=list(seeds),
               metric="accuracy", mean=float(np.mean(values)), low=None, high=None, values=values,
               train_seconds=latency * 10, latency_p50_ms=latency, size_mb=size,
               predictions={s: (p, truth, "val") for s, p in zip(seeds, predicted, strict=True)})


def _flip_some(predicted, truth, rng, count=4):
    """int8's answers: ``count`` right rows turned wrong and ``count`` wrong rows turned right (a tie)."""
    out = predicted.copy()
    for rows in (np.flatnonzero(predicted == truth), np.flatnonzero(predicted != truth)):
        chosen = rng.choice(rows, count, replace=False)
        out[chosen] = 1 - out[chosen]
    return out


def _board():
    rng = np.random.default_rng(0)
    truth = rng.integers(2, size=872)
    big = _row("bert-base", 0.92, 40.0, 440.0, truth, rng)
    predictions = {s: (_flip_some(p, t, rng), t, f) for s, (p, t, f) in big.predictions.items()}
    values = [float((predictions[s][0] == truth).mean()) for s in big.seeds]
    int8 = Row(**{**big.__dict__, "label": "bert-base +int8", "latency_p50_ms": 18.0, "size_mb": 110.0,
                  "predictions": predictions, "values": values, "mean": float(np.mean(values))})
    small = _row("minilm-l3", 0.80, 4.0, 70.0, truth, rng)
    rows = [big, int8, small]
    return Ranking("t", "validation", "accuracy", True, rows)


def test_a_cheaper_row_equivalent_to_the_best_within_the_tolerance_is_recommended():
    choice = recommend(_board())
    assert choice.choice == "bert-base +int8" and choice.best == "bert-base"  # a tie; the best row is listed first
    assert "bert-base +int8 is equivalent to it within the tolerance" in choice.paragraph
    assert "2.2x faster at batch 1" in choice.paragraph and "batch-1 p50 measured on the machine" in choice.paragraph
    assert choice.equivalent == ["bert-base +int8"]
    # the far cheaper minilm-l3 is 13.5 points worse: set aside, and said so
    assert [(item.label, item.answer) for item in choice.set_aside] == [("minilm-l3", "worse")]
    assert "minilm-l3: worse than bert-base (-13.5 points, 90% interval" in choice.paragraph


def test_a_tolerance_the_evaluation_rows_cannot_resolve_keeps_the_best_row_and_says_what_would_decide_it():
    board = _board()
    board.tolerance = 0.001  # 0.1 points: 872 rows cannot resolve it, however many seeds
    choice = recommend(board)
    assert choice.choice == "bert-base"
    undecided = next(item for item in choice.set_aside if item.label == "bert-base +int8")
    assert undecided.answer == "undecided" and undecided.low < -0.001  # its interval allows a loss beyond 0.1 point
    assert "seeds cannot help: the 872 evaluation rows alone" in undecided.would_decide
    assert "evaluation rows would" in undecided.would_decide and undecided.would_decide in choice.paragraph
    # listed apart, one row a sentence, the undecided (what more data could change) before the worse
    assert choice.aside[0].startswith("bert-base +int8: undecided against bert-base (")
    assert [sentence.split(":")[0] for sentence in choice.aside] == ["bert-base +int8", "minilm-l3"]
    assert not any(sentence in " ".join(choice.reasons) for sentence in choice.aside)


def test_the_report_lists_the_set_aside_rows_one_a_line():
    from bakeoff.report.document import render

    summary = ["Recommendation: choose a.", ["Set aside, though cheaper:", "b: worse than a (-3.0 points)."]]
    html = render([], "t", summary, "html")
    assert "<p>Set aside, though cheaper:</p><ul><li>b: worse than a (-3.0 points).</li></ul>" in html
    markdown = render([], "t", summary, "md")
    assert "> Set aside, though cheaper:\n>\n> - b: worse than a (-3.0 points).\n>" in markdown


def test_budgets_rule_rows_out():
    choice = recommend(_board(), Budgets(max_latency_ms=10))
    assert choice.choice == "minilm-l3" and "1 of 3 rows that meet every budget (max_latency_ms 10)" in choice.paragraph


def test_when_nothing_qualifies_the_binding_budget_and_the_nearest_row_are_named():
    choice = recommend(_board(), Budgets(max_latency_ms=10, min_metric=0.9))
    assert choice.choice is None and choice.binding in ("max_latency_ms", "min_metric")
    assert "No row meets every budget" in choice.paragraph and "Nearest:" in choice.paragraph
    assert "against a budget of" in choice.paragraph


def test_the_cli_prints_the_reasons(tiny_study):
    import bakeoff
    from bakeoff.cli import app

    path = tiny_study(seeds="[1]")
    bakeoff.run_study(path)
    result = CliRunner().invoke(app, ["recommend", str(path), "--max-latency-ms", "100000"])
    assert result.exit_code == 0 and "Choose" in result.output, result.output
    result = CliRunner().invoke(app, ["recommend", str(path), "--max-size-mb", "0.001", "--json"])
    assert result.exit_code == 0 and '"binding": "max_size_mb"' in result.output


def _with_baseline(accuracy):
    """The board plus a fixed baseline row of ``accuracy`` on the same rows."""
    ranking = _board()
    truth = ranking.rows[0].predictions[1][1]
    predicted = np.where(np.random.default_rng(5).random(truth.size) < accuracy, truth, 1 - truth)
    value = float((predicted == truth).mean())
    ranking.rows.append(Row(rank=0, medal="", label="baseline: tf-idf + logreg", model="tf-idf + logreg", task="t",
                            split="validation", method="baseline", seeds=[], metric="accuracy", mean=value, low=None,
                            high=None, values=[value], train_seconds=1.0, latency_p50_ms=None, size_mb=None,
                            baseline=True, predictions={0: (predicted, truth, "val")}))
    return ranking


def test_the_reasons_say_how_the_choice_stands_against_the_best_baseline():
    beaten = recommend(_with_baseline(0.70))  # the choice (bert-base +int8, ~0.92) is far ahead
    assert beaten.choice == "bert-base +int8"
    assert "It beats the best baseline, tf-idf + logreg (0.7" in beaten.paragraph
    assert "points (p<0.001)" in beaten.paragraph
    ahead = recommend(_with_baseline(0.99))  # a linear model better than every trained row: said plainly
    assert "But the baseline tf-idf + logreg is significantly better (0.9" in ahead.paragraph
    assert "no trained row here beats a linear model" in ahead.paragraph
    level = recommend(_with_baseline(0.92), Budgets(max_latency_ms=10))  # minilm-l3 (~0.80) chosen; baseline ~0.92
    assert level.choice == "minilm-l3" and "significantly better" in level.paragraph
    tie = recommend(_with_baseline(0.80), Budgets(max_latency_ms=10))  # minilm-l3 ~0.80 against a baseline ~0.80
    assert tie.choice == "minilm-l3" and "It cannot be told apart from the best baseline" in tie.paragraph
