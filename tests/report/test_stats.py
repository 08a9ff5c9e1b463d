"""The numbers behind the leaderboard's intervals and verdicts, against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bakeoff.eval.significance import mcnemar
from bakeoff.report.stats import mean_interval, t95


def test_t_interval_matches_the_textbook():
    mean, low, high = mean_interval([0.80, 0.82, 0.84])  # sd 0.02, n 3, t(2) = 4.303
    half = 4.303 * 0.02 / math.sqrt(3)
    assert mean == pytest.approx(0.82) and low == pytest.approx(0.82 - half, abs=1e-5)  # 4.303: rounded
    assert high == pytest.approx(0.82 + half, abs=1e-5)
    assert mean_interval([0.9]) == (0.9, None, None)
    assert t95(1) == pytest.approx(12.706, abs=1e-3) and t95(11) == pytest.approx(2.201, abs=1e-3)
    assert t95(1000) == pytest.approx(1.962, abs=1e-3) and t95(0) == math.inf  # no rounding down to a table's row


def test_mcnemar_exact_p_value():
    # 10 examples only the first model gets right, 2 only the second: p = 2 * P(X <= 2 | n=12, 1/2)
    first = np.array([1] * 10 + [0] * 2 + [1] * 30)
    second = np.array([0] * 10 + [1] * 2 + [1] * 30)
    test = mcnemar(first, second)
    assert (test.only_first, test.only_second) == (10, 2)
    assert test.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096) and test.significant
    assert mcnemar(first, first).p_value == 1.0 and not mcnemar(first, first).significant
    balanced = mcnemar(np.array([1, 0] * 5), np.array([0, 1] * 5))
    assert balanced.p_value == 1.0
