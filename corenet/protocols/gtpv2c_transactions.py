"""GTPv2-C transactions, sans-I/O (TS 29.274 §7.6 reliable delivery, §7.7 error handling).

One `GtpTransactions` sits between a UDP socket and a GTPv2-C entity (the MME's S11 client, the
S/P-GW's S11 server). It follows the aioquic quartet: feed datagrams with `receive(data, peer,
now)`, pull `next_event()`, send `data_to_send()`, arm `get_timer()` and call `handle_timer(now)`.

- Outgoing requests get a Sequence Number unique among the outstanding ones (§7.6) and are
  retransmitted on T3-RESPONSE until N3-REQUESTS attempts were made; then `RequestTimedOut`.
- An incoming request already answered is a retransmission: the cached response is sent again
  instead of handing the request up twice (§7.6); one not answered yet is dropped.
- A response with no outstanding request is a duplicate and is discarded (§7.6).
- A message of another GTP version is answered with Version Not Supported Indication (§7.7.1);
  messages to be silently discarded (§7.7.2, §7.7.3) are; other malformed requests go up as
  `MalformedRequest` so the entity can reject them with the cause of the `DecodeError`.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import NamedTuple

from corenet.codecs import gtpv2c
from corenet.codecs.base import Message
from corenet.core.actions import LogEvent
from corenet.core.errors import DecodeError

Address = tuple[str, int]

# Request message type -> its response (TS 29.274 §6.1 Table 6.1-1)
RESPONSE_TO: dict[int, int] = {1: 2, 32: 33, 34: 35, 36: 37, 95: 96, 99: 100, 170: 171}
RESPONSE_TYPES = frozenset(RESPONSE_TO.values())
VERSION_NOT_SUPPORTED_INDICATION = 3

# §7.6 leaves T3-RESPONSE and N3-REQUESTS to the operator; these are common values.
DEFAULT_T3_RESPONSE_S = 3.0
DEFAULT_N3_REQUESTS = 3
# Kept responses (§7.6) are swept at most once per this many seconds, all those due at once: a
# response is then kept up to this much longer than its hold time, and a busy node wakes up
# once per sweep instead of once per request it answered.
CACHE_SWEEP_S = 1.0
# §5.5.1 / §7.6: Sequence Numbers of initial messages are 24 bits; the most significant bit
# marks a message triggered by a Command, which this layer does not originate.
_SEQUENCE_SPACE = 0x800000


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestReceived:
    """A new request from `peer`; answer it with `GtpTransactions.send_response`."""

    message: Message
    peer: Address


@dataclass(frozen=True)
class ResponseReceived:
    """The response to a request sent with `send_request(..., context=)`."""

    message: Message
    peer: Address
    request: Message
    context: Hashable


@dataclass(frozen=True)
class RequestTimedOut:
    """No response after N3-REQUESTS attempts (§7.6: the upper layer is told)."""

    request: Message
    peer: Address
    context: Hashable
    attempts: int


@dataclass(frozen=True)
class VersionNotSupported:
    """The peer answered our request with Version Not Supported Indication (§7.7.1)."""

    request: Message
    peer: Address
    context: Hashable


@dataclass(frozen=True)
class MalformedRequest:
    """A request that cannot be accepted as it is (§7.7.4-§7.7.7); `error.cause` is the answer."""

    error: DecodeError
    peer: Address


Event = (RequestReceived | ResponseReceived | RequestTimedOut | VersionNotSupported
         | MalformedRequest | LogEvent)


# --- bookkeeping -------------------------------------------------------------------------


@dataclass(slots=True)
class _Outgoing:
    request: Message
    data: bytes
    peer: Address
    context: Hashable
    deadline: float
    attempts: int = 1
    t3_response_s: float | None = None  # this request's own T3-RESPONSE, if not the default


@dataclass(slots=True)
class _Incoming:
    """A request received from (peer, sequence); `response` once answered (§7.6)."""

    expires: float
    response: bytes | None = None
    message_type: int | None = None


class _Deadline(NamedTuple):
    """A T3-RESPONSE heap entry: ordered by `at`, then by `tie` (the order they were pushed),
    compared as a plain tuple; `sequence` is never compared."""

    at: float
    tie: int
    sequence: int


class GtpTransactions:
    """Reliable delivery for one GTPv2-C endpoint (TS 29.274 §7.6)."""

    def __init__(self, *, t3_response_s: float = DEFAULT_T3_RESPONSE_S,
                 n3_requests: int = DEFAULT_N3_REQUESTS, first_sequence: int = 1) -> None:
        if t3_response_s <= 0 or n3_requests < 1:
            raise ValueError("T3-RESPONSE must be > 0 and N3-REQUESTS >= 1")
        self.t3_response_s = t3_response_s
        self.n3_requests = n3_requests
        self._sequences = itertools.count(first_sequence)
        self._outgoing: dict[int, _Outgoing] = {}
        self._incoming: dict[tuple[Address, int], _Incoming] = {}
        self._deadlines: list[_Deadline] = []
        # (expiry, key) of each kept response, in expiry order: every one is kept for the
        # same time, so the order they were received in is the order they expire in
        self._kept: deque[tuple[float, tuple[Address, int]]] = deque()
        self._ties = itertools.count()
        self._events: deque[Event] = deque()
        self._datagrams: list[tuple[bytes, Address]] = []
        self.retransmissions = 0
        self.duplicates = 0

    # -- the quartet --------------------------------------------------------------------

    def receive(self, data: bytes, peer: Address, now: float) -> None:
        """One datagram from `peer` (§7.6 reliable delivery, §7.7 error handling)."""
        try:
            msg = gtpv2c.decode(data)
        except DecodeError as err:
            self._on_decode_error(err, peer, now)
            return
        self._on_message(msg, peer, now)

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def data_to_send(self) -> list[tuple[bytes, Address]]:
        out, self._datagrams = self._datagrams, []
        return out

    def get_timer(self) -> float | None:
        """When `handle_timer` is next due: the earliest live T3-RESPONSE, or the next sweep
        of kept responses (CACHE_SWEEP_S after the oldest one's expiry), or None."""
        while self._deadlines and not self._live(self._deadlines[0]):
            heapq.heappop(self._deadlines)
        at = self._deadlines[0].at if self._deadlines else None
        if self._kept:
            sweep = self._kept[0][0] + CACHE_SWEEP_S
            at = sweep if at is None or sweep < at else at
        return at

    def handle_timer(self, now: float) -> None:
        while self._deadlines and self._deadlines[0].at <= now:
            due = heapq.heappop(self._deadlines)
            if self._live(due):
                self._t3_expired(due.sequence, now)
        kept, incoming = self._kept, self._incoming
        while kept and kept[0][0] <= now:
            expires, key = kept.popleft()
            entry = incoming.get(key)
            if entry is not None and entry.expires == expires:
                del incoming[key]

    # -- the entity's side --------------------------------------------------------------

    def send_request(self, msg: Message, peer: Address, now: float, *,
                     context: Hashable = None, t3_response_s: float | None = None) -> Message:
        """Send a request with a fresh Sequence Number (§7.6); returns it as sent.
        `t3_response_s`: a longer T3-RESPONSE for a request whose answer waits for the UE
        (§7.6: "the T3-RESPONSE timer ... should take into account" such procedures)."""
        sequence = self._allocate_sequence()
        sent = replace(msg, fields={**msg.fields, "sequence": sequence})
        data = gtpv2c.encode(sent)
        t3 = t3_response_s or self.t3_response_s
        out = _Outgoing(sent, data, peer, context, now + t3, t3_response_s=t3_response_s)
        self._outgoing[sequence] = out
        self._push(out.deadline, sequence)
        self._datagrams.append((data, peer))
        return sent

    def send_response(self, msg: Message, peer: Address, now: float) -> bytes:
        """Answer the request of `msg`'s sequence from `peer`; kept for its retransmissions."""
        data = gtpv2c.encode(msg)
        key = (peer, int(msg.fields["sequence"]))
        entry = self._incoming.get(key)
        if entry is None:
            entry = self._incoming[key] = _Incoming(now + self._hold_s())
            self._kept.append((entry.expires, key))
        entry.response = data
        self._datagrams.append((data, peer))
        return data

    def cancel(self, sequence: int) -> None:
        """Stop retransmitting a request whose answer no longer matters."""
        self._outgoing.pop(sequence, None)

    @property
    def outstanding(self) -> int:
        return len(self._outgoing)

    # -- internals ----------------------------------------------------------------------

    def _hold_s(self) -> float:
        # a retransmission can arrive up to N3-REQUESTS x T3-RESPONSE after the first attempt
        return self.t3_response_s * (self.n3_requests + 1)

    def _allocate_sequence(self) -> int:
        for _ in range(_SEQUENCE_SPACE):
            sequence = next(self._sequences) % _SEQUENCE_SPACE
            if sequence not in self._outgoing:
                return sequence
        raise RuntimeError("no free GTPv2-C sequence number")

    def _push(self, at: float, sequence: int) -> None:
        heapq.heappush(self._deadlines, _Deadline(at, next(self._ties), sequence))

    def _live(self, d: _Deadline) -> bool:
        out = self._outgoing.get(d.sequence)
        return out is not None and out.deadline == d.at

    def _t3_expired(self, sequence: int, now: float) -> None:
        out = self._outgoing[sequence]
        if out.attempts >= self.n3_requests:
            del self._outgoing[sequence]
            self._events.append(RequestTimedOut(out.request, out.peer, out.context,
                                                out.attempts))
            return
        out.attempts += 1
        out.deadline = now + (out.t3_response_s or self.t3_response_s)
        self.retransmissions += 1
        self._push(out.deadline, sequence)
        self._datagrams.append((out.data, out.peer))

    def _on_message(self, msg: Message, peer: Address, now: float) -> None:
        sequence = int(msg.fields["sequence"])
        if msg.code in RESPONSE_TYPES or msg.code == VERSION_NOT_SUPPORTED_INDICATION:
            self._on_response(msg, peer, sequence)
            return
        if msg.code not in RESPONSE_TO:
            # §7.7.3: a message this entity never receives is discarded
            self._log("gtpv2.discarded", peer, msg.name, "not a request this layer serves")
            return
        key = (peer, sequence)
        entry = self._incoming.get(key)
        if entry is not None:
            self._duplicate(entry, peer, msg.name)
            return
        entry = self._incoming[key] = _Incoming(now + self._hold_s(), None, msg.code)
        self._kept.append((entry.expires, key))
        self._events.append(RequestReceived(msg, peer))

    def _duplicate(self, entry: _Incoming, peer: Address, name: str) -> None:
        # §7.6: a retransmitted request is not processed again; its response is resent
        self.duplicates += 1
        if entry.response is not None:
            self._datagrams.append((entry.response, peer))
        self._log("gtpv2.duplicate_request", peer, name,
                  "response resent" if entry.response is not None else "still in progress")

    def _on_response(self, msg: Message, peer: Address, sequence: int) -> None:
        out = self._outgoing.get(sequence)
        expected = None if out is None else RESPONSE_TO.get(out.request.code)
        if out is None or msg.code not in (expected, VERSION_NOT_SUPPORTED_INDICATION):
            # §7.6: a response without a matching outstanding request is a duplicate
            self._log("gtpv2.discarded", peer, msg.name, "no matching outstanding request")
            return
        del self._outgoing[sequence]
        if msg.code == VERSION_NOT_SUPPORTED_INDICATION:
            self._events.append(VersionNotSupported(out.request, peer, out.context))
        else:
            self._events.append(ResponseReceived(msg, peer, out.request, out.context))

    def _on_decode_error(self, err: DecodeError, peer: Address, now: float) -> None:
        sequence = err.extra.get("sequence")
        if err.extra.get("version_not_supported"):
            # §7.7.1: answer with the highest version we support; Sequence Number copied
            vnsi = gtpv2c.version_not_supported_indication(
                sequence if isinstance(sequence, int) else 0)
            self._datagrams.append((gtpv2c.encode(vnsi), peer))
            self._log("gtpv2.version_not_supported", peer, None, err.detail)
            return
        message_type = err.extra.get("message_type")
        if err.extra.get("discard") or message_type not in RESPONSE_TO or sequence is None:
            # §7.7.2, §7.7.3; a response is never answered, a malformed one is dropped (§7.7)
            self._log("gtpv2.discarded", peer, None, err.detail)
            return
        key = (peer, int(sequence))
        entry = self._incoming.get(key)
        if entry is not None:
            self._duplicate(entry, peer, f"message type {message_type}")
            return
        entry = self._incoming[key] = _Incoming(now + self._hold_s(), None, message_type)
        self._kept.append((entry.expires, key))
        self._events.append(MalformedRequest(err, peer))

    def _log(self, kind: str, peer: Address, name: str | None, detail: str) -> None:
        self._events.append(LogEvent(kind, {"peer": f"{peer[0]}:{peer[1]}", "message": name,
                                            "detail": detail}))
