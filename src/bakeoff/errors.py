"""Errors a user can fix. The CLI prints their message as one line and exits non-zero."""

from __future__ import annotations


class BakeoffError(Exception):
    """A problem with the user's input or environment, with the fix in its message."""


class StoreError(BakeoffError):
    """The experiment store refused a name, a run, or found a run it cannot read."""


class RunNotFound(StoreError):
    """No run matches the id, prefix or project/name that was given."""
