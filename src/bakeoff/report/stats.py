"""Uncertainty over seeds: the mean with a 95% Student-t interval."""

from __future__ import annotations

import math

# two-sided 95% quantiles of Student's t by degrees of freedom; between entries the smaller df's (wider) value
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042, 60: 2.000, 120: 1.980}


def t95(df: int) -> float:
    """The two-sided 95% quantile of Student's t with ``df`` degrees of freedom (table, rounded down in df).

    >>> t95(2)
    4.303
    """
    eligible = [d for d in _T95 if d <= df]
    return _T95[max(eligible)] if eligible else float("inf")


def mean_interval(values: list[float]) -> tuple[float, float | None, float | None]:
    """(mean, low, high) of a 95% t interval; the bounds are None for a single value (no spread to measure).

    >>> mean_interval([1.0, 3.0])[0]
    2.0
    """
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None, None
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t95(n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half
