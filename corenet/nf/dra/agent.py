"""Diameter relay agent routing (RFC 6733 §6.1-6.2), sans-I/O.

`RelayAgent` decides what becomes of each request a peer connection delivers and of each answer
coming back; the service owns the peer connections (`corenet.protocols.diameter_peer`, which
also does capabilities exchange, watchdogs and duplicate detection) and carries out the actions:

    actions = agent.handle_request(from_peer, request, open_peers, link)
        Forward(ticket, peer, message)  -> hbh = peers[peer].request(message, now)
                                           agent.forwarded(ticket, peer, hbh)
        Answer(peer, message, link)     -> link.send_answer(message, now)
    actions = agent.handle_answer(peer, answer)           # AnswerReceived on an outgoing leg
    actions = agent.handle_failure(peer, hop_by_hop, why) # RequestTimedOut / failover
    agent.link_lost(link)                                 # a connection went away

Routing table (§2.7 Routing Table): realm + application -> next hop peers, lowest `priority`
first; among equal priorities the first open one is used. A request naming a Destination-Host
that is a connected peer goes to it (§6.1.5); otherwise the Destination-Realm decides (§6.1.6).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs.base import Message

RELAY_APPLICATION_ID = 0xFFFFFFFF  # RFC 6733 §2.4: advertised by relay agents
Rc = dia.ResultCode


@dataclass(frozen=True)
class Route:
    """One routing table entry (RFC 6733 §2.7): `application_id` None matches any application."""

    realm: str
    peer: str
    application_id: int | None = None
    priority: int = 0


@dataclass(frozen=True)
class Forward:
    """Send `message` as a request to `peer` (its connection sets a new Hop-by-Hop id), then
    report that id with `RelayAgent.forwarded(ticket, peer, hop_by_hop)`."""

    ticket: int
    peer: str
    message: Message


@dataclass(frozen=True)
class Answer:
    """Send `message` as the answer to a request that came from `peer`, on the connection
    `link` it came in on (a peer may hold more than one connection to the agent)."""

    peer: str
    message: Message
    link: Hashable = None


@dataclass(frozen=True)
class Dropped:
    """Nothing is sent: an answer whose request is no longer known (RFC 6733 §6.2.1)."""

    peer: str
    reason: str


Action = Forward | Answer | Dropped


@dataclass
class _Relayed:
    """Hop-by-hop state of one relayed request (RFC 6733 §6.1.9, §6.2.2)."""

    from_peer: str
    hop_by_hop: int
    request: Message
    link: Hashable = None


def _identity(name: Any) -> str:
    return str(name).casefold() if name is not None else ""


class RelayAgent:
    """Routing decisions of one relay agent (RFC 6733 §2.8.1)."""

    def __init__(self, origin_host: str, origin_realm: str, routes: list[Route]) -> None:
        self.origin_host = origin_host
        self.origin_realm = origin_realm
        self.routes = sorted(routes, key=lambda r: r.priority)
        self._tickets: dict[int, _Relayed] = {}
        self._next_ticket = 0
        self._pending: dict[tuple[str, int], _Relayed] = {}

    # -- requests --------------------------------------------------------------------------

    def handle_request(self, from_peer: str, msg: Message, open_peers: set[str],
                       link: Hashable = None) -> list[Action]:
        """One request received from `from_peer` on connection `link`; `open_peers` are the
        peers with a usable connection."""
        # RFC 6733 §6.1.3: our own identity in a Route-Record means the request went round
        routes = [_identity(r) for r in dia.avp_all(msg, "Route-Record")]
        if _identity(self.origin_host) in routes:
            return [self._error(from_peer, msg, Rc.DIAMETER_LOOP_DETECTED,
                                "routing loop: the request already crossed this agent", link)]
        open_ids = {_identity(p): p for p in open_peers if _identity(p) != _identity(from_peer)}
        # RFC 6733 §6.1.5: a Destination-Host that is one of our peers is reached directly
        dest_host = dia.avp(msg, "Destination-Host")
        if dest_host is not None and _identity(dest_host) in open_ids:
            return [self._forward(from_peer, msg, open_ids[_identity(dest_host)], link)]
        realm = dia.avp(msg, "Destination-Realm")
        if realm is None:
            # RFC 6733 §6.1.4: a request without Destination-Realm cannot be routed further
            return [self._error(from_peer, msg, Rc.DIAMETER_UNABLE_TO_DELIVER,
                                "no Destination-Realm to route on", link)]
        app = int(msg.fields.get("application_id", 0))
        candidates = [r for r in self.routes if _identity(r.realm) == _identity(realm)
                      and r.application_id in (None, app)]
        if not candidates:
            # RFC 6733 §6.1.6, §7.1.3: neither locally served nor in the routing table
            return [self._error(from_peer, msg, Rc.DIAMETER_REALM_NOT_SERVED,
                                f"realm {realm} is not served by {self.origin_host}", link)]
        for route in candidates:
            peer = open_ids.get(_identity(route.peer))
            if peer is not None:
                return [self._forward(from_peer, msg, peer, link)]
        # RFC 6733 §7.1.3 DIAMETER_UNABLE_TO_DELIVER: the route exists, no next hop is up
        return [self._error(from_peer, msg, Rc.DIAMETER_UNABLE_TO_DELIVER,
                            f"no next hop open for realm {realm}: "
                            f"{', '.join(r.peer for r in candidates)}", link)]

    def _forward(self, from_peer: str, msg: Message, to_peer: str, link: Hashable) -> Forward:
        """RFC 6733 §6.1.9: the agent appends a Route-Record naming the peer the request came
        from (the identity of its CER, §6.7.1), keeps the End-to-End id, and the outgoing
        connection gives it a new Hop-by-Hop id; the old one is kept to route the answer."""
        f = msg.fields
        relayed = replace(msg, fields={**f, "avps": [*f.get("avps", []),
                                                      ("Route-Record", from_peer)]})
        self._next_ticket += 1
        self._tickets[self._next_ticket] = _Relayed(from_peer, int(f["hop_by_hop"]), msg, link)
        return Forward(self._next_ticket, to_peer, relayed)

    def forwarded(self, ticket: int, peer: str, hop_by_hop: int) -> None:
        """The Hop-by-Hop id the outgoing connection gave the relayed request."""
        relayed = self._tickets.pop(ticket, None)
        if relayed is not None:
            self._pending[(_identity(peer), hop_by_hop)] = relayed

    def not_forwarded(self, ticket: int, reason: str) -> list[Action]:
        """The outgoing connection refused the request (closed meanwhile): 3002 back."""
        relayed = self._tickets.pop(ticket, None)
        if relayed is None:
            return []
        return [self._error(relayed.from_peer, relayed.request, Rc.DIAMETER_UNABLE_TO_DELIVER,
                            reason, relayed.link)]

    # -- answers ---------------------------------------------------------------------------

    def handle_answer(self, peer: str, msg: Message) -> list[Action]:
        """RFC 6733 §6.2.2: the answer goes back to the peer the request came from, with the
        Hop-by-Hop id that peer gave it."""
        relayed = self._pending.pop((_identity(peer), int(msg.fields["hop_by_hop"])), None)
        if relayed is None:
            return [Dropped(peer, f"{msg.name}: no relayed request with hop-by-hop "
                                  f"{msg.fields['hop_by_hop']}")]
        back = replace(msg, fields={**msg.fields, "hop_by_hop": relayed.hop_by_hop})
        return [Answer(relayed.from_peer, back, relayed.link)]

    def handle_failure(self, peer: str, hop_by_hop: int, reason: str) -> list[Action]:
        """The next hop did not answer (timeout, or its connection failed over, RFC 3539
        §3.4.1): the sender gets DIAMETER_UNABLE_TO_DELIVER rather than silence."""
        relayed = self._pending.pop((_identity(peer), hop_by_hop), None)
        if relayed is None:
            return []
        return [self._error(relayed.from_peer, relayed.request, Rc.DIAMETER_UNABLE_TO_DELIVER,
                            f"next hop {peer}: {reason}", relayed.link)]

    def link_lost(self, link: Hashable) -> None:
        """Requests that came in on connection `link` can no longer be answered."""
        for key, relayed in list(self._pending.items()):
            if relayed.link == link:
                del self._pending[key]

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _error(self, from_peer: str, msg: Message, code: int, detail: str,
               link: Hashable) -> Answer:
        """RFC 6733 §6.2, §7.1.3: a protocol error answered by the agent itself, with its own
        Origin-Host and the E bit."""
        raw = dia.error_answer(msg, int(code), self.origin_host, self.origin_realm,
                               error_message=detail)
        return Answer(from_peer, dia.decode(raw), link)
