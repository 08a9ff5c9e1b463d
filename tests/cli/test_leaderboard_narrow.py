"""The leaderboard reads at 80 columns: labels wrap between words, numbers and intervals are never cut."""

from __future__ import annotations

import re
from types import SimpleNamespace

from rich.console import Console

from bakeoff.cli import study
from bakeoff.cli.study import verdict_lines

VERDICTS = ["leader", "equivalent -0.3 [-1.0, +0.5] p=0.56", "undecided -14.0 [-53.2, +25.2] p=0.64",
            "failed to learn; worse -11.6 [-13.9, -9.3] p<0.001", "n/a: different rows"]


def _row(label: str, verdict: str, seeds: int, baseline: bool = False) -> SimpleNamespace:
    return SimpleNamespace(label=label, verdict=verdict, seeds=[] if baseline else list(range(seeds)),
                           baseline=baseline, rank=1, rank_low=1, rank_high=3, medal=None, mean=0.9094,
                           low=None if baseline else 0.8812, high=None if baseline else 0.9376,
                           method="baseline" if baseline else "trained", train_seconds=78.6,
                           latency_p50_ms=45.11, size_mb=438.0, failed_to_learn="")


def _render(rows: list[SimpleNamespace], monkeypatch) -> str:
    console = Console(width=80, record=True, force_terminal=False, color_system=None)
    monkeypatch.setattr(study, "console", console)
    ranking = SimpleNamespace(name="sst2", split="validation", metric="accuracy", higher_is_better=True,
                              caption="vs leader: row minus leader", adjacent_ties=[], rows=rows)
    study._print_board(SimpleNamespace(project="three-families", rankings=[ranking], notes=[]))
    return console.export_text()


def test_verdict_cells_break_after_the_difference_and_the_interval():
    assert verdict_lines(VERDICTS[1]).splitlines() == ["equivalent -0.3", "[-1.0, +0.5]", "p=0.56"]
    assert verdict_lines(VERDICTS[3]).splitlines() == ["failed to learn; worse -11.6", "[-13.9, -9.3]", "p<0.001"]
    assert verdict_lines("leader") == "leader" and verdict_lines(VERDICTS[4]) == VERDICTS[4]


def test_a_three_seed_board_fits_80_columns_without_cutting_a_word_or_number(monkeypatch):
    labels = ["mpnet-base", "mpnet-base +dynamic-int8", "minilm-l6 +onnx-int8", "minilm-l3 +dynamic-int8"]
    rows = [_row(label, verdict, 3) for label, verdict in zip(labels, VERDICTS, strict=False)]
    rows.append(_row("baseline: tf-idf + logreg", VERDICTS[1], 0, baseline=True))
    text = _render(rows, monkeypatch)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80
    header = " ".join(" ".join(lines[:6]).split())
    assert "mean over 3 seeds" in header and " seeds " not in header.split("interval]")[1]  # in the title only
    words = set(re.findall(r"\S+", text))
    for needed in ("+dynamic-int8", "mpnet-base", "[-53.2, +25.2]".split()[0], "+25.2]", "p<0.001", "0.909",
                   "[0.88,", "0.94]", "438", "45.11", "78.6"):
        assert needed in words, (needed, text)
    assert "…" not in text  # nothing cut with an ellipsis
    assert any(line.rstrip().endswith("equivalent -0.3") for line in lines)


def test_rows_with_different_seed_counts_keep_the_seeds_column(monkeypatch):
    text = _render([_row("minilm-l6", "leader", 3), _row("minilm-l3", VERDICTS[1], 2)], monkeypatch)
    header = " ".join(" ".join(text.splitlines()[:6]).split())
    assert "mean over seeds [95% interval]" in header and " seeds " in header.split("interval]")[1]
    assert max(map(len, text.splitlines())) <= 80
