"""``bakeoff``: the top-level command. Each command: options -> one API call -> a rich rendering."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bakeoff.cli import embed, export, inference, runs, study
from bakeoff.cli import report as report_cli
from bakeoff.cli._common import console, fmt, friendly_errors, print_json
from bakeoff.cli.options import with_config_options
from bakeoff.config import TrainConfig, check_shared
from bakeoff.errors import BakeoffError
from bakeoff.io import check_out

app = typer.Typer(help="Fair, fast, reproducible comparisons of encoder transformers.", no_args_is_help=True,
                  rich_markup_mode=None,  # plain help: option names never cut, at any terminal width
                  pretty_exceptions_enable=False, add_completion=False)
app.add_typer(runs.app, name="runs")
app.add_typer(embed.index_app, name="index")
app.add_typer(export.app, name="export")


def _version(value: bool) -> None:
    if value:
        from bakeoff._version import __version__

        console.print(f"bakeoff {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="Print the version and exit.")] = False) -> None:
    """Fair, fast, reproducible comparisons of encoder transformers."""


def run() -> None:
    """The ``bakeoff`` command (and ``python -m bakeoff``): its arguments checked, then the typer app."""
    check_arguments_decode(sys.argv[1:])
    app(prog_name="bakeoff")


def check_arguments_decode(arguments: list[str]) -> None:
    """Bytes that are not text in the locale's encoding arrive as lone surrogates: refuse them at the door."""
    for argument in arguments:
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError as error:
            bad = argument[error.start].encode("utf-8", "surrogateescape")
            shown = argument.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            from rich.markup import escape

            from bakeoff.cli._common import error_console

            error_console.print(f"[bold red]error:[/] the argument '{escape(shown)}' is not UTF-8 text (byte "
                                f"0x{bad.hex()}): re-encode it as UTF-8 (e.g. iconv -f latin1 -t utf-8), or put the "
                                "text in a UTF-8 file (commands that read texts take --file)", highlight=False,
                                soft_wrap=True)
            sys.exit(2)

Task = Annotated[str | None, typer.Option(help="Task name (see `bakeoff tasks`).")]
Data = Annotated[str | None, typer.Option(help="A folder of split files, or one CSV/TSV/JSONL/Parquet file.")]
TextColumn = Annotated[str | None, typer.Option(help="Column holding the text.")]
PairColumn = Annotated[str | None, typer.Option(help="Column holding the second text of a pair.")]
LabelColumn = Annotated[str | None, typer.Option(help="Column holding the label (strings or integers).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Truncation = Annotated[str | None, typer.Option(help="Tokens kept of a long text: head, tail or head+tail "
                                                     "(default: as the run trained).")]
LongText = Annotated[str | None, typer.Option(help="cut (one window) or chunks (every window, logits averaged); "
                                                   "default: as the run trained.")]
Stride = Annotated[int | None, typer.Option(help="Tokens neighbouring windows share (--long-text chunks).")]


@app.command()
@friendly_errors
@with_config_options(TrainConfig)
def train(as_json: AsJson = False, **options: Any) -> None:
    """Fine-tune a model on a task; evaluate it; save a checkpoint; record the run."""
    if "data" in options and "task" not in options:
        options["task"] = None  # your own data needs no task
    if as_json:
        options["quiet"] = True  # stdout is the JSON alone
    TrainConfig.from_dict(options).validate()  # a wrong option is refused before torch is even imported
    from bakeoff.api import train as train_model

    result = train_model(**options)
    if as_json:
        print_json(result.to_dict())
    else:
        _print_results([result], title=f"{result.run.project}/{result.run.name}")
        console.print(f"run {result.run.id}  stored in {result.run.path}")
    if result.run.status == "INTERRUPTED":
        console.print("[yellow]interrupted: the best checkpoint so far is saved[/]")
        raise typer.Exit(130)


@app.command()
@friendly_errors
def evaluate(
    model: Annotated[str, typer.Argument(help="Run (id, prefix, project/name), checkpoint or compressed folder.")],
    method: inference.Method = None,
    task: Task = None,
    data: Data = None,
    split: Annotated[str, typer.Option(help="validation, test or train.")] = "validation",
    text_column: TextColumn = None,
    text_pair_column: PairColumn = None,
    label_column: LabelColumn = None,
    max_length: int | None = None,
    batch_size: int = 128,
    precision: str = "auto",
    truncation: Truncation = None,
    long_text: LongText = None,
    stride: Stride = None,
    as_json: AsJson = False,
) -> None:
    """Evaluate a trained model on a labelled split (by default the run's own task and data)."""
    from bakeoff.api import evaluate as evaluate_model

    check_shared(batch_size=batch_size, max_length=max_length)
    result = evaluate_model(model, task=task, data=data, split=split, text_column=text_column,
                            text_pair_column=text_pair_column, label_column=label_column, max_length=max_length,
                            batch_size=batch_size, precision=precision, method=method, truncation=truncation,
                            long_text=long_text, stride=stride)
    if as_json:
        print_json(result.to_dict())
        return
    from bakeoff.metrics import PROBABILITY_METRICS

    labelled = {k: v for k, v in result.metrics.items() if k not in PROBABILITY_METRICS}
    view = Table(title=f"{model} on {split} ({result.rows} rows, {result.samples_per_second:.0f} samples/s)")
    for column in ("loss", *labelled):
        view.add_column(column, justify="right")
    view.add_row(fmt(result.loss), *(fmt(v) for v in labelled.values()))
    console.print(view)
    probabilities = [f"{name} {fmt(result.metrics[name])}" for name in PROBABILITY_METRICS if name in result.metrics]
    if probabilities:  # a line of their own: the table above already fills 80 columns
        bins = (result.calibration or {}).get("bins")
        console.print(", ".join(probabilities) + (f" (ECE over {bins} equal-mass bins)" if bins else ""),
                      highlight=False)
    if result.per_class:  # a regression has no classes
        threshold = any("threshold" in values for values in result.per_class.values())  # multi-label
        classes = Table(title="per label" if threshold else "per class")
        for column in ("label", "precision", "recall", "f1", "support", *(("threshold",) if threshold else ())):
            classes.add_column(column, justify="right")
        for label, values in result.per_class.items():
            classes.add_row(label, *(fmt(values[k]) for k in ("precision", "recall", "f1")),
                            str(int(values["support"])), *((fmt(values.get("threshold")),) if threshold else ()))
        console.print(classes)
    if result.confusion_matrix:
        console.print(f"confusion matrix (rows true, columns predicted): {result.confusion_matrix}")


@app.command()
@friendly_errors
def predict(
    model: Annotated[str, typer.Argument(help="Run (id, prefix, project/name), checkpoint or compressed folder.")],
    text: Annotated[str | None, typer.Argument(help="A text to classify.")] = None,
    pair: Annotated[str | None, typer.Argument(help="Its second text, for sentence-pair models.")] = None,
    file: Annotated[Path | None, typer.Option(help="Classify every row of this CSV/TSV/JSONL/Parquet file.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the file's rows with label and score here (CSV).")] = None,
    text_column: TextColumn = None,
    text_pair_column: PairColumn = None,
    batch_size: int = 128,
    precision: str = "auto",
    method: inference.Method = None,
    truncation: Truncation = None,
    long_text: LongText = None,
    stride: Stride = None,
    as_json: AsJson = False,
) -> None:
    """Classify a text (and its pair), or every row of a file."""
    from bakeoff.api import input_columns
    from bakeoff.api import predict as predict_labels
    from bakeoff.data.tables import read_table
    from bakeoff.errors import BakeoffError

    if (text is None) == (file is None):
        raise BakeoffError('give either a text ("...") or --file FILE, not both or neither')
    check_shared(batch_size=batch_size)
    if out is not None:
        check_out(out, example="predictions.csv")  # before the model loads
    columns = input_columns(model, method)
    rows: list[dict[str, Any]]
    if file is not None:
        table = read_table(file)
        text_name = text_column or _first_present(columns.text, table.columns, file, "--text-column", "text")
        texts = table.texts(text_name, "--text-column")
        pair_name = text_pair_column
        if pair_name is None and columns.pair:
            pair_name = _first_present(columns.pair_columns, table.columns, file, "--text-pair-column",
                                       "second text of each pair (a sentence-pair model)")
        pairs = table.column(pair_name, "--text-pair-column") if pair_name else None
        rows = [dict(zip(table.columns, values, strict=True)) for values in table.rows]
        shown = text_name
    else:
        texts, pairs = [text], [pair] if pair is not None else None
        rows = [{"text": text, **({"pair": pair} if pair is not None else {})}]
        shown = "text"
    if columns.pair and pairs is None:
        raise BakeoffError(f"{model} reads sentence pairs: give the second text too (a second argument, or "
                           "--text-pair-column)")
    if columns.pair is False and pairs is not None:
        raise BakeoffError(f"{model} reads single texts, not pairs: leave out the second text")
    result = predict_labels(model, texts, pairs, batch_size=batch_size, precision=precision, method=method,
                            truncation=truncation, long_text=long_text, stride=stride)
    for row, answer in zip(rows, result.rows, strict=True):  # the problem type's answer: label, score or labels
        row.update({key: round(value, 6) if isinstance(value, float) else value for key, value in answer.items()})
    if out is not None:
        _write_csv(out, [{key: _csv_cell(value) for key, value in row.items()} for row in rows])
        console.print(f"wrote {len(rows)} predictions to {out}")
    elif as_json:
        print_json(rows)
    else:
        for row in rows[:50]:
            answer = (f"{row['label']}\t{row['score']:.4f}" if "label" in row else
                      ",".join(row["labels"]) or "(no label)" if "labels" in row else f"{row['score']:.4f}")
            console.print(f"{answer}\t{str(row.get(shown, ''))[:100]}", highlight=False)
        if len(rows) > 50:
            console.print(f"... {len(rows) - 50} more: pass --out FILE to keep them all")


@app.command()
@friendly_errors
def tasks(as_json: AsJson = False) -> None:
    """The tasks bakeoff knows, with their labels, primary metric and where their data comes from."""
    from bakeoff.data.load import has_local_data
    from bakeoff.tasks import all_tasks

    specs = all_tasks()
    here = {name: ("shipped" if s.local and s.local.builtin else "yes") if has_local_data(s) else
            ("hub only" if s.hub else "no") for name, s in specs.items()}
    if as_json:
        print_json({name: {"description": s.description, "labels": list(s.label_names), "pair": s.pair,
                           "problem_type": s.problem_type, "primary_metric": s.primary_metric,
                           "hub": s.hub.path if s.hub else None,
                           "on_this_machine": here[name]} for name, s in specs.items()})
        return
    view = Table(title="tasks (data: --data, then $BAKEOFF_DATA_DIR/<task>/, then the Hugging Face hub)")
    for column in ("task", "input", "labels", "metric", "data here", "description"):
        view.add_column(column, overflow="fold")
    for name, spec in specs.items():
        labels = {"regression": "a score per row",
                  "multi_label": f"{spec.num_labels} labels, several per row"}.get(spec.problem_type,
                                                                                   ", ".join(spec.label_names))
        view.add_row(name, "pair" if spec.pair else "single", labels, spec.primary_metric, here[name],
                     spec.description)
    console.print(view)
    if not os.environ.get("BAKEOFF_DATA_DIR"):
        console.print("data here: BAKEOFF_DATA_DIR is not set, so only the shipped task is on this machine; "
                      "set it to a folder holding <task>/ folders (e.g. GLUE's TSVs)", highlight=False)


@app.command()
@friendly_errors
def models(as_json: AsJson = False) -> None:
    """Model aliases and what they resolve to here (a shipped package or the hub)."""
    from bakeoff.models import aliases, resolve_model

    rows = []
    for name, entry in aliases().items():
        source = resolve_model(name)
        rows.append({"alias": name, "about": entry.get("about", ""), "resolves_to": source.location,
                     "origin": source.origin, "layers": list(source.layers) if source.layers else None})
    if as_json:
        print_json(rows)
        return
    view = Table(title="model aliases (any hub id or local folder works too)")
    for column in ("alias", "about", "origin", "resolves to"):
        view.add_column(column, overflow="fold")
    for row in rows:
        view.add_row(row["alias"], row["about"], row["origin"], row["resolves_to"])
    console.print(view)


@app.command()
@friendly_errors
def demo(
    task: Annotated[str, typer.Option(help="demo (built in, offline) or a task with local data, e.g. sst2.")] = "demo",
    models: Annotated[str, typer.Option(help="Comma-separated models to compare.")] = "minilm-l6,minilm-l3",
    train_fraction: Annotated[float | None, typer.Option(help="Share of the training rows (GLUE default 0.1).")] = None,
    epochs: float | None = None,
    quiet: bool = False,
    as_json: AsJson = False,
) -> None:
    """The main job: fine-tune MiniLM-L6 and a 3-layer MiniLM with identical settings and rank them."""
    from bakeoff.api import demo as run_demo

    overrides = {k: v for k, v in {"train_fraction": train_fraction, "epochs": epochs}.items() if v is not None}
    model_names = tuple(m.strip() for m in models.split(",") if m.strip())
    results = run_demo(task=task, models=model_names, quiet=quiet or as_json, **overrides)
    if as_json:
        print_json([r.to_dict() for r in results])
        return
    _print_results(results, title=f"bake-off on {task}: identical settings, ranked by validation "
                                  f"{results[0].validation.primary_metric}")
    console.print(f"runs stored in {Path(results[0].run.path).parent}  (list them: bakeoff runs ls)")


# after the core commands, so `bakeoff --help` lists them in the order a user needs them
app.command()(inference.compress)
app.command()(inference.bench)
app.command()(study.run)
app.command()(study.leaderboard)
app.command()(embed.embed)
app.command()(embed.search)
app.command("embed-eval")(embed.embed_eval)
app.command()(report_cli.report)
app.command()(report_cli.recommend)


def decision_text(result: Any) -> str:
    """One line on a run's fitted temperature and threshold, and where they were chosen."""
    decision, parts = result.decision, []
    if decision.get("temperature", 1.0) != 1.0:
        calibration = result.validation.calibration or {}
        before = calibration.get("ece_before")
        parts.append(f"temperature {decision['temperature']:.3f} (validation ECE "
                     + (f"{before:.4f} -> " if before is not None else "") + f"{result.validation.metrics['ece']:.4f})")
    if decision.get("threshold") is not None:
        how = f"chosen for {decision['threshold_metric']}" if decision.get("threshold_metric") else "given"
        parts.append(f"threshold {decision['threshold']:.3f} on P({decision.get('positive_label')}) ({how})")
    honest = ("the test figure above is scored with them unseen" if result.test else
              "this task has no test split here, so every figure is validation's and optimistic")
    return f"{'; '.join(parts)}: fitted on validation, so validation scores are optimistic; {honest}"


def _print_results(results: list[Any], title: str) -> None:
    medals = ["🥇", "🥈", "🥉"]
    view = Table(title=title, caption="validation metrics; rows/s: training; p50: batch-1 latency; MB: fp32 safetensors")
    view.add_column("", no_wrap=True, min_width=2)
    view.add_column("model", no_wrap=True)
    # a classifier's accuracy, F1 and MCC; a regression's or multi-label run's first three metrics, primary first
    shown = {"accuracy": "acc", "f1": "F1", "mcc": "MCC"} if "accuracy" in results[0].validation.metrics else \
        {name: name for name in list(results[0].validation.metrics)[:3]}
    for column in (*shown.values(), "train s", "rows/s", "p50 ms", "MB"):
        view.add_column(column, justify="right", no_wrap=True, min_width=len(column))
    for rank, result in enumerate(results):
        metrics = result.validation.metrics
        size = result.model.weights_bytes
        view.add_row(medals[rank] if rank < 3 and len(results) > 1 else "", result.model.name,
                     *(f"{metrics[name]:.3f}" for name in shown),
                     f"{result.training.seconds:.1f}", f"{result.training.samples_per_second or 0:.0f}",
                     f"{result.latency_ms['p50']:.1f}", f"{size / 1e6:.1f}" if size else "-")
    console.print(view)
    for result in results:
        test = f"  test {result.test.primary_metric} {result.test.primary:.4f}" if result.test else ""
        console.print(f"{result.model.name}: run {result.run.id}{test}", highlight=False)
        if result.decision:  # a threshold or temperature fitted on validation (eval/decision.py): said plainly
            console.print(decision_text(result), highlight=False)
    if len(results) > 1:
        from bakeoff.report.gap import gap_sentence

        first, second = results[0], results[1]
        console.print(gap_sentence(Path(first.run.path), Path(second.run.path), first.model.name, second.model.name,
                                   first.validation.primary_metric), highlight=False)


def _first_present(candidates: list[str], present: list[str], file: Path, flag: str, what: str) -> str:
    """The first of the model's own column names that the file has; else one line listing the file's columns."""
    for name in candidates:
        if name in present:
            return name
    raise BakeoffError(f"{file} has no {what} column the model knows ({', '.join(candidates)}); its columns: "
                       f"{', '.join(present)}: pass {flag} NAME")


def _csv_cell(value: Any) -> Any:
    """A multi-label answer in one CSV cell: its labels joined by commas, their scores as JSON."""
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps({key: round(float(v), 6) for key, v in value.items()})
    return value


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    if path.is_dir():
        raise BakeoffError(f"--out {path} is a folder: give a file name, e.g. {path / 'predictions.csv'}")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(path)  # nothing half-written under the real name
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise BakeoffError(f"--out {path}: cannot write it ({error.strerror})") from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
