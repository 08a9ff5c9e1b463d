"""``bakeoff runs ls | show | compare``: read the experiment store from the terminal."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from bakeoff.cli._common import console, fmt, friendly_errors, print_json
from bakeoff.errors import StoreError
from bakeoff.track import Store

app = typer.Typer(help="List, show and compare tracked runs.", no_args_is_help=True)

StoreOption = Annotated[str | None, typer.Option("--store", help="Store root (default $BAKEOFF_STORE or .bakeoff).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
_IDENTITY = ["id", "project", "name", "status", "started_at", "ended_at", "duration_s", "tags", "error"]


@app.command("ls")
@friendly_errors
def list_runs(
    project: Annotated[str | None, typer.Option(help="Only this project.")] = None,
    where: Annotated[str | None, typer.Option(help='A filter, e.g. "learning_rate < 1e-4" (`a.b` for dotted names).')] = None,
    sort: Annotated[str | None, typer.Option(help="Column to sort by; a leading - sorts descending (-accuracy).")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only runs with this tag (repeatable).")] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """One line per run: status, duration and each metric's best value."""
    table = Store(store).runs(project=project, tags=tag)
    if where and not table.empty:
        try:
            table = table.query(where, engine="python")
        except Exception as error:  # pandas raises many kinds for a bad expression
            raise StoreError(f"--where {where!r} could not be evaluated ({error}); "
                             "quote names with dots or slashes in backticks: `accuracy.best` > 0.8") from None
    if sort and not table.empty:
        column = _resolve_column(table.columns, sort.lstrip("-"))
        table = table.sort_values(column, ascending=not sort.startswith("-"), na_position="last")
    records = table.to_dict(orient="records")
    if as_json:
        print_json(records)
        return
    metric_columns = [c for c in table.columns if c.endswith(".best") or c.endswith(".last")]
    shown = _prefer_best(metric_columns)[:8]
    view = Table(title=f"{len(records)} runs in {Store(store).root}",
                 caption="metrics: best value (last where the direction is unknown)")
    view.add_column("id", no_wrap=True)
    view.add_column("run", overflow="fold")
    view.add_column("status", no_wrap=True)
    view.add_column("seconds", justify="right")
    for column in shown:
        view.add_column(column.rsplit(".", 1)[0], justify="right", overflow="fold")
    for row in records:
        view.add_row(row["id"], f"{row['project']}/{row['name']}", _status(row["status"]),
                     fmt(row["duration_s"]), *(fmt(row.get(c)) for c in shown))
    console.print(view)


@app.command("show")
@friendly_errors
def show_run(run: Annotated[str, typer.Argument(help="Id, unique id prefix, or project/name.")],
             store: StoreOption = None, as_json: JsonOption = False) -> None:
    """Everything one run recorded: identity, parameters, metrics, files."""
    found = Store(store).get(run)
    detail = {
        "info": found.info | {"status": found.status},
        "parameters": found.parameters(),
        "metrics": {name: found.metric_summary(name) for name in found.metric_names()},
        "files": found.files(),
        "path": str(found.path),
    }
    if as_json:
        print_json(detail)
        return
    console.print(f"[bold]{found.project}/{found.name}[/]  id {found.id}  {_status(found.status)}  {found.path}")
    if found.info.get("error"):
        console.print(f"[red]error:[/] {found.info['error']}")
    console.print(_key_value_table("parameters", detail["parameters"]))
    metrics = Table(title="metrics")
    for column in ("metric", "count", "last", "best", "min", "max"):
        metrics.add_column(column)
    for name, summary in detail["metrics"].items():
        metrics.add_row(name, *(fmt(summary[k]) for k in ("count", "last", "best", "min", "max")))
    console.print(metrics)
    if detail["files"]:
        console.print(_key_value_table("files", {f"{f['path'].rstrip('/')}/{f['filename']}": f"{f['sizeBytes']} B"
                                                 for f in detail["files"]}))


@app.command("compare")
@friendly_errors
def compare_runs(
    runs: Annotated[list[str], typer.Argument(help="Two or more runs (id, prefix or project/name).")],
    only_diff: Annotated[bool, typer.Option("--only-diff", help="Only rows whose values differ.")] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Parameters and metric summaries of several runs, side by side."""
    opened = Store(store)
    rows = [opened.get(ref).summary() for ref in runs]
    keys = [k for k in dict.fromkeys(k for row in rows for k in row) if k not in ("id", "project", "name")]
    if only_diff:
        keys = [k for k in keys if len({repr(row.get(k)) for row in rows}) > 1]
    if as_json:
        print_json({row["id"]: {k: row.get(k) for k in ["project", "name", *keys]} for row in rows})
        return
    view = Table(title="compare")
    view.add_column("key")
    for row in rows:
        view.add_column(f"{row['name']}\n{row['id'][:12]}")
    for key in keys:
        view.add_row(key, *(fmt(row.get(key)) for row in rows))
    console.print(view)


def _resolve_column(columns: Any, wanted: str) -> str:
    for candidate in (wanted, f"{wanted}.best", f"{wanted}.last"):
        if candidate in columns:
            return candidate
    raise StoreError(f"--sort {wanted!r}: no such column; try one of: {', '.join(list(columns)[:12])}")


def _prefer_best(columns: list[str]) -> list[str]:
    """One column per metric: its best where the direction is known, else its last value."""
    metrics = dict.fromkeys(c.rsplit(".", 1)[0] for c in columns)
    return [f"{m}.best" if f"{m}.best" in columns else f"{m}.last" for m in metrics]


def _status(status: str) -> str:
    colour = {"COMPLETED": "green", "RUNNING": "cyan", "FAILED": "red", "CRASHED": "red",
              "INTERRUPTED": "yellow"}.get(status, "white")
    return f"[{colour}]{status}[/]"


def _key_value_table(title: str, values: dict[str, Any]) -> Table:
    view = Table(title=title, show_header=False)
    view.add_column("key")
    view.add_column("value", overflow="fold")
    for key, value in values.items():
        view.add_row(key, fmt(value))
    return view
