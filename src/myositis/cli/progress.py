"""Progress on the terminal for long commands: the domain reports steps through the plain
callable of :mod:`myositis.progress`; this shows them with rich (a spinner and the step, or a
bar when the work is counted). Nothing is shown when the output is not a terminal (logs,
pipes) or with --quiet, so logs stay clean.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from myositis.progress import Progress as ProgressCallable
from myositis.progress import silent


@contextmanager
def progress_display(enabled: bool = True) -> Iterator[ProgressCallable]:
    """A progress callable drawing on standard error while the block runs."""
    console = Console(stderr=True)
    if not (enabled and console.is_terminal):
        yield silent
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,  # the progress line goes away; the summary or the error remains
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def report(message: str, done: int | None = None, total: int | None = None) -> None:
            if message not in tasks:
                for task in tasks.values():
                    bar.update(task, visible=False)
                tasks[message] = bar.add_task(message, total=total)
            bar.update(tasks[message], completed=done or 0, total=total)

        yield report
