"""Imported once by the local executor's fork server, so that every trial process starts with it in memory."""

from bakeoff.study.worker import warm_up

warm_up()
