"""Repeated log records are collapsed: the first few pass, then one "repeated K times" line."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import time
from collections.abc import Callable, Iterator

import pytest

from corenet.core.actions import LogEvent
from corenet.core.logs import (
    NETWORK_FUNCTION,
    JsonFormatter,
    NetworkFunctionFilter,
    RepeatFilter,
    event_level,
    log_event,
    setup_logging,
)
from corenet.pcap.wirelog import WireLog
from corenet.transport.base import Direction


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


Logged = tuple[logging.Logger, list[logging.LogRecord], RepeatFilter, Clock]


@pytest.fixture
def logged() -> Iterator[Logged]:
    clock = Clock()
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    repeat = RepeatFilter(burst=3, interval=60.0, clock=clock)
    handler.addFilter(repeat)
    repeat.bind(handler.handle)
    logger = logging.getLogger("corenet.test.repeats")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, records, repeat, clock
    logger.removeHandler(handler)
    logger.propagate = True


def _lines(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records]


def test_first_records_pass_then_one_summary_line(logged: Logged) -> None:
    logger, records, _, clock = logged
    for i in range(100):
        logger.warning("bad S1AP from %s", f"192.0.2.{i}")
    assert _lines(records) == ["bad S1AP from 192.0.2.0", "bad S1AP from 192.0.2.1",
                               "bad S1AP from 192.0.2.2"]
    clock.now += 61
    logger.warning("bad S1AP from %s", "192.0.2.200")
    assert _lines(records)[3] == "'bad S1AP from %s' repeated 97 times in 61 s (after the first 3)"
    assert records[3].levelno == logging.WARNING and records[3].name == "corenet.test.repeats"
    # a new interval: the record that ended the old one passes
    assert _lines(records)[4:] == ["bad S1AP from 192.0.2.200"]


def test_kinds_are_counted_apart(logged: Logged) -> None:
    logger, records, repeat, _ = logged
    for _ in range(10):
        logger.warning("peer %s closed", "a")
        logger.error("peer %s closed", "a")  # another level
        logger.warning("answer %s dropped", 1)  # another template
        logger.warning("x", extra={"event": "s1.setup.reject"})  # another event, same template
        logger.warning("x", extra={"event": "s1.reset"})
    assert len(records) == 5 * 3
    repeat.flush()
    summaries = _lines(records)[15:]
    assert len(summaries) == 5 and all("repeated 7 times" in s for s in summaries)
    assert "'s1.setup.reject: x' repeated 7 times" in " ".join(summaries)


def _fail(n: int) -> None:
    raise ValueError(f"bad length {n}")


def test_tracebacks_of_the_same_exception_at_the_same_place_collapse(logged: Logged) -> None:
    logger, records, repeat, _ = logged
    for n in range(10):
        try:
            _fail(n)
        except ValueError:
            logger.exception("decoding failed")
    try:
        raise KeyError("elsewhere")
    except KeyError:
        logger.exception("decoding failed")
    repeat.flush()
    with_traceback = [r for r in records if r.exc_info]
    # the ValueError's first record and the KeyError (a different exception) keep their traceback
    assert [r.exc_info[1].__class__ for r in with_traceback] == [ValueError, KeyError]  # type: ignore[index]
    lines = _lines(records)
    place = f"test_logs.py:{_fail.__code__.co_firstlineno + 1}"
    assert lines[1] == f"decoding failed [ValueError at {place}, traceback as logged before]"
    assert lines[-1] == (f"'decoding failed' (ValueError at {place}) repeated 7 times in 0 s "
                         "(after the first 3)")


def test_setup_logging_installs_the_filter_on_the_root_handlers() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers = []
    stream = io.StringIO()
    try:
        repeat = setup_logging("warning", fmt="%(levelname)s %(message)s", burst=2)
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        log = logging.getLogger("corenet.test.setup")
        for _ in range(5):
            log.warning("same")
        repeat.flush()
    finally:
        root.handlers, _ = saved[0], root.setLevel(saved[1])
    assert stream.getvalue().splitlines() == [
        "WARNING same", "WARNING same", "WARNING 'same' repeated 3 times in 0 s (after the first 2)"]


# -- levels and formats of the network functions' events ---------------------------------------


@pytest.mark.parametrize(("kind", "level"), [
    ("emm.attach.accepted", logging.INFO),
    ("emm.attach.rejected", logging.WARNING),
    ("diameter.peer.rejected", logging.WARNING),  # 3010 DIAMETER_UNKNOWN_PEER (RFC 6733 §5.3)
    ("s1ap.setup.timeout", logging.WARNING),
    ("diameter.request.timeout", logging.WARNING),
    ("s6a.connect.failed", logging.ERROR),
    ("s11.failed", logging.ERROR),
    ("emm.authentication.failed", logging.WARNING),
    ("s6a.watchdog", logging.DEBUG),
    ("wire.sent", logging.DEBUG),
])
def test_event_levels_mean_something(kind: str, level: int) -> None:
    assert event_level(kind) == level


def test_a_kind_seen_before_takes_its_level_without_deciding_it_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each event of a kind already logged costs one look-up of its level: `event_level`
    decides a kind once, and the line keeps the level decided then."""
    import corenet.core.logs as logs

    decided: list[str] = []

    def counted(kind: str) -> int:
        decided.append(kind)
        return event_level(kind)

    monkeypatch.setattr(logs, "event_level", counted)
    event = LogEvent("emm.kind_seen_once.rejected", {"imsi": "440100000000001"})
    lines = _format(lambda log: [log_event(log, event) for _ in range(3)], JsonFormatter())
    assert decided == ["emm.kind_seen_once.rejected"]
    assert [json.loads(line)["level"] for line in lines] == ["WARNING"] * 3


def _format(record_of: Callable[[logging.Logger], None], formatter: logging.Formatter,
            level: int = logging.DEBUG, name: str = "corenet.mme") -> list[str]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(NetworkFunctionFilter())
    logger = logging.getLogger(name)
    saved = logger.handlers[:], logger.level, logger.propagate
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(level)
    try:
        record_of(logger)
    finally:
        logger.handlers, logger.propagate = saved[0], saved[2]
        logger.setLevel(saved[1])
    return stream.getvalue().splitlines()


REJECT = LogEvent("emm.attach.rejected", {"imsi": "440100000000001", "mme_ue_id": 7,
                                          "emm_cause": 11, "detail": "PLMN not allowed"})


def test_human_lines_are_key_values_not_a_dict_repr() -> None:
    lines = _format(lambda log: log_event(log, REJECT),
                    logging.Formatter("%(levelname)s %(message)s"))
    assert lines == ['WARNING emm.attach.rejected imsi=440100000000001 mme_ue_id=7 emm_cause=11 '
                     'detail="PLMN not allowed"']


def test_json_lines_carry_time_level_nf_event_and_identifiers() -> None:
    lines = _format(lambda log: log_event(log, REJECT), JsonFormatter())
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert out["level"] == "WARNING" and out["nf"] == "mme" and out["logger"] == "corenet.mme"
    assert out["event"] == "emm.attach.rejected"
    assert (out["imsi"], out["mme_ue_id"], out["emm_cause"]) == ("440100000000001", 7, 11)
    when = dt.datetime.fromisoformat(out["time"].replace("Z", "+00:00"))
    assert abs(when.timestamp() - time.time()) < 60


def test_json_plain_messages_exceptions_and_the_running_function() -> None:
    def records(log: logging.Logger) -> None:
        token = NETWORK_FUNCTION.set("hss")  # as the runtime sets it while starting the HSS
        try:
            try:
                raise ValueError("bad AVP")
            except ValueError:
                log.exception("callback %s failed", "on_message")
        finally:
            NETWORK_FUNCTION.reset(token)
        log.info("no function")

    lines = _format(records, JsonFormatter(), name="corenet.transport")
    failed, plain = (json.loads(line) for line in lines)
    assert failed["nf"] == "hss" and failed["level"] == "ERROR" and failed["event"] is None
    assert failed["message"] == "callback on_message failed"
    assert "ValueError: bad AVP" in failed["exception"]
    assert plain["nf"] is None and plain["message"] == "no function"


def test_wire_log_gives_each_message_in_hex_at_debug() -> None:
    wire = WireLog(logging.getLogger("corenet.mme"))
    lines = _format(lambda _: wire.udp(Direction.SENT, ("127.0.0.2", 2123), ("127.0.0.4", 2123),
                                       b"\x48\x20\x00\x04"), JsonFormatter())
    out = json.loads(lines[0])
    assert out["level"] == "DEBUG" and out["event"] == "wire.sent"
    assert out["interface"] == "gtpv2c" and out["hex"] == "48200004" and out["length"] == 4
    assert _format(lambda _: wire.udp(Direction.SENT, ("127.0.0.2", 2123), ("127.0.0.4", 2123),
                                      b"\x48"), JsonFormatter(), level=logging.INFO) == []


def test_one_filter_on_two_handlers_judges_each_record_once() -> None:
    """`setup_logging` puts one RepeatFilter on every root handler: the second handler sees the
    record as the first did (traceback kept, counted once)."""
    seen: list[list[tuple[str, bool]]] = [[], []]

    class Keep(logging.Handler):
        def __init__(self, into: list[tuple[str, bool]]) -> None:
            super().__init__()
            self.into = into

        def emit(self, record: logging.LogRecord) -> None:
            self.into.append((record.getMessage(), record.exc_info is not None))

    repeat = RepeatFilter(burst=2, interval=60.0, clock=Clock())
    logger = logging.getLogger("corenet.test.shared")
    logger.propagate = False
    handlers = [Keep(seen[0]), Keep(seen[1])]
    for handler in handlers:
        handler.addFilter(repeat)
        logger.addHandler(handler)
    try:
        for n in range(4):
            try:
                _fail(n)
            except ValueError:
                logger.exception("decoding failed")
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
        logger.propagate = True
    assert seen[0] == seen[1]
    assert len(seen[0]) == 2  # burst 2: counted once per record, not once per handler
    assert seen[0][0] == ("decoding failed", True)
    assert seen[0][1][1] is False and "traceback as logged before" in seen[0][1][0]
