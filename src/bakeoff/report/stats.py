"""Uncertainty over seeds: the mean with a 95% Student-t interval."""

from __future__ import annotations

import math


def t95(df: int) -> float:
    """The two-sided 95% quantile of Student's t with ``df`` degrees of freedom (``scipy.stats.t``; inf below 1).

    >>> round(t95(2), 3)
    4.303
    """
    if df < 1:
        return float("inf")
    from scipy import stats  # imported when needed: `import bakeoff` should not pay for scipy

    return float(stats.t.ppf(0.975, df))


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
