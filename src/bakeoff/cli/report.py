"""``bakeoff report``: a study's results as one self-contained file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bakeoff.cli._common import console, friendly_errors

Tolerance = Annotated[float | None, typer.Option(
    help="The largest difference from the leader that does not matter, in points of the metric (default: the "
         "study file's decide: {tolerance: ...}, else 1). Rows inside it are 'equivalent'.")]


@friendly_errors
def report(
    study_or_project: Annotated[str, typer.Argument(help="A study file, or a project name in the store.")],
    out: Annotated[Path | None, typer.Option(help="Where to write it (default: <project>-report.<format>).")] = None,
    format: Annotated[str, typer.Option(
        "--format", help="html (self-contained, offline), md (charts as .svg files beside it) or json.")] = "html",
    tolerance: Tolerance = None,
) -> None:
    """Write the report: leaderboard with verdicts, one panel per swept setting, trade-offs, errors, provenance."""
    import time

    from bakeoff.api import report as build
    from bakeoff.io import check_out

    if out is not None:
        check_out(out, example=f"report.{format}")  # before the report is built
    start = time.perf_counter()
    path = build(study_or_project, out, format, tolerance=tolerance)
    console.print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB in {time.perf_counter() - start:.1f} s)",
                  highlight=False)


@friendly_errors
def recommend(
    study_or_project: Annotated[str, typer.Argument(help="A study file, or a project name in the store.")],
    max_latency_ms: Annotated[float | None, typer.Option(help="Batch-1 p50 latency budget, as measured here.")] = None,
    max_size_mb: Annotated[float | None, typer.Option(help="Weights size budget.")] = None,
    min_metric: Annotated[float | None, typer.Option(help="The primary metric's floor.")] = None,
    max_train_seconds: Annotated[float | None, typer.Option(help="Training time budget per run.")] = None,
    task: Annotated[str | None, typer.Option(help="The task to choose for, when the project ranks several.")] = None,
    tolerance: Tolerance = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """The row to choose under budgets, and why (a cheaper row wins only when it is equivalent to the best within
    the tolerance, or better)."""
    from bakeoff.api import recommend as choose
    from bakeoff.cli._common import print_json

    choice = choose(study_or_project, max_latency_ms=max_latency_ms, max_size_mb=max_size_mb, min_metric=min_metric,
                    max_train_seconds=max_train_seconds, task=task, tolerance=tolerance)
    if as_json:
        print_json(choice.to_dict())
        return
    console.print(f"[bold]{choice.choice or 'nothing meets the budgets'}[/]", highlight=False)
    console.print(" ".join(choice.reasons), highlight=False)
    if choice.aside:
        console.print("Set aside, though cheaper:", highlight=False)
        for sentence in choice.aside:
            console.print(f"- {sentence}", highlight=False)
