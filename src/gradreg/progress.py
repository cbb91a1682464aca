"""Progress bars for long fits and reads, drawn with rich on a terminal and silent elsewhere."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["EpochProgress", "epoch_progress", "read_progress", "reading_progress"]


class EpochProgress:
    """A fit callback that advances a progress bar: epoch, loss, gradient norm and ETA."""

    def __init__(self, progress: Progress, task) -> None:
        self._progress = progress
        self._task = task

    def __call__(self, info) -> None:
        self._progress.update(
            self._task,
            completed=info.epoch,
            loss=f"{info.loss:.6g}",
            grad=f"{info.grad_norm:.2e}",
        )


def is_terminal(stream=None) -> bool:
    stream = stream if stream is not None else sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


@contextmanager
def epoch_progress(max_epochs: int, enabled: bool | None = None) -> Iterator[EpochProgress | None]:
    """A progress-bar callback for up to ``max_epochs`` epochs, or ``None`` when disabled.

    ``enabled=None`` shows the bar only when standard error is a terminal.
    """
    forced = bool(enabled) and not is_terminal()
    if enabled is None:
        enabled = is_terminal()
    if not enabled:
        yield None
        return
    progress = Progress(
        TextColumn("[bold]fitting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("epochs  loss {task.fields[loss]}  |grad| {task.fields[grad]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        # Off a terminal (when asked for anyway) the bar is drawn once more at the end and kept.
        console=Console(stderr=True, force_terminal=forced or None),
        transient=not forced,
    )
    with progress:
        task = progress.add_task("fit", total=max_epochs, loss="-", grad="-")
        yield EpochProgress(progress, task)


@contextmanager
def read_progress(total_bytes: int, enabled: bool | None = None):
    """A function ``advance(rows, bytes_done)`` that draws reading progress, or a no-op.

    Shows rows read, rows per second and bytes done of ``total_bytes`` (with the time left).
    """
    if enabled is None:
        enabled = is_terminal()
    if not enabled:
        yield lambda rows, done: None
        return
    progress = Progress(
        TextColumn("[bold]reading"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:,} rows  {task.fields[speed]} rows/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("read", total=total_bytes, rows=0, speed="-")
        started = time.perf_counter()

        def advance(rows: int, done: int) -> None:
            elapsed = max(time.perf_counter() - started, 1e-9)
            progress.update(task, completed=done, rows=rows, speed=f"{rows / elapsed:,.0f}")

        yield advance


def reading_progress(verbose: int | bool):
    """The ``progress`` callback a reader takes, for an estimator's ``verbose`` setting.

    ``verbose=1`` draws the bar on terminals only, ``2`` (or ``True``) anywhere; ``0``: none.
    """
    if not verbose:
        return None
    enabled = None if verbose == 1 else True  # as the epoch bar
    return partial(read_progress, enabled=enabled)
