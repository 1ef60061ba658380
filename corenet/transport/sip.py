"""SIP over UDP and TCP (RFC 3261 §18), and the asyncio driver of the transaction layer.

`SipTransport` binds a UDP socket and a TCP listener on one address. Every datagram or
Content-Length delimited TCP frame (§18.3) is decoded; a request that fails to decode is
answered with the status of its `DecodeError` when the response can be formed (§8.2.6),
otherwise dropped. Nothing a peer sends stops the transport. `SipStack` runs one
`SipTransactions` layer per transport (UDP unreliable, TCP reliable) on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from corenet.codecs import sip
from corenet.codecs.sip import SipMessage, SipRequest, SipResponse
from corenet.core.errors import DecodeError
from corenet.protocols.sip_transactions import (
    Event,
    SipPeer,
    SipTransactions,
    Timers,
    TransactionKey,
    TransportName,
    via_for,
)
from corenet.transport.base import Address, Tap, call_back, log
from corenet.transport.stream import (
    Callbacks,
    Frame,
    MessageServer,
    StreamConnection,
    open_stream_client,
    open_stream_server,
)
from corenet.transport.udp import UdpEndpoint, open_udp_endpoint

OnSip = Callable[[SipMessage, SipPeer], Awaitable[None] | None]


class SipFramer:
    """§18.3: over a stream, Content-Length delimits each message; CRLFs between messages
    (RFC 5626 §3.5.1 keep-alives) are skipped. A header section beyond the size limit, or a
    Content-Length that is not a number, leaves the stream undelimitable: `error` is set."""

    def __init__(self, max_message: int = sip.MAX_MESSAGE) -> None:
        self._buf = bytearray()
        self._max = max_message
        self.error: DecodeError | None = None

    def encode(self, payload: bytes, ppid: int = 0, stream: int = 0) -> bytes:
        return payload

    def feed(self, data: bytes) -> list[Frame]:
        if self.error is not None:
            return []
        self._buf += data
        frames: list[Frame] = []
        try:
            while self._take(frames):
                pass
        except DecodeError as exc:
            self.error = exc
            self._buf.clear()
        return frames

    def _take(self, frames: list[Frame]) -> bool:
        while self._buf[:2] == b"\r\n" or self._buf[:1] == b"\n":
            del self._buf[:2 if self._buf[:2] == b"\r\n" else 1]
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > self._max:
                raise sip.with_partial(DecodeError("sip", sip.MESSAGE_TOO_LARGE,
                                                   "header section too large"),
                                       bytes(self._buf[:self._max]))
            return False
        try:
            length = self._content_length(bytes(self._buf[:end]))
        except DecodeError as exc:
            raise sip.with_partial(exc, bytes(self._buf[:end])) from None
        total = end + 4 + length
        if total > self._max:
            # §21.4.11: the body is what is too large
            raise sip.with_partial(DecodeError("sip", sip.REQUEST_ENTITY_TOO_LARGE,
                                               f"message of {total} octets"),
                                   bytes(self._buf[:end]))
        if len(self._buf) < total:
            return False
        frames.append(Frame(bytes(self._buf[:total])))
        del self._buf[:total]
        return True

    @staticmethod
    def _content_length(head: bytes) -> int:
        """A message without Content-Length is taken as bodiless here, then answered 400
        (`SipTransport`)."""
        for line in head.split(b"\r\n")[1:]:
            name, colon, value = line.partition(b":")
            if colon and name.strip().lower() in (b"content-length", b"l"):
                text = value.strip()
                if not text.isdigit() or len(text) > 9:
                    raise DecodeError("sip", sip.BAD_REQUEST, "bad Content-Length on a stream")
                return int(text)
        return 0


def stamp_received(req: SipRequest, source: Address, *, connection: bool = False) -> None:
    """§18.2.1: add received= when the top Via's host is not the source address; RFC 3581 §4:
    fill in an empty rport with the source port. Over a connection, received and rport always
    name its far end: §18.2.2 sends the response back on that connection, found by them."""
    vias = [h for h in req.headers if sip.canonical_name(h.name) == "Via"]
    if not vias:
        return
    top = sip.parse_via(vias[0].value)
    params: dict[str, str | None] = {}
    if top.host.strip("[]") != source[0]:
        params["received"] = source[0]
    if connection or any(k == "rport" for k, _ in top.params):
        params["received"] = source[0]
        params["rport"] = str(source[1])
    if params:
        idx = req.headers.index(vias[0])
        req.headers[idx] = sip.Header(vias[0].name, str(top.with_params(**params)))


class SipTransport:
    """A UDP socket and a TCP listener; `on_message(msg, peer)` per decoded message."""

    def __init__(self, on_message: OnSip, *, udp_tap: Tap | None = None,
                 tcp_tap: Tap | None = None,
                 supported: frozenset[str] = sip.DEFAULT_SUPPORTED,
                 limits: sip.Limits = sip.DEFAULT_LIMITS) -> None:
        """Taps: `PcapTap(writer).udp` and `.tcp` record each transport in its framing."""
        self._on_message = on_message
        self.limits = limits
        self._udp_tap = udp_tap
        self._tcp_tap = tcp_tap
        self._supported = supported
        self.udp: UdpEndpoint | None = None
        self.tcp: MessageServer | None = None
        self._connections: dict[Address, StreamConnection] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self.rejected = 0  # requests answered from a DecodeError
        self.dropped = 0  # undecodable messages that could not be answered

    @property
    def local(self) -> Address:
        if self.udp is not None:
            return self.udp.local
        if self.tcp is not None:
            return self.tcp.local
        raise ConnectionError("SIP transport not started")

    async def start(self, host: str, port: int, *, udp: bool = True, tcp: bool = True) -> None:
        """Bind UDP and/or TCP; with port 0, TCP takes the port UDP got."""
        if udp:
            self.udp = await open_udp_endpoint(host, port, self._on_datagram,
                                               tap=self._udp_tap)
            port = self.udp.local[1]
        if tcp:
            callbacks = Callbacks(self._on_frame, self._on_connect, self._on_close,
                                  self._on_stream_error, self._tcp_tap)
            self.tcp = await open_stream_server(host, port, self._framer, callbacks)

    async def connect(self, address: Address) -> StreamConnection:
        """A TCP connection to `address` (reused when one is open)."""
        conn = self._connections.get(address)
        if conn is not None and not conn.closed:
            return conn
        callbacks = Callbacks(self._on_frame, self._on_connect, self._on_close,
                              self._on_stream_error, self._tcp_tap)
        conn = await open_stream_client(address[0], address[1], self._framer, callbacks)
        self._connections[conn.remote] = conn
        return conn

    def _framer(self) -> SipFramer:
        return SipFramer(self.limits.max_message)

    def send(self, msg: SipMessage, peer: SipPeer) -> None:
        data = sip.encode(msg)
        if peer.transport == "UDP":
            if self.udp is None:
                raise ConnectionError("no UDP socket")
            self.udp.sendto(data, peer.address)
            return
        conn = self._connections.get(peer.address)
        if conn is None or conn.closed:
            # §18.1.1 / §18.2.2: no connection open to the peer: open one, then send
            if self.tcp is None:
                raise ConnectionError(f"no TCP connection to {peer.address}")
            task = asyncio.get_running_loop().create_task(self._connect_and_send(
                peer.address, data))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
            return
        conn.send(data)

    async def _connect_and_send(self, address: Address, data: bytes) -> None:
        try:
            conn = await self.connect(address)
        except OSError as exc:
            log.warning("SIP: no TCP connection to %s: %s", address, exc)
            return
        conn.send(data)

    def close(self) -> None:
        if self.udp is not None:
            self.udp.close()
        if self.tcp is not None:
            self.tcp.close()
        for conn in list(self._connections.values()):
            conn.close()
        for task in list(self._sending):
            task.cancel()

    async def wait_closed(self) -> None:
        if self.udp is not None:
            await self.udp.wait_closed()
        if self.tcp is not None:
            await self.tcp.wait_closed()

    # -- receiving ----------------------------------------------------------------------

    def _on_datagram(self, data: bytes, addr: Address) -> None:
        self._deliver(data, SipPeer("UDP", addr))

    def _on_frame(self, conn: StreamConnection, data: bytes, ppid: int, stream: int) -> None:
        self._connections[conn.remote] = conn
        self._deliver(data, SipPeer("TCP", conn.remote))

    def _on_connect(self, conn: StreamConnection) -> None:
        self._connections[conn.remote] = conn

    def _on_stream_error(self, conn: StreamConnection, exc: Exception) -> None:
        """§18.3: a stream that can no longer be delimited is answered (when the request's
        headers allow it) before the connection closes."""
        if isinstance(exc, DecodeError):
            self._connections[conn.remote] = conn
            self._reject(exc, SipPeer("TCP", conn.remote))

    def _on_close(self, conn: StreamConnection) -> None:
        if self._connections.get(conn.remote) is conn:
            del self._connections[conn.remote]

    def _deliver(self, data: bytes, peer: SipPeer) -> None:
        if data.strip(b"\r\n") == b"":
            return  # RFC 5626 §3.5.1 keep-alive
        try:
            msg = sip.decode(data, supported=self._supported, limits=self.limits)
        except DecodeError as err:
            self._reject(err, peer)
            return
        if isinstance(msg, SipRequest):
            if peer.transport == "TCP" and msg.header("Content-Length") is None:
                # §18.3 / §20.14: mandatory on a stream, which it delimits
                self._reject(DecodeError("sip", sip.BAD_REQUEST, "no Content-Length on TCP",
                                         partial=sip.partial_request(msg)), peer)
                return
            try:
                stamp_received(msg, peer.address, connection=peer.transport == "TCP")
            except DecodeError:
                pass  # the Via parsed during decode; nothing to add
        call_back(self._on_message, msg, peer)

    def _reject(self, err: DecodeError, peer: SipPeer) -> None:
        response = sip.error_response(err)
        if response is None:
            self.dropped += 1
            log.warning("SIP from %s dropped: %s", peer.address, err.detail)
            return
        self.rejected += 1
        log.warning("SIP from %s answered %d: %s", peer.address, response.status, err.detail)
        try:
            self.send(response, peer)
        except ConnectionError as exc:
            log.warning("SIP answer to %s not sent: %s", peer.address, exc)


class SipStack:
    """The transaction layers of one `SipTransport` on the event loop; `on_event(event,
    peer)` receives the transaction user's events (requests, responses, timeouts)."""

    def __init__(self, on_event: Callable[[Event, SipPeer], Awaitable[None] | None], *,
                 udp_tap: Tap | None = None, tcp_tap: Tap | None = None,
                 timers: Timers | None = None,
                 supported: frozenset[str] = sip.DEFAULT_SUPPORTED,
                 limits: sip.Limits = sip.DEFAULT_LIMITS) -> None:
        self._on_event = on_event
        self.transport = SipTransport(self._on_message, udp_tap=udp_tap, tcp_tap=tcp_tap,
                                      supported=supported, limits=limits)
        self.layers: dict[TransportName, SipTransactions] = {
            "UDP": SipTransactions(timers=timers, reliable=False),
            "TCP": SipTransactions(timers=timers, reliable=True),
        }
        self._timer_handles: dict[TransportName, asyncio.TimerHandle] = {}
        self._submitted: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int, *, udp: bool = True, tcp: bool = True) -> None:
        await self.transport.start(host, port, udp=udp, tcp=tcp)

    @property
    def local(self) -> Address:
        return self.transport.local

    def via(self, transport: TransportName = "UDP", branch: str | None = None) -> str:
        """A Via for a request we originate (§8.1.1.7), asking for rport (RFC 3581)."""
        return via_for(transport, self.local, branch)

    async def send_request(self, request: SipRequest, peer: SipPeer) -> TransactionKey:
        if peer.transport == "TCP":
            await self.transport.connect(peer.address)
        loop = asyncio.get_running_loop()
        key = self.layers[peer.transport].send_request(request, peer.address, loop.time())
        self._pump(peer.transport)
        return key

    def submit_request(self, request: SipRequest, peer: SipPeer,
                       on_failure: Callable[[SipRequest], None]) -> None:
        """Send without waiting for a TCP connection to open (for a sans-I/O core's
        SendRequest): requests go out in the order submitted; `on_failure(request)` when it
        cannot be sent at all (§18.1.1: a transport failure)."""
        task = asyncio.ensure_future(self._submit(request, peer, on_failure))
        self._submitted.add(task)
        task.add_done_callback(self._submitted.discard)

    async def _submit(self, request: SipRequest, peer: SipPeer,
                      on_failure: Callable[[SipRequest], None]) -> None:
        try:
            await self.send_request(request, peer)
        except (OSError, ConnectionError) as exc:
            log.info("SIP %s to %s not sent: %s", request.method, peer.address, exc)
            on_failure(request)

    def send_response(self, response: SipResponse, peer: SipPeer) -> None:
        loop = asyncio.get_running_loop()
        self.layers[peer.transport].send_response(response, loop.time())
        self._pump(peer.transport)

    def close(self) -> None:
        for task in list(self._submitted):
            task.cancel()
        for handle in self._timer_handles.values():
            handle.cancel()
        self._timer_handles.clear()
        self.transport.close()

    async def wait_closed(self) -> None:
        await self.transport.wait_closed()

    def _on_message(self, msg: SipMessage, peer: SipPeer) -> None:
        loop = asyncio.get_running_loop()
        try:
            self.layers[peer.transport].receive(msg, peer.address, loop.time())
        except DecodeError as err:
            log.warning("SIP from %s not matched to a transaction: %s", peer.address, err.detail)
        self._pump(peer.transport)

    def _pump(self, name: TransportName) -> None:
        layer = self.layers[name]
        for msg, address in layer.data_to_send():
            try:
                self.transport.send(msg, SipPeer(name, address))
            except ConnectionError as exc:
                log.warning("SIP send to %s failed: %s", address, exc)
        while (event := layer.next_event()) is not None:
            peer = SipPeer(name, getattr(event, "peer", ("", 0)))
            call_back(self._on_event, event, peer)
        self._arm(name)

    def _arm(self, name: TransportName) -> None:
        old = self._timer_handles.pop(name, None)
        if old is not None:
            old.cancel()
        due = self.layers[name].get_timer()
        if due is None:
            return
        loop = asyncio.get_running_loop()
        self._timer_handles[name] = loop.call_at(due, self._fire, name)

    def _fire(self, name: TransportName) -> None:
        self._timer_handles.pop(name, None)
        self.layers[name].handle_timer(asyncio.get_running_loop().time())
        self._pump(name)
