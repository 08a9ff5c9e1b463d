"""The ``bakeoff`` command: thin typer commands, each one call into the API and a rich rendering."""

from bakeoff.cli.app import app, run

__all__ = ["app", "run"]
