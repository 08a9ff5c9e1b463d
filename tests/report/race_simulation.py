"""Simulated races: per-seed predictions drawn as tests/report/test_verdict.py draws them, judged look after look by
the race's own code (``report.sequential.judge`` on ``Row`` objects, exactly as a real race judges the store).

Each validation row has a difficulty (a logit); each seed shifts every row's logit by its own jitter and gets the
row right with that probability. A race starts with ``first`` seeds per row, adds one seed a round to the rows
still undecided (and the leader), and stops when every comparison is decided or at ``max_seeds``. Used by
tests/report/test_sequential.py (fixed seeds, in CI) and benchmarks/race_simulation.py (prints the saving).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bakeoff.report.decision import Answer
from bakeoff.report.leaderboard import Row
from bakeoff.report.sequential import FLIPPED, RACE_SPENDING, Judged, at_seeds, judge, plan, row_key

ROWS = 872  # SST-2's validation rows
DIFFICULTY = (4.0, 4.0)  # mean and spread of the rows' logits: accuracy about 82%, as in test_verdict.py
GAP_3_POINTS = 0.53  # the logit shift that lifts expected accuracy by 3 points (checked in test_verdict.py)
TOLERANCE = 0.01  # 1 point of accuracy


@dataclass
class Outcome:
    """One simulated race: the second row's final answer (from its side), the seeds each row ran, the looks."""

    answer: Answer
    runs: int  # training runs spent, both rows together
    looks: int
    reason: str  # decided or max_seeds


def draw(rng: np.random.Generator, gap: float, seed_jitter: float, seeds: int, rows: int = ROWS
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predictions of two rows over ``seeds`` seeds (seeds, rows) each, the first ``gap`` logits better."""
    labels = rng.integers(2, size=rows)
    difficulty = rng.normal(*DIFFICULTY, size=rows)

    def runs(shift: float) -> np.ndarray:
        jitter = rng.normal(0, seed_jitter, size=(seeds, 1))
        right = rng.random((seeds, rows)) < 1 / (1 + np.exp(-(difficulty + shift + jitter)))
        return np.where(right, labels, 1 - labels)

    return runs(gap), runs(0.0), labels


def row(name: str, predicted: np.ndarray, labels: np.ndarray) -> Row:
    """A leaderboard row of one simulated variant, one run per seed 1..k."""
    seeds = list(range(1, predicted.shape[0] + 1))
    values = [float((p == labels).mean()) for p in predicted]
    return Row(0, "", name, name, "sim", "validation", "trained", seeds, "accuracy", float(np.mean(values)), None,
               None, values, None, None, None, config={"model": name},
               predictions={s: (p, labels, "rows") for s, p in zip(seeds, predicted, strict=True)})


def race(rng: np.random.Generator, gap: float, *, first: int, max_seeds: int, seed_jitter: float = 0.05,
         spending: str = RACE_SPENDING) -> Outcome:
    """One race between a row ``gap`` logits better ("a") and another ("b"): a's answer against b."""
    predicted_a, predicted_b, labels = draw(rng, gap, seed_jitter, max_seeds)
    full = {row_key(r): r for r in (row("a", predicted_a, labels), row("b", predicted_b, labels))}
    seeds = dict.fromkeys(full, first)
    judged = None
    for look in plan(first, max_seeds, spending=spending):
        judged = judge([at_seeds(r, set(range(1, seeds[key] + 1))) for key, r in full.items()], look, TOLERANCE,
                       judged)
        if judged.done or look.last:
            break
        for key in {*judged.racing, judged.leader}:  # the undecided rows and the leader get one more seed each
            seeds[key] += 1
    assert judged is not None
    return Outcome(_answer_of_a(judged, full), sum(seeds.values()), judged.look.index + 1,
                   "decided" if judged.done else "max_seeds")


def fixed(rng: np.random.Generator, gap: float, seeds: int, seed_jitter: float = 0.05) -> Answer:
    """One fixed-design comparison, ``seeds`` seeds per row at the full level: a's answer against b."""
    predicted_a, predicted_b, labels = draw(rng, gap, seed_jitter, seeds)
    full = {row_key(r): r for r in (row("a", predicted_a, labels), row("b", predicted_b, labels))}
    return _answer_of_a(judge(list(full.values()), plan(seeds, seeds)[0], TOLERANCE), full)


def _answer_of_a(judged: Judged, full: dict[str, Row]) -> Answer:
    """Decisions read from the non-leader's side; turn them into a's answer against b."""
    a, b = list(full)
    if judged.leader == a:
        return FLIPPED.get(judged.decisions[b].answer, judged.decisions[b].answer)
    return judged.decisions[a].answer
