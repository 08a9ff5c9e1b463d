"""``bakeoff export mlflow``: send a study's runs to the team's tracker."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bakeoff.cli._common import console, friendly_errors, print_json

app = typer.Typer(help="Send a study's runs to a team's tracker (MLflow).", no_args_is_help=True, rich_markup_mode=None)
SHOWN_RUNS = 40


@app.command("mlflow")
@friendly_errors
def to_mlflow(
    study: Annotated[str, typer.Argument(help="A study file (its name is the project) or a store project.")],
    tracking_uri: Annotated[str, typer.Option(help="MLflow tracking server, e.g. http://127.0.0.1:5000 "
                                                   "(or a backend URI such as sqlite:///mlflow.db).")],
    experiment: Annotated[str | None, typer.Option(help="MLflow experiment (default: the project's name).")] = None,
    checkpoints: Annotated[bool, typer.Option("--checkpoints", help="Upload checkpoints and compressed "
                                                                    "models too (large).")] = False,
    store: Annotated[str | None, typer.Option(help="Store root (default $BAKEOFF_STORE or .bakeoff).")] = None,
    workers: Annotated[int, typer.Option(help="Runs sent at the same time.")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Log every run (parameters, every metric point, tags, artefacts) to MLflow; again later: only what is new."""
    from bakeoff.api import export_mlflow

    summary = export_mlflow(study, tracking_uri=tracking_uri, experiment=experiment, checkpoints=checkpoints,
                            store=store, workers=workers)
    if as_json:
        print_json(summary.to_dict())
        return
    view = Table(title=f"{summary.project} -> MLflow experiment {summary.experiment!r} "
                       f"(id {summary.experiment_id}) at {summary.tracking_uri}")
    for column in ("run", "status", "action", "points", "params", "artefacts", "MLflow run"):
        view.add_column(column, justify="right" if column in ("points", "params", "artefacts") else "left")
    for run in summary.runs[:SHOWN_RUNS]:
        view.add_row(run.name, run.status, run.action, str(run.points), str(run.params), str(run.artefacts),
                     run.mlflow_run_id or "-")
    console.print(view)
    if len(summary.runs) > SHOWN_RUNS:
        console.print(f"... and {len(summary.runs) - SHOWN_RUNS} more runs (--json lists them all)")
    counts = ", ".join(f"{summary.count(a)} {a}" for a in ("created", "updated", "unchanged", "skipped")
                       if summary.count(a))
    console.print(f"{len(summary.runs)} runs: {counts}; {summary.points} metric points sent")
    for run in summary.runs:
        for note in run.notes:
            console.print(f"[yellow]{run.name}:[/] {note}", highlight=False)
