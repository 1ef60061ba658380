"""What every corenet transport shares: addresses, the tap, connection callbacks.

A transport delivers whole messages (one S1AP PDU, one Diameter message, one datagram) and
reports each one, sent or received, to an optional tap (the pcap writer's adapter).
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Protocol, Self

from corenet.core.errors import DecodeError

log = logging.getLogger("corenet.transport")

Address = tuple[str, int]
Clock = Callable[[], float]


def loop_clock() -> float:
    """The running event loop's time: the clock protocol layers read by default."""
    return asyncio.get_running_loop().time()


def bound_clock(clock: Clock) -> Clock:
    """`loop_clock` as the running loop's own `time` (one look-up less per reading); any
    other clock, or `loop_clock` outside a loop, as it is."""
    if clock is loop_clock:
        try:
            return asyncio.get_running_loop().time
        except RuntimeError:  # made outside a loop: read the loop's time when asked
            return loop_clock
    return clock


class BindError(OSError):
    """A listening address that cannot be bound (in use, or not an address of this host)."""

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.host, self.port = host, port
        # the configuration fields that name this address, once a runtime knows them
        self.fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.host}:{self.port}: {self.strerror}"


class Direction(enum.Enum):
    SENT = "sent"
    RECEIVED = "received"


# tap(direction, src, dst, payload, ppid, stream): src/dst as on the wire (for RECEIVED, src is
# the peer). Stream transports without PPID/stream (Diameter over TCP) report 0, 0.
Tap = Callable[[Direction, Address, Address, bytes, int, int], None]


class MessageTransport(Protocol):
    """One connection carrying whole messages."""

    @property
    def local(self) -> Address: ...

    @property
    def remote(self) -> Address: ...

    @property
    def closed(self) -> bool: ...

    def send(self, payload: bytes, ppid: int = 0, stream: int = 0) -> None: ...

    def close(self) -> None: ...


OnMessage = Callable[[Any, bytes, int, int], Awaitable[None] | None]
OnConnect = Callable[[Any], Awaitable[None] | None]
OnClose = Callable[[Any], Awaitable[None] | None]
OnError = Callable[[Any, DecodeError], Awaitable[None] | None]
OnDatagram = Callable[[bytes, Address], Awaitable[None] | None]

_background: set[asyncio.Task[None]] = set()


def call_back(fn: Callable[..., Awaitable[None] | None] | None, *args: Any) -> None:
    """Run an application callback; a coroutine result is scheduled as a task.

    An exception in the application's handler is logged and does not tear down the transport
    (the peer is not at fault).
    """
    if fn is None:
        return
    try:
        result = fn(*args)
    except Exception:
        callback_failed(fn)
        return
    # nearly every handler returns None: the awaitable check only for the others
    if result is not None:
        schedule(result)


def callback_failed(fn: Any) -> None:
    """Log the exception an application callback raised (the transport carries on)."""
    log.exception("callback %s failed", getattr(fn, "__qualname__", fn))


def schedule(result: object) -> None:
    """A callback's result that is awaitable runs as a background task."""
    if inspect.isawaitable(result):
        task = asyncio.ensure_future(result)
        _background.add(task)
        task.add_done_callback(_task_done)


def _task_done(task: asyncio.Task[None]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("callback task failed", exc_info=task.exception())


def tap_call(tap: Tap | None, direction: Direction, src: Address, dst: Address,
             payload: bytes, ppid: int, stream: int) -> None:
    """A failing tap (e.g. a closed capture file) never breaks the traffic it observes."""
    if tap is None:
        return
    try:
        tap(direction, src, dst, payload, ppid, stream)
    except Exception:
        log.exception("tap failed")


def sockname(addr: Any) -> Address:
    """(host, port) from a socket address of either family."""
    return (str(addr[0]), int(addr[1]))


class ClosingContext:
    """`async with` for servers and endpoints: closes on exit and waits until closed."""

    def close(self) -> None:
        raise NotImplementedError

    async def wait_closed(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.close()
        await self.wait_closed()
