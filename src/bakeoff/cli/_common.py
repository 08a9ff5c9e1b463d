"""What every command shares: one console, and the rule that a user's mistake is one line and an exit code."""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from bakeoff.errors import BakeoffError
from bakeoff.io import disk_full_reason

console = Console()
error_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


TRACEBACK_VARIABLE = "BAKEOFF_TRACEBACK"


def friendly_errors(command: F) -> F:
    """Print a ``BakeoffError`` as ``error: <message>`` and exit 2. Anything else is a bug: one line saying so and
    how to see the traceback (``BAKEOFF_TRACEBACK=1``), exit 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except BakeoffError as error:
            error_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt, SystemExit):
            raise
        except Exception as error:  # noqa: BLE001 - the last resort: one line, the traceback on request
            if os.environ.get(TRACEBACK_VARIABLE):
                raise
            full = disk_full_reason(error)  # wherever ENOSPC surfaces (torch, safetensors, numpy, json): one meaning
            if full:
                error_console.print(f"[bold red]error:[/] the disk is full ({escape(full)}): free some space, or "
                                    "write elsewhere (BAKEOFF_STORE on another disk for runs, --out for files)",
                                    highlight=False, soft_wrap=True)
                raise typer.Exit(2) from None
            first = (str(error).splitlines() or [""])[0][:200]
            error_console.print(f"[bold red]error:[/] unexpected {type(error).__name__}: {escape(first)} "
                                f"(a bug in bakeoff; run again with {TRACEBACK_VARIABLE}=1 to see the traceback)",
                                highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def print_json(obj: Any) -> None:
    """JSON for scripts on stdout (NaN/inf as null, so any JSON parser reads it)."""
    sys.stdout.write(json.dumps(_finite(obj), indent=2, default=str) + "\n")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def fmt(value: Any) -> str:
    """A cell: floats to 4 significant digits, None as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)
