"""``bakeoff run`` and ``bakeoff leaderboard``: a whole bake-off from one file, and its ranked results."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from bakeoff.cli._common import console, fmt, friendly_errors, print_json
from bakeoff.cli.options import with_config_options
from bakeoff.config import coerce_option
from bakeoff.config.decide import Decide
from bakeoff.errors import BakeoffError

STATUS_STYLE = {"COMPLETED": "green", "FAILED": "red", "CRASHED": "red", "BUDGET": "yellow",
                "INTERRUPTED": "yellow"}


@friendly_errors
@with_config_options(Decide)
def run(
    study: Annotated[Path, typer.Argument(help="A study file (YAML); see examples/.")],
    executor: Annotated[str, typer.Option(help="local (a process per trial) or ray.")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address (default: start a local one).")] = None,
    max_parallel: Annotated[int, typer.Option(help="Trials at once (local: processes, the cores shared out among "
                                                   "them: N trials on C cores get C/N torch threads each; ray: in "
                                                   "flight).")] = 1,
    retry_failed: Annotated[bool, typer.Option(help="Run FAILED trials again too (crashed ones always are).")] = False,
    dry_run: Annotated[bool, typer.Option(help="Validate and list the trials; run nothing. On a study that has run: "
                                               "how many seeds or rows would decide each undecided comparison.")
                       ] = False,
    until_decided: Annotated[bool, typer.Option(
        help="After the study's seeds, give the rows still undecided against the leader one more seed a round, "
             "until every comparison is decided, --max-seeds or --budget (the file's decide: block).")] = False,
    **options: Any,
) -> None:
    """Run a study: every trial once, resuming where a previous run of the same file stopped."""
    from bakeoff.api import leaderboard, run_study
    from bakeoff.study import (
        RaceEnded,
        RaceLooked,
        RungStarted,
        StudyEvent,
        StudyStarted,
        TrialFinished,
        TrialProgress,
        TrialStarted,
        load_study,
    )

    decide = {key: coerce_option(Decide, key, value) for key, value in options.items()}
    if not until_decided and (set(decide) & {"max_seeds", "budget"} or ("tolerance" in decide and not dry_run)):
        raise BakeoffError(f"--{next(iter(decide)).replace('_', '-')} sets a race: add --until-decided")
    spec = load_study(study)
    if dry_run:
        for trial in spec.trials:
            console.print(f"{trial.id}  {trial.run_name}  seed {trial.config['seed']}", highlight=False)
        _print_notes(spec.notes)
        if until_decided:
            _print_race_plan(spec, decide)
        console.print(f"{len(spec.trials)} trials in study {spec.name!r}; nothing was run")
        from bakeoff.api import decision_plan

        for line in decision_plan(spec.path):  # a study that has run: what its undecided comparisons need
            console.print(line, highlight=False)
        return
    _print_notes(spec.notes)
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("eta"), TimeRemainingColumn(), console=console, transient=True,
                   disable=not sys.stdout.isatty())
    task_id = None
    trial_rows: dict[str, Any] = {}  # a running trial's id -> its row under the study's bar
    quarters: dict[str, int] = {}  # without a terminal: a log line as each trial passes 25%, 50%, 75%
    done = total = kept = 0

    def on_event(event: StudyEvent) -> None:
        nonlocal task_id, done, total, kept
        if isinstance(event, StudyStarted):
            total = event.total
            if event.note:
                bar.console.print(f"[yellow]note:[/] {event.note}", highlight=False)
            task_id = bar.add_task(spec.name, total=event.total)
        elif isinstance(event, RungStarted):
            bar.console.print(f"successive halving: {event.trials} trials go on to {event.epochs:g} epochs")
            total += event.trials
            if task_id is not None:
                bar.update(task_id, total=total)
        elif isinstance(event, TrialStarted):
            bar.console.print(f"[dim]started  {event.trial.run_name}  seed {event.trial.config['seed']}[/]",
                              highlight=False)
            bar.console.file.flush()
            trial_rows[event.trial.id] = bar.add_task(f"  {event.trial.run_name}", total=None)
        elif isinstance(event, TrialProgress):
            _show_progress(bar, trial_rows.get(event.trial.id), event, quarters)
        elif isinstance(event, RaceLooked):
            total += event.racing
            if task_id is not None:
                bar.update(task_id, total=total)
            _print_look(bar, event)
        elif isinstance(event, RaceEnded):
            bar.console.print(event.record.headline, highlight=False)
        elif isinstance(event, TrialFinished):
            done += 1
            kept += event.outcome.status in ("COMPLETED", "FAILED")
            if event.outcome.trial.id in trial_rows:
                bar.remove_task(trial_rows.pop(event.outcome.trial.id))
            _print_trial(bar, event.outcome, f"[{done}/{total}]")
            if task_id is not None:
                bar.advance(task_id)

    try:
        with bar:
            outcome = run_study(spec, executor=executor, ray_address=ray_address, max_parallel=max_parallel,
                                retry_failed=retry_failed, on_event=on_event, until_decided=until_decided,
                                tolerance=decide.get("tolerance"), max_seeds=decide.get("max_seeds"),
                                time_budget=decide.get("budget"))
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted:[/] {kept} finished trial(s) are kept; run `bakeoff run {study}` "
                      "again to resume (interrupted trials run again from the start)", highlight=False)
        raise typer.Exit(130) from None
    done = outcome.count("COMPLETED")
    console.print(f"study {spec.name!r}: {done} completed, {outcome.count('FAILED', 'CRASHED')} failed, "
                  f"{outcome.count('BUDGET')} not run (budget); {sum(o.resumed for o in outcome.outcomes)} were "
                  f"already done; {outcome.seconds:.0f} s on {outcome.executor}")
    if done:
        _print_board(leaderboard(spec.name))
    if outcome.count("FAILED", "CRASHED"):
        raise typer.Exit(1)


def _print_race_plan(spec: Any, decide: dict[str, Any]) -> None:
    """What --until-decided would do: the looks, the level each tests at, the most runs it could add."""
    from bakeoff.config.decide import duration_seconds
    from bakeoff.report.sequential import plan
    from bakeoff.study import settings_for

    budget = decide.get("budget")
    race = settings_for(spec, decide.get("tolerance"), decide.get("max_seeds"),
                        None if budget is None else duration_seconds(budget))
    looks = plan(len(spec.seeds), race.max_seeds)
    levels = ", ".join(f"{look.seeds}: {look.difference_alpha:.2g}" for look in looks)
    variants = len({trial.variant for trial in spec.trials})
    console.print(f"race: tolerance ±{race.tolerance:g} points; a look after each of {looks[0].seeds}.."
                  f"{race.max_seeds} seeds, testing 'better/worse' at (seeds: level) {levels}; at most "
                  f"{variants * (race.max_seeds - len(spec.seeds))} more trials"
                  + (f"; time budget {race.seconds:.0f} s" if race.seconds else ""), highlight=False)


def _print_look(bar: Progress, event: Any) -> None:
    """One line per race look: the leader, each other row's answer, and how many variants race on."""
    answers = ", ".join(f"{s.label} {s.answer}" + (f" [{s.low:+.1f}, {s.high:+.1f}]" if s.low is not None else "")
                        for s in event.standings if s.answer != "leader")
    leaders = ", ".join(s.label for s in event.standings if s.answer == "leader")
    then = f"{event.racing} variant(s) get another seed" if event.racing else "nothing left to race"
    bar.console.print(f"race look {event.look} ({event.seeds} seeds): leader {leaders}; {answers or 'no other rows'};"
                      f" {then}", highlight=False)
    bar.console.file.flush()


def _print_notes(notes: list[str]) -> None:
    for note in notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def _show_progress(bar: Progress, row: Any, event: Any, quarters: dict[str, int]) -> None:
    """A running trial's step on its row of the bar; in a log (no terminal), a line at each quarter."""
    if row is not None:
        bar.update(row, completed=event.step, total=event.total)
    if not bar.disable or not event.total or not event.step:
        return
    quarter = 4 * event.step // event.total
    if 0 < quarter < 4 and quarter > quarters.get(event.trial.id, 0):
        quarters[event.trial.id] = quarter
        eta = event.seconds / event.step * (event.total - event.step)
        bar.console.print(f"[dim]         {event.trial.run_name}  step {event.step}/{event.total}  "
                          f"eta {eta:.0f} s[/]", highlight=False)
        bar.console.file.flush()


def _print_trial(bar: Progress, outcome: Any, count: str = "") -> None:
    trial = outcome.trial
    style = STATUS_STYLE.get(outcome.status, "")
    metric = f"{outcome.metric_name} {outcome.metric:.4f}" if outcome.metric is not None else ""
    took = "done before" if outcome.resumed else (f"{outcome.seconds:.0f} s" if outcome.seconds else "")
    error = f"  {outcome.error}" if outcome.error and outcome.status != "COMPLETED" else ""
    for method, change in outcome.compress.items():
        error += (f"  [red]{method} failed: {change['error']}[/]" if "error" in change else
                  f"  {method}: {change['size_ratio']:.2f}x smaller, p50 {change['latency_p50_speedup']:.2f}x"
                  + (" (measured while the machine was busy: ratio unreliable)" if change.get("timing_busy") else ""))
    bar.console.print(f"[{style}]{outcome.status:<9}[/] {trial.run_name}  seed {trial.config['seed']}  "
                      f"{metric}  {took}  {count}{error}", highlight=False)
    bar.console.file.flush()  # a study's log is read while it runs, often from a file


@friendly_errors
def leaderboard(
    study_or_project: Annotated[str, typer.Argument(help="A study file, or a project name in the store.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    tolerance: Annotated[float | None, typer.Option(
        help="The largest difference from the leader that does not matter, in points of the metric (default: the "
             "study file's decide: {tolerance: ...}, else 1).")] = None,
    columns: Annotated[str | None, typer.Option(help="Extra metric columns, mean over seeds, e.g. ece,brier,"
                                                     "roc_auc (any registered metric).")] = None,
) -> None:
    """Rank a study's models by mean validation metric over seeds, with 95% intervals, and each row against the
    leader: better, worse, equivalent within the tolerance, or undecided."""
    from bakeoff.api import leaderboard as build
    from bakeoff.report.calibration import parse_columns, row_metric

    extra = parse_columns(columns)  # a wrong name is refused before the store is read
    board = build(study_or_project, tolerance=tolerance)
    if as_json:
        document = board.to_dict()
        for ranking, shown in zip(board.rankings, document["rankings"], strict=True):
            for row, entry in zip(ranking.rows, shown["rows"], strict=True):
                entry["columns"] = {name: row_metric(row, name) for name in extra}
        print_json(document)
    elif as_csv:
        sys.stdout.write(board.to_csv())
    else:
        _print_board(board, extra)


def _extra_columns(ranking: Any, extra: list[str], row_metric: Any) -> Table:
    """``--columns``: each row's mean over seeds of each named metric, in the ranking's order."""
    from bakeoff.metrics import metric_info

    directions = ", ".join(f"{name} {'higher' if metric_info(name).higher_is_better else 'lower'} is better"
                           for name in extra)
    from rich import box

    view = Table(title=f"{ranking.name}, {ranking.split}: mean over seeds", caption=f"{directions}; - where a row "
                 "has no such figure (baselines, older runs)", box=box.SIMPLE_HEAD, pad_edge=False)
    view.add_column("", no_wrap=True)
    view.add_column("model", overflow="fold")
    for name in extra:
        view.add_column(name, justify="right", no_wrap=True)
    for row in ranking.rows:
        view.add_row(str(row.rank), row.label, *(fmt(row_metric(row, name)) for name in extra))
    return view


def verdict_lines(verdict: str) -> str:
    """A verdict cell in three short lines, so a narrow terminal wraps it where it reads, not mid-number.

    >>> print(verdict_lines("equivalent -0.3 [-1.0, +0.5] p=0.56"))
    equivalent -0.3
    [-1.0, +0.5]
    p=0.56
    """
    head, bracket, rest = verdict.partition(" [")
    if not bracket:
        return verdict
    interval, closing, tail = rest.partition("] ")
    return f"{head}\n[{interval}{closing.strip()}" + (f"\n{tail}" if tail else "")


def _print_board(board: Any, extra: list[str] | None = None) -> None:
    """Each ranking as a table that reads at 80 columns: no inner rules, the interval under the mean, a verdict in
    lines (answer and difference / interval / p), the seeds in the title when every trained row has the same."""
    from rich import box

    from bakeoff.report.calibration import row_metric
    from bakeoff.report.sections import seconds_text

    extra = extra or []

    for ranking in board.rankings:
        direction = "higher" if ranking.higher_is_better else "lower"
        seed_counts = {len(row.seeds) for row in ranking.rows if not row.baseline}
        same_seeds = len(seed_counts) == 1
        count = next(iter(seed_counts)) if same_seeds else 0
        seeds_title = f"{count} seed{'s' if count != 1 else ''}" if same_seeds else "seeds"
        view = Table(title=f"{board.project}: {ranking.name}, ranked by {ranking.split} {ranking.metric} ({direction} "
                           f"is better), mean over {seeds_title} [95% interval]",
                     caption=ranking.caption + ". Beside a rank: the ranks the row could hold given every pair's "
                     "verdict (Holm over all pairs)" + (
                         f"; adjacent rows cannot be told apart in {len(ranking.adjacent_ties)} of "
                         f"{len(ranking.rows) - 1} places" if ranking.adjacent_ties else ""),
                     box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        view.add_column("", no_wrap=True, min_width=2)
        # wrap a label only between its words ("mpnet-base" / "+dynamic-int8"), never inside one
        words = [word for row in ranking.rows for word in row.label.split()]
        view.add_column("model", overflow="fold", min_width=max(map(len, words), default=5))
        view.add_column(ranking.metric, justify="right", no_wrap=True)
        if not same_seeds:
            view.add_column("seeds", justify="right", no_wrap=True)
        view.add_column("train\ns", justify="right", no_wrap=True)
        view.add_column("p50\nms", justify="right", no_wrap=True)
        view.add_column("MB", justify="right", no_wrap=True)
        verdicts = [verdict_lines(row.verdict) for row in ranking.rows]
        # wide enough for "equivalent -0.3" and "[-53.2, +25.2]" on a line each; longer first lines wrap at words
        view.add_column("vs leader\n[90%]", overflow="fold", min_width=max(
            (len(line) for cell in verdicts for line in cell.splitlines() if len(line) <= 16), default=9))
        for row, verdict in zip(ranking.rows, verdicts, strict=True):
            interval = f"\n[{row.low:.2f}, {row.high:.2f}]" if row.low is not None else ""
            ranks = f" {row.rank_low}-{row.rank_high}" if row.rank_low != row.rank_high else ""  # plausible ranks
            seeds = [] if same_seeds else ["-" if row.baseline else str(len(row.seeds))]  # a baseline: no seeds
            view.add_row(f"{row.medal or row.rank}{ranks}", row.label, f"{row.mean:.3f}{interval}", *seeds,
                         seconds_text(row.train_seconds) if row.method in ("trained", "baseline") else "-",
                         fmt(row.latency_p50_ms), fmt(row.size_mb), verdict)
        console.print(view)
        if extra:  # a table of their own: the ranking's table already fills 80 columns
            console.print(_extra_columns(ranking, extra, row_metric))
        for row in ranking.rows:
            if row.failed_to_learn:
                console.print(f"[yellow]{row.label}: {row.failed_to_learn}[/]", highlight=False)
    for note in board.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
