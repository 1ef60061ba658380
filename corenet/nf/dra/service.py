"""asyncio Diameter relay agent (`corenet run dra`) around `RelayAgent` (RFC 6733 §2.8.1).

It listens for peers (the MME, another operator's agent, an HSS that connects) and connects to
the peers configured with an address, over the shared adapter of `corenet.transport.diameter`
(`DiameterListener` responder side, one `DiameterConnector` per configured address); every
connection runs the peer machine of `corenet.protocols.diameter_peer` (capabilities exchange
advertising the Relay application, §2.4; Device-Watchdog, RFC 3539; duplicate detection).
Requests go through `RelayAgent`'s routing table; answers come back by hop-by-hop state, on the
`DiameterLink` the request came in on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from corenet.codecs import diameter as dia
from corenet.config.models import DraConfig, DraPeer, Endpoint
from corenet.core.actions import LogEvent
from corenet.nf.dra.agent import Action, Answer, Dropped, Forward, RelayAgent, Route
from corenet.protocols import diameter_peer as dp
from corenet.transport import Address
from corenet.transport.base import MessageTransport
from corenet.transport.diameter import (
    ConnectTarget,
    DiameterConnector,
    DiameterLink,
    DiameterListener,
    initiators,
)

log = logging.getLogger("corenet.dra")

OnEvent = Callable[[LogEvent], None]
RECONNECT_S = 1.0  # RFC 6733 §2.1: a lost connection to a configured peer is re-established
CONNECT_TIMEOUT_S = 3.0  # a peer that does not answer the TCP handshake is tried again later
STOP_TIMEOUT_S = 0.5  # RFC 6733 §5.4: how long DPAs are awaited when the agent stops


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
        self._listener = DiameterListener(self._responder, self._on_peer_event)
        self._connectors: list[DiameterConnector] = []
        self._answers = dp.AnswerCache()
        self.relayed = 0  # requests forwarded to a next hop

    @property
    def local(self) -> Address:
        return self._listener.local

    async def start(self) -> None:
        await self._listener.start(self.cfg.listen.host, self.cfg.listen.port, tap=self._tap)
        self._connectors = [self._connector(spec, spec.connect) for spec in self.cfg.peers
                            if spec.connect is not None]
        for connector in self._connectors:
            connector.start()
        # the first attempts before serving (a 3002 less)
        await asyncio.gather(*(c.attempted.wait() for c in self._connectors))
        self._emit(LogEvent("dra.started", {"name": self.cfg.name,
                                            "listen": f"{self.local[0]}:{self.local[1]}"}))

    async def stop(self) -> None:
        for connector in self._connectors:
            connector.stop()
        self._connectors.clear()
        await self._listener.stop(STOP_TIMEOUT_S)

    def links(self) -> list[DiameterLink]:
        """Every connection of the agent, accepted or initiated."""
        initiated = [c.link for c in self._connectors if c.link is not None]
        return [*self._listener.links.values(), *initiated]

    def open_peers(self) -> set[str]:
        return {link.peer.peer_host for link in self.links()
                if link.peer.peer_host is not None and link.is_open}

    # -- connections -----------------------------------------------------------------------

    def _peer_config(self, local_ip: str, expected: DraPeer | None) -> dp.PeerConfig:
        """RFC 6733 §2.4: a relay advertises the Relay application; §5.6.1: peers are known
        by Origin-Host and address; agents among them may relay others' requests."""
        return dp.PeerConfig.serving(
            self.cfg.origin_host, self.cfg.origin_realm, local_ip, self.cfg.peers,
            expected_peer=None if expected is None else expected.origin_host,
            auth_application_ids=(dp.RELAY_APPLICATION_ID,),
            vendor_specific_application_ids=(), watchdog_s=self.cfg.watchdog_s,
            request_timeout_s=self.cfg.request_timeout_s, product_name="corenet-dra")

    def _responder(self, conn: MessageTransport) -> dp.DiameterPeer:
        return dp.DiameterPeer(self._peer_config(conn.local[0], None), dp.Role.RESPONDER,
                               answers=self._answers, remote_address=conn.remote[0])

    def _connector(self, spec: DraPeer, target: Endpoint) -> DiameterConnector:
        """Initiator towards a peer with an address (RFC 6733 §5.6), reconnecting after loss."""
        config = self._peer_config(self.cfg.listen.host, spec)
        make_peer = initiators(
            config, target.host,
            None if self._seed is None else f"dra:{self._seed}:{self.cfg.name}:{spec.origin_host}",
            answers=self._answers)

        def down(reason: str, error: OSError | None) -> None:
            self._emit(LogEvent("dra.connect.failed" if error is not None else "dra.peer.down",
                                {"peer": spec.origin_host, "reason": reason}))

        return DiameterConnector(
            ConnectTarget(target.host, target.port, local_host=self.cfg.listen.host),
            make_peer, self._on_peer_event, down, tap=self._tap, reconnect_s=RECONNECT_S,
            connect_timeout_s=CONNECT_TIMEOUT_S)

    # -- the relay -------------------------------------------------------------------------

    def _on_peer_event(self, link: DiameterLink, event: dp.PeerEvent) -> None:
        host = link.peer.peer_host or ""
        if isinstance(event, dp.RequestReceived):
            self._apply(self.agent.handle_request(host, event.message, self.open_peers(), link))
        elif isinstance(event, dp.AnswerReceived):
            self._apply(self.agent.handle_answer(host, event.message))
        elif isinstance(event, dp.RequestTimedOut):
            self._apply(self.agent.handle_failure(host, event.hop_by_hop, "request timeout"))
        elif isinstance(event, dp.RequestsFailedOver):
            for request in event.requests:
                self._apply(self.agent.handle_failure(
                    host, int(request.fields["hop_by_hop"]), event.reason))
        else:
            if isinstance(event, dp.ConnectionClosed):
                self.agent.link_lost(link)  # what came in on it can no longer be answered
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
        wanted = action.peer.casefold()
        for link in self.links():
            host = link.peer.peer_host
            if host is not None and host.casefold() == wanted and link.is_open:
                try:
                    hbh = link.request(action.message)
                except dp.PeerNotOpen as exc:
                    self._apply(self.agent.not_forwarded(action.ticket, str(exc)))
                    return
                self.agent.forwarded(action.ticket, host, hbh)
                self.relayed += 1
                return
        self._apply(self.agent.not_forwarded(action.ticket, f"{action.peer} not connected"))

    def _answer(self, action: Answer) -> None:
        link = action.link
        if isinstance(link, DiameterLink) and not link.closed.is_set():
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

