"""``bakeoff runs ls | show | compare``: read the experiment store from the terminal."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from bakeoff.cli._common import console, fmt, friendly_errors, print_json
from bakeoff.errors import StoreError
from bakeoff.track import Store

app = typer.Typer(help="List, show and compare tracked runs.", no_args_is_help=True, rich_markup_mode=None)

StoreOption = Annotated[str | None, typer.Option("--store", help="Store root (default $BAKEOFF_STORE or .bakeoff).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@app.command("ls")
@friendly_errors
def list_runs(
    project: Annotated[str | None, typer.Option(help="Only this project.")] = None,
    where: Annotated[str | None, typer.Option(help='A filter, e.g. "learning_rate < 1e-4 and accuracy > 0.8".')] = None,
    sort: Annotated[str | None, typer.Option(help="Column to sort by; a leading - sorts descending (-accuracy).")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only runs with this tag (repeatable).")] = None,
    columns: Annotated[str | None, typer.Option(help="Columns to show, comma-separated (any parameter or metric, "
                                                     "e.g. id,name,learning_rate,accuracy); default: "
                                                     + ",".join(DEFAULT_COLUMNS) + ".")] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """One line per run: id, name, model, task, status, its primary metric and seconds (`runs show` has the rest)."""
    table = Store(store).runs(project=project, tags=tag)
    if not table.empty:
        table = _with_primary_metric(table)
    if where and not table.empty:
        table = _filter(table, where)
    if sort and not table.empty:
        column = _resolve_column(table.columns, sort.lstrip("-"), "--sort")
        table = table.sort_values(column, ascending=not sort.startswith("-"), na_position="last")
    records = table.to_dict(orient="records")
    if as_json:
        print_json(records)
        return
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else list(DEFAULT_COLUMNS)
    shown = [_resolve_column(table.columns, c, "--columns") if not table.empty else c for c in chosen]
    view = Table(title=f"{len(records)} runs in {Store(store).root}",
                 caption="metric: the task's primary validation metric; `bakeoff runs show RUN` has the rest")
    for column in shown:
        numeric = column not in ("id", "name", "project", "model", "task", "status", "tags", "error")
        view.add_column(column.rsplit(".", 1)[0] if column.endswith((".best", ".last")) else column,
                        justify="right" if numeric else "left",
                        no_wrap=column in ("id", "status"), overflow="fold", max_width=None if numeric else 28)
    # short over every run of the store, not only the rows shown: a prefix shown must find exactly its run
    short = _short_ids([str(run.id) for run in Store(store).list()])
    for row in records:
        view.add_row(*(short.get(str(row.get("id")), "-") if column == "id" else _cell(column, row)
                       for column in shown))
    console.print(view)


def _short_ids(ids: list[str], least: int = 8) -> dict[str, str]:
    """Each id cut to the shortest length (at least ``least``) that still tells these runs apart, as git does;
    any unique prefix finds a run. (8 characters hold 20 random bits: in a store of ~1,000 runs some ids need 9.)"""
    for length in range(least, max(map(len, ids), default=least) + 1):
        if len({i[:length] for i in ids}) == len(set(ids)):
            return {i: i[:length] for i in ids}
    return {i: i for i in ids}


DEFAULT_COLUMNS = ("id", "name", "model", "task", "status", "metric", "seconds")


def _with_primary_metric(table: Any) -> Any:
    """Add ``metric`` (e.g. ``accuracy 0.849``: the task's primary validation metric) and ``seconds``."""
    from bakeoff.config.embedding import PRIMARY_METRICS
    from bakeoff.tasks import all_tasks

    primaries = {name: spec.primary_metric for name, spec in all_tasks().items()}

    def primary(row: Any) -> str | None:
        kind = row.get("kind")  # a frozen-embedding run is ranked by its kind's metric, not its task's
        name = PRIMARY_METRICS.get(kind) if isinstance(kind, str) else None
        name = name or primaries.get(str(row.get("task")), "accuracy")
        value = row.get(f"final/validation/{name}.last")
        return f"{name} {value:.4f}" if isinstance(value, float) and value == value else None

    table = table.copy()
    table["metric"] = table.apply(primary, axis=1)
    table["seconds"] = table["duration_s"]
    for column in ("model", "task"):
        if column not in table.columns:
            table[column] = None
    return table


def _filter(table: Any, where: str) -> Any:
    """``--where`` over the table, with metric names written as in `--sort` (accuracy for its best value)."""
    import re

    expression = where
    for name in sorted({c.rsplit(".", 1)[0] for c in table.columns if c.endswith(".best")}, key=len, reverse=True):
        leaf = name.rsplit("/", 1)[-1]
        if f"final/validation/{leaf}" == name:  # `accuracy` means the final validation accuracy
            expression = re.sub(rf"(?<![\w/`.]){re.escape(leaf)}(?![\w/`.])", f"`{name}.best`", expression)
    try:
        return table.query(expression, engine="python")
    except Exception as error:  # noqa: BLE001 - pandas raises many kinds for a bad expression
        raise StoreError(f"--where {where!r} could not be evaluated ({type(error).__name__}): compare columns of "
                         "`bakeoff runs ls --json`, e.g. --where \"learning_rate < 1e-4 and accuracy > 0.8\"") \
            from None


def _cell(column: str, row: dict[str, Any]) -> str:
    value = row.get(column)
    if column == "status":
        return _status(str(value))
    if column == "seconds" and isinstance(value, float):
        return f"{value:.0f}"
    return fmt(value)


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


def _resolve_column(columns: Any, wanted: str, flag: str) -> str:
    """A column by its name, a metric's name (its best value), or a final validation metric's short name."""
    for candidate in (wanted, f"{wanted}.best", f"{wanted}.last", f"final/validation/{wanted}.best"):
        if candidate in columns:
            return candidate
    names = [c for c in columns if not c.endswith((".count", ".last"))]
    raise StoreError(f"{flag} {wanted!r}: no such column; try one of: {', '.join(names[:14])}")


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
