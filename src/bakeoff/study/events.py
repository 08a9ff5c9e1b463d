"""What a running study tells whoever watches it (the CLI's progress display), as typed events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from bakeoff.report.racing import RaceRecord, Standing
    from bakeoff.study.runner import TrialOutcome
    from bakeoff.study.trials import Trial


@dataclass(frozen=True)
class StudyStarted:
    total: int  # trials this run of the study will account for (finished before, to run, over budget)
    threads: int | None = None  # torch threads per trial (locally: the cores shared out among parallel trials)
    note: str | None = None  # why a trial has fewer threads than the study asked for


@dataclass(frozen=True)
class TrialStarted:
    trial: Trial


@dataclass(frozen=True)
class TrialProgress:
    """A running trial's training: ``step`` of ``total`` optimizer steps after ``seconds`` of training."""

    trial: Trial
    step: int
    total: int
    seconds: float


@dataclass(frozen=True)
class TrialFinished:
    outcome: TrialOutcome


@dataclass(frozen=True)
class RungStarted:
    """Successive halving promoted ``trials`` to train for ``epochs``."""

    trials: int
    epochs: float


@dataclass(frozen=True)
class RaceLooked:
    """A race judged its rows after ``seeds`` seeds (look ``look``, 0: the study's own); ``racing`` variants get
    the next round's seed (0: none, the race ends)."""

    look: int
    seeds: int
    standings: list[Standing]
    racing: int


@dataclass(frozen=True)
class RaceEnded:
    record: RaceRecord


StudyEvent = Union[StudyStarted, TrialStarted, TrialProgress, TrialFinished, RungStarted, RaceLooked, RaceEnded]
OnEvent = Callable[[StudyEvent], None]
