"""The demo's verdict line, from two run folders' predictions.json."""

from __future__ import annotations

import json

from bakeoff.report.gap import gap_sentence


def _run(folder, predicted, truth, fingerprint="abc"):
    folder.mkdir()
    (folder / "predictions.json").write_text(json.dumps(
        {"fingerprints": {"validation": fingerprint}, "validation": {"predicted": predicted, "true": truth}}))
    return folder


def test_a_small_gap_on_53_rows_is_called_noise_and_a_large_one_significant(tmp_path):
    truth = [0, 1] * 26 + [1]
    better = list(truth)
    worse = [1 - t if i % 5 == 0 else t for i, t in enumerate(truth)]  # 11 of 53 wrong
    slightly = [1 - t if i in (0, 7) else t for i, t in enumerate(truth)]
    a, b, c = _run(tmp_path / "a", better, truth), _run(tmp_path / "b", worse, truth), _run(tmp_path / "c", slightly, truth)
    assert "significant" in gap_sentence(a, b, "l6", "l3", "accuracy")
    line = gap_sentence(a, c, "l6", "l3", "accuracy")
    assert "+3.8 points" in line and "undecided (not significant, and not shown equivalent" in line
    assert "53 validation rows" in line
    assert "only about example variance" in line


def test_different_validation_rows_get_no_verdict(tmp_path):
    a = _run(tmp_path / "a", [0, 1], [0, 1])
    b = _run(tmp_path / "b", [0, 1], [0, 1], fingerprint="other")
    assert "different validation rows" in gap_sentence(a, b, "x", "y", "accuracy")
