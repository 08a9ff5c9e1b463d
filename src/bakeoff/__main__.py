"""``python -m bakeoff ...`` is the ``bakeoff`` command."""

from bakeoff.cli import run

run()
