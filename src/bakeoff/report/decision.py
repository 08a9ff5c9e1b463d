"""Three answers, not two: a row is better, worse, **equivalent** within a tolerance, or **undecided**.

"We could not tell them apart" is not "they are the same" (absence of evidence is not evidence of absence). A
comparison with the leader answers one of:

- **better** / **worse**: the two-sided test of "no difference" rejects at ``alpha`` (its p-value, Holm-adjusted
  when several rows were compared with one leader, is below ``alpha``), and the gap is larger than the tolerance
  could excuse (the row is not also equivalent).
- **equivalent**: two one-sided tests (TOST; Schuirmann 1987, Lakens 2017) each reject at ``alpha``: the
  difference is above ``-tolerance`` and below ``+tolerance``. Equivalently, the ``1 - 2 alpha`` interval of the
  difference lies inside ``(-tolerance, +tolerance)``. A significant gap smaller than the tolerance is
  equivalent: the tolerance is the user's statement of what difference does not matter.
  Equivalence is a claim about each row on its own: TOST is not Holm-adjusted over a ranking's rows (each
  "equivalent" holds at ``alpha`` by itself), where better/worse is.
- **undecided**: neither. More seeds, or more evaluation rows, would decide it.

The tolerance is in the metric's own units here (``0.01`` = 1 point of accuracy); ``points`` converts the user's
points for metrics on a 0..1 scale. The comparison's standard error and Welch-Satterthwaite degrees of freedom come
from ``report.verdict`` (seeds and examples both counted); a sequential design passes a smaller ``alpha`` per look.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from bakeoff.report.verdict import ALPHA, Comparison

DEFAULT_TOLERANCE_POINTS = 1.0
UNBOUNDED_METRICS = ("loss",)  # metrics not on a 0..1 scale: their tolerance is in their own units


class Answer(StrEnum):
    """A row's answer against its leader; the string is what JSON and tables show. ``decide`` answers one of the
    first four; a ranked row can also be the ``LEADER``, or have ``NO_VERDICT`` (not comparable with the leader:
    scored on other rows, or one seed and no predictions)."""

    BETTER = "better"
    WORSE = "worse"
    EQUIVALENT = "equivalent"
    UNDECIDED = "undecided"
    LEADER = "leader"
    NO_VERDICT = "no verdict"


@dataclass(frozen=True)
class Decision:
    """The answer for ``row - leader`` (signed so that positive means the row is better on the metric).

    ``low``/``high`` bound the ``1 - 2 alpha`` interval TOST reads (90% at alpha 0.05); ``p_difference`` is the
    two-sided p of "no difference" the better/worse answer reads; ``p_equivalence`` the larger of TOST's two
    one-sided p-values.
    """

    answer: Answer
    difference: float
    low: float
    high: float
    tolerance: float
    alpha: float
    p_difference: float
    p_equivalence: float

    def to_dict(self) -> dict[str, object]:
        return {"answer": self.answer.value, "difference": self.difference, "low": self.low, "high": self.high,
                "tolerance": self.tolerance, "alpha": self.alpha, "p_difference": self.p_difference,
                "p_equivalence": self.p_equivalence}

    def text(self, scale: float = 100.0) -> str:
        """The answer with the difference and its interval in points (``scale`` = ``points(metric)``).

        >>> Decision(Answer.WORSE, -0.14, -0.2, -0.08, 0.01, 0.05, 0.001, 1.0).text()
        'worse -14.0 [-20.0, -8.0]'
        """
        return f"{self.answer.value} {_signed(self.difference * scale)} [{_signed(self.low * scale)}, " \
               f"{_signed(self.high * scale)}]"

    @property
    def allows_a_loss_beyond_the_tolerance(self) -> bool:
        """Does the interval reach below ``-tolerance``? (such a row is never recommended in place of another)"""
        return self.low <= -self.tolerance


def points_text(value: float) -> str:
    """``1 point``, ``2.5 points``: a tolerance as a reader says it.

    >>> points_text(1.0), points_text(0.5)
    ('1 point', '0.5 points')
    """
    return f"{value:g} point" + ("" if value == 1 else "s")


def _signed(value: float) -> str:
    return f"{value:+.1f}" if abs(value) >= 0.05 else "0.0"


def reversed_comparison(comparison: Comparison) -> Comparison:
    """``comparison`` read the other way round (``second - first``): the interval and the difference flip, the
    p-values and the noise stay.

    >>> reversed_comparison(Comparison(0.02, 0.01, 0.03, 0.01, "")).low
    -0.03
    """
    from dataclasses import replace

    low = -comparison.high if comparison.high is not None else None
    high = -comparison.low if comparison.low is not None else None
    return replace(comparison, difference=-comparison.difference, low=low, high=high)


def tolerance_of(metric: str, tolerance_points: float | None = None) -> float:
    """The tolerance in ``metric``'s units from the user's points (default ``DEFAULT_TOLERANCE_POINTS``).

    >>> tolerance_of("accuracy"), tolerance_of("accuracy", 2.5)
    (0.01, 0.025)
    """
    return check_tolerance(DEFAULT_TOLERANCE_POINTS if tolerance_points is None else tolerance_points) \
        / points(metric)


def check_tolerance(tolerance_points: float) -> float:
    """The user's tolerance in points, refused in one line unless it is a positive finite number.

    >>> check_tolerance(1)
    1.0
    """
    from bakeoff.errors import BakeoffError

    value = float(tolerance_points)
    if not value > 0 or math.isinf(value):
        raise BakeoffError(f"--tolerance {tolerance_points!r}: give the largest difference that does not matter, in "
                           "points of the metric, as a positive number (e.g. --tolerance 1 for one point of accuracy)")
    return value


def points(metric: str) -> float:
    """How many of the user's tolerance points one unit of ``metric`` is: 100 on a 0..1 scale, else 1.

    >>> points("accuracy"), points("loss")
    (100.0, 1.0)
    """
    return 1.0 if metric in UNBOUNDED_METRICS else 100.0


def decide(comparison: Comparison, tolerance: float, *, alpha: float = ALPHA) -> Decision:
    """better / worse / equivalent / undecided for ``comparison.difference`` (positive: the first side is better).

    Args:
        comparison: from ``report.verdict`` (difference, standard error, degrees of freedom, p-values).
        tolerance: the largest difference that does not matter, in the metric's units (> 0).
        alpha: the level of both tests; a sequential design passes its per-look level.

    >>> from bakeoff.report.verdict import Comparison
    >>> close = Comparison(0.002, None, None, 0.6, "", standard_error=0.003, degrees_of_freedom=50.0)
    >>> decide(close, 0.01).answer.value
    'equivalent'
    >>> decide(close, 0.001).answer.value
    'undecided'
    >>> far = Comparison(-0.05, None, None, 1e-6, "", standard_error=0.005, degrees_of_freedom=50.0)
    >>> decide(far, 0.01).answer.value
    'worse'
    """
    if not tolerance > 0 or math.isinf(tolerance):
        raise ValueError(f"the tolerance must be a positive number, not {tolerance!r}")
    from scipy import special  # Student's t without scipy.stats' per-call checks: races call this per look

    difference = float(comparison.difference)
    error = comparison.standard_error
    p_difference = comparison.p_adjusted if comparison.p_adjusted is not None else comparison.p_value
    if not error:  # no noise measured (both sides deterministic on the same rows): the difference is the fact
        low = high = difference
        p_equivalence = 0.0 if abs(difference) < tolerance else 1.0
    else:
        df = comparison.degrees_of_freedom if comparison.degrees_of_freedom else math.inf
        half = float(special.stdtrit(df, 1 - alpha)) * error
        low, high = difference - half, difference + half
        above = float(special.stdtr(df, -(difference + tolerance) / error))  # H0: difference <= -tolerance
        below = float(special.stdtr(df, (difference - tolerance) / error))  # H0: difference >= +tolerance
        p_equivalence = max(above, below)
    if p_equivalence < alpha:
        answer = Answer.EQUIVALENT
    elif p_difference < alpha:
        answer = Answer.BETTER if difference > 0 else Answer.WORSE
    else:
        answer = Answer.UNDECIDED
    return Decision(answer, difference, low, high, tolerance, alpha, float(p_difference), p_equivalence)
