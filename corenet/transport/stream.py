"""Message framing over an asyncio byte stream (TCP), shared by the SCTP fallback and Diameter.

The framer is sans-I/O (`feed(bytes) -> frames`, `encode(...) -> bytes`); the protocol class
below only moves bytes between it and the socket. A framing error closes that one connection
after `on_error`; the listening server is never affected.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, cast

from corenet.core.errors import DecodeError
from corenet.transport.base import (
    Address,
    BindError,
    ClosingContext,
    Direction,
    OnClose,
    OnConnect,
    OnError,
    OnMessage,
    Tap,
    call_back,
    callback_failed,
    log,
    schedule,
    sockname,
    tap_call,
)


class Frame(NamedTuple):
    """One delimited message (a named tuple: one is made per message received)."""

    payload: bytes
    ppid: int = 0
    stream: int = 0


class Framer(Protocol):
    """Sans-I/O delimiter. Once the stream cannot be delimited any more, `error` is set and
    `feed` returns only the frames that preceded the fault."""

    error: DecodeError | None

    def feed(self, data: bytes) -> list[Frame]: ...

    def encode(self, payload: bytes, ppid: int, stream: int) -> bytes: ...


@dataclass(frozen=True)
class Callbacks:
    on_message: OnMessage
    on_connect: OnConnect | None = None
    on_close: OnClose | None = None
    on_error: OnError | None = None
    tap: Tap | None = None


class StreamConnection(asyncio.Protocol):
    """One connection: bytes in -> framer -> on_message; send() -> framer -> bytes out.

    The messages sent during one pass of the event loop leave in one write, at the end of the
    pass, in the order they were sent: a node answering many UEs over one association makes
    one system call (and wakes its peer once) per pass, not one per message."""

    def __init__(self, framer: Framer, callbacks: Callbacks) -> None:
        self._framer = framer
        self._cb = callbacks
        # looked up once: every message sent or received uses them
        self._encode = framer.encode
        self._feed = framer.feed
        self._tap = callbacks.tap
        self._on_message = callbacks.on_message
        self._transport: asyncio.Transport | None = None
        self._local: Address = ("", 0)
        self._remote: Address = ("", 0)
        self._closed = False
        self._loop = asyncio.get_running_loop()
        self._done: asyncio.Future[None] = self._loop.create_future()
        self._out: list[bytes] | None = None  # framed messages waiting for the pass's end

    # -- MessageTransport ------------------------------------------------------------------

    @property
    def local(self) -> Address:
        return self._local

    @property
    def remote(self) -> Address:
        return self._remote

    @property
    def closed(self) -> bool:
        return self._closed

    def send(self, payload: bytes, ppid: int = 0, stream: int = 0) -> None:
        if self._closed or self._transport is None:
            raise ConnectionError(f"connection {self._local} -> {self._remote} is closed")
        data = self._encode(payload, ppid, stream)
        if self._tap is not None:
            tap_call(self._tap, Direction.SENT, self._local, self._remote, payload, ppid, stream)
        out = self._out
        if out is None:
            self._out = [data]
            self._loop.call_soon(self._flush)
        else:
            out.append(data)

    def _flush(self) -> None:
        out, self._out = self._out, None
        if out and self._transport is not None and not self._transport.is_closing():
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))

    def close(self) -> None:
        if self._transport is not None and not self._closed:
            self._flush()  # what was sent before the close still leaves, then the FIN
            self._closed = True
            self._transport.close()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._done)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """What the asyncio transport knows of the connection (e.g. "peercert" over TLS)."""
        if self._transport is None:
            return default
        return self._transport.get_extra_info(name, default)

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._local = sockname(transport.get_extra_info("sockname"))
        self._remote = sockname(transport.get_extra_info("peername"))
        call_back(self._cb.on_connect, self)

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        tap, on_message = self._tap, self._on_message
        for payload, ppid, stream in self._feed(data):
            if self._closed:
                return
            if tap is not None:
                tap_call(tap, Direction.RECEIVED, self._remote, self._local, payload, ppid,
                         stream)
            # call_back's work, without a call of its own per message
            try:
                result = on_message(self, payload, ppid, stream)
            except Exception:
                callback_failed(on_message)
                continue
            if result is not None:
                schedule(result)
        exc = self._framer.error
        if exc is not None and not self._closed:
            log.warning("closing %s -> %s: %s", self._remote, self._local, exc)
            call_back(self._cb.on_error, self, exc)
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._out = None
        if not self._done.done():
            self._done.set_result(None)
        call_back(self._cb.on_close, self)


# accept(2) failing for lack of resources: descriptors (per process, system wide) or memory
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
ACCEPT_BACKOFF_S = 0.1
ACCEPT_BACKOFF_MAX_S = 2.0
ACCEPT_BURST = 64  # connections taken per readiness of the listening socket

T = TypeVar("T")


class Acceptor(Generic[T]):
    """Accepts connections on a listening socket in the event loop. When accept fails for lack
    of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM) it logs one warning, stops listening for a
    back-off that doubles up to ACCEPT_BACKOFF_MAX_S, and tries again; the next success logs
    that accepting resumed. Pending connections wait in the kernel's backlog meanwhile."""

    def __init__(self, fd: int, accept: Callable[[], T], on_accepted: Callable[[T], None],
                 what: str) -> None:
        self._fd = fd
        self._accept_one = accept
        self._on_accepted = on_accepted
        self._what = what
        self._loop = asyncio.get_running_loop()
        self._backoff = ACCEPT_BACKOFF_S
        self._paused: asyncio.TimerHandle | None = None
        self._failures = 0
        self._closed = False
        self._loop.add_reader(fd, self._readable)

    @property
    def failures(self) -> int:
        """accept calls that failed for lack of resources since the last success."""
        return self._failures

    def _readable(self) -> None:
        for _ in range(ACCEPT_BURST):
            try:
                accepted = self._accept_one()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_RESOURCES:
                    self._pause(exc)
                else:
                    log.warning("%s: accept failed: %s", self._what, exc)
                return
            if self._failures:
                log.warning("%s: accepting again after %d failed attempts", self._what,
                            self._failures)
                self._failures = 0
                self._backoff = ACCEPT_BACKOFF_S
            self._on_accepted(accepted)

    def _pause(self, exc: OSError) -> None:
        if self._failures == 0:
            log.warning("%s: cannot accept (%s); pausing, retrying with back-off up to %.1f s",
                        self._what, exc.strerror or exc, ACCEPT_BACKOFF_MAX_S)
        self._failures += 1
        self._loop.remove_reader(self._fd)
        self._paused = self._loop.call_later(self._backoff, self._resume)
        self._backoff = min(self._backoff * 2, ACCEPT_BACKOFF_MAX_S)

    def _resume(self) -> None:
        self._paused = None
        if not self._closed:
            self._loop.add_reader(self._fd, self._readable)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._paused is not None:
            self._paused.cancel()
            self._paused = None
        self._loop.remove_reader(self._fd)


class MessageServer(ClosingContext):
    """A listening socket whose connections deliver whole messages."""

    def __init__(self, sock: socket.socket, framer_factory: Callable[[], Framer],
                 callbacks: Callbacks, ssl_context: ssl.SSLContext | None = None) -> None:
        self._sock = sock
        self._ssl = ssl_context
        self._framer_factory = framer_factory
        self._cb = callbacks
        self._loop = asyncio.get_running_loop()
        self._local = sockname(sock.getsockname())
        self.connections: set[StreamConnection] = set()
        self._starting: set[asyncio.Task[None]] = set()
        self._closing: list[StreamConnection] = []
        self._closed = asyncio.Event()
        self._acceptor: Acceptor[tuple[socket.socket, object]] = Acceptor(
            sock.fileno(), sock.accept, self._accepted, f"server {self._local[0]}:{self._local[1]}")

    @property
    def local(self) -> Address:
        return self._local

    @property
    def accept_failures(self) -> int:
        return self._acceptor.failures

    def _accepted(self, accepted: tuple[socket.socket, object]) -> None:
        conn_sock = accepted[0]
        conn_sock.setblocking(False)
        task = self._loop.create_task(self._connect(conn_sock))
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _connect(self, conn_sock: socket.socket) -> None:
        def on_close(conn: StreamConnection) -> None:
            self.connections.discard(conn)
            call_back(self._cb.on_close, conn)

        def on_connect(conn: StreamConnection) -> None:
            self.connections.add(conn)
            call_back(self._cb.on_connect, conn)

        tracked = Callbacks(self._cb.on_message, on_connect, on_close, self._cb.on_error,
                            self._cb.tap)
        try:
            await self._loop.connect_accepted_socket(
                lambda: StreamConnection(self._framer_factory(), tracked), conn_sock,
                ssl=self._ssl)
        except OSError as exc:
            log.warning("connection to %s:%d lost while being set up: %s", *self._local, exc)
            conn_sock.close()

    def close(self) -> None:
        """Stop listening and close every open connection."""
        if self._closed.is_set():
            return
        self._acceptor.close()
        self._sock.close()
        for task in list(self._starting):
            task.cancel()
        self._closing = list(self.connections)
        for conn in self._closing:
            conn.close()
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()
        await asyncio.gather(*(conn.wait_closed() for conn in self._closing))



async def open_stream_server(
    host: str, port: int, framer_factory: Callable[[], Framer], callbacks: Callbacks,
    *, ssl_context: ssl.SSLContext | None = None,
) -> MessageServer:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise BindError(host, port, exc) from exc
    return MessageServer(sock, framer_factory, callbacks, ssl_context)


async def open_stream_client(
    host: str, port: int, framer_factory: Callable[[], Framer], callbacks: Callbacks,
    *, local_host: str | None = None, ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> StreamConnection:
    loop = asyncio.get_running_loop()
    local_addr = (local_host, 0) if local_host is not None else None
    _, conn = await loop.create_connection(
        lambda: StreamConnection(framer_factory(), callbacks), host, port, local_addr=local_addr,
        ssl=ssl_context, server_hostname=server_hostname if ssl_context is not None else None,
    )
    return conn
