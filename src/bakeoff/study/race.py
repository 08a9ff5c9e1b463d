"""Racing: a study that runs until it decides (``bakeoff run FILE --until-decided``).

After the seeds the study file asks for, every row is compared with its ranking's leader (better, worse,
equivalent within the tolerance, or undecided: ``report/decision.py``) at the level of an alpha-spending boundary
(``report/sequential.py``). The rows still undecided, and the leader they are compared with, get one more seed
each -- a *round* -- and the rows are judged again; a row once decided stops getting runs. The race stops when
every comparison is decided, when the rows reach ``max_seeds``, or when the time budget is out, and says which.

Nothing but the store holds the race. A round's trials are ordinary trials (their ids hash their configs, the
seed included: round ``r`` adds seed ``max(study seeds) + r``), so running the study again replays the looks from
the runs in the store -- look ``k`` sees only the study's seeds and the first ``k`` round seeds -- finds the same
rows racing, skips the rounds already run and re-runs a round a kill or Ctrl-C cut short. ``race.json`` in the
project folder is a record for the report, rewritten whole after each look; nothing reads it back to resume.

The time budget counts this ``bakeoff run`` (a resumed race gets its budget again); it stops new rounds, not a
round under way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bakeoff.config import TrainConfig, variant_of
from bakeoff.config.decide import DEFAULT_MAX_SEEDS
from bakeoff.errors import BakeoffError
from bakeoff.io import write_json_atomic
from bakeoff.report.decision import DEFAULT_TOLERANCE_POINTS, points
from bakeoff.report.leaderboard import Leaderboard, build
from bakeoff.report.racing import RACE_FILE, RaceRecord, Standing
from bakeoff.report.sequential import RACE_SPENDING, Judged, Look, at_seeds, judge, plan, row_key
from bakeoff.study.events import OnEvent, RaceEnded, RaceLooked
from bakeoff.study.spec import Study
from bakeoff.study.trials import Trial, make_trial
from bakeoff.track import Store

if TYPE_CHECKING:
    from bakeoff.study.runner import TrialOutcome

RunRound = Callable[[list[Trial]], "list[TrialOutcome]"]


@dataclass(frozen=True)
class RaceSettings:
    """How far a race may go: ``tolerance`` in points, ``max_seeds`` per row, ``seconds`` of this run (or None)."""

    tolerance: float = DEFAULT_TOLERANCE_POINTS
    max_seeds: int = DEFAULT_MAX_SEEDS
    seconds: float | None = None


def settings_for(study: Study, tolerance: float | None = None, max_seeds: int | None = None,
                 seconds: float | None = None) -> RaceSettings:
    """The race's settings: the command line's, else the study file's ``decide:``, else the defaults; checked
    against the study before anything runs."""
    chosen = RaceSettings(tolerance if tolerance is not None else study.decide.tolerance or DEFAULT_TOLERANCE_POINTS,
                          max_seeds if max_seeds is not None else study.decide.max_seeds or DEFAULT_MAX_SEEDS,
                          seconds if seconds is not None else study.decide.seconds)
    if study.schedule is not None:
        raise BakeoffError("--until-decided races seeds of a study's variants; successive halving (schedule:) "
                           "already chooses which variants go on: leave one of them out")
    if any(trial.embedding for trial in study.trials):
        raise BakeoffError("--until-decided races trained variants over seeds: an embedding study has none to race")
    if chosen.max_seeds < len(study.seeds):
        raise BakeoffError(f"max_seeds {chosen.max_seeds} is below the {len(study.seeds)} seeds the study lists: "
                           f"raise --max-seeds to at least {len(study.seeds)}")
    if not chosen.tolerance > 0:
        raise BakeoffError(f"--tolerance {chosen.tolerance}: give the largest difference that does not matter, in "
                           "points above zero (e.g. 1)")
    return chosen


def round_seeds(study: Study, settings: RaceSettings) -> list[int]:
    """The seed each round adds, in order: after the study's highest seed.

    >>> from pathlib import Path
    >>> round_seeds(Study("s", Path("s.yaml"), [], seeds=[1, 2, 3]), RaceSettings(max_seeds=5))
    [4, 5]
    """
    top = max(study.seeds)
    return [top + r for r in range(1, settings.max_seeds - len(study.seeds) + 1)]


def race(study: Study, settings: RaceSettings, run_round: RunRound, store: Store, started: float,
         on_event: OnEvent) -> tuple[RaceRecord, list[TrialOutcome]]:
    """Judge, add a round, judge again, until the race ends; returns its record and the rounds' trial outcomes."""
    looks = plan(len(study.seeds), settings.max_seeds)
    extra = round_seeds(study, settings)
    templates = {trial.variant: trial for trial in sorted(study.trials, key=lambda t: t.config["seed"])}
    record = RaceRecord(study.name, settings.tolerance, settings.max_seeds, len(study.seeds), RACE_SPENDING,
                        settings.seconds, fixed_runs=len(templates) * settings.max_seeds)
    outcomes: list[TrialOutcome] = []
    judged: dict[str, Judged] = {}
    board = build(study.name, store, baselines=False)
    reason = ""
    for look in looks:
        allowed = {*study.seeds, *extra[:look.index]}
        judged = _judge(board, templates, look, allowed, settings, judged)
        racing = _racing_variants(board, judged)
        _record(record, board, judged, templates, allowed, look, time.monotonic() - started)
        _save(record, store)
        if not racing:
            reason = "decided"
        elif look.last:
            reason = "max_seeds"
        elif settings.seconds is not None and time.monotonic() - started > settings.seconds:
            reason = "budget"
        on_event(RaceLooked(look.index, look.seeds, record.standings, 0 if reason else len(racing)))
        if reason:
            break
        seed = extra[look.index]
        trials = [make_trial(TrainConfig.from_dict({**templates[v].config, "seed": seed}).validate(),
                             templates[v].compress, templates[v].sweep) for v in sorted(racing)]
        done = run_round(trials)
        outcomes += done
        if any(o.status == "BUDGET" for o in done):
            reason = "study budget"
            break
        if not all(o.resumed for o in done):
            board = build(study.name, store, baselines=False)  # new runs: read the store again
    else:
        reason = "max_seeds"
    record.reason = reason
    record.seconds = time.monotonic() - started
    _save(record, store)
    on_event(RaceEnded(record))
    return record, outcomes


def _judge(board: Leaderboard, templates: dict[str, Trial], look: Look, allowed: set[int],
           settings: RaceSettings, earlier: dict[str, Judged]) -> dict[str, Judged]:
    """Every ranking's rows of this study, as they stood at ``look``, judged against their leader."""
    out = {}
    for ranking in board.rankings:
        rows = [at_seeds(row, allowed) for row in ranking.rows
                if variant_of(row.config) in templates and set(row.seeds) & allowed]
        if rows:
            tolerance = settings.tolerance / points(ranking.metric)
            out[ranking.name] = judge(rows, look, tolerance, earlier.get(ranking.name))
    return out


def _racing_variants(board: Leaderboard, judged: dict[str, Judged]) -> set[str]:
    """The variants that get the next round's seed: those of undecided rows, and their rankings' leaders."""
    keys = {key for result in judged.values() if result.racing for key in (*result.racing, result.leader)}
    return {variant_of(row.config) for row in board.rows if row_key(row) in keys}


def _record(record: RaceRecord, board: Leaderboard, judged: dict[str, Judged], templates: dict[str, Trial],
            allowed: set[int], look: Look, seconds: float) -> None:
    """The record as it stands after ``look``: each row's answer, interval in points and seeds."""
    record.looks, record.seconds = look.index + 1, seconds
    record.standings = []
    runs = set()
    for ranking in board.rankings:
        result = judged.get(ranking.name)
        if result is None:
            continue
        unit = points(ranking.metric)
        for row in ranking.rows:
            key = row_key(row)
            if variant_of(row.config) not in templates:
                continue
            seeds = [seed for seed in row.seeds if seed in allowed]
            if row.method == "trained":
                runs.update((variant_of(row.config), seed) for seed in seeds)
            decision = result.decisions.get(key)
            if key == result.leader:
                record.standings.append(Standing(ranking.name, row.label, "leader", len(seeds)))
            elif decision is None:
                record.standings.append(Standing(ranking.name, row.label, "no verdict", len(seeds)))
            else:
                span = (2.0 if ranking.metric == "mcc" else 1.0) * unit if unit > 1 else float("inf")
                low, high = max(decision.low * unit, -span), min(decision.high * unit, span)  # what a gap can be
                record.standings.append(Standing(
                    ranking.name, row.label, decision.answer.value, len(seeds), decision.difference * unit,
                    low, high, result.decided_at.get(key)))
    record.runs = len(runs)


def _save(record: RaceRecord, store: Store) -> None:
    write_json_atomic(store.root / record.study / RACE_FILE, record.to_dict())
