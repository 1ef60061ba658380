"""The asyncio side of the Diameter peer machine (`corenet.protocols.diameter_peer`), shared by
every network function that speaks Diameter (the MME's S6a client, the HSS).

- `DiameterLink`: one connection and its `DiameterPeer`. Bytes in, events out to the owner,
  bytes and the one timer of the machine carried out; the transport is closed once the machine
  is CLOSED (RFC 6733 §5.6). Request timeouts are the machine's own (one per request).
- `DiameterConnector`: the initiator side of one configured peer (RFC 6733 §5.6 I-Snd-Conn-Req):
  connect over TCP or TLS (§13.1), and connect again after a loss (§2.1, the Tc timer).
- `DiameterListener`: the responder side (R-Conn-CER): accept over TCP, TLS or SCTP, one link
  per accepted connection.

One clock drives the machines: the `clock` handed in (the event loop's time by default).
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs.base import Message
from corenet.core.errors import DecodeError
from corenet.core.timers import EarliestDeadline
from corenet.protocols import diameter_peer as dp
from corenet.transport.base import Address, Clock, MessageTransport, Tap, bound_clock, loop_clock
from corenet.transport.sctp import open_sctp_server
from corenet.transport.tcp import open_diameter_tcp_client, open_diameter_tcp_server

log = logging.getLogger("corenet.diameter")

DIAMETER_PPID = 46  # IANA SCTP payload protocol identifier for Diameter (RFC 6733 §2.1)
RECONNECT_S = 2.0  # RFC 6733 §2.1: a lost connection to a peer is re-established (Tc timer)

OnPeerEvent = Callable[["DiameterLink", dp.PeerEvent], None]


def initiators(config: dp.PeerConfig, remote_host: str, seed_label: str | None,
               **peer: Any) -> Callable[[], dp.DiameterPeer]:
    """A new initiator machine for each connection to `remote_host` (RFC 6733 §5.6). In a
    seeded run its Hop-by-Hop identifiers come from `seed_label`, told apart per reconnection
    so that no two connections repeat them (RFC 6733 §3)."""
    connects = 0

    def make_peer() -> dp.DiameterPeer:
        nonlocal connects
        connects += 1
        again = "" if connects == 1 else f":{connects}"
        rng = None if seed_label is None else random.Random(seed_label + again)
        return dp.DiameterPeer(config, dp.Role.INITIATOR, rng=rng, remote_address=remote_host,
                               **peer)

    return make_peer


class DiameterLink:
    """One Diameter connection driven by its peer machine (RFC 6733 §5, RFC 3539 §3.4)."""

    def __init__(self, conn: MessageTransport, peer: dp.DiameterPeer, on_event: OnPeerEvent,
                 *, clock: Clock = loop_clock, ppid: int = 0,
                 on_closed: Callable[[DiameterLink], None] | None = None) -> None:
        self.conn = conn
        self.peer = peer
        self._on_event = on_event
        self._on_closed = on_closed
        self._clock = bound_clock(clock)
        self._ppid = ppid
        self._timer = EarliestDeadline(self._fire)
        self.closed = asyncio.Event()

    @property
    def is_open(self) -> bool:
        return self.peer.is_open

    def start(self) -> None:
        """The connection is up: the initiator sends CER, the responder awaits one (§5.6)."""
        self.peer.connection_made(self._clock())
        self.pump()

    # -- from the transport -----------------------------------------------------------------

    def receive(self, payload: bytes) -> None:
        self.peer.receive(payload, self._clock())
        self.pump()

    def stream_error(self, exc: DecodeError) -> None:
        """The framer lost the message boundary: 5011/5015 answered from the header it read
        (RFC 6733 §7.1.5), then the connection closes."""
        self.peer.stream_error(exc, self._clock())
        self.pump()

    def connection_lost(self) -> None:
        self.peer.connection_lost(self._clock())
        self.pump()
        self.drop()

    # -- from the owner ---------------------------------------------------------------------

    def request(self, msg: Message) -> int:
        """Send an application request; it times out by the machine's `request_timeout_s`."""
        hbh = self.peer.request(msg, self._clock())
        self.pump()
        return hbh

    def send_answer(self, answer: Message) -> None:
        self.peer.send_answer(answer, self._clock())
        self.pump()

    def close(self, cause: int = dia.DisconnectCause.DO_NOT_WANT_TO_TALK_TO_YOU) -> None:
        """DPR when open (RFC 6733 §5.4), otherwise close at once."""
        self.peer.close(self._clock(), cause)
        self.pump()

    def drop(self) -> None:
        """Close the transport and forget the timer, whatever the machine's state."""
        self._timer.cancel()
        if not self.conn.closed:
            self.conn.close()
        if not self.closed.is_set():
            self.closed.set()
            if self._on_closed is not None:
                self._on_closed(self)

    # -- the loop ---------------------------------------------------------------------------

    def pump(self) -> None:
        """Events to the owner, bytes to the transport, then the timer; drop when CLOSED."""
        while (event := self.peer.next_event()) is not None:
            try:
                self._on_event(self, event)
            except Exception:
                # a fault of ours on one message must not stop the node serving the others
                log.exception("Diameter link failed on %s", type(event).__name__)
        data = self.peer.data_to_send()
        if not self.conn.closed:
            for payload in data:
                try:
                    self.conn.send(payload, self._ppid)
                except ConnectionError:
                    break
        if self.peer.state is dp.PeerState.CLOSED:
            self.drop()
            return
        self._arm()

    def _arm(self) -> None:
        self._timer.arm(self.peer.get_timer(), self._clock())

    def _fire(self) -> None:
        self.peer.handle_timer(self._clock())
        self.pump()


@dataclass(frozen=True)
class ConnectTarget:
    """Where one configured peer is reached (RFC 6733 §2.1), and how (§13.1 TLS)."""

    host: str
    port: int
    local_host: str | None = None
    ssl_context: ssl.SSLContext | None = None
    server_hostname: str | None = None  # the name the peer's certificate must carry


class DiameterConnector:
    """Keeps one connection to a configured peer: connect, and again after a loss.

    `make_peer()` gives a fresh initiator machine per connection; `on_event` gets its events,
    `on_down(reason)` a connection that failed or closed. `opened` is set while the peer is
    open (after CER/CEA)."""

    def __init__(self, target: ConnectTarget, make_peer: Callable[[], dp.DiameterPeer],
                 on_event: OnPeerEvent, on_down: Callable[[str, OSError | None], None], *,
                 clock: Clock = loop_clock, tap: Tap | None = None,
                 reconnect_s: float = RECONNECT_S,
                 connect_timeout_s: float | None = None) -> None:
        self.target = target
        self._make_peer = make_peer
        self._on_event = on_event
        self._on_down = on_down
        self._clock = clock
        self._tap = tap
        self._reconnect_s = reconnect_s
        self._connect_timeout_s = connect_timeout_s
        self.link: DiameterLink | None = None
        self.opened = asyncio.Event()
        # set once the first connection attempt has ended, whichever way
        self.attempted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def is_open(self) -> bool:
        return self.link is not None and self.link.is_open

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.ensure_future(self._keep_connected())

    def stop(self) -> None:
        """DPR if open (RFC 6733 §5.4), then close; no reconnection."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            self._task = None
        link = self.link
        if link is not None:
            if not link.conn.closed:
                link.close()
            link.drop()

    def request(self, msg: Message) -> int:
        if self.link is None:
            raise dp.PeerNotOpen(f"no connection to {self.target.host}")
        return self.link.request(msg)

    async def _keep_connected(self) -> None:
        """Connect (initiator, RFC 6733 §5.6), and reconnect after a loss."""
        while not self._stopping:
            if self.link is None or self.link.conn.closed:
                try:
                    # a peer that does not answer the handshake is tried again later
                    await asyncio.wait_for(self._connect(), self._connect_timeout_s)
                except OSError as exc:  # TimeoutError included
                    self._on_down(f"connect failed: {exc or 'timeout'}", exc)
                self.attempted.set()
            await asyncio.sleep(self._reconnect_s)

    async def _connect(self) -> None:
        t = self.target
        self.opened.clear()
        holder: list[DiameterLink] = []
        conn = await open_diameter_tcp_client(
            t.host, t.port, lambda conn, payload, ppid, stream: holder[0].receive(payload),
            on_close=lambda conn: holder[0].connection_lost() if holder else None,
            on_error=lambda conn, exc: holder[0].stream_error(exc),
            tap=self._tap, local_host=t.local_host, ssl_context=t.ssl_context,
            server_hostname=t.server_hostname)
        link = DiameterLink(conn, self._make_peer(), self._event, clock=self._clock,
                            on_closed=self._closed)
        holder.append(link)
        self.link = link
        link.start()

    def _event(self, link: DiameterLink, event: dp.PeerEvent) -> None:
        if isinstance(event, dp.PeerOpened):
            self.opened.set()
        self._on_event(link, event)

    def _closed(self, link: DiameterLink) -> None:
        self.opened.clear()
        if not self._stopping:
            self._on_down("connection closed", None)


class DiameterListener:
    """Accepts Diameter peers on one address (RFC 6733 §2.1: TCP 3868, TLS 5658, or SCTP).

    `make_peer(conn)` gives the responder machine of an accepted connection, or None to refuse
    it; `on_event` gets each link's events. While `deaf` is set, what peers send is read and
    ignored (an HSS made unreachable: their watchdogs fail, RFC 3539 §3.4.1)."""

    def __init__(self, make_peer: Callable[[MessageTransport], dp.DiameterPeer | None],
                 on_event: OnPeerEvent, *, clock: Clock = loop_clock,
                 on_accept: Callable[[DiameterLink], None] | None = None) -> None:
        self._make_peer = make_peer
        self._on_event = on_event
        self._on_accept = on_accept
        self._clock = clock
        self._server: Any = None
        self._ppid = 0
        self.links: dict[int, DiameterLink] = {}
        self.deaf = False

    @property
    def local(self) -> Address:
        if self._server is None:
            raise RuntimeError("Diameter listener not started")
        return self._server.local  # type: ignore[no-any-return]

    async def start(self, host: str, port: int, *, transport: str = "tcp",
                    ssl_context: ssl.SSLContext | None = None, tap: Tap | None = None) -> None:
        if transport == "sctp":
            self._ppid = DIAMETER_PPID
            self._server = await open_sctp_server(host, port, self._on_message, self._on_connect,
                                                  self._on_close, tap=tap)
        else:
            self._server = await open_diameter_tcp_server(
                host, port, self._on_message, self._on_connect, self._on_close,
                on_error=self._on_stream_error, tap=tap, ssl_context=ssl_context)

    def open_links(self) -> list[DiameterLink]:
        return [link for link in self.links.values() if link.is_open]

    def link_to(self, origin_host: str) -> DiameterLink | None:
        """The open link whose peer is `origin_host` (RFC 6733 §5.6.1 identity)."""
        wanted = origin_host.casefold()
        return next((link for link in self.links.values()
                     if link.is_open and (link.peer.peer_host or "").casefold() == wanted), None)

    def request_to(self, origin_host: str, msg: Message) -> bool:
        """`msg` on the open link of peer `origin_host`; False when there is none."""
        link = self.link_to(origin_host)
        if link is None:
            return False
        try:
            link.request(msg)
        except dp.PeerNotOpen:
            return False
        return True

    def close_all(self, cause: int) -> None:
        """DPR to every open peer (RFC 6733 §5.4), close the others."""
        for link in list(self.links.values()):
            link.close(cause)

    def drop_all(self) -> None:
        for link in list(self.links.values()):
            link.drop()

    async def stop(self, timeout: float, cause: int = dia.DisconnectCause.REBOOTING) -> None:
        """DPR to every peer, wait up to `timeout` for the DPAs, then close everything."""
        self.close_all(cause)
        waiting = [asyncio.ensure_future(link.closed.wait()) for link in self.links.values()]
        if waiting:
            _, pending = await asyncio.wait(waiting, timeout=timeout)
            for task in pending:
                task.cancel()
        self.drop_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _on_connect(self, conn: MessageTransport) -> None:
        peer = self._make_peer(conn)
        if peer is None:
            conn.close()
            return
        link = DiameterLink(conn, peer, self._on_event, clock=self._clock, ppid=self._ppid,
                            on_closed=self._forget)
        self.links[id(conn)] = link
        if self._on_accept is not None:
            self._on_accept(link)
        link.start()

    def _forget(self, link: DiameterLink) -> None:
        self.links.pop(id(link.conn), None)

    def _on_message(self, conn: MessageTransport, payload: bytes, ppid: int, stream: int) -> None:
        link = self.links.get(id(conn))
        if link is not None and not self.deaf:
            link.receive(payload)

    def _on_stream_error(self, conn: MessageTransport, exc: DecodeError) -> None:
        link = self.links.get(id(conn))
        if link is not None:
            link.stream_error(exc)

    def _on_close(self, conn: MessageTransport) -> None:
        link = self.links.get(id(conn))
        if link is not None:
            link.connection_lost()
