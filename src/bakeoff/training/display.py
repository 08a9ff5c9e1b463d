"""What a training run shows in the terminal: a bar with loss, samples/s and ETA, and a line per evaluation."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bakeoff.eval.results import EvalResult


class BarDisplay:
    """A rich progress bar on stderr, and a line per evaluation."""

    def __init__(self, label: str, console: Console | None = None) -> None:
        self.label = label
        self.console = console or Console(stderr=True)
        self._bar: Progress | None = None
        self._task = None

    def start(self, total_steps: int, total_samples: int) -> None:
        self._bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  {task.fields[speed]:.0f} samples/s"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=self.console, transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.label, total=total_steps, loss=float("nan"), speed=0.0)

    def advance(self, step: int, loss: float, samples_per_second: float) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=step, loss=loss, speed=samples_per_second)

    def evaluated(self, step: int, result: EvalResult, improved: bool) -> None:
        marker = "[green]best so far[/]" if improved else ""
        shown = {k: v for k, v in result.metrics.items() if k != "f1_macro" or len(result.per_class) > 2}
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in shown.items())
        self.console.print(f"  step {step}: val loss {result.loss:.4f}  {metrics}  {marker}", highlight=False)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()


class SilentDisplay:
    """``--quiet``: nothing on the terminal (CI logs stay short)."""

    def start(self, total_steps: int, total_samples: int) -> None: ...
    def advance(self, step: int, loss: float, samples_per_second: float) -> None: ...
    def evaluated(self, step: int, result: EvalResult, improved: bool) -> None: ...
    def stop(self) -> None: ...
