"""asyncio HSS: Diameter over TCP (RFC 6733 §2.1, port 3868), TLS/TCP (port 5658) or SCTP
around the sans-I/O parts.

bytes -> DiameterPeer (CER/CEA, DWR/DWA, DPR/DPA, duplicates, error answers) -> S6aServer
(AIR/ULR/PUR against the SQLite store) -> answers, and CLRs to previously registered MMEs.
Any Diameter peer may connect (a third-party MME too); RFC 6733 §5.3 decides who is accepted:
a configured peer's Origin-Host only from its configured addresses (and, over TLS, only with a
certificate naming it), and every request on a connection from that connection's peer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs.base import Message
from corenet.config.models import HssConfig
from corenet.config.subscribers import Subscriber, load_subscribers
from corenet.control import registry
from corenet.control.api import ControlAction, HssControl
from corenet.control.server import ControlServer
from corenet.core.actions import LogEvent
from corenet.core.errors import DecodeError
from corenet.nf.hss.overload import AirOverload
from corenet.nf.hss.s6a import Action, S6aError, S6aServer, SendAnswer, SendRequest
from corenet.nf.hss.store import HssStore
from corenet.protocols import diameter_peer as dp
from corenet.transport import Address, Tap, open_diameter_tcp_server, open_sctp_server
from corenet.transport.base import MessageTransport
from corenet.transport.tcp import certificate_names, server_tls_context

log = logging.getLogger("corenet.hss")

OnEvent = Callable[[LogEvent], None]
DIAMETER_PPID = 46  # IANA SCTP payload protocol identifier for Diameter (RFC 6733 §2.1)


@dataclass
class _Link:
    """One peer connection: the transport and its Diameter base-protocol machine."""

    conn: MessageTransport
    peer: dp.DiameterPeer
    timer: asyncio.TimerHandle | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)


def _pick_tap(tap: Any, transport: str) -> Tap | None:
    """A transport tap, or an object offering one per transport (PcapTap: .tcp / .sctp)."""
    if tap is None:
        return None
    chosen = getattr(tap, transport, None)
    if callable(chosen):
        return chosen  # type: ignore[no-any-return]
    return tap if callable(tap) else None


class HssService:
    """The HSS serving S6a on `cfg.listen` (port 0 picks a free port)."""

    def __init__(
        self,
        cfg: HssConfig,
        *,
        tap: Any = None,
        subscribers: list[Subscriber] | None = None,
        on_event: OnEvent | None = None,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.cfg = cfg
        self._tap = _pick_tap(tap, cfg.transport)
        self._subscribers = list(subscribers or [])
        self._on_event = on_event
        self._random = random_bytes
        self._store: HssStore | None = None
        self._s6a: S6aServer | None = None
        self._server: Any = None
        self._links: dict[int, _Link] = {}
        self._answers = dp.AnswerCache()
        self._origin_state_id = int.from_bytes(random_bytes(4), "big")
        # injected failure: "drop" (requests and watchdogs go unanswered), "close" (no socket)
        self.failure: str | None = None
        self._control: ControlServer | None = None
        # AIRs received (TS 29.272 §5.2.3.1), the load measure of a re-attach storm
        self.air_count = 0
        self._queued: list[tuple[_Link, Message]] = []

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def store(self) -> HssStore:
        if self._store is None:
            raise RuntimeError("HSS not started")
        return self._store

    @property
    def local(self) -> Address:
        if self._server is None:
            raise RuntimeError("HSS not started")
        return self._server.local  # type: ignore[no-any-return]

    async def start(self) -> None:
        """Open the store, provision it, then listen (RFC 6733 §2.1)."""
        self._store = HssStore(self.cfg.database)
        provisioned = 0
        if self.cfg.subscribers_file:
            provisioned += self._store.provision(load_subscribers(self.cfg.subscribers_file))
        if self._subscribers:
            provisioned += self._store.provision(self._subscribers)
        # RFC 7683 §7.4: sequence numbers from the start time keep growing across restarts
        overload = AirOverload(self.cfg.capacity_air_per_s, validity_s=self.cfg.doic_validity_s,
                               first_sequence=int(time.time()))
        self._s6a = S6aServer(self._store, origin_host=self.cfg.origin_host,
                              origin_realm=self.cfg.origin_realm,
                              max_vectors=self.cfg.max_vectors_per_air,
                              random_bytes=self._random, overload=overload)
        host, port = self.cfg.listen.host, self.cfg.listen.port
        if self.cfg.transport == "sctp":
            self._server = await open_sctp_server(
                host, port, self._on_message, self._on_connect, self._on_close, tap=self._tap)
        else:
            tls = self.cfg.tls
            ctx = None if tls is None else server_tls_context(
                str(tls.cert), str(tls.key), tls.ca)
            self._server = await open_diameter_tcp_server(
                host, port, self._on_message, self._on_connect, self._on_close,
                on_error=self._on_stream_error, tap=self._tap, ssl_context=ctx)
        registry.register_hss(self.cfg.origin_realm, self)
        await self._start_control()
        self._emit(LogEvent("hss.started", {
            "listen": f"{self.local[0]}:{self.local[1]}", "transport": self.cfg.transport,
            "database": self.cfg.database, "provisioned": provisioned}))

    def inject_failure(self, failure: str | None) -> None:
        """Home HSS unreachable, injected at run time: "drop" stops answering anything (RFC 3539:
        the peer's watchdog fails), "close" closes every connection and refuses new ones;
        None serves again."""
        self.failure = failure
        self._emit(LogEvent("hss.failure.injected" if failure else "hss.failure.restored",
                            {"failure": failure}))
        if failure == "close":
            for link in list(self._links.values()):
                self._drop(link)

    async def _start_control(self) -> None:
        """The failure-injection endpoint of an HSS alone (port 0 disables it)."""
        ep = self.cfg.control
        if ep.port == 0:
            return
        server = ControlServer(HssControl(self.cfg.origin_realm, self), self._control_action)
        try:
            await server.start(ep.host, ep.port)
        except OSError as exc:
            self._emit(LogEvent("hss.control.unavailable", {
                "endpoint": f"{ep.host}:{ep.port}", "reason": str(exc)}))
            return
        self._control = server

    def _control_action(self, action: ControlAction) -> None:
        if isinstance(action, LogEvent):
            self._emit(action)

    async def stop(self, timeout: float = 1.0) -> None:
        """DPR to every open peer (RFC 6733 §5.4, cause REBOOTING), then close everything."""
        registry.unregister_hss(self.cfg.origin_realm, self)
        if self._control is not None:
            await self._control.stop()
            self._control = None
        self.failure = None
        now = self._now()
        for link in list(self._links.values()):
            link.peer.close(now, dia.DisconnectCause.REBOOTING)
            self._pump(link)
        waiting = [asyncio.ensure_future(link.closed.wait()) for link in self._links.values()]
        if waiting:
            _, pending = await asyncio.wait(waiting, timeout=timeout)
            for task in pending:
                task.cancel()
        for link in list(self._links.values()):
            self._drop(link)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._store is not None:
            self._store.close()
            self._store = None
        self._s6a = None

    # -- transport callbacks ---------------------------------------------------------------

    def _on_connect(self, conn: MessageTransport) -> None:
        if self.failure == "close":
            conn.close()
            return
        peers = self.cfg.peers
        config = dp.PeerConfig(
            origin_host=self.cfg.origin_host, origin_realm=self.cfg.origin_realm,
            host_ip_addresses=(conn.local[0],),
            allowed_peers=frozenset(p.origin_host for p in peers),
            peer_addresses={p.origin_host: frozenset(p.addresses) for p in peers},
            relay_agents=frozenset(p.origin_host for p in peers if p.agent),
            origin_state_id=self._origin_state_id, watchdog_s=self.cfg.watchdog_s,
            product_name="corenet-hss")
        names = None
        if self.cfg.tls is not None and self.cfg.tls.ca is not None:
            # RFC 6733 §13.1: the verified client certificate must name the CER's Origin-Host
            names = certificate_names(_extra(conn, "peercert")) or frozenset()
        peer = dp.DiameterPeer(config, dp.Role.RESPONDER, answers=self._answers,
                               remote_address=conn.remote[0], certificate_names=names)
        link = _Link(conn, peer)
        self._links[id(conn)] = link
        link.peer.connection_made(self._now())
        self._emit(LogEvent("diameter.connection.accepted", {
            "peer": f"{conn.remote[0]}:{conn.remote[1]}"}))
        self._pump(link)

    def _on_message(self, conn: MessageTransport, payload: bytes, ppid: int, stream: int) -> None:
        link = self._links.get(id(conn))
        if link is None or self.failure == "drop":
            return
        link.peer.receive(payload, self._now())
        self._pump(link)

    def _on_stream_error(self, conn: MessageTransport, exc: DecodeError) -> None:
        """The TCP framer lost the message boundary: the peer machine answers 5011/5015 from
        the header it read (RFC 6733 §7.1.5) before the transport closes."""
        link = self._links.get(id(conn))
        if link is None:
            return
        link.peer.stream_error(exc, self._now())
        self._pump(link)

    def _on_close(self, conn: MessageTransport) -> None:
        link = self._links.get(id(conn))
        if link is None:
            return
        link.peer.connection_lost(self._now())
        self._pump(link)
        self._drop(link)

    def _on_timer(self, link: _Link) -> None:
        link.timer = None
        link.peer.handle_timer(self._now())
        self._pump(link)

    # -- the sans-I/O loop -----------------------------------------------------------------

    def _pump(self, link: _Link) -> None:
        """Carry out what the peer machine asks: events, bytes, timer; close when CLOSED."""
        while True:
            event = link.peer.next_event()
            if event is None:
                break
            try:
                self._on_peer_event(link, event)
            except Exception:
                # a fault of ours on one message must not stop the node serving the others
                log.exception("HSS failed on %s", type(event).__name__)
        self._transmit(link)
        if link.peer.state is dp.PeerState.CLOSED:
            self._drop(link)
            return
        self._arm(link)

    def _on_peer_event(self, link: _Link, event: dp.PeerEvent) -> None:
        now = self._now()
        if isinstance(event, dp.RequestReceived):
            self._queue_request(link, event.message)
        elif isinstance(event, dp.AnswerReceived) and self._s6a is not None:
            self._apply(self._s6a.handle_answer(event.message, event.request, now), now, link)
        else:
            self._emit(_peer_log(link, event))

    def _queue_request(self, link: _Link, msg: Message) -> None:
        """Requests received in one turn of the event loop are served together: one group
        commit of their SQNs (store.py), then their answers."""
        if not self._queued:
            asyncio.get_running_loop().call_soon(self._serve_queued)
        self._queued.append((link, msg))

    def _serve_queued(self) -> None:
        queued, self._queued = self._queued, []
        if self._s6a is None:
            return
        now = self._now()
        self.air_count += sum(1 for _, msg in queued if msg.name == "AIR")
        try:
            results = self._s6a.handle_batch([msg for _, msg in queued], now)
        except Exception as exc:  # the commit failed: no vector may leave (RFC 6733 §7.1.5)
            log.exception("S6a group of %d requests failed", len(queued))
            fault = S6aError(dia.ResultCode.DIAMETER_UNABLE_TO_COMPLY, str(exc))
            results = [self._s6a.reject(msg, fault) for _, msg in queued]
        links: dict[int, _Link] = {}
        for (link, _), actions in zip(queued, results, strict=True):
            if id(link.conn) in self._links:
                self._apply(actions, now, link)
                links[id(link.conn)] = link
        for link in links.values():
            self._pump(link)

    def _apply(self, actions: list[Action], now: float, link: _Link) -> None:
        for action in actions:
            if isinstance(action, SendAnswer):
                link.peer.send_answer(action.message, now)
            elif isinstance(action, SendRequest):
                self._send_request(action, now)
            else:
                self._emit(action)

    def _send_request(self, action: SendRequest, now: float) -> None:
        """A request to a named peer, if it is connected and open (e.g. CLR to the old MME)."""
        for other in self._links.values():
            if other.peer.peer_host == action.destination_host and other.peer.is_open:
                other.peer.request(action.message, now)
                self._pump(other)
                return
        self._emit(LogEvent(f"s6a.{action.message.name.lower()}.not_sent", {
            "peer": action.destination_host, "reason": "peer not connected"}))

    def _transmit(self, link: _Link) -> None:
        data = link.peer.data_to_send()
        if link.conn.closed:
            return
        ppid = DIAMETER_PPID if self.cfg.transport == "sctp" else 0
        for payload in data:
            try:
                link.conn.send(payload, ppid)
            except ConnectionError:
                return

    def _arm(self, link: _Link) -> None:
        if link.timer is not None:
            link.timer.cancel()
            link.timer = None
        when = link.peer.get_timer()
        if when is not None:
            link.timer = asyncio.get_running_loop().call_at(when, self._on_timer, link)

    def _drop(self, link: _Link) -> None:
        if link.timer is not None:
            link.timer.cancel()
            link.timer = None
        if not link.conn.closed:
            link.conn.close()
        if self._links.pop(id(link.conn), None) is not None:
            link.closed.set()

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _emit(self, event: LogEvent) -> None:
        log.info("%s %s", event.kind, event.data)
        if self._on_event is not None:
            self._on_event(event)


def _extra(conn: MessageTransport, name: str) -> Any:
    getter = getattr(conn, "get_extra_info", None)
    return getter(name) if callable(getter) else None


def _peer_log(link: _Link, event: dp.PeerEvent) -> LogEvent:
    """Diameter base-protocol outcomes as structured events."""
    peer = {"peer": link.peer.peer_host, "address": f"{link.conn.remote[0]}:{link.conn.remote[1]}"}
    if isinstance(event, dp.PeerOpened):
        return LogEvent("diameter.peer.opened", {**peer, "realm": event.origin_realm})
    if isinstance(event, dp.CapabilitiesRejected):
        return LogEvent("diameter.peer.rejected", {
            **peer, "origin_host": event.origin_host, "result_code": event.result_code,
            "detail": event.detail})
    if isinstance(event, dp.ConnectionClosed):
        return LogEvent("diameter.peer.closed", {**peer, "reason": event.reason})
    if isinstance(event, dp.WatchdogChanged):
        return LogEvent("diameter.watchdog", {**peer, "old": event.old.value,
                                              "new": event.new.value})
    if isinstance(event, dp.ErrorAnswered):
        return LogEvent("diameter.error_answer", {**peer, "result_code": event.result_code,
                                                  "detail": event.detail})
    if isinstance(event, dp.RequestTimedOut):
        return LogEvent("diameter.request.timeout", {**peer, "command": event.request.name})
    if isinstance(event, dp.RequestsFailedOver):
        return LogEvent("diameter.request.failover", {
            **peer, "commands": [r.name for r in event.requests], "reason": event.reason})
    if isinstance(event, dp.DisconnectRequested):
        return LogEvent("diameter.peer.disconnect", {**peer, "cause": event.cause})
    if isinstance(event, dp.MessageDiscarded):
        return LogEvent("diameter.discarded", {**peer, "reason": event.reason,
                                               "detail": event.detail})
    return LogEvent("diameter.event", {**peer, "event": type(event).__name__})
