"""Data a tiny BERT learns in a second for each new problem type: sentence-pair scores and label sets, both set by
the sentiment words of tests/conftest.py (the fixtures of test_train_problems.py test the plumbing; a tiny model
does not learn their pair similarity, so metrics and verdicts there compare models that answer a constant)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FILLER, NEGATIVE, POSITIVE


def sentence(rng: random.Random, positive: bool, longest: int = 5) -> str:
    """2 to ``longest`` filler words and one sentiment word, shuffled."""
    words = rng.sample(FILLER, rng.randint(2, longest)) + [rng.choice(POSITIVE if positive else NEGATIVE)]
    rng.shuffle(words)
    return " ".join(words)


def write_splits(folder: Path, splits: tuple[tuple[str, int, int], ...], lines: Callable[[random.Random, int], str],
                 header: str = "") -> Path:
    """Each (file name, rows, seed) of ``splits`` in ``folder``: ``header``, then ``lines(rng, i)`` per row."""
    folder.mkdir()
    for name, count, seed in splits:
        rng = random.Random(seed)
        (folder / name).write_text(header + "".join(lines(rng, i) for i in range(count)))
    return folder


@pytest.fixture
def learnable_scores_dir(tmp_path: Path) -> Path:
    """GLUE STS-B's layout: pairs scored 1-4.3, 1.5 points per positive sentence of the two (plus 0 or 0.3)."""
    def line(rng: random.Random, i: int) -> str:
        first, second = rng.random() < 0.5, rng.random() < 0.5
        score = 1.0 + 1.5 * (first + second) + rng.choice([0.0, 0.3])
        return f"{i}\t{sentence(rng, first)}\t{sentence(rng, second)}\t{score:.1f}\n"

    return write_splits(tmp_path / "scores", (("train.tsv", 160, 11), ("dev.tsv", 40, 12)), line,
                        "index\tsentence1\tsentence2\tscore\n")


@pytest.fixture
def learnable_sets_dir(tmp_path: Path) -> Path:
    """JSONL rows of one or two sentences labelled with the set of their sentiments ('pos', 'neg' or both)."""
    def line(rng: random.Random, i: int) -> str:
        moods = [rng.random() < 0.5 for _ in range(rng.choice([1, 1, 2]))]
        text = " ".join(sentence(rng, mood) for mood in moods)
        return json.dumps({"text": text, "moods": sorted({"pos" if mood else "neg" for mood in moods})}) + "\n"

    return write_splits(tmp_path / "sets", (("train.jsonl", 160, 13), ("dev.jsonl", 40, 14)), line)
