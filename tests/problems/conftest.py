"""Data a tiny BERT learns in a second for each new problem type: sentence-pair scores and label sets, both set by
the sentiment words of tests/conftest.py (the fixtures of test_train_problems.py test the plumbing; a tiny model
does not learn their pair similarity, so metrics and verdicts there compare models that answer a constant)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.conftest import FILLER, NEGATIVE, POSITIVE


def sentence(rng: random.Random, positive: bool, longest: int = 5) -> str:
    """2 to ``longest`` filler words and one sentiment word, shuffled."""
    words = rng.sample(FILLER, rng.randint(2, longest)) + [rng.choice(POSITIVE if positive else NEGATIVE)]
    rng.shuffle(words)
    return " ".join(words)


@pytest.fixture
def learnable_scores_dir(tmp_path: Path) -> Path:
    """GLUE STS-B's layout: pairs scored 1-4.3, 1.5 points per positive sentence of the two (plus 0 or 0.3)."""
    folder = tmp_path / "scores"
    folder.mkdir()
    for name, count, seed in (("train.tsv", 160, 11), ("dev.tsv", 40, 12)):
        rng = random.Random(seed)
        rows = []
        for i in range(count):
            first, second = rng.random() < 0.5, rng.random() < 0.5
            score = 1.0 + 1.5 * (first + second) + rng.choice([0.0, 0.3])
            rows.append(f"{i}\t{sentence(rng, first)}\t{sentence(rng, second)}\t{score:.1f}\n")
        (folder / name).write_text("index\tsentence1\tsentence2\tscore\n" + "".join(rows))
    return folder


@pytest.fixture
def learnable_sets_dir(tmp_path: Path) -> Path:
    """JSONL rows of one or two sentences labelled with the set of their sentiments ('pos', 'neg' or both)."""
    folder = tmp_path / "sets"
    folder.mkdir()
    for name, count, seed in (("train.jsonl", 160, 13), ("dev.jsonl", 40, 14)):
        rng = random.Random(seed)
        lines = []
        for _ in range(count):
            moods = [rng.random() < 0.5 for _ in range(rng.choice([1, 1, 2]))]
            text = " ".join(sentence(rng, mood) for mood in moods)
            labels = sorted({"pos" if mood else "neg" for mood in moods})
            lines.append(json.dumps({"text": text, "moods": labels}) + "\n")
        (folder / name).write_text("".join(lines))
    return folder
