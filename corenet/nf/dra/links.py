"""One Diameter connection of the agent: a transport and its peer machine, pumped (asyncio).

All of the agent's transport handling lives here: the service sees `PeerLink`s and the
`corenet.protocols.diameter_peer` events they report, nothing of sockets or timers.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from corenet.codecs.base import Message
from corenet.core.errors import DecodeError
from corenet.protocols import diameter_peer as dp
from corenet.transport.base import MessageTransport

_ids = itertools.count(1)


class PeerLink:
    """A transport connection carrying one `DiameterPeer` (RFC 6733 §5.6, RFC 3539)."""

    def __init__(self, conn: MessageTransport, peer: dp.DiameterPeer,
                 on_event: Callable[[PeerLink, dp.PeerEvent], None],
                 on_closed: Callable[[PeerLink], None]) -> None:
        self.key = next(_ids)
        self.conn = conn
        self.peer = peer
        self._on_event = on_event
        self._on_closed = on_closed
        self._timer: asyncio.TimerHandle | None = None
        self._done = False
        # the configured peer this side connected to (initiator), None for accepted ones
        self.initiated_to: str | None = None

    @property
    def host(self) -> str | None:
        return self.peer.peer_host

    # -- from the transport ----------------------------------------------------------------

    def opened(self) -> None:
        self.peer.connection_made(_now())
        self.pump()

    def received(self, payload: bytes) -> None:
        self.peer.receive(payload, _now())
        self.pump()

    def stream_error(self, exc: DecodeError) -> None:
        """The framer lost the message boundary: 5011/5015 from the header (RFC 6733 §7.1.5)."""
        self.peer.stream_error(exc, _now())
        self.pump()

    def lost(self) -> None:
        self.peer.connection_lost(_now())
        self.pump()

    # -- to the peer machine ---------------------------------------------------------------

    def request(self, message: Message, timeout: float | None = None) -> int:
        hbh = self.peer.request(message, _now(), timeout)
        self.pump()
        return hbh

    def send_answer(self, message: Message) -> None:
        self.peer.send_answer(message, _now())
        self.pump()

    def close(self) -> None:
        self.peer.close(_now())
        self.pump()

    def pump(self) -> None:
        """Events to the owner, bytes to the transport, the next timer; closed when CLOSED."""
        while (event := self.peer.next_event()) is not None:
            self._on_event(self, event)
        data = self.peer.data_to_send()
        if not self.conn.closed:
            for payload in data:
                try:
                    self.conn.send(payload)
                except ConnectionError:
                    break
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.peer.state is dp.PeerState.CLOSED:
            self._finish()
            return
        when = self.peer.get_timer()
        if when is not None:
            self._timer = asyncio.get_running_loop().call_at(when, self._expired)

    def _expired(self) -> None:
        self._timer = None
        self.peer.handle_timer(_now())
        self.pump()

    def _finish(self) -> None:
        if not self.conn.closed:
            self.conn.close()
        if not self._done:
            self._done = True
            self._on_closed(self)


def _now() -> float:
    return asyncio.get_running_loop().time()
