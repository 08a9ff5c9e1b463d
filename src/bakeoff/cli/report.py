"""``bakeoff report``: a study's results as one self-contained file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bakeoff.cli._common import console, friendly_errors


@friendly_errors
def report(
    study_or_project: Annotated[str, typer.Argument(help="A study file, or a project name in the store.")],
    out: Annotated[Path | None, typer.Option(help="Where to write it (default: <project>-report.<format>).")] = None,
    format: Annotated[str, typer.Option("--format", help="html (self-contained, offline), md or json.")] = "html",
) -> None:
    """Write the report: leaderboard with verdicts, one panel per swept setting, trade-offs, errors, provenance."""
    import time

    from bakeoff.api import report as build

    start = time.perf_counter()
    path = build(study_or_project, out, format)
    console.print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB in {time.perf_counter() - start:.1f} s)",
                  highlight=False)
