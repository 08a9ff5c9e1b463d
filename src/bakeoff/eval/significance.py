"""Paired tests: is one model's difference from another real, or within noise, on the same examples?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class McNemar:
    """Exact McNemar test on paired correctness.

    ``only_first`` counts examples the first model gets right and the second wrong; ``only_second`` the
    reverse. Under "no difference" each discordant example is a fair coin, so the two-sided p-value is a
    binomial tail; examples both get right (or wrong) carry no information about the difference.
    """

    only_first: int
    only_second: int
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05


def mcnemar(correct_first: np.ndarray, correct_second: np.ndarray) -> McNemar:
    """Exact two-sided McNemar test.

    >>> mcnemar(np.array([1, 1, 1, 0]), np.array([1, 0, 0, 0])).only_first
    2
    """
    first, second = np.asarray(correct_first, bool), np.asarray(correct_second, bool)
    b, c = int((first & ~second).sum()), int((~first & second).sum())
    if b + c == 0:
        return McNemar(b, c, 1.0)
    from scipy import stats  # the exact binomial test on the discordant pairs (imported when needed)

    return McNemar(b, c, min(1.0, float(stats.binomtest(b, b + c, 0.5).pvalue)))
