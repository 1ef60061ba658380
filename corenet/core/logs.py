"""Logging setup of the long-running commands, with repeats of the same error collapsed.

A peer that sends the same malformed message a thousand times a second must not bury the log (or
fill the disk) with a thousand identical warnings and tracebacks. `RepeatFilter` lets the first
`burst` records of a kind through per `interval` seconds and counts the rest; when the interval is
over, one summary line says how many were held back ("... repeated K times"). Records are of the
same kind when they share logger, level, message template (not the formatted arguments: "bad
S1AP from %s" is one kind whatever the address) and, for records carrying an exception, its type
and the place it was raised. Of a kind carrying an exception, only the first record of an interval
prints the traceback; the others say where it was shown.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"

Key = tuple[str, int, str, str, str]


@dataclass
class _Window:
    start: float
    passed: int = 0
    held: int = 0
    template: str = ""
    traceback_shown: bool = False


def _origin(record: logging.LogRecord) -> tuple[str, str]:
    """(exception type, file:line where it was raised) of the record's exception, if any."""
    if not record.exc_info or record.exc_info[1] is None:
        return "", ""
    exc = record.exc_info[1]
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}" if tb is not None else "?"
    return type(exc).__name__, where


class RepeatFilter(logging.Filter):
    """`burst` records of a kind per `interval` seconds, then one "repeated K times" line.

    Summaries of held-back records are written when the next record of any kind arrives after
    their interval, and by `flush()` (called at shutdown by `setup_logging`'s caller)."""

    SUMMARY = "_corenet_repeat_summary"

    def __init__(self, burst: int = 5, interval: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 emit: Callable[[logging.LogRecord], object] | None = None,
                 max_kinds: int = 10_000) -> None:
        super().__init__()
        self.burst = burst
        self.interval = interval
        self._clock = clock
        self._emit = emit
        self._windows: dict[Key, _Window] = {}
        self._max_kinds = max_kinds
        self._next_expiry = math.inf
        # records may come from several threads; summaries re-enter through the handler
        self._lock = threading.RLock()

    def bind(self, emit: Callable[[logging.LogRecord], object]) -> None:
        """Where summary lines go (the handler the filter is attached to)."""
        self._emit = emit

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, self.SUMMARY, False):
            return True
        with self._lock:
            return self._filter(record)

    def _filter(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        if now >= self._next_expiry:
            self._expire(now)
        exc_type, exc_where = _origin(record)
        # a structured record's `event` (extra={"event": ...}) names its kind along with the template
        template = str(record.msg)
        event = getattr(record, "event", None)
        kind = f"{event}: {template}" if event else template
        key: Key = (record.name, record.levelno, kind, exc_type, exc_where)
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) >= self._max_kinds:
                self._expire(now, everything=True)
            window = self._windows[key] = _Window(now, template=kind)
            self._next_expiry = min(self._next_expiry, now + self.interval)
        if window.passed >= self.burst:
            window.held += 1
            return False
        window.passed += 1
        if exc_type:
            if window.traceback_shown:
                record.msg = (f"{record.getMessage()} [{exc_type} at {exc_where}, "
                              f"traceback as logged before]")
                record.args = None
                record.exc_info = None
                record.exc_text = None
            window.traceback_shown = True
        return True

    def flush(self) -> None:
        """Write the summaries of every kind with records held back."""
        with self._lock:
            self._expire(self._clock(), everything=True)

    def _expire(self, now: float, everything: bool = False) -> None:
        done = [k for k, w in self._windows.items()
                if everything or now - w.start >= self.interval]
        for key in done:
            window = self._windows.pop(key)
            if window.held:
                self._summary(key, window, now)
        self._next_expiry = min((w.start + self.interval for w in self._windows.values()),
                                default=math.inf)

    def _summary(self, key: Key, window: _Window, now: float) -> None:
        name, level, _, exc_type, exc_where = key
        what = f" ({exc_type} at {exc_where})" if exc_type else ""
        record = logging.LogRecord(
            name, level, __file__, 0,
            "%r%s repeated %d times in %.0f s (after the first %d)",
            (window.template, what, window.held, max(now - window.start, 0.0), window.passed),
            None)
        setattr(record, self.SUMMARY, True)
        if self._emit is not None:
            self._emit(record)


def setup_logging(level: str | int, fmt: str = FORMAT, **limits: Any) -> RepeatFilter:
    """`logging.basicConfig` with a `RepeatFilter` on each root handler (see module docstring)."""
    logging.basicConfig(level=level.upper() if isinstance(level, str) else level, format=fmt)
    repeat = RepeatFilter(**limits)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(repeat)
            repeat.bind(handler.handle)
    return repeat
