"""What a race decided, as a record (``race.json`` in the study's project folder) and as the report's opening.

A race (``bakeoff run FILE --until-decided``) is derived from the store: which rows raced at which look follows
from the runs there, replayed look by look (``study/race.py``). This record is what the report and the CLI show,
rewritten whole (temp file, rename) after every look; nothing reads it to resume a race.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bakeoff.report.decision import Answer
from bakeoff.report.sections import Section

RACE_FILE = "race.json"
REASONS = {
    "decided": "every comparison with the leader was decided",
    "max_seeds": "the rows reached max_seeds",
    "budget": "the time budget ran out",
    "study budget": "the study's own budget (max_trials / max_hours) ran out",
}


@dataclass
class Standing:
    """One row at the end of a race. ``difference``/``low``/``high``: row minus leader in points, the interval the
    TOST read (``1 - 2 alpha`` at the look that decided it, or the last look)."""

    ranking: str
    label: str
    answer: Answer  # LEADER, BETTER, WORSE, EQUIVALENT, UNDECIDED or NO_VERDICT (its string as given is converted)
    seeds: int
    difference: float | None = None
    low: float | None = None
    high: float | None = None
    decided_at: int | None = None  # the look that decided it (0: the study's own seeds)

    def __post_init__(self) -> None:
        self.answer = Answer(self.answer)  # race.json and older callers give the string


@dataclass
class RaceRecord:
    """A race: its settings, how it ended, each row's standing, and the runs it spent against a fixed design."""

    study: str
    tolerance: float  # points
    max_seeds: int
    first_seeds: int
    spending: str
    budget_seconds: float | None
    looks: int = 0  # looks taken (the first at the study's own seeds)
    reason: str = ""  # decided, max_seeds, budget, study budget; "" while the race is under way
    runs: int = 0  # training runs of the raced variants in the store (every seed)
    fixed_runs: int = 0  # the fixed design: every variant at max_seeds
    seconds: float = 0.0  # this `bakeoff run`'s time
    standings: list[Standing] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RaceRecord:
        values = dict(values)
        values["standings"] = [Standing(**s) for s in values.get("standings") or []]
        return cls(**values)

    @property
    def headline(self) -> str:
        """The decision in one paragraph: what was chosen, within what tolerance, and what the race cost.

        >>> record = RaceRecord("s", 1.0, 8, 3, "obrien-fleming", None, 2, "decided", 8, 16, 60.0,
        ...                     [Standing("sst2", "a", "leader", 4), Standing("sst2", "b", "worse", 4, -5, -7, -3, 1)])
        >>> record.headline.split(":")[0]
        'Race decided (every comparison with the leader was decided)'
        """
        rankings = dict.fromkeys(s.ranking for s in self.standings)
        parts = []
        for ranking in rankings:
            rows = [s for s in self.standings if s.ranking == ranking]
            leader = next((s for s in rows if s.answer is Answer.LEADER), None)
            if leader is None:
                continue
            equivalent = [s.label for s in rows if s.answer is Answer.EQUIVALENT]
            undecided = [s.label for s in rows if s.answer is Answer.UNDECIDED]
            text = f"{ranking}: choose {leader.label}"
            text += (f" (or any of {', '.join(equivalent)}: equivalent within ±{self.tolerance:g} points)"
                     if equivalent else "")
            text += f"; still undecided: {', '.join(undecided)}" if undecided else ""
            parts.append(text)
        saving = (f"{self.runs} training runs against {self.fixed_runs} for a fixed design at max_seeds "
                  f"{self.max_seeds}" if self.fixed_runs else f"{self.runs} training runs")
        state = {"decided": "Race decided", "": "Race not finished"}.get(self.reason, "Race ended")
        why = REASONS.get(self.reason, self.reason) or "stopped or still running: run the same command to go on"
        return (f"{state} ({why}): " + "; ".join(parts) + f". Tolerance ±{self.tolerance:g} points; {self.looks} look(s); {saving}.")


def race_section(record: RaceRecord) -> Section:
    """The report's first section when the study raced: how it looked, each row's answer (and why a row is
    undecided), and the time it took. The decision itself (``headline``) opens the report's summary, above it."""
    sentences = [f"The race looked after the study's own {record.first_seeds} seed(s) and after each round of one more "
                 f"seed, up to {record.max_seeds}; rows decided at a look stopped getting runs. Each look tests at an "
                 f"O'Brien-Fleming-type alpha-spending level (Lan-DeMets), so the whole race calls a false difference "
                 f"significant at most 5% of the time; equivalence is TOST within ±{record.tolerance:g} points."]
    if record.budget_seconds:
        sentences.append(f"Time budget: {record.budget_seconds:.0f} s; this run took {record.seconds:.0f} s.")
    table = [["ranking", "row", "answer", "row minus leader (points)", "interval (points)", "seeds", "decided at",
              "why"]]
    for s in record.standings:
        table.append([s.ranking, s.label, s.answer, _points(s.difference),
                      f"[{_points(s.low)}, {_points(s.high)}]" if s.low is not None else "-", str(s.seeds),
                      "-" if s.decided_at is None else ("own seeds" if s.decided_at == 0 else f"round {s.decided_at}"),
                      _why(s, record)])
    return Section("Decision (race)", sentences, table, data=record.to_dict())


def _why(standing: Standing, record: RaceRecord) -> str:
    tolerance = record.tolerance
    if standing.answer is Answer.LEADER:
        return "best mean among the rows still racing"
    if standing.answer is Answer.EQUIVALENT:
        return f"the whole interval lies within ±{tolerance:g}"
    if standing.answer in (Answer.BETTER, Answer.WORSE):
        return "the interval excludes zero at the look's level"
    if standing.answer is Answer.UNDECIDED and standing.low is not None:
        return (f"the interval crosses zero and reaches beyond ±{tolerance:g}; the race ended: "
                f"{REASONS.get(record.reason, record.reason)}")
    return "not comparable with the leader (scored on other rows, or one seed)"


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"
