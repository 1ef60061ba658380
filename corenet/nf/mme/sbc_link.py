"""The MME's SBc-AP listening side on real sockets: SCTP port 29168, PPID 24 (TS 29.168 §4.1.3;
the CBC opens the association), with the S1AP transport's TCP fallback. Each association is
numbered; its messages become `SbcapReceived` events for `MmeCore`, and `SendSbcap` actions
go out on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from corenet.codecs import sbcap
from corenet.config.models import Endpoint, SctpMode
from corenet.nf.mme.events import Event, SbcapReceived, SbcDown, SbcUp, SendSbcap
from corenet.transport import MessageTransport, open_sctp_server


class SbcLinks:
    """`SbcLinks(feed)`; `start(endpoint)`; `send(action)`; `stop()`."""

    def __init__(self, feed: Callable[[Event], None], tap: Any = None,
                 mode: SctpMode = "auto") -> None:
        self._feed = feed
        self._tap = tap
        self._mode = mode
        self._server: Any = None
        self._conns: dict[int, MessageTransport] = {}
        self._ids: dict[int, int] = {}
        self._next = 0

    @property
    def address(self) -> tuple[str, int] | None:
        return None if self._server is None else self._server.local  # type: ignore[no-any-return]

    async def start(self, endpoint: Endpoint | None) -> None:
        if endpoint is not None:
            self._server = await open_sctp_server(
                endpoint.host, endpoint.port, self._on_message, self._on_connect,
                self._on_close, tap=self._tap, mode=self._mode)

    async def stop(self) -> None:
        server, self._server = self._server, None
        self._conns.clear()
        self._ids.clear()
        if server is not None:
            server.close()
            await server.wait_closed()

    def send(self, action: SendSbcap) -> None:
        conn = self._conns.get(action.cbc)
        if conn is not None and not conn.closed:
            try:
                conn.send(action.data, sbcap.PPID, 0)
            except ConnectionError:
                pass

    def _on_connect(self, conn: MessageTransport) -> None:
        self._next += 1
        self._ids[id(conn)] = self._next
        self._conns[self._next] = conn
        self._feed(SbcUp(self._next))

    def _on_message(self, conn: MessageTransport, payload: bytes, ppid: int, stream: int) -> None:
        cbc = self._ids.get(id(conn))
        if cbc is not None:
            self._feed(SbcapReceived(cbc, payload))

    def _on_close(self, conn: MessageTransport) -> None:
        cbc = self._ids.pop(id(conn), None)
        if cbc is not None:
            self._conns.pop(cbc, None)
            if self._server is not None:
                self._feed(SbcDown(cbc))
