"""asyncio Diameter relay agent (`corenet run dra`) around `RelayAgent` (RFC 6733 §2.8.1).

It listens for peers (the MME, another operator's agent, an HSS that connects) and connects to
the peers configured with an address; every connection runs the peer machine of
`corenet.protocols.diameter_peer` (capabilities exchange advertising the Relay application,
§2.4; Device-Watchdog, RFC 3539; duplicate detection). Requests go through `RelayAgent`'s
routing table; answers come back by hop-by-hop state. Connections live in `links.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Any

from corenet.codecs import diameter as dia
from corenet.config.models import DraConfig, DraPeer
from corenet.core.actions import LogEvent
from corenet.nf.dra.agent import Action, Answer, Dropped, Forward, RelayAgent, Route
from corenet.nf.dra.links import PeerLink
from corenet.protocols import diameter_peer as dp
from corenet.transport import Address, open_diameter_tcp_server
from corenet.transport.base import MessageTransport
from corenet.transport.tcp import open_diameter_tcp_client

log = logging.getLogger("corenet.dra")

OnEvent = Callable[[LogEvent], None]
RECONNECT_S = 1.0  # RFC 6733 §2.1: a lost connection to a configured peer is re-established
CONNECT_TIMEOUT_S = 3.0  # a peer that does not answer the TCP handshake is tried again later


class DraService:
    """One relay agent: listens on `cfg.listen` (port 0 picks a free port)."""

    def __init__(self, cfg: DraConfig, *, tap: Any = None, on_event: OnEvent | None = None,
                 seed: int | None = None) -> None:
        self.cfg = cfg
        self._tap = getattr(tap, "tcp", tap) if tap is not None else None
        self._on_event = on_event
        self._seed = seed
        self.agent = RelayAgent(cfg.origin_host, cfg.origin_realm, [
            Route(r.realm, r.peer, r.application_id, r.priority) for r in cfg.routes])
        self._server: Any = None
        self._links: dict[int, PeerLink] = {}
        self._answers = dp.AnswerCache()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.relayed = 0  # requests forwarded to a next hop

    @property
    def local(self) -> Address:
        if self._server is None:
            raise RuntimeError("agent not started")
        return self._server.local  # type: ignore[no-any-return]

    async def start(self) -> None:
        self._server = await open_diameter_tcp_server(
            self.cfg.listen.host, self.cfg.listen.port,
            lambda conn, payload, ppid, stream: self._link_of(conn, "received", payload),
            self._accepted, lambda conn: self._link_of(conn, "lost"),
            on_error=lambda conn, exc: self._link_of(conn, "stream_error", exc), tap=self._tap)
        for spec in self.cfg.peers:
            if spec.connect is not None:
                await self._connect(spec)  # the first attempt before serving (a 3002 less)
                self._tasks.append(asyncio.create_task(self._keep_connected(spec)))
        self._emit(LogEvent("dra.started", {"name": self.cfg.name,
                                            "listen": f"{self.local[0]}:{self.local[1]}"}))

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for link in list(self._links.values()):
            link.close()
            if not link.conn.closed:
                link.conn.close()
        self._links.clear()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def open_peers(self) -> set[str]:
        return {link.host for link in self._links.values()
                if link.host is not None and link.peer.is_open}

    # -- connections -----------------------------------------------------------------------

    def _peer_config(self, local_ip: str, expected: DraPeer | None) -> dp.PeerConfig:
        """RFC 6733 §2.4: a relay advertises the Relay application; §5.6.1: peers are known
        by Origin-Host and address; agents among them may relay others' requests."""
        peers = self.cfg.peers
        return dp.PeerConfig(
            origin_host=self.cfg.origin_host, origin_realm=self.cfg.origin_realm,
            host_ip_addresses=(local_ip,),
            allowed_peers=frozenset(p.origin_host for p in peers),
            peer_addresses={p.origin_host: frozenset(p.addresses) for p in peers},
            relay_agents=frozenset(p.origin_host for p in peers if p.agent),
            expected_peer=None if expected is None else expected.origin_host,
            auth_application_ids=(dp.RELAY_APPLICATION_ID,),
            vendor_specific_application_ids=(), watchdog_s=self.cfg.watchdog_s,
            request_timeout_s=self.cfg.request_timeout_s, product_name="corenet-dra")

    def _accepted(self, conn: MessageTransport) -> None:
        peer = dp.DiameterPeer(self._peer_config(conn.local[0], None), dp.Role.RESPONDER,
                               answers=self._answers, remote_address=conn.remote[0])
        self._add(conn, peer)

    async def _keep_connected(self, spec: DraPeer) -> None:
        """Initiator towards a peer with an address (RFC 6733 §5.6), reconnecting after loss."""
        while not self._stopping:
            await asyncio.sleep(RECONNECT_S)
            await self._connect(spec)

    async def _connect(self, spec: DraPeer) -> None:
        target = spec.connect
        if target is None or self._stopping or any(
                link.initiated_to == spec.origin_host and not link.conn.closed
                for link in self._links.values()):
            return
        rng = None if self._seed is None else random.Random(
            f"dra:{self._seed}:{self.cfg.name}:{spec.origin_host}")
        try:
            conn = await asyncio.wait_for(open_diameter_tcp_client(
                target.host, target.port,
                lambda conn, payload, ppid, stream: self._link_of(conn, "received", payload),
                on_close=lambda conn: self._link_of(conn, "lost"),
                on_error=lambda conn, exc: self._link_of(conn, "stream_error", exc),
                tap=self._tap, local_host=self.cfg.listen.host), CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            self._emit(LogEvent("dra.connect.failed", {"peer": spec.origin_host,
                                                       "reason": str(exc)}))
            return
        peer = dp.DiameterPeer(self._peer_config(conn.local[0], spec), dp.Role.INITIATOR,
                               answers=self._answers, rng=rng, remote_address=target.host)
        self._add(conn, peer, spec.origin_host)

    def _add(self, conn: MessageTransport, peer: dp.DiameterPeer,
             initiated_to: str | None = None) -> None:
        link = PeerLink(conn, peer, self._on_peer_event, self._closed)
        link.initiated_to = initiated_to
        self._links[id(conn)] = link
        link.opened()

    def _link_of(self, conn: MessageTransport, what: str, *args: Any) -> None:
        link = self._links.get(id(conn))
        if link is not None:
            getattr(link, what)(*args)

    def _closed(self, link: PeerLink) -> None:
        self._links.pop(id(link.conn), None)
        self.agent.link_lost(link.key)

    # -- the relay -------------------------------------------------------------------------

    def _on_peer_event(self, link: PeerLink, event: dp.PeerEvent) -> None:
        try:
            self._dispatch(link, event)
        except Exception:  # a fault of ours on one message must not stop the agent
            log.exception("DRA failed on %s", type(event).__name__)

    def _dispatch(self, link: PeerLink, event: dp.PeerEvent) -> None:
        host = link.host or ""
        if isinstance(event, dp.RequestReceived):
            self._apply(self.agent.handle_request(host, event.message, self.open_peers(),
                                                  link.key))
        elif isinstance(event, dp.AnswerReceived):
            self._apply(self.agent.handle_answer(host, event.message))
        elif isinstance(event, dp.RequestTimedOut):
            self._apply(self.agent.handle_failure(host, event.hop_by_hop, "request timeout"))
        elif isinstance(event, dp.RequestsFailedOver):
            for request in event.requests:
                self._apply(self.agent.handle_failure(
                    host, int(request.fields["hop_by_hop"]), event.reason))
        else:
            self._emit(LogEvent("dra.peer", {"peer": host, "event": type(event).__name__,
                                             **_details(event)}))

    def _apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Forward):
                self._forward(action)
            elif isinstance(action, Answer):
                self._answer(action)
            elif isinstance(action, Dropped):
                self._emit(LogEvent("dra.answer.dropped", {"peer": action.peer,
                                                           "reason": action.reason}))

    def _forward(self, action: Forward) -> None:
        for link in self._links.values():
            if link.host is not None and link.host.casefold() == action.peer.casefold() \
                    and link.peer.is_open:
                try:
                    hbh = link.request(action.message)
                except dp.PeerNotOpen as exc:
                    self._apply(self.agent.not_forwarded(action.ticket, str(exc)))
                    return
                self.agent.forwarded(action.ticket, link.host, hbh)
                self.relayed += 1
                return
        self._apply(self.agent.not_forwarded(action.ticket, f"{action.peer} not connected"))

    def _answer(self, action: Answer) -> None:
        for link in self._links.values():
            if link.key == action.link:
                link.send_answer(action.message)
                if action.message.fields["flags"].get("error"):
                    self._emit(LogEvent("dra.error_answer", {
                        "peer": action.peer, "command": action.message.name,
                        "result_code": dia.avp(action.message, "Result-Code")}))
                return
        self._emit(LogEvent("dra.answer.dropped", {"peer": action.peer,
                                                   "reason": "connection gone"}))

    def _emit(self, event: LogEvent) -> None:
        log.info("%s %s", event.kind, event.data)
        if self._on_event is not None:
            self._on_event(event)


def _details(event: dp.PeerEvent) -> dict[str, Any]:
    if isinstance(event, dp.PeerOpened):
        return {"realm": event.origin_realm}
    if isinstance(event, dp.CapabilitiesRejected | dp.ErrorAnswered):
        return {"result_code": event.result_code, "detail": event.detail}
    if isinstance(event, dp.ConnectionClosed | dp.MessageDiscarded):
        return {"reason": event.reason}
    if isinstance(event, dp.WatchdogChanged):
        return {"old": event.old.value, "new": event.new.value}
    return {}

