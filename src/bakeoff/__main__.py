"""``python -m bakeoff ...`` is the ``bakeoff`` command."""

from bakeoff.cli import app

app(prog_name="bakeoff")
