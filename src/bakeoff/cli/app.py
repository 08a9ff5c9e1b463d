"""``bakeoff``: the top-level command."""

from __future__ import annotations

import typer

from bakeoff.cli import runs

app = typer.Typer(help="Fair, fast, reproducible comparisons of encoder transformers.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
app.add_typer(runs.app, name="runs")
