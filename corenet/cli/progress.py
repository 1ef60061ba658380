"""Progress bars of the long commands (rich), on a terminal only.

A command opens a bar with `bar(...)`; it is drawn only when standard output is a terminal and
the command prints no JSON (`shown`), and it disappears when done, so what the command prints
afterwards is the same with or without a terminal. Code deep inside a run (a population of UEs)
reports each finished unit with `advance()`: a no-op unless a bar is open in the current
context (contextvars: the tasks the command starts inherit it).
"""

from __future__ import annotations

import contextvars
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

_ADVANCE: contextvars.ContextVar[Callable[[int], None] | None] = contextvars.ContextVar(
    "corenet_progress", default=None)


def shown(as_json: bool = False, stream: TextIO | None = None) -> bool:
    """Whether a bar may be drawn: never for JSON output, never when not on a terminal."""
    out = stream if stream is not None else sys.stdout
    return not as_json and out.isatty()


def advance(n: int = 1) -> None:
    """`n` more units done (UEs attached or refused, ...) in the bar open here, if any."""
    hook = _ADVANCE.get()
    if hook is not None:
        hook(n)


class Bar:
    """An open bar: `update(completed=..., status=...)` for commands that count themselves."""

    def __init__(self, progress: Any = None, task: Any = None) -> None:
        self._progress = progress
        self._task = task

    def update(self, **fields: Any) -> None:
        if self._progress is not None:
            completed = fields.pop("completed", None)
            self._progress.update(self._task, completed=completed, **fields)

    def advance(self, n: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)


@contextmanager
def bar(description: str, total: int | None, *, show: bool,
        stream: TextIO | None = None) -> Iterator[Bar]:
    """A transient bar of `total` units while the block runs (nothing when not `show`)."""
    if not show:
        yield Bar()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=stream if stream is not None else sys.stdout)
    columns = (TextColumn(description), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total, status="")
        token = _ADVANCE.set(lambda n: progress.advance(task, n))
        try:
            yield Bar(progress, task)
        finally:
            _ADVANCE.reset(token)
