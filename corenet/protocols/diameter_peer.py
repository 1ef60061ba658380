"""Diameter peer connection: capabilities exchange, watchdog, disconnect (sans-I/O).

One `DiameterPeer` per transport connection, in one of two roles: the initiator (it connected
and sends CER) or the responder (it accepted and waits for CER). This is the peer state machine
of RFC 6733 §5.6 reduced to one connection per peer (no election), plus the transport failure
algorithm of RFC 3539 §3.4.1 (Device-Watchdog, RFC 6733 §5.5).

The peer's identity is the Origin-Host of its CER/CEA (RFC 6733 §5.6.1), checked against the
configured peers, the connection's source address and, over TLS, the certificate's names; every
request on the connection must then come from that peer (or be relayed by a configured agent,
§6.1.9), and duplicates are recognised by Origin-Host, End-to-End Identifier and content (§3).

Used like aioquic's QuicConnection:

    peer.connection_made(now)           # initiator: queues CER
    peer.receive(data, now)             # bytes from the stream (or whole messages)
    for data in peer.data_to_send(): transport.send(data)
    while (event := peer.next_event()) is not None: ...
    deadline = peer.get_timer(); ... peer.handle_timer(now)
    hop_by_hop = peer.request(msg, now) # application request, allowed only in OPEN
    peer.send_answer(answer, now)       # answer to a RequestReceived
    peer.stream_error(exc, now)         # the transport's framer lost the message boundary

After `data_to_send()` the adapter closes the transport once `peer.state` is CLOSED.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import heapq
import random
import struct
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from corenet.codecs import diameter as dia
from corenet.codecs.base import Message
from corenet.core.errors import CorenetError, DecodeError
from corenet.protocols.diameter_ids import DiameterIds

DEFAULT_MAX_MESSAGE = 1 << 20
RELAY_APPLICATION_ID = 0xFFFFFFFF  # RFC 6733 §2.4
DUPLICATE_WINDOW_S = 240.0  # RFC 6733 §3: End-to-End ids stay unique for at least 4 minutes
REOPEN_DWA_COUNT = 3  # RFC 3539 §3.4.1: three DWAs before a reopened connection is used


class Role(enum.Enum):
    INITIATOR = "initiator"
    RESPONDER = "responder"


class PeerState(enum.Enum):
    """RFC 6733 §5.6 states, one connection per peer."""

    CLOSED = "Closed"
    WAIT_CER = "Wait-CER"  # responder: connection accepted, no CER yet (R-Conn-CER pending)
    WAIT_I_CEA = "Wait-I-CEA"
    OPEN = "Open"  # I-Open / R-Open
    CLOSING = "Closing"


class WatchdogState(enum.Enum):
    """RFC 3539 §3.4.1."""

    INITIAL = "INITIAL"
    OKAY = "OKAY"
    SUSPECT = "SUSPECT"
    DOWN = "DOWN"
    REOPEN = "REOPEN"


class Input(enum.Enum):
    """What drives the peer state machine (RFC 6733 §5.6 event names in the comments)."""

    CONN_UP = "conn-up"  # I-Rcv-Conn-Ack: our connection is up, CER sent
    CONN_ACCEPTED = "conn-accepted"  # a peer connected to us; its CER is awaited
    RCV_CER_OK = "rcv-cer-ok"  # R-Conn-CER, R-Rcv-CER, accepted
    RCV_CER_BAD = "rcv-cer-bad"  # CER refused (unknown peer, no common application)
    RCV_CEA_OK = "rcv-cea-ok"  # I-Rcv-CEA, Result-Code success
    RCV_CEA_BAD = "rcv-cea-bad"  # I-Rcv-CEA, failure
    RCV_MESSAGE = "rcv-message"  # Rcv-Message
    RCV_NON_CER = "rcv-non-cer"  # anything but CER before capabilities were exchanged
    SEND_DPR = "send-dpr"  # Stop
    RCV_DPR = "rcv-dpr"  # Rcv-DPR
    RCV_DPA = "rcv-dpa"  # Rcv-DPA
    TIMEOUT = "timeout"  # Timeout (CEA or DPA not received)
    WATCHDOG_DOWN = "watchdog-down"  # RFC 3539 CloseConnection()
    FRAMING_ERROR = "framing-error"  # the stream can no longer be delimited
    CONN_LOST = "conn-lost"  # Peer-Disc


_S, _I = PeerState, Input

# (state, input) -> next state; a pair absent from the table leaves the state unchanged.
PEER_TRANSITIONS: dict[tuple[PeerState, Input], PeerState] = {
    (_S.CLOSED, _I.CONN_UP): _S.WAIT_I_CEA,
    (_S.CLOSED, _I.CONN_ACCEPTED): _S.WAIT_CER,
    (_S.WAIT_CER, _I.RCV_CER_OK): _S.OPEN,
    (_S.WAIT_CER, _I.RCV_CER_BAD): _S.CLOSED,
    (_S.WAIT_CER, _I.RCV_NON_CER): _S.CLOSED,
    (_S.WAIT_CER, _I.TIMEOUT): _S.CLOSED,
    (_S.WAIT_I_CEA, _I.RCV_CEA_OK): _S.OPEN,
    (_S.WAIT_I_CEA, _I.RCV_CEA_BAD): _S.CLOSED,
    (_S.WAIT_I_CEA, _I.RCV_NON_CER): _S.CLOSED,
    (_S.WAIT_I_CEA, _I.TIMEOUT): _S.CLOSED,
    (_S.OPEN, _I.SEND_DPR): _S.CLOSING,
    (_S.OPEN, _I.RCV_DPR): _S.CLOSED,
    (_S.OPEN, _I.RCV_CER_BAD): _S.CLOSED,
    (_S.OPEN, _I.WATCHDOG_DOWN): _S.CLOSED,
    (_S.CLOSING, _I.RCV_DPA): _S.CLOSED,
    (_S.CLOSING, _I.RCV_DPR): _S.CLOSED,
    (_S.CLOSING, _I.TIMEOUT): _S.CLOSED,
    (_S.CLOSING, _I.WATCHDOG_DOWN): _S.CLOSED,
}
for _state in PeerState:
    PEER_TRANSITIONS[(_state, _I.FRAMING_ERROR)] = _S.CLOSED
    PEER_TRANSITIONS[(_state, _I.CONN_LOST)] = _S.CLOSED


class WdInput(enum.Enum):
    CONN_UP = "connection-up"
    RCV_DWA = "receive-dwa"
    RCV_OTHER = "receive-non-dwa"
    TIMER_IDLE = "timer-expires-not-pending"
    TIMER_PENDING = "timer-expires-pending"
    TIMER_PENDING_AGAIN = "timer-expires-pending-numdwa<0"


_W, _WI = WatchdogState, WdInput

# RFC 3539 §3.4.1 state table: (state, input) -> next state. The actions live in `_watchdog`.
WATCHDOG_TRANSITIONS: dict[tuple[WatchdogState, WdInput], WatchdogState] = {
    (_W.INITIAL, _WI.CONN_UP): _W.OKAY,
    (_W.OKAY, _WI.RCV_DWA): _W.OKAY,
    (_W.OKAY, _WI.RCV_OTHER): _W.OKAY,
    (_W.OKAY, _WI.TIMER_IDLE): _W.OKAY,  # SendWatchdog, Pending = TRUE
    (_W.OKAY, _WI.TIMER_PENDING): _W.SUSPECT,  # Failover
    (_W.SUSPECT, _WI.RCV_DWA): _W.OKAY,  # Failback
    (_W.SUSPECT, _WI.RCV_OTHER): _W.OKAY,  # Failback
    (_W.SUSPECT, _WI.TIMER_IDLE): _W.DOWN,  # CloseConnection
    (_W.SUSPECT, _WI.TIMER_PENDING): _W.DOWN,
    (_W.DOWN, _WI.CONN_UP): _W.REOPEN,  # NumDWA = 0, SendWatchdog
    (_W.REOPEN, _WI.RCV_DWA): _W.REOPEN,  # NumDWA++ (OKAY when it reaches 3)
    (_W.REOPEN, _WI.RCV_OTHER): _W.REOPEN,  # Throwaway
    (_W.REOPEN, _WI.TIMER_IDLE): _W.REOPEN,  # SendWatchdog
    (_W.REOPEN, _WI.TIMER_PENDING): _W.REOPEN,  # NumDWA = -1
    (_W.REOPEN, _WI.TIMER_PENDING_AGAIN): _W.DOWN,  # CloseConnection
}


class PeerNotOpen(CorenetError):
    """A request was offered while the connection is not usable (a local error)."""


# ------------------------------------------------------------------------------ events


@dataclass(frozen=True)
class PeerOpened:
    """Capabilities exchanged (RFC 6733 §5.3); `capabilities` is the peer's CER or CEA."""

    origin_host: str
    origin_realm: str
    capabilities: Message


@dataclass(frozen=True)
class CapabilitiesRejected:
    """We refused the peer's CER (responder) or the peer's CEA refused us (initiator)."""

    result_code: int
    origin_host: str | None
    detail: str


@dataclass(frozen=True)
class RequestReceived:
    message: Message


@dataclass(frozen=True)
class AnswerReceived:
    message: Message
    request: Message


@dataclass(frozen=True)
class RequestTimedOut:
    hop_by_hop: int
    request: Message


@dataclass(frozen=True)
class RequestsFailedOver:
    """RFC 3539 §3.4.1 Failover(): outstanding requests to resend through another peer."""

    requests: tuple[Message, ...]
    reason: str


@dataclass(frozen=True)
class WatchdogChanged:
    old: WatchdogState
    new: WatchdogState


@dataclass(frozen=True)
class DisconnectRequested:
    """The peer sent DPR (RFC 6733 §5.4); we answered DPA and close."""

    cause: int | None


@dataclass(frozen=True)
class MessageDiscarded:
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class ErrorAnswered:
    """A malformed or unacceptable request got an error answer (RFC 6733 §7)."""

    result_code: int
    detail: str


@dataclass(frozen=True)
class ConnectionClosed:
    reason: str


PeerEvent = (
    PeerOpened | CapabilitiesRejected | RequestReceived | AnswerReceived | RequestTimedOut
    | RequestsFailedOver | WatchdogChanged | DisconnectRequested | MessageDiscarded
    | ErrorAnswered | ConnectionClosed
)


# ------------------------------------------------------------------------------ config


class KnownPeer(Protocol):
    """A configured Diameter peer (config.models.DiameterPeerSpec)."""

    @property
    def origin_host(self) -> str: ...

    @property
    def addresses(self) -> Sequence[str]: ...

    @property
    def agent(self) -> bool: ...


@dataclass(frozen=True)
class PeerConfig:
    origin_host: str
    origin_realm: str
    host_ip_addresses: tuple[str, ...] = ("127.0.0.1",)
    # RFC 6733 §5.3: a responder accepts CER only from these Origin-Hosts; empty = any peer.
    allowed_peers: frozenset[str] = frozenset()
    # RFC 6733 §5.6.1: a peer is known by its Origin-Host *and* where it connects from; a CER
    # naming one of these Origin-Hosts from another source address is refused (3010).
    peer_addresses: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # RFC 6733 §2.8, §6.1.9: peers that are relay/proxy agents; their requests may carry
    # another Origin-Host when the first Route-Record names it (§6.7.1).
    relay_agents: frozenset[str] = frozenset()
    # initiator: the Origin-Host the CEA must carry (the configured peer); None = any
    expected_peer: str | None = None
    auth_application_ids: tuple[int, ...] = ()
    vendor_specific_application_ids: tuple[tuple[int, int], ...] = (
        (dia.VENDOR_3GPP, dia.S6A_APPLICATION_ID),)
    vendor_id: int = 0
    product_name: str = "corenet"
    origin_state_id: int | None = None
    watchdog_s: float = 30.0  # RFC 3539 §3.4.1 Twinit
    watchdog_jitter_s: float = 0.0  # RFC 3539 §3.4.1: +/- 2 s recommended; 0 in tests
    capabilities_timeout_s: float = 10.0  # Wait-I-CEA / Wait-CER give up (RFC 6733 §5.6 Timeout)
    disconnect_timeout_s: float = 5.0  # Closing: DPA not received
    request_timeout_s: float = 5.0
    max_message: int = DEFAULT_MAX_MESSAGE

    @classmethod
    def serving(cls, origin_host: str, origin_realm: str, local_ip: str,
                peers: Iterable[KnownPeer], **options: Any) -> PeerConfig:
        """The configuration of a node that serves the configured `peers` (RFC 6733 §5.3:
        their Origin-Hosts; §5.6.1: their source addresses; §2.8: the agents among them)."""
        peers = list(peers)
        return cls(origin_host=origin_host, origin_realm=origin_realm,
                   host_ip_addresses=(local_ip,),
                   allowed_peers=frozenset(p.origin_host for p in peers),
                   peer_addresses={p.origin_host: frozenset(p.addresses) for p in peers},
                   relay_agents=frozenset(p.origin_host for p in peers if p.agent), **options)

    @property
    def application_ids(self) -> frozenset[int]:
        return frozenset(self.auth_application_ids) | {
            a for _, a in self.vendor_specific_application_ids}


# ------------------------------------------------------------------------------ duplicates


# RFC 6733 §6.1.9, §6.7.1-2: what relay and proxy agents add to a request on its way
AGENT_AVPS = frozenset({"Route-Record", "Proxy-Info"})

# A request's key: 16 octets of SHA-256 over its Origin-Host, End-to-End Identifier and content
RequestKey = bytes
_KEY_OCTETS = 16
_AGENT_CODES = frozenset(dia.AVPS[name].code for name in AGENT_AVPS)  # IETF AVPs: V bit clear
_AVP_WORDS = struct.Struct(">II")  # RFC 6733 §4.1: AVP Code; AVP Flags and AVP Length


def request_key(msg: Message, raw: bytes | None = None, *,
                origin: str | None = None) -> RequestKey:
    """Duplicate-detection key of a request: Origin-Host and End-to-End Identifier (RFC 6733
    §3, §6.2, App. C), and what makes it this request (command code, application, the AVPs
    other than those an agent may add). Another request that reuses the pair (a sender
    breaking §3's uniqueness, or a forgery) is not a retransmission of the first and is never
    given the first one's answer.

    One digest covers all of it: the Origin-Host as the FQDN it is (§4.3.1, case-insensitive),
    the End-to-End Identifier, then the request's bytes (`raw`, as received; encoded from `msg`
    otherwise): the Command-Code and Application-ID of the §3 header, then every AVP of the
    message level but Route-Record and Proxy-Info (§6.1.9, §6.7.1-2). The command flags (the T
    bit of a retransmission, §3) and the Hop-by-Hop Identifier (§6.1.3) are left out. The key
    is the first 16 octets of that SHA-256 digest: one small bytes object per remembered
    request. `origin`: the Origin-Host as `_identity` gives it, when the caller has it."""
    if raw is None:
        raw = dia.encode(msg)
    if origin is None:
        origin = _identity(dia.avp(msg, "Origin-Host"))
    host = origin.encode("utf-8", "surrogatepass")
    e2e = int(msg.fields.get("end_to_end", 0)) & 0xFFFFFFFF
    digest = hashlib.sha256(len(host).to_bytes(2, "big") + host + e2e.to_bytes(4, "big")
                            + raw[5:12])
    for entry in msg.fields.get("avps", ()):
        if entry[0] in AGENT_AVPS:
            break
    else:
        # no agent on the way (the decoded top level names every AVP): all AVPs digested
        digest.update(memoryview(raw)[dia.HEADER_LEN:])
        return digest.digest()[:_KEY_OCTETS]
    pos = run = dia.HEADER_LEN
    end = len(raw)
    while pos + 8 <= end:
        code, word = _AVP_WORDS.unpack_from(raw, pos)
        length = word & 0xFFFFFF
        if length < 8:
            break  # not a decodable request: the rest is digested as it is
        if code in _AGENT_CODES and not word & (dia.AVP_V << 24):
            digest.update(raw[run:pos])
            run = pos + ((length + 3) & ~3)
        pos += (length + 3) & ~3
    digest.update(raw[run:])
    return digest.digest()[:_KEY_OCTETS]


_MISSING = object()


class AnswerCache:
    """Answers by request key (Origin-Host, End-to-End-Id, content) for duplicate detection
    (RFC 6733 §3, App. C).

    Shared by every connection of a node, so a retransmission on another connection (T flag,
    after failover) still gets the first answer. A key present with no answer is in progress.
    An answer is kept as the bytes that were sent (a duplicate gets them again with its own
    Hop-by-Hop Identifier), not as a decoded message.

    Keys are kept in the order their requests arrived, so the times are kept per second of
    arrival (the latest time of that second and how many keys came in it), not per key: a
    key is forgotten once the last request of its second is older than the window.
    """

    def __init__(self, window_s: float = DUPLICATE_WINDOW_S, max_entries: int = 65536) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self._entries: OrderedDict[RequestKey, bytes | None] = OrderedDict()
        # [second of arrival, latest arrival time in it, keys that arrived in it], oldest first
        self._seconds: deque[list[Any]] = deque()

    def _prune(self, now: float) -> None:
        entries, seconds = self._entries, self._seconds
        while seconds:
            oldest = seconds[0]
            if now - oldest[1] <= self.window_s and len(entries) <= self.max_entries:
                break
            entries.popitem(last=False)
            oldest[2] -= 1
            if not oldest[2]:
                seconds.popleft()

    def seen(self, key: RequestKey, now: float) -> tuple[bool, bytes | None]:
        """(True, answer or None if still in progress) for a duplicate; (False, None) if new."""
        self._prune(now)
        entry = self._entries.get(key, _MISSING)
        return (False, None) if entry is _MISSING else (True, entry)  # type: ignore[return-value]

    def begin(self, key: RequestKey, now: float) -> None:
        if key in self._entries:
            self._entries[key] = None
            return
        self._entries[key] = None
        second = int(now)
        if self._seconds and self._seconds[-1][0] == second:
            last = self._seconds[-1]
            last[1] = max(last[1], now)
            last[2] += 1
        else:
            self._seconds.append([second, now, 1])

    def complete(self, key: RequestKey, answer: bytes, now: float) -> None:
        if key in self._entries:
            self._entries[key] = answer

    def __len__(self) -> int:
        return len(self._entries)


# ------------------------------------------------------------------------------ the machine


@dataclass(slots=True)
class _Pending:
    request: Message
    deadline: float


@dataclass
class _Watchdog:
    state: WatchdogState = WatchdogState.INITIAL
    pending: bool = False
    num_dwa: int = 0
    deadline: float | None = None


@dataclass
class _Counters:
    hop_by_hop: int
    end_to_end: int
    pending: dict[int, _Pending] = field(default_factory=dict)
    # (deadline, Hop-by-Hop) of the pending requests, earliest first; an answered request
    # leaves its entry behind, skipped when it comes up
    deadlines: list[tuple[float, int]] = field(default_factory=list)
    inbound: dict[tuple[int, int], RequestKey] = field(default_factory=dict)  # being served

    def earliest(self) -> float | None:
        """The deadline of the first pending request to time out."""
        heap, pending = self.deadlines, self.pending
        while heap:
            at, hbh = heap[0]
            entry = pending.get(hbh)
            if entry is not None and entry.deadline == at:
                return at
            heapq.heappop(heap)
        return None

    def add(self, hbh: int, entry: _Pending) -> None:
        self.pending[hbh] = entry
        heap = self.deadlines
        if len(heap) > 2 * len(self.pending) + 64:  # mostly answered ones: keep it small
            heap[:] = [(p.deadline, h) for h, p in self.pending.items()]
            heapq.heapify(heap)
        else:
            heapq.heappush(heap, (entry.deadline, hbh))


class DiameterPeer:
    """One Diameter connection's base-protocol state (RFC 6733 §5, RFC 3539 §3.4)."""

    def __init__(
        self,
        config: PeerConfig,
        role: Role,
        *,
        reopen: bool = False,
        answers: AnswerCache | None = None,
        rng: random.Random | None = None,
        remote_address: str | None = None,
        certificate_names: frozenset[str] | None = None,
        ids: DiameterIds | None = None,
    ) -> None:
        """`remote_address`: the source address of the connection (checked against
        `config.peer_addresses`); `certificate_names`: the DNS names of the peer's verified TLS
        certificate (RFC 6733 §13.1), which must include the Origin-Host of its CER/CEA;
        `ids`: the node's End-to-End Identifiers (RFC 6733 §3), shared by all its connections
        and its applications, so that none repeats across reconnections."""
        self.config = config
        self.role = role
        self.state = PeerState.CLOSED
        self.remote_address = remote_address
        self.certificate_names = (None if certificate_names is None
                                  else frozenset(_identity(n) for n in certificate_names))
        self.peer_host: str | None = None
        self.peer_realm: str | None = None
        self._reopen = reopen
        self._answers = answers if answers is not None else AnswerCache()
        self._rng = rng or random.Random()
        self._node_ids = ids
        # RFC 6733 §3: Hop-by-Hop starts random; End-to-End high 12 bits from the clock at
        # start-up, low 20 bits random (the clock part is supplied by `connection_made`).
        self._ids = _Counters(self._rng.getrandbits(32), self._rng.getrandbits(20))
        self._wd = _Watchdog(WatchdogState.DOWN if reopen else WatchdogState.INITIAL)
        self._buf = bytearray()
        self._out: list[bytes] = []
        self._events: deque[PeerEvent] = deque()
        self._state_deadline: float | None = None
        self._dpr_hbh: int | None = None
        self._cer_hbh: int | None = None

    # -- public API ------------------------------------------------------------------------

    @property
    def watchdog_state(self) -> WatchdogState:
        return self._wd.state

    @property
    def is_open(self) -> bool:
        """Usable for application requests: Open and the watchdog says OKAY (RFC 3539 §3.4)."""
        return self.state is PeerState.OPEN and self._wd.state is WatchdogState.OKAY

    def connection_made(self, now: float) -> None:
        if self.state is not PeerState.CLOSED:
            return
        if self._node_ids is None:
            self._ids.end_to_end |= (int(now) & 0xFFF) << 20
        if self.role is Role.INITIATOR:
            self._transition(Input.CONN_UP)
            self._cer_hbh = self._next_hbh()
            self._send(dia.cer(
                self.config.origin_host, self.config.origin_realm,
                self.config.host_ip_addresses, hop_by_hop=self._cer_hbh,
                end_to_end=self._next_e2e(), **self._capability_args()))
        else:
            self._transition(Input.CONN_ACCEPTED)
        self._state_deadline = now + self.config.capabilities_timeout_s

    def connection_lost(self, now: float) -> None:
        if self.state is PeerState.CLOSED:
            return
        self._close("connection lost", Input.CONN_LOST)

    def receive(self, data: bytes, now: float) -> None:
        """Bytes from the connection; whole messages are delimited by their header (§3)."""
        if self.state is PeerState.CLOSED:
            return
        if not self._buf and len(data) >= dia.HEADER_LEN and data[0] == dia.VERSION:
            # one whole message, as a message transport hands them over (§3 Message Length)
            length = int.from_bytes(data[1:4], "big")
            if length == len(data) and length <= self.config.max_message and not length & 3:
                self._receive_message(bytes(data), now)
                return
        self._buf += data
        while len(self._buf) >= 4 and self.state is not PeerState.CLOSED:
            try:
                length = dia.message_length(bytes(self._buf[:4]))
                if length > self.config.max_message:
                    raise DecodeError(dia.PROTOCOL, dia.ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH,
                                      f"message length {length} above {self.config.max_message}")
            except DecodeError as exc:
                self._framing_error(exc, bytes(self._buf[:dia.HEADER_LEN]))
                return
            if len(self._buf) < length:
                return
            raw = bytes(self._buf[:length])
            del self._buf[:length]
            self._receive_message(raw, now)

    def stream_error(self, exc: DecodeError, now: float) -> None:
        """The transport's framer could not delimit the stream (bad version or length): answer
        from the header it read (`exc.extra["header"]`), then close (RFC 6733 §7.1.5)."""
        if self.state is not PeerState.CLOSED:
            self._framing_error(exc, bytes(exc.extra.get("header", b"")))

    def request(self, msg: Message, now: float, timeout: float | None = None) -> int:
        """Send an application request; returns its Hop-by-Hop Identifier (RFC 6733 §6.1)."""
        if not self.is_open:
            raise PeerNotOpen(f"peer {self.peer_host} is {self.state.value}/{self._wd.state.value}")
        f = msg.fields
        hbh = self._next_hbh()
        e2e = f.get("end_to_end") or self._next_e2e()
        msg = Message(msg.protocol, msg.name, msg.code, {**f, "hop_by_hop": hbh, "end_to_end": e2e})
        self._send(msg)
        deadline = now + (self.config.request_timeout_s if timeout is None else timeout)
        self._ids.add(hbh, _Pending(msg, deadline))
        return hbh

    def send_answer(self, answer: Message, now: float) -> None:
        """Answer a RequestReceived; the answer is kept for duplicates (RFC 6733 App. C)."""
        f = answer.fields
        key = self._ids.inbound.pop((f.get("hop_by_hop", 0), f.get("end_to_end", 0)), None)
        data = None
        if key is not None:
            data = dia.encode(answer)
            self._answers.complete(key, data, now)
        if self.state in (PeerState.OPEN, PeerState.CLOSING):
            self._out.append(dia.encode(answer) if data is None else data)

    def close(self, now: float,
              cause: int = dia.DisconnectCause.DO_NOT_WANT_TO_TALK_TO_YOU) -> None:
        """Stop: DPR in Open (RFC 6733 §5.4), otherwise just close."""
        if self.state is PeerState.OPEN:
            self._dpr_hbh = self._next_hbh()
            self._send(dia.dpr(self.config.origin_host, self.config.origin_realm,
                               hop_by_hop=self._dpr_hbh, end_to_end=self._next_e2e(),
                               disconnect_cause=cause))
            self._transition(Input.SEND_DPR)
            self._state_deadline = now + self.config.disconnect_timeout_s
        elif self.state is not PeerState.CLOSED:
            self._close("closed locally", Input.CONN_LOST)

    def data_to_send(self) -> list[bytes]:
        """Whole encoded messages, in order."""
        out, self._out = self._out, []
        return out

    def next_event(self) -> PeerEvent | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        if self.state is PeerState.CLOSED:
            return None
        at = self._ids.earliest()
        for other in (self._state_deadline, self._wd.deadline):
            if other is not None and (at is None or other < at):
                at = other
        return at

    def handle_timer(self, now: float) -> None:
        if self.state is PeerState.CLOSED:
            return
        ids = self._ids
        while (first := ids.earliest()) is not None and first <= now:
            _, hbh = heapq.heappop(ids.deadlines)
            pending = ids.pending.pop(hbh)
            self._events.append(RequestTimedOut(hbh, pending.request))
        if self._state_deadline is not None and self._state_deadline <= now:
            self._state_deadline = None
            if self.state in (PeerState.WAIT_CER, PeerState.WAIT_I_CEA, PeerState.CLOSING):
                self._close(f"timeout in {self.state.value}", Input.TIMEOUT)
                return
        if self._wd.deadline is not None and self._wd.deadline <= now:
            self._watchdog_timer(now)

    # -- receiving -------------------------------------------------------------------------

    def _receive_message(self, raw: bytes, now: float) -> None:
        try:
            msg = dia.decode_checked(raw)  # a request's ABNF too (RFC 6733 §7.1.5)
        except DecodeError as exc:
            self._malformed(raw, exc)
            return
        if self.state is PeerState.WAIT_CER or self.state is PeerState.WAIT_I_CEA:
            self._capabilities_phase(msg, now)
            return
        is_request = msg.fields["flags"]["request"]
        self._watchdog_received(msg.name == "DWA", now)
        if self._wd.state is WatchdogState.REOPEN and msg.name != "DWA" and not is_request:
            self._events.append(MessageDiscarded("reopen", f"{msg.name} before 3 DWAs"))
            return
        handler = _BASE_HANDLERS.get(msg.name)
        if handler is not None:
            handler(self, msg, now)
        elif is_request:
            self._application_request(msg, raw, now)
        else:
            self._application_answer(msg)

    def _capabilities_phase(self, msg: Message, now: float) -> None:
        if self.state is PeerState.WAIT_CER and msg.name == "CER":
            self._on_cer(msg, now)
        elif self.state is PeerState.WAIT_I_CEA and msg.name == "CEA":
            self._on_cea(msg, now)
        else:
            # RFC 6733 §5.3: no other message before the capabilities exchange completes
            self._close(f"{msg.name} before capabilities exchange", Input.RCV_NON_CER)

    def _on_cer(self, msg: Message, now: float) -> None:
        """RFC 6733 §5.3.1-2 and §5.6 R-Conn-CER / R-Rcv-CER."""
        host = dia.avp(msg, "Origin-Host")
        refusal = self._unknown_peer(host)
        if refusal is not None:
            self._refuse_cer(msg, dia.ResultCode.DIAMETER_UNKNOWN_PEER, host, refusal)
            return
        offered = _offered_applications(msg)
        # RFC 6733 §2.4, §5.3: a relay (on either side) has every application in common
        ours = self.config.application_ids
        if RELAY_APPLICATION_ID not in offered | ours and not offered & ours:
            self._refuse_cer(msg, dia.ResultCode.DIAMETER_NO_COMMON_APPLICATION, host,
                             f"no common application in {sorted(offered)}")
            return
        self._send(dia.cea(msg, self.config.origin_host, self.config.origin_realm,
                           self.config.host_ip_addresses, **self._capability_args()))
        if self.state is PeerState.OPEN:
            return  # R-Rcv-CER in Open: answered again, nothing else changes
        self._transition(Input.RCV_CER_OK)
        self._opened(host, dia.avp(msg, "Origin-Realm"), msg, now)

    def _unknown_peer(self, host: Any) -> str | None:
        """Why a CER's Origin-Host is not the peer on this connection, or None.

        RFC 6733 §5.6.1: the Origin-Host of the CER identifies the connecting peer; §5.3 and
        §7.1.3 DIAMETER_UNKNOWN_PEER refuse one that is not configured, which includes a
        configured Origin-Host claimed from an address that is not that peer's, a name that
        the peer's TLS certificate does not carry (§13.1), and a CER in Open naming another
        host than the connection's peer (R-Rcv-CER, §5.6).
        """
        name = _identity(host)
        allowed = {_identity(h) for h in self.config.allowed_peers}
        if allowed and name not in allowed:
            return f"Origin-Host {host} is not a configured peer"
        addresses = {_identity(h): a for h, a in self.config.peer_addresses.items()}.get(name)
        if addresses is not None and self.remote_address not in addresses:
            return (f"Origin-Host {host} is not configured at address {self.remote_address}"
                    f" (configured: {', '.join(sorted(addresses))})")
        if self.certificate_names is not None and name not in self.certificate_names:
            return f"Origin-Host {host} is not an identity of the peer's TLS certificate"
        if self.state is PeerState.OPEN and name != _identity(self.peer_host):
            return f"CER for {host} on the connection of {self.peer_host}"
        return None

    def _refuse_cer(self, msg: Message, code: int, host: str | None, detail: str) -> None:
        answer = dia.cea(msg, self.config.origin_host, self.config.origin_realm,
                         self.config.host_ip_addresses, result_code=code, error_message=detail,
                         **self._capability_args())
        self._send(_with_error_bit(answer, code))
        self._events.append(CapabilitiesRejected(int(code), host, detail))
        self._close(detail, Input.RCV_CER_BAD)

    def _on_cea(self, msg: Message, now: float) -> None:
        """RFC 6733 §5.6 I-Rcv-CEA."""
        code = dia.avp(msg, "Result-Code")
        host = dia.avp(msg, "Origin-Host")
        if code != dia.ResultCode.DIAMETER_SUCCESS:
            detail = dia.avp(msg, "Error-Message") or f"CEA Result-Code {code}"
            self._events.append(CapabilitiesRejected(int(code or 0), host, detail))
            self._close(detail, Input.RCV_CEA_BAD)
            return
        expected = self.config.expected_peer
        wrong = None
        if expected is not None and _identity(host) != _identity(expected):
            wrong = f"CEA from {host}, the configured peer is {expected}"
        elif self.certificate_names is not None and _identity(host) not in self.certificate_names:
            wrong = f"CEA from {host}, not an identity of the peer's TLS certificate"
        if wrong is not None:
            # RFC 6733 §5.6.1, §13.1: the peer answering is not the one we meant to reach
            self._events.append(CapabilitiesRejected(
                int(dia.ResultCode.DIAMETER_UNKNOWN_PEER), host, wrong))
            self._close(wrong, Input.RCV_CEA_BAD)
            return
        self._transition(Input.RCV_CEA_OK)
        self._opened(host, dia.avp(msg, "Origin-Realm"), msg, now)

    def _opened(self, host: str, realm: str, caps: Message, now: float) -> None:
        self.peer_host, self.peer_realm = host, realm
        self._state_deadline = None
        self._events.append(PeerOpened(host, realm, caps))
        self._watchdog_input(WdInput.CONN_UP, now)
        if self._wd.state is WatchdogState.REOPEN:
            self._wd.num_dwa = 0
            self._send_dwr()

    def _on_dwr(self, msg: Message, now: float) -> None:
        """RFC 6733 §5.5.1-2."""
        self._send(dia.dwa(msg, self.config.origin_host, self.config.origin_realm,
                           origin_state_id=self.config.origin_state_id))

    def _on_dwa(self, msg: Message, now: float) -> None:
        pass  # accounted for by the watchdog on receipt

    def _on_dpr(self, msg: Message, now: float) -> None:
        """RFC 6733 §5.4.1-2: answer DPA, then the connection is closed."""
        self._send(dia.dpa(msg, self.config.origin_host, self.config.origin_realm))
        self._events.append(DisconnectRequested(dia.avp(msg, "Disconnect-Cause")))
        self._close("peer sent DPR", Input.RCV_DPR)

    def _on_dpa(self, msg: Message, now: float) -> None:
        if self.state is PeerState.CLOSING:
            self._close("DPA received", Input.RCV_DPA)

    def _on_cer_in_open(self, msg: Message, now: float) -> None:
        self._on_cer(msg, now)

    def _on_cea_in_open(self, msg: Message, now: float) -> None:
        self._events.append(MessageDiscarded("unexpected", "CEA in Open"))

    def _application_request(self, msg: Message, raw: bytes, now: float) -> None:
        f = msg.fields
        origin = _identity(dia.avp(msg, "Origin-Host"))
        forged = None if origin == _identity(self.peer_host) else self._not_from_peer(msg)
        if forged is not None:
            # RFC 6733 §7.1.5 DIAMETER_UNABLE_TO_COMPLY: refused, never served nor cached
            code = int(dia.ResultCode.DIAMETER_UNABLE_TO_COMPLY)
            self._out.append(dia.error_answer(msg, code, self.config.origin_host,
                                              self.config.origin_realm, error_message=forged))
            self._events.append(ErrorAnswered(code, forged))
            return
        key = request_key(msg, raw, origin=origin)
        dup, cached = self._answers.seen(key, now)
        if dup:
            # RFC 6733 Appendix C: the duplicate gets the same answer, with its own Hop-by-Hop
            if cached is None:
                self._events.append(MessageDiscarded("duplicate", "answer still in progress"))
            else:
                self._out.append(cached[:12] + int(f["hop_by_hop"]).to_bytes(4, "big")
                                 + cached[16:])
            return
        self._answers.begin(key, now)
        self._ids.inbound[(f["hop_by_hop"], f["end_to_end"])] = key
        self._events.append(RequestReceived(msg))

    def _not_from_peer(self, msg: Message) -> str | None:
        """Why a request cannot come from this connection's peer, or None.

        RFC 6733 §5.6.1: the peer's identity is the Origin-Host of its CER/CEA, and §6.1.9 /
        §6.7.1: an agent relaying a request appends a Route-Record carrying the identity of the
        peer it received the request from (that peer's CER Origin-Host), so the first agent
        records the request's originator. A request whose Origin-Host is not the peer's was
        either relayed (the peer is a configured agent and the first Route-Record names the
        Origin-Host) or forged.
        """
        origin, peer = _identity(dia.avp(msg, "Origin-Host")), _identity(self.peer_host)
        if origin == peer:
            return None
        routes = dia.avp_all(msg, "Route-Record")
        agents = {_identity(a) for a in self.config.relay_agents}
        if routes and peer in agents and _identity(routes[0]) == origin:
            return None
        return (f"Origin-Host {dia.avp(msg, 'Origin-Host')} is not the peer {self.peer_host}"
                f" of this connection")

    def _application_answer(self, msg: Message) -> None:
        pending = self._ids.pending.pop(msg.fields["hop_by_hop"], None)
        if pending is None:
            # RFC 6733 §6.2.1: an answer matching no pending request is discarded
            self._events.append(MessageDiscarded("unmatched answer",
                                                 f"{msg.name} hop-by-hop "
                                                 f"{msg.fields['hop_by_hop']}"))
            return
        self._events.append(AnswerReceived(msg, pending.request))

    def _malformed(self, raw: bytes, exc: DecodeError) -> None:
        """RFC 6733 §7: a request gets an answer carrying the error; an answer is dropped."""
        if exc.extra.get("request") and len(raw) >= dia.HEADER_LEN:
            code = int(exc.cause)
            self._out.append(dia.error_answer(
                raw, code, self.config.origin_host, self.config.origin_realm,
                failed_avp=exc.extra.get("failed_avp"), error_message=exc.detail))
            self._events.append(ErrorAnswered(code, exc.detail))
            if self.state in (PeerState.WAIT_CER, PeerState.WAIT_I_CEA):
                self._close(f"bad capabilities exchange: {exc.detail}", Input.RCV_NON_CER)
        else:
            self._events.append(MessageDiscarded("malformed", exc.detail))

    def _framing_error(self, exc: DecodeError, raw: bytes) -> None:
        """The stream cannot be delimited any more (RFC 6733 §3: the next message starts where
        the Message Length says, so a length or version we cannot trust loses the boundary):
        a request whose 20-octet header arrived gets DIAMETER_UNSUPPORTED_VERSION (5011) or
        DIAMETER_INVALID_MESSAGE_LENGTH (5015) (§7.1.5) with the header fields it carried, an
        answer gets nothing (§7.2); then the connection is closed."""
        if len(raw) == dia.HEADER_LEN and raw[4] & dia.FLAG_R:
            try:
                self._out.append(dia.error_answer(
                    raw, int(exc.cause), self.config.origin_host, self.config.origin_realm,
                    error_message=exc.detail))
                self._events.append(ErrorAnswered(int(exc.cause), exc.detail))
            except CorenetError as err:  # a header we cannot even answer
                self._events.append(MessageDiscarded("framing", str(err)))
        self._buf.clear()
        self._close(f"framing error: {exc.detail}", Input.FRAMING_ERROR)

    # -- watchdog (RFC 3539 §3.4.1) --------------------------------------------------------

    def _set_watchdog(self, now: float) -> None:
        jitter = self.config.watchdog_jitter_s
        tw = self.config.watchdog_s + (self._rng.uniform(-jitter, jitter) if jitter else 0.0)
        self._wd.deadline = now + tw

    def _watchdog_input(self, inp: WdInput, now: float) -> None:
        old = self._wd.state
        new = WATCHDOG_TRANSITIONS.get((old, inp), old)
        self._wd.state = new
        self._set_watchdog(now)
        if new is not old:
            self._events.append(WatchdogChanged(old, new))
        if old is WatchdogState.OKAY and new is WatchdogState.SUSPECT:
            self._failover("watchdog SUSPECT")
        if new is WatchdogState.DOWN:
            self._close("watchdog: peer not answering", Input.WATCHDOG_DOWN)

    def _watchdog_received(self, is_dwa: bool, now: float) -> None:
        wd = self._wd
        if wd.state is WatchdogState.OKAY:
            # RFC 3539 §3.4.1 in OKAY: any message resets the timer (SetWatchdog), a DWA
            # clears Pending; the state stays OKAY (WATCHDOG_TRANSITIONS), nothing else happens
            if is_dwa:
                wd.pending = False
            self._set_watchdog(now)
            return
        if wd.state is WatchdogState.INITIAL:
            return
        if is_dwa:
            wd.pending = False
            if wd.state is WatchdogState.REOPEN:
                wd.num_dwa = max(wd.num_dwa, 0) + 1
                if wd.num_dwa >= REOPEN_DWA_COUNT:
                    # Failback(): the reopened connection is trusted again
                    old, wd.state = wd.state, WatchdogState.OKAY
                    self._events.append(WatchdogChanged(old, wd.state))
                    self._set_watchdog(now)
                    return
            self._watchdog_input(WdInput.RCV_DWA, now)
        else:
            self._watchdog_input(WdInput.RCV_OTHER, now)

    def _watchdog_timer(self, now: float) -> None:
        wd = self._wd
        if not wd.pending:
            inp = WdInput.TIMER_IDLE
        elif wd.state is WatchdogState.REOPEN and wd.num_dwa < 0:
            inp = WdInput.TIMER_PENDING_AGAIN
        else:
            inp = WdInput.TIMER_PENDING
        if wd.state is WatchdogState.REOPEN and inp is WdInput.TIMER_PENDING:
            wd.num_dwa = -1
        send = inp is WdInput.TIMER_IDLE and wd.state in (WatchdogState.OKAY,
                                                         WatchdogState.REOPEN)
        self._watchdog_input(inp, now)
        if send and self.state is not PeerState.CLOSED:
            self._send_dwr()

    def _send_dwr(self) -> None:
        self._wd.pending = True
        self._send(dia.dwr(self.config.origin_host, self.config.origin_realm,
                           hop_by_hop=self._next_hbh(), end_to_end=self._next_e2e(),
                           origin_state_id=self.config.origin_state_id))

    def _failover(self, reason: str) -> None:
        if self._ids.pending:
            requests = tuple(p.request for p in self._ids.pending.values())
            self._ids.pending.clear()
            self._ids.deadlines.clear()
            self._events.append(RequestsFailedOver(requests, reason))

    # -- helpers ---------------------------------------------------------------------------

    def _transition(self, inp: Input) -> None:
        nxt = PEER_TRANSITIONS.get((self.state, inp))
        if nxt is not None:
            self.state = nxt

    def _close(self, reason: str, inp: Input) -> None:
        self._transition(inp)
        self.state = PeerState.CLOSED
        self._state_deadline = None
        self._wd.deadline = None
        self._failover(reason)
        self._events.append(ConnectionClosed(reason))

    def _send(self, msg: Message) -> None:
        self._out.append(dia.encode(msg))

    def _next_hbh(self) -> int:
        self._ids.hop_by_hop = (self._ids.hop_by_hop + 1) & 0xFFFFFFFF
        return self._ids.hop_by_hop

    def _next_e2e(self) -> int:
        if self._node_ids is not None:
            return self._node_ids.end_to_end()
        self._ids.end_to_end = (self._ids.end_to_end + 1) & 0xFFFFFFFF
        return self._ids.end_to_end

    def _capability_args(self) -> dict[str, Any]:
        c = self.config
        return {
            "vendor_id": c.vendor_id, "product_name": c.product_name,
            "origin_state_id": c.origin_state_id,
            "auth_application_ids": c.auth_application_ids,
            "vendor_specific_application_ids": c.vendor_specific_application_ids,
        }


def _identity(host: Any) -> str:
    """A DiameterIdentity compared as the FQDN it is (RFC 6733 §4.3.1): case-insensitive."""
    if host is None:
        return ""
    if type(host) is str:
        return _casefolded(host)
    return str(host).casefold()


@functools.lru_cache(maxsize=4096)
def _casefolded(host: str) -> str:
    """One string per peer identity, casefolded once."""
    return host.casefold()


def _is_request(msg: Message) -> bool:
    return bool(msg.fields.get("flags", {}).get("request"))


def _offered_applications(cer: Message) -> frozenset[int]:
    """Auth-/Acct-Application-Id, bare or inside Vendor-Specific-Application-Id (§5.3.1)."""
    ids: Iterable[Any] = (
        dia.avp_all(cer, "Auth-Application-Id") + dia.avp_all(cer, "Acct-Application-Id")
        + dia.avp_all(cer, "Vendor-Specific-Application-Id", "Auth-Application-Id")
        + dia.avp_all(cer, "Vendor-Specific-Application-Id", "Acct-Application-Id"))
    return frozenset(int(i) for i in ids)


def _with_error_bit(msg: Message, code: int) -> Message:
    """RFC 6733 §7.1.3: answers with a protocol error (3xxx) carry the E bit."""
    if not 3000 <= code < 4000:
        return msg
    flags = {**msg.fields["flags"], "error": True}
    return replace(msg, fields={**msg.fields, "flags": flags})


_BASE_HANDLERS = {
    "CER": DiameterPeer._on_cer_in_open,
    "CEA": DiameterPeer._on_cea_in_open,
    "DWR": DiameterPeer._on_dwr,
    "DWA": DiameterPeer._on_dwa,
    "DPR": DiameterPeer._on_dpr,
    "DPA": DiameterPeer._on_dpa,
}
