"""Looking again after every round, honestly: an alpha-spending boundary over a race's planned looks.

A race (``bakeoff run FILE --until-decided``) tests each row against the leader after the study's own seeds and
again after every round of one more seed, up to ``max_seeds``. Testing each look at 5% would call a false
difference "significant" far more often than 5% over the whole race (Armitage, McPherson & Rowe 1969). The
boundary here spends the race's 5% over its looks instead (Lan & DeMets 1983), so that the whole race, however
many looks it takes, makes a false "better"/"worse" at most 5% of the time.

**The spending function: O'Brien-Fleming type** (Lan-DeMets), on each side ``alpha_s(t) = 2 - 2 Phi(z_{alpha_s/2} /
sqrt(t))`` with ``alpha_s = alpha / 2`` (the convention of gsDesign's ``sfLDOF`` and rpact's ``asOF``, whose
published boundaries the tests reproduce).
It spends almost nothing at the first looks and nearly all of alpha at the last, so

- a race that runs to ``max_seeds`` ends at a nominal level close to the fixed design's 5% (at 3 -> 8 seeds the
  last look tests at about 3.9%): it loses little power against simply running ``max_seeds`` seeds;
- an early stop needs overwhelming evidence. This matters here more than in a clinical trial: at the first look
  a row's seed spread is estimated from 2-3 seeds (1-2 degrees of freedom), and a boundary that spends much
  alpha early (Pocock type, ``alpha ln(1 + (e - 1) t)``, about equal nominal levels at every look) stops on a
  lucky small spread. Pocock type stops earlier on large gaps but pays with a lower level at the last look (1.5% at
  3 -> 8 seeds), so a race that needs every seed decides less. Both are here (``SPENDING``); racing uses
  O'Brien-Fleming type, and the simulation tests and ``benchmarks/race_simulation.py`` measure its error rate,
  power and saving.

**Information fraction = seeds so far / max_seeds.** A look with ``n`` seeds per row sits at ``t = n / max_seeds``.
This is exact for the seed part of a comparison's variance (``var / n``) and an approximation for its example
part (the evaluation rows are the same at every look; averaging more seeds shrinks only the rows they disagree
on). Lan-DeMets spending stays valid under a misstated information fraction as long as the looks are not chosen
from the data, which they are not (one look per round); the simulations in tests/report/test_sequential.py
check the error rate with the verdict's own statistic.

**The per-look levels.** The boundary ``c_1 .. c_K`` (z scale, two-sided) solves, look after look,
``P(no earlier crossing, |Z_k| >= c_k) = alpha(t_k) - alpha(t_{k-1})`` for a Brownian motion observed at
``t_1 < .. < t_K``; a look's nominal level is ``2 (1 - Phi(c_k))``, and the verdict's own p-value (Student's t with
Welch-Satterthwaite degrees of freedom) is read against it. The difference test spends ``alpha`` two-sided; each
of TOST's two one-sided tests spends ``alpha`` on its side (the two-sided boundary at ``2 alpha``, halved), as
the fixed design's ``1 - 2 alpha`` interval does. The crossing probabilities come from the recursive numerical
integration of Armitage, McPherson & Rowe (the method of gsDesign and ldbounds), with ``scipy.stats.norm`` and
``scipy.integrate.simpson`` on a grid, and ``scipy.optimize.brentq`` for each ``c_k``. scipy's
``multivariate_normal.cdf`` computes the same rectangles by quasi-Monte Carlo and was tried first: at the
precision a first look needs (its increment is about 3e-4) it took 0.8 s per 8-look probability on this machine,
and a boundary takes dozens of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from bakeoff.config import variant_of
from bakeoff.metrics import metric_info
from bakeoff.report.decision import Answer, Decision, decide
from bakeoff.report.leaderboard import Row, compare_rows
from bakeoff.report.verdict import ALPHA, Comparison, holm

SPENDING = ("obrien-fleming", "pocock")
RACE_SPENDING = "obrien-fleming"
GRID = 801  # points of the density grid per look; the boundaries are then exact to about 1e-4 in z


def spent(fraction: float, alpha: float = ALPHA, spending: str = RACE_SPENDING) -> float:
    """The share of ``alpha`` (two-sided, ``alpha / 2`` a side) spent by information fraction ``fraction``.

    >>> round(spent(1.0), 6), round(spent(0.5), 5), round(spent(0.5, spending="pocock"), 5)
    (0.05, 0.00305, 0.03101)
    """
    from scipy import stats

    fraction = min(max(float(fraction), 0.0), 1.0)
    if fraction == 0:
        return 0.0
    if spending == "obrien-fleming":  # per side, as gsDesign and rpact spend it: alpha / 2 on each side
        return float(4 * stats.norm.sf(stats.norm.isf(alpha / 4) / math.sqrt(fraction)))
    if spending == "pocock":
        return float(alpha * math.log(1 + (math.e - 1) * fraction))
    raise ValueError(f"spending {spending!r}: use one of {', '.join(SPENDING)}")


def boundaries(fractions: tuple[float, ...], alpha: float = ALPHA, spending: str = RACE_SPENDING) -> list[float]:
    """The two-sided z boundary ``c_k`` of each look at information fractions ``fractions`` (increasing, last <= 1).

    >>> [round(c, 2) for c in boundaries((0.2, 0.4, 0.6, 0.8, 1.0))]  # Lan-DeMets O'Brien-Fleming type, K = 5
    [4.88, 3.36, 2.68, 2.29, 2.03]
    """
    return list(_boundaries(tuple(round(float(t), 12) for t in fractions), float(alpha), spending))


@lru_cache(maxsize=256)
def _boundaries(fractions: tuple[float, ...], alpha: float, spending: str) -> tuple[float, ...]:
    from scipy import integrate, optimize, stats

    if not fractions or any(b <= a for a, b in zip(fractions, fractions[1:])) or fractions[0] <= 0 \
            or fractions[-1] > 1 + 1e-12:
        raise ValueError(f"information fractions must increase within (0, 1], got {fractions}")
    out: list[float] = []
    grid = density = None  # the sub-density of the score S_k = Z_k sqrt(t_k) over paths not yet stopped
    previous_spent, previous_t = 0.0, 0.0
    for t in fractions:
        increment = spent(t, alpha, spending) - previous_spent
        previous_spent += increment
        if grid is None:  # the first look: S_1 ~ N(0, t_1)
            c = float(stats.norm.isf(increment / 2)) if increment > 0 else math.inf
            out.append(c)
            bound = c * math.sqrt(t)
            grid = np.linspace(-bound, bound, GRID)
            density = stats.norm.pdf(grid, scale=math.sqrt(t))
            previous_t = t
            continue
        step = math.sqrt(t - previous_t)  # the score's increment since the last look: N(0, t - t_prev)

        def crossing(c: float, grid=grid, density=density, step=step, t=t) -> float:
            bound = c * math.sqrt(t)
            outside = stats.norm.cdf((-bound - grid) / step) + stats.norm.sf((bound - grid) / step)
            return float(integrate.simpson(density * outside, x=grid))

        if increment <= 0:
            c = math.inf
        else:
            low, high = 0.0, 40.0
            c = float(optimize.brentq(lambda c: crossing(c) - increment, low, high, xtol=1e-9))
        out.append(c)
        bound = min(c, 40.0) * math.sqrt(t)
        new_grid = np.linspace(-bound, bound, GRID)
        kernel = stats.norm.pdf((new_grid[:, None] - grid[None, :]) / step) / step  # (new, old)
        density = integrate.simpson(kernel * density[None, :], x=grid, axis=1)
        grid, previous_t = new_grid, t
    return tuple(out)


@dataclass(frozen=True)
class Look:
    """One look of a race: after ``seeds`` seeds per row, of at most ``max_seeds``, the levels its tests use.

    ``difference_alpha``: the two-sided level of "no difference" (better/worse); ``equivalence_alpha``: the level
    of each of TOST's one-sided tests. At ``seeds == max_seeds`` with one look they are the fixed design's alpha.
    """

    index: int  # 0: the study's own seeds
    seeds: int
    max_seeds: int
    difference_alpha: float
    equivalence_alpha: float

    @property
    def fraction(self) -> float:
        """The information fraction: seeds so far / max_seeds."""
        return self.seeds / self.max_seeds

    @property
    def last(self) -> bool:
        return self.seeds >= self.max_seeds


def plan(first_seeds: int, max_seeds: int, alpha: float = ALPHA, spending: str = RACE_SPENDING) -> list[Look]:
    """The looks of a race that starts with ``first_seeds`` seeds per row and adds one a round up to ``max_seeds``.

    >>> looks = plan(3, 8)
    >>> len(looks), looks[0].seeds, looks[-1].seeds, round(looks[-1].difference_alpha, 4)
    (6, 3, 8, 0.0388)
    >>> plan(3, 3)[0].difference_alpha  # one look: the fixed design
    0.05
    """
    if first_seeds < 1 or max_seeds < first_seeds:
        raise ValueError(f"a race needs 1 <= first_seeds <= max_seeds, got {first_seeds} and {max_seeds}")
    counts = list(range(first_seeds, max_seeds + 1))
    fractions = tuple(n / max_seeds for n in counts)
    difference = boundaries(fractions, alpha, spending)
    equivalence = boundaries(fractions, min(2 * alpha, 0.999), spending)
    return [Look(index, n, max_seeds, _level(c), _level(e) / 2)
            for index, (n, c, e) in enumerate(zip(counts, difference, equivalence, strict=True))]


def _level(c: float) -> float:
    """The two-sided nominal level of a z boundary; exactly alpha's share when it is the only look."""
    from scipy import stats

    return 0.0 if math.isinf(c) else float(round(2 * stats.norm.sf(c), 12))


def decide_at(comparison: Comparison, tolerance: float, look: Look) -> Decision:
    """``decide`` at one look of a race: equivalence at the look's TOST level, else better/worse at its difference
    level (read against the comparison's Holm-adjusted p when it has one), else undecided.

    >>> close = Comparison(0.002, None, None, 0.6, "", standard_error=0.003, degrees_of_freedom=50.0)
    >>> decide_at(close, 0.01, plan(3, 8)[-1]).answer.value
    'equivalent'
    >>> decide_at(close, 0.01, plan(3, 8)[0]).answer.value  # the first look asks for much more evidence
    'undecided'
    """
    found = decide(comparison, tolerance, alpha=look.equivalence_alpha)
    if found.answer is Answer.EQUIVALENT:
        return found
    if found.p_difference < look.difference_alpha:
        answer = Answer.BETTER if found.difference > 0 else Answer.WORSE
    else:
        answer = Answer.UNDECIDED
    return replace(found, answer=answer)


# -- one look of a race: the rows as they stand, against the leader ------------------------------------------
FLIPPED = {Answer.BETTER: Answer.WORSE, Answer.WORSE: Answer.BETTER}


def row_key(row: Row) -> str:
    """What identifies a row across looks: its variant (config minus seed) and method (trained, a compression)."""
    return f"{variant_of(row.config)} {row.method}"


def at_seeds(row: Row, seeds: list[int] | set[int]) -> Row:
    """``row`` as it stood with only the runs of ``seeds`` (a race's earlier look, replayed from the store).

    >>> row = Row(1, "", "a", "a", "t", "validation", "trained", [1, 2, 3], "accuracy", 0.8, None, None,
    ...           [0.7, 0.8, 0.9], None, None, None)
    >>> at_seeds(row, {1, 2}).mean
    0.75
    """
    keep = [i for i, seed in enumerate(row.seeds) if seed in seeds]
    values = [row.values[i] for i in keep]
    return replace(row, seeds=[row.seeds[i] for i in keep], values=values,
                   mean=sum(values) / len(values) if values else math.nan, low=None, high=None,
                   run_paths=[row.run_paths[i] for i in keep if i < len(row.run_paths)],
                   predictions={s: v for s, v in row.predictions.items() if s in seeds},
                   scores={s: v for s, v in row.scores.items() if s in seeds})


@dataclass
class Judged:
    """What one look decided: the leader, each other row's decision (its answer from the row's side), and which
    rows still race. ``stopped`` carries the rows decided at earlier looks (decisions are final, as in any group
    sequential design); ``unpaired`` the rows that cannot be compared with the leader (scored on other rows)."""

    look: Look
    leader: str
    decisions: dict[str, Decision] = field(default_factory=dict)  # row key -> decision, answer from the row's side
    decided_at: dict[str, int] = field(default_factory=dict)  # row key -> the look index that decided it
    racing: list[str] = field(default_factory=list)  # undecided rows: they (and the leader) get another seed
    unpaired: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Every comparison with the leader decided."""
        return not self.racing


def judge(rows: list[Row], look: Look, tolerance: float, earlier: Judged | None = None) -> Judged:
    """Each row still in the race against the leader at ``look``: better, worse, equivalent or undecided.

    Args:
        rows: one ranking's rows (no baselines), each with the runs it had at this look (``at_seeds``).
        look: the look's levels (``plan``).
        tolerance: in the metric's units (``points`` converts the user's points).
        earlier: the previous look's result: the rows it had decided stay decided and are not tested again.

    The leader is the best mean among the rows not yet decided. The p-values of the rows tested at this look are
    Holm-adjusted together, as the leaderboard does.
    """
    if not rows:
        raise ValueError("a look needs at least one row")
    metric = rows[0].metric
    sign = 1.0 if metric_info(metric).higher_is_better else -1.0
    by_key = {row_key(row): row for row in rows}
    decided = dict(earlier.decisions) if earlier else {}
    decided_at = dict(earlier.decided_at) if earlier else {}
    decided = {key: decision for key, decision in decided.items() if key in decided_at}
    open_rows = [key for key in by_key if key not in decided_at]
    leader = max(open_rows or list(by_key), key=lambda key: sign * by_key[key].mean)
    tested: list[tuple[str, Comparison]] = []
    unpaired = []
    for key in open_rows:
        if key == leader:
            continue
        comparison = compare_rows(by_key[leader], by_key[key], metric)
        if comparison is None:
            unpaired.append(key)
            continue
        tested.append((key, seed_degrees(comparison, by_key[leader], by_key[key])))
    racing = []
    for (key, comparison), adjusted in zip(tested, holm([c.p_value for _, c in tested]), strict=True):
        found = decide_at(replace(comparison, p_adjusted=adjusted), tolerance, look)  # leader minus row: "better" means the leader is
        found = replace(found, answer=FLIPPED.get(found.answer, found.answer), difference=-found.difference,
                        low=-found.high, high=-found.low)
        decided[key] = found
        if found.answer is Answer.UNDECIDED:
            racing.append(key)
        else:
            decided_at[key] = look.index
    return Judged(look, leader, decided, decided_at, racing, unpaired)


def seed_degrees(comparison: Comparison, first: Row, second: Row) -> Comparison:
    """``comparison`` read against Student's t with the seeds' own degrees of freedom (Hsu's conservative choice
    for Welch's problem): ``k - 1`` for ``k`` paired seeds, ``min(k1, k2) - 1`` unpaired, the other row's when one
    is deterministic; a comparison with no seed spread to measure (one seed a row) gets ``p = 1``.

    Why not the verdict's Welch-Satterthwaite degrees of freedom: a race's first looks test far in the tail (an
    O'Brien-Fleming first look at 3 of 8 seeds tests at 0.05%), where Satterthwaite is most wrong when the seed
    part is estimated on 1-2 degrees of freedom: a lucky small seed spread makes the degrees of freedom large and
    the tail light. Measured on simulated A/A comparisons (872 rows, seed spread 1.7-3.1 points, 400 each):
    p < 0.001 in 4-5% of them with 2 seeds and 1.3-2.3% with 3 seeds (nominal 0.1%); with the seeds' degrees of
    freedom, none. That was with the seeds paired; with each row's own seed spread (``verdict.py`` now), 4,000 A/A
    comparisons on the same seeds still read p < 0.001 in 0.5-1.1% (2 seeds) and 0.13-0.2% (3 seeds).
    """
    from scipy import special

    fixed_first, fixed_second = first.baseline or first.deterministic, second.baseline or second.deterministic
    counts = [len(row.seeds) for row, fixed in ((first, fixed_first), (second, fixed_second)) if not fixed]
    if not counts or not comparison.standard_error:  # no seed noise on either side, or none measured
        return comparison
    df = min(counts) - 1
    if df < 1:
        return replace(comparison, p_value=1.0, p_adjusted=None, degrees_of_freedom=None)
    p = float(2 * special.stdtr(df, -abs(comparison.difference) / comparison.standard_error))
    return replace(comparison, p_value=min(1.0, p), p_adjusted=None, degrees_of_freedom=float(df))
