"""Long commands on a time limit, and interruptions that say what they stopped.

`run_bounded(main, what=..., timeout=...)` runs one coroutine on a fresh event loop. When the
time limit passes, or Ctrl-C / SIGTERM arrives, the coroutine is cancelled and given a few
seconds to stop what it started (sockets, brokers, in-process networks); then one line on
stderr names the command, the step it was in and how long it had run, and the process exits
with 124 (time limit, as timeout(1)) or 130 (interrupted, 128 + SIGINT). Whatever refuses to
stop within the grace period is abandoned rather than waited for: the command always ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import signal
import sys
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import click

T = TypeVar("T")

EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130

# frames of these packages are the command's own steps; the deepest one is "where it was"
OWN_PACKAGES = ("corenet.", "sim_ue.")


def step_of(task: asyncio.Task[Any]) -> str | None:
    """The deepest of the command's own coroutines the task is awaiting, as "name (first line
    of its docstring)"; None when the task is not in one."""
    found: str | None = None
    awaited: Any = task.get_coro()
    while awaited is not None:
        frame = getattr(awaited, "cr_frame", None)
        if frame is None:
            break
        module = frame.f_globals.get("__name__", "")
        if module.startswith(OWN_PACKAGES):
            found = _describe(frame)
        awaited = getattr(awaited, "cr_await", None)
    return found


def _describe(frame: Any) -> str:
    name = frame.f_code.co_qualname
    func = frame.f_globals.get(frame.f_code.co_name)
    owner = frame.f_locals.get("self", frame.f_locals.get("cls"))
    if owner is not None:
        func = getattr(owner, frame.f_code.co_name, func)
    doc = inspect.getdoc(func) if func is not None else None
    if not doc:
        return name
    return f"{name} ({doc.strip().splitlines()[0].rstrip('.')})"


class _Stop:
    def __init__(self) -> None:
        self.reason: int | None = None
        self.step: str | None = None

    def request(self, task: asyncio.Task[Any], code: int) -> None:
        if self.reason is None:
            self.reason, self.step = code, step_of(task)
        task.cancel()


def run_bounded(main: Coroutine[Any, Any, T], *, what: str, timeout: float | None,
                grace_s: float = 10.0) -> T:
    """`main`'s result; on time limit or interruption, exits as the module docstring says."""
    loop = asyncio.new_event_loop()
    stop = _Stop()
    started = time.monotonic()
    try:
        task = loop.create_task(main)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.request, task, EXIT_INTERRUPTED)
        if timeout is not None:
            loop.call_later(timeout, stop.request, task, EXIT_TIMEOUT)
        loop.run_until_complete(asyncio.wait([task]))
        if stop.reason is None or (task.done() and not task.cancelled()):
            return task.result()
        _settle(loop, [task], grace_s)
    finally:
        _settle(loop, list(asyncio.all_tasks(loop)), grace_s)
        with contextlib.suppress(Exception):
            loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), grace_s))
        loop.close()
    elapsed = time.monotonic() - started
    at = f" in {stop.step}" if stop.step else ""
    if stop.reason == EXIT_TIMEOUT:
        click.echo(f"{what}: did not finish within {timeout:g} s; stopped{at} "
                   "(raise --timeout to wait longer)", err=True)
    else:
        click.echo(f"{what}: interrupted after {elapsed:.1f} s{at}", err=True)
    sys.exit(stop.reason)


def _settle(loop: asyncio.AbstractEventLoop, tasks: list[asyncio.Task[Any]],
            grace_s: float) -> None:
    """Cancel `tasks` until they end (a cancellation may be swallowed once), at most `grace_s`."""
    deadline = time.monotonic() + grace_s
    while (pending := [t for t in tasks if not t.done()]) and time.monotonic() < deadline:
        for t in pending:
            t.cancel()
        loop.run_until_complete(asyncio.wait(pending, timeout=min(0.5, grace_s)))
    for t in tasks:
        if t.done() and not t.cancelled():
            t.exception()  # retrieved: no "exception was never retrieved" noise at exit
