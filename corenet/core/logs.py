"""Logging of the long-running commands: event levels, human or JSON lines, repeats collapsed.

A network function's `LogEvent` is logged by `log_event` at a level that means something
(`event_level`: DEBUG per-message detail, INFO procedure milestones, WARNING refusals and
timeouts, ERROR failures), as "kind key=value ..." in the human format and, with
`log_format="json"`, as one JSON object per line (`JsonFormatter`) carrying time, level, the
network function (`NETWORK_FUNCTION`, set by the runtime), the event and its identifiers.

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

import contextvars
import datetime as dt
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corenet.core.actions import LogEvent

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
LOG_FORMATS = ("human", "json")

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
        self._last_record: logging.LogRecord | None = None
        self._last_verdict = True
        # records may come from several threads; summaries re-enter through the handler
        self._lock = threading.RLock()

    def bind(self, emit: Callable[[logging.LogRecord], object]) -> None:
        """Where summary lines go (the handler the filter is attached to)."""
        self._emit = emit

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, self.SUMMARY, False):
            return True
        with self._lock:
            # one filter on several handlers (`setup_logging`) judges a record once: a second
            # look would count it twice and strip the traceback the first handler just wrote
            if record is self._last_record:
                return self._last_verdict
            verdict = self._filter(record)
            self._last_record, self._last_verdict = record, verdict
            return verdict

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


def setup_logging(level: str | int, fmt: str = FORMAT, *, log_format: str = "human",
                  **limits: Any) -> RepeatFilter:
    """`logging.basicConfig` with a `RepeatFilter` on each root handler (see module docstring);
    `log_format="json"`: one JSON object per line (`JsonFormatter`)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}")
    logging.basicConfig(level=level.upper() if isinstance(level, str) else level, format=fmt)
    repeat = RepeatFilter(**limits)
    for handler in logging.getLogger().handlers:
        if log_format == "json":
            handler.setFormatter(JsonFormatter())
        if not any(isinstance(f, NetworkFunctionFilter) for f in handler.filters):
            handler.addFilter(NetworkFunctionFilter())
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(repeat)
            repeat.bind(handler.handle)
    return repeat


# -- events of the network functions ---------------------------------------------------------
#
# A level that means something: DEBUG for keep-alives and per-message detail, INFO for procedure
# milestones, WARNING for what a peer or a UE was refused and for timeouts, ERROR for failures
# of a procedure or a connection of ours. Decided by the last segment of the event's kind
# ("emm.attach.rejected" -> "rejected"), unless the whole kind is listed in EVENT_LEVELS.

LAST_SEGMENT_LEVELS: dict[str, int] = {
    **dict.fromkeys(("watchdog", "duplicate_request"), logging.DEBUG),
    **dict.fromkeys((
        "rejected", "refused", "roaming_refused", "timeout", "discarded", "malformed",
        "unexpected", "unsupported", "version_not_supported", "no_route", "down", "path_down",
        "peer_down", "pdn_lost", "error", "error_answer", "not_accepted", "no_bearer",
        "dropped", "unavailable", "ue_failure", "mismatch", "aborted", "no_subscription",
        "failover", "restarted", "sgw_restarted", "injected"), logging.WARNING),
    "failed": logging.ERROR,
}
EVENT_LEVELS: dict[str, int] = {
    # the UE's RES did not match (TS 33.401 §6.1.1): the UE is rejected, nothing of ours failed
    "emm.authentication.failed": logging.WARNING,
    # failures the operator injected on purpose through the control API
    "hss.failure": logging.WARNING,
    # every message in hex (corenet.pcap.wirelog)
    "wire.sent": logging.DEBUG,
    "wire.received": logging.DEBUG,
}


def event_level(kind: str) -> int:
    level = _LEVEL_OF.get(kind)
    if level is None:
        level = EVENT_LEVELS.get(kind)
        if level is None:
            level = LAST_SEGMENT_LEVELS.get(kind.rpartition(".")[2], logging.INFO)
        if len(_LEVEL_OF) >= LEVELS_KEPT:
            _LEVEL_OF.clear()
        _LEVEL_OF[kind] = level
    return level


# the level of each kind seen: a node logs a few dozen kinds over and over (several an
# attach), and kinds built from a peer's message names stay bounded by this many
LEVELS_KEPT = 1024
_LEVEL_OF: dict[str, int] = {}


class _KeyValues:
    """`key=value ...` of an event's fields, rendered only when a handler formats the record."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def __str__(self) -> str:
        return " ".join(f"{k}={_text(v)}" for k, v in self.data.items())


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, str):
        return value if value and " " not in value and "=" not in value else json.dumps(value)
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":")) \
        if isinstance(value, dict | list | tuple) else str(value)


def log_event(logger: logging.Logger, event: LogEvent) -> None:
    """Log a network function's event at its level (`event_level`), its fields as key=value in
    the text and as `record.fields` for `JsonFormatter`."""
    kind = event.kind
    level = _LEVEL_OF.get(kind) or event_level(kind)  # a kind seen before: one look-up
    if logger.isEnabledFor(level):
        logger.log(level, "%s %s", kind, _KeyValues(event.data),
                   extra={"event": kind, "fields": event.data})


# The network function on whose behalf the code runs: set by the runtime while it starts one,
# inherited by every task and callback that function creates (contextvars follow asyncio tasks
# and loop callbacks), so that transport and protocol records name their function too.
NETWORK_FUNCTION: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "corenet_network_function", default=None)


class NetworkFunctionFilter(logging.Filter):
    """Stamps `record.nf`: the running network function, else the one the logger names."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "nf", None) is None:
            record.nf = NETWORK_FUNCTION.get() or _nf_of_logger(record.name)
        return True


def _nf_of_logger(name: str) -> str | None:
    parts = name.split(".")
    if len(parts) >= 2 and parts[0] == "corenet" and parts[1] in NF_LOGGERS:
        return NF_LOGGERS[parts[1]]
    return None


NF_LOGGERS = {"hss": "hss", "mme": "mme", "sgw_pgw": "sgw-pgw", "ims": "ims", "psap": "psap"}

RECORD_KEYS = ("time", "level", "nf", "logger", "event", "message", "exception")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, RFC 3339), level, nf, logger, event (null for a
    plain message), message, the event's fields (IMSI, MME UE S1AP ID, peer, cause, ...) at the
    top level (renamed `field_` when they clash with these keys), and exception (traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created, dt.UTC)
        out: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "nf": getattr(record, "nf", None) or _nf_of_logger(record.name),
            "logger": record.name,
            "event": getattr(record, "event", None),
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                out[f"{key}_" if key in RECORD_KEYS else str(key)] = _json_value(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_value(v) for v in value]
    return value
