"""The setting panels of a study with several sweeps (seed 004's shape: length x learning rate, data fraction,
model size): each setting is compared only between rows that differ in it alone, a crossed pair gets its heatmap,
and the data-fraction panel says where more data stops paying."""

from __future__ import annotations

import re

import numpy as np

from bakeoff.report.leaderboard import Ranking, Row
from bakeoff.report.sections import setting_sections

ROWS = 300
TRUTH = np.arange(ROWS) % 2
BASE = {"max_length": 128, "learning_rate": 1.5e-4, "train_fraction": 1.0, "batch_size": 16}


def _row(accuracy: float, model: str = "minilm-l3", seconds: float = 100.0, **settings: float) -> Row:
    config = {**BASE, **settings, "model": model, "seed": 1}
    predicted = TRUTH.copy()
    wrong = np.random.default_rng(int(accuracy * 1000) + len(model)).permutation(ROWS)[: round(ROWS * (1 - accuracy))]
    predicted[wrong] = 1 - predicted[wrong]
    value = float((predicted == TRUTH).mean())
    label = f"{model} " + " ".join(f"{k}={v}" for k, v in settings.items())
    return Row(rank=0, medal="", label=label, model=model, task="imdb", split="validation", method="trained",
               seeds=[1], metric="accuracy", mean=value, low=None, high=None, values=[value], train_seconds=seconds,
               latency_p50_ms=None, size_mb=None, config=config, predictions={1: (predicted, TRUTH, "dev")})


def _study() -> Ranking:
    rows = [_row(0.55 + 0.05 * i + (0.1 if lr > 1e-4 else 0.0), seconds=50.0 * 2**i, max_length=length,
                 learning_rate=lr) for i, length in enumerate((64, 128, 256)) for lr in (5e-5, 1.5e-4)]
    rows += [_row(0.30 + 0.5 * fraction, seconds=100.0 * fraction, train_fraction=fraction)
             for fraction in (0.25, 0.5, 0.75)]
    rows += [_row(0.78, model="minilm-l6", seconds=200.0)]
    rows.sort(key=lambda r: -r.mean)
    return Ranking("imdb", "validation", "accuracy", True, rows)


def _sections():
    return {section.title: section for section in setting_sections(_study())}


def test_each_setting_is_compared_only_where_it_varies_alone():
    sections = _sections()
    assert set(sections) == {"Setting: model", "Setting: learning_rate", "Setting: max_length",
                             "Setting: train_fraction", "Grid: learning_rate x max_length"}
    lengths = sections["Setting: max_length"].data["lines"]
    assert [line["name"] for line in lengths] == ["lr=5e-05", "lr=0.00015"] or [
        line["name"] for line in lengths] == ["lr=0.00015", "lr=5e-05"]
    assert all(line["values"] == [64, 128, 256] for line in lengths)
    fractions = sections["Setting: train_fraction"].data["lines"]
    assert len(fractions) == 1 and fractions[0]["values"] == [0.25, 0.5, 0.75, 1.0]  # the grid's shared row is 1.0
    models = sections["Setting: model"].data["lines"]
    assert len(models) == 1 and models[0]["values"] == ["minilm-l3", "minilm-l6"]
    assert len(sections["Setting: learning_rate"].data["lines"]) == 3  # one line per max_length


def test_step_sentences_name_their_line_and_carry_the_verdict_and_the_cost():
    sentences = _sections()["Setting: max_length"].sentences
    assert sentences[0] == "One line per lr; within a line only max_length changes."
    step = next(s for s in sentences if s.startswith("At lr=0.00015, 64 -> 128: "))
    assert "+5.0 points" in step and "2.0x the training time" in step
    assert "p = " in step and re.search(r"points, (better|worse|equivalent|undecided) \(90% interval \[", step)


def test_more_data_stops_paying_only_where_the_steps_are_equivalent_not_merely_not_significant():
    from bakeoff.report.sections import _plateau

    assert _plateau([("0.25", "better"), ("0.5", "equivalent"), ("0.75", "equivalent")], "", 1.0) == [
        "more data stops paying for itself from train_fraction 0.5: every further step is equivalent within ±1 point."]
    undecided = _plateau([("0.25", "better"), ("0.5", "undecided"), ("0.75", "equivalent")], "", 1.0)
    assert "from train_fraction 0.5 on, the steps are not significant but undecided" in undecided[0]
    assert _plateau([("0.25", "equivalent"), ("0.5", "better")], "", 1.0) == []  # the last step still pays


def test_the_grid_heatmap_names_its_best_cell():
    grid = _sections()["Grid: learning_rate x max_length"]
    assert grid.data["rows"] == [5e-5, 1.5e-4] and grid.data["columns"] == [64, 128, 256]
    assert all(value is not None for row in grid.data["values"] for value in row)
    assert "Best cell: learning_rate 0.00015, max_length 256 (0.75" in grid.sentences[1]


def test_a_zip_that_moves_settings_together_falls_back_to_the_best_row_per_value():
    rows = [_row(0.6 + 0.05 * i, max_length=length, learning_rate=lr)
            for i, (length, lr) in enumerate(((128, 2e-5), (128, 1e-5), (256, 7.5e-6), (256, 5e-6)))]
    sections = {s.title: s for s in setting_sections(Ranking("imdb", "validation", "accuracy", True, rows))}
    lengths = sections["Setting: max_length"]
    assert lengths.data["lines"][0]["values"] == [128, 256]
    assert lengths.sentences[0].startswith("max_length never varied alone here")
    assert not any(title.startswith("Grid:") for title in sections)  # no learning rate met two lengths


def test_seed_004s_staircase_zip_gets_its_heatmap_with_the_cells_not_run_left_empty():
    cells = ((128, 2e-5), (128, 1e-5), (256, 1e-5), (256, 7.5e-6), (512, 7.5e-6), (512, 5e-6))
    rows = [_row(0.6 + 0.02 * i, max_length=length, learning_rate=lr) for i, (length, lr) in enumerate(cells)]
    grid = next(s for s in setting_sections(Ranking("imdb", "validation", "accuracy", True, rows))
                if s.title == "Grid: learning_rate x max_length")
    assert sum(value is not None for row in grid.data["values"] for value in row) == 6
    assert sum(value is None for row in grid.data["values"] for value in row) == 6


def test_a_true_false_setting_is_named_not_drawn_as_a_number():
    """Python's bools are ints: normalize: [true, false] read as an axis 0..1 and a 'normalize 1' best cell."""
    rows = [_row(0.6 + 0.1 * normalize + 0.05 * (length == 32), normalize=normalize, max_length=length)
            for normalize in (True, False) for length in (16, 32)]
    rows.sort(key=lambda r: -r.mean)
    sections = {s.title: s for s in setting_sections(Ranking("imdb", "validation", "accuracy", True, rows))}
    text = " ".join(sections["Setting: normalize"].sentences)
    assert "False -> True: +10.0 points" in text and "0 -> 1" not in text, text
    assert not any(title.startswith("Grid") for title in sections)  # a heatmap needs two numeric settings


def test_how_a_run_ran_is_not_a_setting():
    """Rows that differ only in nproc (or threads, device) computed the same thing: no panel for it."""
    rows = [_row(0.70, nproc=1, learning_rate=1e-4), _row(0.71, nproc=2, learning_rate=1e-4),
            _row(0.80, nproc=1, learning_rate=2e-4)]
    titles = [s.title for s in setting_sections(Ranking("imdb", "validation", "accuracy", True, rows))]
    assert "Setting: learning_rate" in titles and not any("nproc" in title for title in titles)
