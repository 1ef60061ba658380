"""Message framing over an asyncio byte stream (TCP), shared by the SCTP fallback and Diameter.

The framer is sans-I/O (`feed(bytes) -> frames`, `encode(...) -> bytes`); the protocol class
below only moves bytes between it and the socket. A framing error closes that one connection
after `on_error`; the listening server is never affected.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from corenet.core.errors import DecodeError
from corenet.transport.base import (
    Address,
    ClosingContext,
    Direction,
    OnClose,
    OnConnect,
    OnError,
    OnMessage,
    Tap,
    call_back,
    log,
    sockname,
    tap_call,
)


@dataclass(frozen=True)
class Frame:
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
    """One connection: bytes in -> framer -> on_message; send() -> framer -> bytes out."""

    def __init__(self, framer: Framer, callbacks: Callbacks) -> None:
        self._framer = framer
        self._cb = callbacks
        self._transport: asyncio.Transport | None = None
        self._local: Address = ("", 0)
        self._remote: Address = ("", 0)
        self._closed = False
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

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
        data = self._framer.encode(payload, ppid, stream)
        tap_call(self._cb.tap, Direction.SENT, self._local, self._remote, payload, ppid, stream)
        self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None and not self._closed:
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
        for frame in self._framer.feed(data):
            if self._closed:
                return
            tap_call(self._cb.tap, Direction.RECEIVED, self._remote, self._local,
                     frame.payload, frame.ppid, frame.stream)
            call_back(self._cb.on_message, self, frame.payload, frame.ppid, frame.stream)
        exc = self._framer.error
        if exc is not None and not self._closed:
            log.warning("closing %s -> %s: %s", self._remote, self._local, exc)
            call_back(self._cb.on_error, self, exc)
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if not self._done.done():
            self._done.set_result(None)
        call_back(self._cb.on_close, self)


class MessageServer(ClosingContext):
    """A listening socket whose connections deliver whole messages."""

    def __init__(self, server: asyncio.Server, connections: set[StreamConnection]) -> None:
        self._server = server
        self.connections = connections

    @property
    def local(self) -> Address:
        return sockname(self._server.sockets[0].getsockname())

    def close(self) -> None:
        """Stop listening and close every open connection."""
        self._server.close()
        for conn in list(self.connections):
            conn.close()

    async def wait_closed(self) -> None:
        await self._server.wait_closed()



async def open_stream_server(
    host: str, port: int, framer_factory: Callable[[], Framer], callbacks: Callbacks,
    *, ssl_context: ssl.SSLContext | None = None,
) -> MessageServer:
    loop = asyncio.get_running_loop()
    connections: set[StreamConnection] = set()

    def on_close(conn: StreamConnection) -> None:
        connections.discard(conn)
        call_back(callbacks.on_close, conn)

    def on_connect(conn: StreamConnection) -> None:
        connections.add(conn)
        call_back(callbacks.on_connect, conn)

    tracked = Callbacks(callbacks.on_message, on_connect, on_close, callbacks.on_error,
                        callbacks.tap)
    server = await loop.create_server(
        lambda: StreamConnection(framer_factory(), tracked), host, port, ssl=ssl_context
    )
    return MessageServer(server, connections)


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
