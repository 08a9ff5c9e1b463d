"""Is one row's difference from another real, or within noise? Verdicts that count seeds AND examples.

A leaderboard's gap has two sources of noise, and the verdict must see both:

- **seeds** (training randomness: initialisation of the head, data order, dropout). On small GLUE sets the
  seed-to-seed spread is often larger than the gap between models (Dodge et al. 2020, "Fine-Tuning Pretrained
  Language Models: Weight Initializations, Data Orders, and Early Stopping").
- **examples** (the validation rows are one sample of the texts the model will meet).

The test chosen (Dror et al. 2019 and Ulmer et al. 2022 ask for exactly this: account for seeds, not only for
examples) splits the variance of the difference ``D`` of the two rows' seed-averaged metrics in two parts:

1. **examples**: the jackknife over validation rows (leave one row out of BOTH sides: the examples are
   paired, so the texts' shared difficulty drops out), on the seed-averaged difference. It works for any
   metric that is a function of the confusion counts (accuracy, F1, MCC), and is exact for accuracy.
2. **seeds**: each row's own per-seed spread over its ``k`` seeds, ``var / k`` with ``k - 1`` degrees of freedom
   (Welch-style), also when the two rows ran the same seed numbers; so rows with different seeds on the same
   validation rows get a verdict too. Only **copies of the same training runs** (a compressed model and its
   original, two compressions of one run: ``same_runs``) are paired: the spread of their per-seed differences.
   A deterministic row (a baseline) has no seed variance; a row with one seed borrows the other's.

``D / sqrt(sum)`` is read against Student's t with Welch-Satterthwaite degrees of freedom: a seed-dominated gap is
judged on few degrees of freedom (at most ``k1 + k2 - 2``), an example-dominated one on many.

**Why the same seed numbers are not paired.** Pairing every two rows that ran the same seeds was the rule before.
It leaves the seed part ONE estimate on ``k - 1`` degrees of freedom where each row's own spread gives two, up to
``2 (k - 1)`` together. With 2-3 seeds that single estimate is far below its truth often (with 2 seeds a tenth of
it or less in a quarter of draws), and Satterthwaite then reads many degrees of freedom exactly when the standard
error is too small: A/A comparisons of independently trained rows on the same seeds read "sig." at 5% in up to
12.8% (2 seeds) and 7.3% (3 seeds) of 4,000 simulated ones (the tests' simulation, 872 rows, seed spreads 0.9 to
8.9 points: 2.2-12.8% and 1.4-7.3%). Each row's own spread, the same simulations: 1.5-5.8% (2 seeds) and 1.0-4.3%
(3 seeds). It is valid (conservative) whenever a shared seed makes two rows' luck alike rather than opposite, and
gives up what pairing gains when it does; with 2-3 seeds pairing pays only for a correlation above about 0.9 (2
seeds) or 0.6 (3 seeds) where the seeds dominate, which two separately trained models do not reach by sharing a
seed number. A copy of the same runs shares all of their luck, and there pairing is both needed and calibrated:
its per-seed differences hold only what the copy changed, a small part beside the examples' (a copy answering
0.6-9% of rows differently, at random, at the same expected accuracy: "sig." in 0.25-1.8% of 2,000 A/A comparisons
at 2-3 seeds, paired; each row's own spread would call almost nothing, 0-0.15%, and could not show an int8 copy
equivalent). Also
measured and not taken: keeping every pair and reading the seeds' own ``k - 1`` degrees of freedom whenever the
seed part is half the variance or more (a race's looks read ``k - 1`` always: ``sequential.seed_degrees``) still
read "sig." in 5.7-6.9% at 2 seeds (2,000 comparisons, half on the same seeds) and cut the 3-point power at 3
seeds from 81% to 56%: the per-seed spread also holds the example noise, so the seed part is about half the
variance even with no seed luck at all (median 46% in the simulation). ``tests/report/test_verdict.py`` holds the
calibration at 2 and 3 seeds and for copies.

A two-level bootstrap (resample seeds, then rows) was tried first and rejected on measurement: with 3
seeds a bootstrap sees at most 10 distinct seed means, its tails are normal where the truth is t with 2
degrees of freedom, and 7.75% of simulated null comparisons (seed spread 2.5 points) read "sig." (this
version: 1-6%, see the calibration tests). It was also about 50x slower. With one seed per row the verdict speaks only about example
variance, and says so (``scope``).

Rows with the same truth and the same predictions everywhere are interchangeable, so the work is done per
joint pattern (a few dozen for binary tasks), not per row: a comparison takes about a millisecond.

Metrics computed from per-example values rather than predicted labels (an embedding run's pair similarity scores
-> average precision, its per-query ranks -> nDCG@10) get the same test through ``compare_scores``: the
jackknife leaves one example (pair, query) out of both rows and recomputes the metric; exact arithmetic when the
metric is a mean of per-example gains, a recomputation per left-out example otherwise (average precision).

Holm's step-down correction (Holm 1979) adjusts the p-values of the rows compared with the leader, and the
minimum detectable effect (Card et al. 2020, "With Little Power Comes Great Responsibility") says how large a
gap this many rows and seeds could detect at 80% power.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

ALPHA = 0.05
SCOPE_BOTH = "seeds and examples"
SCOPE_EXAMPLES = "examples only (one seed: a second seed could change this)"
SCOPE_BORROWED = "seeds and examples (one side's single seed borrows the other's seed spread)"
SCOPE_SEEDS = "seeds only (no stored predictions on shared rows)"
SCOPE_FIXED = "examples (both rows are deterministic: no seed noise)"
CONFUSION_METRICS = ("accuracy", "f1", "f1_macro", "mcc")


@dataclass(frozen=True)
class SeedPart:
    """One source of seed noise in a difference: ``variance`` of its seed mean over ``seeds`` seeds, read on
    ``degrees_of_freedom`` (one fewer than the seeds measured; a single seed that borrows the other row's spread
    keeps that row's). With ``s`` seeds instead, the variance would be ``variance * seeds / s``."""

    variance: float
    degrees_of_freedom: int
    seeds: int


@dataclass(frozen=True)
class Comparison:
    """``first - second`` on the metric, with a 95% interval and a two-sided p-value.

    ``p_adjusted`` is Holm's adjustment when several rows were compared with one leader (else the raw p): a new
    comparison (``dataclasses.replace``), as every reading of one is.
    """

    difference: float
    low: float | None
    high: float | None
    p_value: float
    scope: str
    seeds_paired: bool = False
    p_adjusted: float | None = None
    standard_error: float | None = field(default=None, repr=False)
    degrees_of_freedom: float | None = field(default=None, repr=False)  # Welch-Satterthwaite; None: no spread
    # the variance of the difference by source, for planning what a decision needs (report/plan.py): the
    # examples' part (jackknife; None when no per-example values were paired) over ``rows`` examples, and one
    # SeedPart per row with seed noise (or one for the paired per-seed differences of copies of the same runs)
    example_variance: float | None = field(default=None, repr=False)
    rows: int | None = field(default=None, repr=False)
    seed_parts: tuple[SeedPart, ...] = field(default=(), repr=False)

    @property
    def significant(self) -> bool:
        p = self.p_adjusted if self.p_adjusted is not None else self.p_value
        return p < ALPHA

    @property
    def text(self) -> str:
        """The leaderboard's cell: ``sig. p=0.003`` or ``noise p=0.31`` (Holm-adjusted p)."""
        p = self.p_adjusted if self.p_adjusted is not None else self.p_value
        return f"{'sig.' if self.significant else 'noise'} {_p_text(p)}"


def compare(first: np.ndarray, second: np.ndarray, labels: np.ndarray, *, metric: str = "accuracy",
            first_seeds: list[int] | None = None, second_seeds: list[int] | None = None,
            first_fixed: bool = False, second_fixed: bool = False, num_classes: int | None = None,
            same_runs: bool = False) -> Comparison:
    """``metric(first) - metric(second)`` on the same validation rows, tested against seed and example noise.

    Args:
        first: predicted label ids, (seeds, rows); a 1-d array is one seed.
        second: the other row's predictions, (seeds, rows) on the same rows in the same order.
        labels: the true label ids, (rows,).
        metric: accuracy, f1, f1_macro or mcc (as bakeoff.metrics computes them).
        first_seeds: the seeds behind ``first``'s rows; with ``same_runs``, equal lists pair the seeds.
        first_fixed: ``first`` is deterministic (a baseline): no seed variance.
        same_runs: both rows were measured on the same training runs (a compressed copy and its original): the
            seeds are paired; otherwise each row's own seed spread counts (why: the module docstring).

    >>> truth = np.array([0, 1] * 200)
    >>> good, bad = np.where(np.arange(400) % 10 == 0, 1 - truth, truth), 1 - truth
    >>> compare(good[None], bad[None], truth).significant
    True
    """
    if metric not in CONFUSION_METRICS:
        raise ValueError(f"{metric!r} is not a function of the predictions: use compare_values")
    first, second = np.atleast_2d(first).astype(np.int64), np.atleast_2d(second).astype(np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if first.shape[1] != labels.size or second.shape[1] != labels.size:
        raise ValueError("both rows need a prediction for every validation row")
    classes = num_classes or int(max(labels.max(), first.max(), second.max())) + 1
    # rows with the same truth and the same predictions everywhere are interchangeable: work per pattern
    patterns, counts = _patterns(np.vstack([labels, first, second]), classes)
    k1, k2 = first.shape[0], second.shape[0]
    onehot_first = _onehot(patterns[0], patterns[1:1 + k1], classes)  # (patterns, k1, C, C)
    onehot_second = _onehot(patterns[0], patterns[1 + k1:], classes)
    full_first = np.einsum("p,pkij->kij", counts, onehot_first)  # (k1, C, C) confusion per seed
    full_second = np.einsum("p,pkij->kij", counts, onehot_second)
    per_seed_first, per_seed_second = _metric(full_first, metric), _metric(full_second, metric)
    observed = float(per_seed_first.mean() - per_seed_second.mean())

    # examples: the jackknife (leave one validation row out of BOTH sides) of the seed-averaged difference
    n = int(counts.sum())
    influence_first = (n - 1) * (per_seed_first[None] - _metric(full_first[None] - onehot_first, metric))
    influence_second = (n - 1) * (per_seed_second[None] - _metric(full_second[None] - onehot_second, metric))
    effect = influence_first.mean(axis=1) - influence_second.mean(axis=1)  # (patterns,) one row's pull on D
    centre = float(counts @ effect) / n
    example_variance = float(counts @ (effect - centre) ** 2) / (n * (n - 1))

    # seeds: the spread of the per-seed metrics. It also holds the rows a seed flips at random, which the
    # example level counts too: counted twice, on purpose. Subtracting them was tried and measured: it
    # leaves the seed part with a noisy near-zero estimate on 2 degrees of freedom, and 8-11% of null
    # comparisons read "sig." (see tests/report/test_verdict.py for the rates this version keeps).
    paired = _paired(same_runs, first_seeds, second_seeds, k1, k2, first_fixed, second_fixed)
    seed_parts = _seed_variance(per_seed_first, per_seed_second, first_fixed, second_fixed, paired)
    return _t_test(observed, example_variance, n, seed_parts, _scope(k1, k2, first_fixed, second_fixed), paired)


Statistic = Callable[[np.ndarray, "np.ndarray | None"], float]
LeftOut = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]


def compare_scores(first: np.ndarray, second: np.ndarray, statistic: Statistic, *, labels: np.ndarray | None = None,
                   gains: Callable[[np.ndarray], np.ndarray] | None = None, first_seeds: list[int] | None = None,
                   second_seeds: list[int] | None = None, first_fixed: bool = False, second_fixed: bool = False,
                   left_out: LeftOut | None = None, same_runs: bool = False) -> Comparison:
    """``statistic(first) - statistic(second)`` for a metric of per-example values (scores, ranks) on the same
    examples, tested against example noise (jackknife) and seed noise, as ``compare`` does for label metrics.

    Args:
        first: per-example values, (seeds, examples); a 1-d array is one seed.
        second: the other row's values on the same examples in the same order.
        statistic: ``statistic(values, labels) -> metric`` for one seed's values.
        labels: what the statistic needs beside the values (the pairs' labels for average precision), or None.
        gains: when the metric is the mean of a per-example gain, that gain (leave-one-out is then exact and fast).
        first_fixed: ``first`` is deterministic (a frozen encoder scored without sampling): no seed variance.
        left_out: ``left_out(values, labels)`` -> the statistic with each example left out, (examples,), when it
            can do better than one recomputation per example (average precision: prefix sums).
        same_runs: both rows were measured on the same runs: equal seed lists pair the seeds (as ``compare``).

    >>> ranks_good, ranks_bad = np.array([1, 1, 2, 1] * 50), np.array([3, 1, 20, 8] * 50)
    >>> compare_scores(ranks_good, ranks_bad, lambda r, _: float((r == 1).mean()),
    ...                gains=lambda r: (r == 1).astype(float)).significant
    True
    """
    first, second = np.atleast_2d(first).astype(float), np.atleast_2d(second).astype(float)
    n = first.shape[1]
    if second.shape[1] != n or (labels is not None and len(labels) != n):
        raise ValueError("both rows need a value for every example")
    full_first, left_out_first = _leave_one_out(first, labels, statistic, gains, left_out)
    full_second, left_out_second = _leave_one_out(second, labels, statistic, gains, left_out)
    observed = float(full_first.mean() - full_second.mean())
    # the jackknife over examples, one example left out of BOTH rows (paired), on the seed-averaged difference
    effect = ((n - 1) * (full_first[:, None] - left_out_first)).mean(axis=0) - \
        ((n - 1) * (full_second[:, None] - left_out_second)).mean(axis=0)  # (examples,)
    example_variance = float(((effect - effect.mean()) ** 2).sum()) / (n * (n - 1))
    k1, k2 = first.shape[0], second.shape[0]
    paired = _paired(same_runs, first_seeds, second_seeds, k1, k2, first_fixed, second_fixed)
    seed_parts = _seed_variance(full_first, full_second, first_fixed, second_fixed, paired)
    return _t_test(observed, example_variance, n, seed_parts, _scope(k1, k2, first_fixed, second_fixed), paired)


def score_interval(values: np.ndarray, statistic: Statistic, *, labels: np.ndarray | None = None,
                   gains: Callable[[np.ndarray], np.ndarray] | None = None, fixed: bool = False,
                   left_out: LeftOut | None = None) -> tuple[float, float]:
    """A 95% interval of one row's metric of per-example values, counting example noise (and seeds unless
    ``fixed``): for a frozen encoder scored once, the examples are the only noise there is.

    >>> low, high = score_interval(np.array([1, 0] * 50), lambda v, _: float(v.mean()), gains=lambda v: v)
    >>> round(low, 2), round(high, 2)
    (0.4, 0.6)
    """
    values = np.atleast_2d(values).astype(float)
    n = values.shape[1]
    full, without = _leave_one_out(values, labels, statistic, gains, left_out)
    effect = ((n - 1) * (full[:, None] - without)).mean(axis=0)
    seed_parts = []
    if not fixed and values.shape[0] > 1:
        seed_parts.append(SeedPart(float(np.var(full, ddof=1)) / full.size, full.size - 1, full.size))
    example_variance = float(((effect - effect.mean()) ** 2).sum()) / (n * (n - 1))
    result = _t_test(float(full.mean()), example_variance, n, seed_parts, SCOPE_BOTH, False)
    return float(result.low if result.low is not None else full.mean()), \
        float(result.high if result.high is not None else full.mean())


def compare_values(first: list[float], second: list[float]) -> Comparison | None:
    """Seeds only (Welch's t-test over the per-seed values), for rows without predictions on shared rows.

    None when either row has a single value: there is no spread to compare against.

    >>> round(compare_values([0.80, 0.81, 0.82], [0.70, 0.71, 0.72]).difference, 3)
    0.1
    """
    if len(first) < 2 or len(second) < 2:
        return None
    from scipy import (
        stats,  # imported when needed: it takes a second to import, and `import bakeoff` should not
    )

    a, b = np.asarray(first, float), np.asarray(second, float)
    difference = float(a.mean() - b.mean())
    if a.std() == 0 and b.std() == 0:
        return Comparison(difference, difference, difference, 1.0 if difference == 0 else 0.0, SCOPE_SEEDS)
    test = stats.ttest_ind(a, b, equal_var=False)
    interval = test.confidence_interval(0.95)
    parts = tuple(SeedPart(float(v.var(ddof=1)) / v.size, v.size - 1, v.size) for v in (a, b))
    return Comparison(difference, float(interval.low), float(interval.high), float(test.pvalue), SCOPE_SEEDS,
                      standard_error=float(np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)),
                      degrees_of_freedom=float(test.df), seed_parts=parts)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment: controls the chance of any false "sig." among several comparisons.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    order = np.argsort(p_values, kind="stable")
    adjusted = np.empty(len(p_values))
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return [round(float(p), 12) for p in adjusted]


def minimum_detectable_effect(rows: int, seeds: int, seed_sd: float, disagreement: float,
                              alpha: float = ALPHA, power: float = 0.8) -> float:
    """The smallest true gap a two-sided test at ``alpha`` detects with ``power`` (Card et al. 2020).

    The difference of two rows' means over ``seeds`` seeds each has variance ``2 seed_sd^2 / seeds`` from the
    seeds plus ``disagreement / rows`` from the examples (paired: only the rows the two models answer
    differently carry information; a share ``disagreement`` of them). A normal approximation.

    >>> round(minimum_detectable_effect(872, 3, 0.008, 0.10), 3)
    0.035
    """
    normal = NormalDist()
    spread = math.sqrt(2 * seed_sd**2 / max(seeds, 1) + disagreement / max(rows, 1))
    return (normal.inv_cdf(1 - alpha / 2) + normal.inv_cdf(power)) * spread


def single_class(predicted: np.ndarray) -> np.ndarray:
    """Per seed: did this run predict one class for every row? (seeds,) bool.

    >>> single_class(np.array([[1, 1, 1], [0, 1, 1]])).tolist()
    [True, False]
    """
    predicted = np.atleast_2d(predicted)
    return (predicted == predicted[:, :1]).all(axis=1)


# -- the pieces ----------------------------------------------------------------------------------------
def _patterns(columns: np.ndarray, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct columns of ``columns`` (label ids < ``classes``) and how often each occurs.

    ``np.unique(axis=1)`` sorts the columns as records, which took most of a comparison's time; when a column fits
    in one integer (classes ** height < 2 ** 62, e.g. 2 classes and up to 61 seeds per pair) it is encoded as one
    and the unique integers are decoded back. Same result, in the same order.

    >>> patterns, counts = _patterns(np.array([[0, 1, 0], [1, 1, 1]]), 2)
    >>> patterns.tolist(), counts.tolist()
    ([[0, 1], [1, 1]], [2, 1])
    """
    height = columns.shape[0]
    if height * math.log2(max(classes, 2)) >= 62:
        return np.unique(columns, axis=1, return_counts=True)
    weights = classes ** np.arange(height - 1, -1, -1, dtype=np.int64)  # the first row is the most significant
    codes, counts = np.unique(weights @ columns, return_counts=True)
    patterns = (codes[None, :] // weights[:, None]) % classes
    return patterns, counts


def _scope(k1: int, k2: int, first_fixed: bool, second_fixed: bool) -> str:
    """What the verdict could count: seeds and examples, examples only (one seed each), or examples alone
    because neither row has seed noise."""
    if first_fixed and second_fixed:
        return SCOPE_FIXED
    one_first, one_second = k1 == 1 and not first_fixed, k2 == 1 and not second_fixed
    if one_first and one_second:
        return SCOPE_EXAMPLES
    return SCOPE_BORROWED if one_first or one_second else SCOPE_BOTH


def _leave_one_out(values: np.ndarray, labels: np.ndarray | None, statistic: Statistic,
                   gains: Callable[[np.ndarray], np.ndarray] | None,
                   left_out: LeftOut | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per seed, the statistic on every example (seeds,) and with each example left out (seeds, examples)."""
    n = values.shape[1]
    if gains is not None:  # a mean of per-example gains: leaving one out is arithmetic
        gained = gains(values)
        return gained.mean(axis=1), (gained.sum(axis=1, keepdims=True) - gained) / (n - 1)
    full = np.array([statistic(row, labels) for row in values])
    if left_out is not None:
        return full, np.array([left_out(row, labels) for row in values])
    keep = ~np.eye(n, dtype=bool)
    left_out = np.array([[statistic(row[keep[i]], None if labels is None else labels[keep[i]]) for i in range(n)]
                         for row in values])
    return full, left_out


def _onehot(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """(patterns, seeds, C, C): each pattern's single confusion cell ``[true, predicted]`` per seed."""
    seeds, patterns = predicted.shape
    out = np.zeros((patterns, seeds, classes, classes))
    out[np.arange(patterns)[None], np.arange(seeds)[:, None], truth[None], predicted] = 1.0
    return out


def _metric(confusion: np.ndarray, metric: str) -> np.ndarray:
    """The metric from confusion counts ``(..., C, C)``; the same definitions as ``bakeoff.metrics``."""
    total = confusion.sum(axis=(-2, -1))
    correct = np.trace(confusion, axis1=-2, axis2=-1)
    if metric == "accuracy":
        return correct / np.maximum(total, 1)
    predicted, actual = confusion.sum(axis=-2), confusion.sum(axis=-1)
    if metric in ("f1", "f1_macro"):
        hits = np.diagonal(confusion, axis1=-2, axis2=-1)
        denominator = predicted + actual
        f1 = np.divide(2 * hits, denominator, out=np.zeros_like(hits), where=denominator > 0)
        return f1[..., 1] if metric == "f1" and confusion.shape[-1] == 2 else f1.mean(axis=-1)
    numerator = correct * total - (predicted * actual).sum(-1)
    denominator = (np.sqrt(total**2 - (predicted * predicted).sum(-1))
                   * np.sqrt(total**2 - (actual * actual).sum(-1)))
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def _paired(same_runs: bool, first_seeds: list[int] | None, second_seeds: list[int] | None, k1: int, k2: int,
            first_fixed: bool, second_fixed: bool) -> bool:
    """Pair the seeds? Only for copies of the same training runs with the same seeds, two or more, neither fixed."""
    return (same_runs and first_seeds is not None and first_seeds == second_seeds and k1 == k2 > 1
            and not first_fixed and not second_fixed)


def _seed_variance(first: np.ndarray, second: np.ndarray, first_fixed: bool, second_fixed: bool,
                   paired: bool) -> list[SeedPart]:
    """The variance of the difference of seed means: the spread of the per-seed differences when ``paired`` (copies
    of the same runs), else one part per row with seed noise, its own spread (the module docstring says why).

    A row with one seed borrows the other row's seed variance (the same data, usually the same model
    family: an assumption the verdict's scope states); with one seed on both sides there is nothing to measure.
    """
    if paired:
        return [SeedPart(float(np.var(first - second, ddof=1)) / first.size, first.size - 1, first.size)]
    spread = {side: float(np.var(values, ddof=1)) for side, values in (("first", first), ("second", second))
              if values.size > 1}
    parts = []
    for side, values, fixed in (("first", first, first_fixed), ("second", second, second_fixed)):
        if fixed:
            continue
        if values.size > 1:
            parts.append(SeedPart(spread[side] / values.size, values.size - 1, values.size))
        elif spread:
            parts.append(SeedPart(next(iter(spread.values())), max(v.size for v in (first, second)) - 1, 1))
    return parts


def _t_test(observed: float, example_variance: float, rows: int, seed_parts: list[SeedPart], scope: str,
            paired: bool) -> Comparison:
    """Welch-Satterthwaite: the difference over its standard error against Student's t, on
    ``(sum of parts)^2 / sum(part^2 / its degrees of freedom)`` degrees of freedom (the examples' part on
    ``rows - 1``, each seed part on its ``k - 1``)."""
    from scipy import special

    parts = [(example_variance, rows - 1), *((part.variance, part.degrees_of_freedom) for part in seed_parts)]
    kept = {"example_variance": example_variance, "rows": rows, "seed_parts": tuple(seed_parts)}
    variance = sum(v for v, _ in parts)
    if variance <= 0:
        p = 1.0 if observed == 0 else 0.0
        return Comparison(observed, observed, observed, p, scope, paired, standard_error=0.0, **kept)
    df = variance**2 / sum(v**2 / d for v, d in parts if d > 0 and v > 0)
    error = math.sqrt(variance)
    # Student's t through scipy.special: the same numbers as stats.t.sf / ppf, without the per-call argument
    # checks that made them a third of a comparison's time (a report compares every pair of rows)
    p = float(2 * special.stdtr(df, -abs(observed) / error))
    half = float(special.stdtrit(df, 1 - ALPHA / 2)) * error
    return Comparison(observed, observed - half, observed + half, min(1.0, p), scope, paired,
                      standard_error=error, degrees_of_freedom=float(df), **kept)


def _p_text(p: float) -> str:
    return f"p={p:.2g}" if p >= 0.001 else "p<0.001"
