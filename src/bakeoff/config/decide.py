"""The ``decide:`` options (a study file's block, and the ``bakeoff run`` flags): what a decision needs, and how far
``bakeoff run FILE --until-decided`` may race. Declared once here; study/spec.py checks the block at its lines and
cli/study.py makes the flags from the same fields."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bakeoff.config.options import option
from bakeoff.errors import BakeoffError

DEFAULT_MAX_SEEDS = 10


@dataclass
class Decide:
    """The ``decide:`` block: what a decision needs, and how far ``bakeoff run FILE --until-decided`` may race.

    Declared once: the study-file check and the ``bakeoff run`` flags (``--tolerance``, ``--max-seeds``,
    ``--budget``) both read these fields.
    """

    tolerance: float | None = option(None, "The largest difference that does not matter, in points of the metric "
                                           "(1 = one point of accuracy).", kind=float, above=0,
                                     off="1 point")
    max_seeds: int | None = option(None, "Racing: seeds per row at most (the study's own seeds count).",
                                   kind=int, at_least=2, off=f"{DEFAULT_MAX_SEEDS}")
    budget: str | None = option(None, "Racing: the time this `bakeoff run` may race for: 30m, 2h, 90s or seconds.",
                                kind=str, off="no limit")

    @property
    def seconds(self) -> float | None:
        """The time budget in seconds, or None."""
        return None if self.budget is None else duration_seconds(self.budget)


def duration_seconds(text: str | float) -> float:
    """``30m``, ``2h``, ``90s``, ``1.5h`` or a number of seconds, as seconds; ``BakeoffError`` otherwise.

    >>> duration_seconds("30m"), duration_seconds(45)
    (1800.0, 45.0)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), "s"
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
        if not match:
            raise BakeoffError(f"time budget {text!r}: give a duration such as 30m, 2h, 90s or a number of seconds")
        value, unit = float(match.group(1)), match.group(2) or "s"
    if value <= 0:
        raise BakeoffError(f"time budget {text!r}: give a duration above zero, such as 30m")
    return value * {"s": 1, "m": 60, "h": 3600}[unit]
