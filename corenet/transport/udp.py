"""UDP endpoints (RFC 768) for GTPv2-C (TS 29.274 §4.2, port 2123) and SIP (RFC 3261 §18).

Each datagram is one message; there is no connection, so the tap reports ppid = stream = 0.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from corenet.transport.base import (
    Address,
    BindError,
    ClosingContext,
    Direction,
    OnDatagram,
    Tap,
    call_back,
    log,
    sockname,
    tap_call,
)


class UdpEndpoint(asyncio.DatagramProtocol, ClosingContext):
    """A bound UDP socket: on_datagram(payload, addr) per datagram, sendto(payload, addr)."""

    def __init__(self, on_datagram: OnDatagram, tap: Tap | None) -> None:
        self._on_datagram = on_datagram
        self._tap = tap
        self._transport: asyncio.DatagramTransport | None = None
        self._local: Address = ("", 0)
        self._closed = False
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def local(self) -> Address:
        return self._local

    @property
    def closed(self) -> bool:
        return self._closed

    def sendto(self, payload: bytes, addr: Address) -> None:
        if self._closed or self._transport is None:
            raise ConnectionError(f"UDP endpoint {self._local} is closed")
        dst = sockname(addr)
        tap_call(self._tap, Direction.SENT, self._local, dst, payload, 0, 0)
        self._transport.sendto(payload, dst)

    def close(self) -> None:
        if self._transport is not None and not self._closed:
            self._closed = True
            self._transport.close()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._done)


    # -- asyncio.DatagramProtocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)
        self._local = sockname(transport.get_extra_info("sockname"))

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        src = sockname(addr)
        tap_call(self._tap, Direction.RECEIVED, src, self._local, data, 0, 0)
        call_back(self._on_datagram, data, src)

    def error_received(self, exc: Exception) -> None:
        # e.g. ICMP port unreachable for an earlier sendto: the endpoint stays open.
        log.warning("UDP %s: %s", self._local, exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if not self._done.done():
            self._done.set_result(None)


async def open_udp_endpoint(
    host: str, port: int, on_datagram: OnDatagram, *, tap: Tap | None = None
) -> UdpEndpoint:
    """Bind host:port (port 0 picks a free one; see `.local`)."""
    loop = asyncio.get_running_loop()
    try:
        _, endpoint = await loop.create_datagram_endpoint(
            lambda: UdpEndpoint(on_datagram, tap), local_addr=(host, port)
        )
    except OSError as exc:
        raise BindError(host, port, exc) from exc
    return endpoint
