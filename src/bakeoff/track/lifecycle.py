"""Process-wide: close every open run on SIGTERM, SIGHUP or exit, so no run is left RUNNING by a clean stop.

A run killed without a chance to close (SIGKILL, power loss) is told apart by its heartbeat and pid
(``layout.effective_status``), not here.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bakeoff.track.experiment import Experiment

OPEN: weakref.WeakSet[Experiment] = weakref.WeakSet()
_HANDLERS_INSTALLED = False


def _close_all(status: str, error: str) -> None:
    for experiment in list(OPEN):
        try:
            experiment.close(status, error)
        except OSError:
            pass


def _on_sigterm(signum: int, frame: Any) -> None:
    _close_all("INTERRUPTED", f"signal {signal.Signals(signum).name}")
    previous = _PREVIOUS.get(signum)
    if callable(previous):
        previous(signum, frame)
    else:  # the default action: die of the same signal
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


_PREVIOUS: dict[int, Any] = {}


def install_signal_handlers() -> None:
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED or threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(signum)
        if previous in (signal.SIG_IGN,):
            continue
        _PREVIOUS[signum] = previous
        signal.signal(signum, _on_sigterm)
    atexit.register(_close_all, "INTERRUPTED", "the process exited without closing the experiment")
    _HANDLERS_INSTALLED = True
