"""SIP transactions, sans-I/O (RFC 3261 §17, with the Accepted state of RFC 6026 §7).

Four machines (INVITE / non-INVITE, client / server), each a transition table keyed by
(state, input): the value is the next state and the named steps to run. The steps emit
actions (`SendMessage`, `StartTimer`/`StopTimer` with the spec's timer names, `Deliver` an
event to the transaction user). `SipTransactions` owns the machines of one transport and
follows the aioquic quartet: `receive(msg, peer, now)`, `next_event()`, `data_to_send()`,
`get_timer()` / `handle_timer(now)`; the TU calls `send_request` / `send_response`.
"""

from __future__ import annotations

import enum
import heapq
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Literal, cast

from corenet.codecs.sip import (
    MAGIC_COOKIE,
    Header,
    NameAddr,
    SipMessage,
    SipRequest,
    SipResponse,
    make_request,
    new_branch,
    parse_uri,
    response_for,
)
from corenet.core.actions import StartTimer, StopTimer

Address = tuple[str, int]
TransportName = Literal["UDP", "TCP"]


@dataclass(frozen=True)
class SipPeer:
    """Where a message came from or goes to: the transport (RFC 3261 §18) and the address."""

    transport: TransportName
    address: Address


def via_for(transport: TransportName, local: Address, branch: str | None = None) -> str:
    """A Via for a request we originate (§8.1.1.7), asking for rport (RFC 3581)."""
    host, port = local
    return f"SIP/2.0/{transport} {host}:{port};branch={branch or new_branch()};rport"


# §17.1.1.1 Table 4 defaults
DEFAULT_T1 = 0.5
DEFAULT_T2 = 4.0
DEFAULT_T4 = 5.0
TRYING_DELAY = 0.2  # §17.2.1: 100 Trying if the TU has not answered within 200 ms
TIMER_D_UNRELIABLE = 32.0  # §17.1.1.2: at least 32 s for unreliable transports


class Kind(enum.Enum):
    INVITE_CLIENT = "invite-client"  # §17.1.1, Figure 5
    NON_INVITE_CLIENT = "non-invite-client"  # §17.1.2, Figure 6
    INVITE_SERVER = "invite-server"  # §17.2.1, Figure 7
    NON_INVITE_SERVER = "non-invite-server"  # §17.2.2, Figure 8


class State(enum.Enum):
    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"  # RFC 6026 §7.1 / §7.2
    TERMINATED = "Terminated"


class Input(enum.Enum):
    REQUEST = "request retransmission"
    ACK = "ACK"
    R1XX = "1xx from peer"
    R2XX = "2xx from peer"
    R3XX_6XX = "300-699 from peer"
    TU_1XX = "1xx from TU"
    TU_2XX = "2xx from TU"
    TU_3XX_6XX = "300-699 from TU"
    TIMER_A = "A"
    TIMER_B = "B"
    TIMER_D = "D"
    TIMER_E = "E"
    TIMER_F = "F"
    TIMER_G = "G"
    TIMER_H = "H"
    TIMER_I = "I"
    TIMER_J = "J"
    TIMER_K = "K"
    TIMER_L = "L"
    TIMER_M = "M"
    TIMER_TRYING = "Trying"
    TIMER_2XX = "2xx"  # §13.3.1.4: the UAS core retransmits its 2xx until the ACK
    TRANSPORT_ERROR = "transport error"


S, In = State, Input
Row = tuple[State, tuple[str, ...]]

# §17.1.1.2 Figure 5, with RFC 6026 §7.2 (2xx -> Accepted, Timer M)
INVITE_CLIENT: dict[tuple[State, Input], Row] = {
    (S.CALLING, In.TIMER_A): (S.CALLING, ("retransmit", "restart_A")),
    (S.CALLING, In.TIMER_B): (S.TERMINATED, ("timeout",)),
    (S.CALLING, In.R1XX): (S.PROCEEDING, ("stop_A", "stop_B", "pass")),
    (S.CALLING, In.R2XX): (S.ACCEPTED, ("stop_A", "stop_B", "pass", "start_M")),
    (S.CALLING, In.R3XX_6XX): (S.COMPLETED, ("stop_A", "stop_B", "pass", "send_ack",
                                            "start_D")),
    (S.CALLING, In.TRANSPORT_ERROR): (S.TERMINATED, ("transport_error",)),
    (S.PROCEEDING, In.R1XX): (S.PROCEEDING, ("pass",)),
    (S.PROCEEDING, In.R2XX): (S.ACCEPTED, ("pass", "start_M")),
    (S.PROCEEDING, In.R3XX_6XX): (S.COMPLETED, ("pass", "send_ack", "start_D")),
    (S.COMPLETED, In.R3XX_6XX): (S.COMPLETED, ("send_ack",)),
    (S.COMPLETED, In.TIMER_D): (S.TERMINATED, ()),
    (S.COMPLETED, In.TRANSPORT_ERROR): (S.TERMINATED, ("transport_error",)),
    (S.ACCEPTED, In.R2XX): (S.ACCEPTED, ("pass",)),
    (S.ACCEPTED, In.TIMER_M): (S.TERMINATED, ()),
}

# §17.1.2.2 Figure 6
NON_INVITE_CLIENT: dict[tuple[State, Input], Row] = {
    (S.TRYING, In.TIMER_E): (S.TRYING, ("retransmit", "restart_E")),
    (S.TRYING, In.TIMER_F): (S.TERMINATED, ("timeout",)),
    (S.TRYING, In.R1XX): (S.PROCEEDING, ("pass",)),
    (S.TRYING, In.R2XX): (S.COMPLETED, ("stop_E", "stop_F", "pass", "start_K")),
    (S.TRYING, In.R3XX_6XX): (S.COMPLETED, ("stop_E", "stop_F", "pass", "start_K")),
    (S.TRYING, In.TRANSPORT_ERROR): (S.TERMINATED, ("transport_error",)),
    (S.PROCEEDING, In.TIMER_E): (S.PROCEEDING, ("retransmit", "restart_E_T2")),
    (S.PROCEEDING, In.TIMER_F): (S.TERMINATED, ("timeout",)),
    (S.PROCEEDING, In.R1XX): (S.PROCEEDING, ("pass",)),
    (S.PROCEEDING, In.R2XX): (S.COMPLETED, ("stop_E", "stop_F", "pass", "start_K")),
    (S.PROCEEDING, In.R3XX_6XX): (S.COMPLETED, ("stop_E", "stop_F", "pass", "start_K")),
    (S.PROCEEDING, In.TRANSPORT_ERROR): (S.TERMINATED, ("transport_error",)),
    (S.COMPLETED, In.TIMER_K): (S.TERMINATED, ()),
}

# §17.2.1 Figure 7, with RFC 6026 §7.1 (2xx -> Accepted, Timer L); the 2xx retransmission
# of the UAS core (§13.3.1.4) runs in Accepted until the ACK
INVITE_SERVER: dict[tuple[State, Input], Row] = {
    (S.PROCEEDING, In.TIMER_TRYING): (S.PROCEEDING, ("send_100",)),
    (S.PROCEEDING, In.REQUEST): (S.PROCEEDING, ("resend_last",)),
    (S.PROCEEDING, In.TU_1XX): (S.PROCEEDING, ("stop_Trying", "send")),
    (S.PROCEEDING, In.TU_2XX): (S.ACCEPTED, ("stop_Trying", "send", "start_L", "start_2xx")),
    (S.PROCEEDING, In.TU_3XX_6XX): (S.COMPLETED, ("stop_Trying", "send", "start_G",
                                                 "start_H")),
    (S.PROCEEDING, In.TRANSPORT_ERROR): (S.TERMINATED, ("transport_error",)),
    (S.COMPLETED, In.REQUEST): (S.COMPLETED, ("resend_last",)),
    (S.COMPLETED, In.TIMER_G): (S.COMPLETED, ("resend_last", "restart_G")),
    (S.COMPLETED, In.TIMER_H): (S.TERMINATED, ("timeout",)),
    (S.COMPLETED, In.ACK): (S.CONFIRMED, ("stop_G", "stop_H", "start_I")),
    (S.COMPLETED, In.TRANSPORT_ERROR): (S.TERMINATED, ("transport_error",)),
    (S.CONFIRMED, In.ACK): (S.CONFIRMED, ()),
    (S.CONFIRMED, In.TIMER_I): (S.TERMINATED, ()),
    (S.ACCEPTED, In.REQUEST): (S.ACCEPTED, ()),
    (S.ACCEPTED, In.TU_2XX): (S.ACCEPTED, ("send",)),
    (S.ACCEPTED, In.ACK): (S.ACCEPTED, ("stop_2xx", "acked")),
    (S.ACCEPTED, In.TIMER_2XX): (S.ACCEPTED, ("resend_last", "restart_2xx")),
    (S.ACCEPTED, In.TIMER_L): (S.TERMINATED, ("ack_timeout",)),
}

# §17.2.2 Figure 8
NON_INVITE_SERVER: dict[tuple[State, Input], Row] = {
    (S.TRYING, In.REQUEST): (S.TRYING, ()),
    (S.TRYING, In.TU_1XX): (S.PROCEEDING, ("send",)),
    (S.TRYING, In.TU_2XX): (S.COMPLETED, ("send", "start_J")),
    (S.TRYING, In.TU_3XX_6XX): (S.COMPLETED, ("send", "start_J")),
    (S.PROCEEDING, In.REQUEST): (S.PROCEEDING, ("resend_last",)),
    (S.PROCEEDING, In.TU_1XX): (S.PROCEEDING, ("send",)),
    (S.PROCEEDING, In.TU_2XX): (S.COMPLETED, ("send", "start_J")),
    (S.PROCEEDING, In.TU_3XX_6XX): (S.COMPLETED, ("send", "start_J")),
    (S.PROCEEDING, In.TRANSPORT_ERROR): (S.TERMINATED, ("transport_error",)),
    (S.COMPLETED, In.REQUEST): (S.COMPLETED, ("resend_last",)),
    (S.COMPLETED, In.TIMER_J): (S.TERMINATED, ()),
    (S.COMPLETED, In.TRANSPORT_ERROR): (S.TERMINATED, ("transport_error",)),
}

TABLES: dict[Kind, dict[tuple[State, Input], Row]] = {
    Kind.INVITE_CLIENT: INVITE_CLIENT, Kind.NON_INVITE_CLIENT: NON_INVITE_CLIENT,
    Kind.INVITE_SERVER: INVITE_SERVER, Kind.NON_INVITE_SERVER: NON_INVITE_SERVER,
}
INITIAL: dict[Kind, State] = {
    Kind.INVITE_CLIENT: S.CALLING, Kind.NON_INVITE_CLIENT: S.TRYING,
    Kind.INVITE_SERVER: S.PROCEEDING, Kind.NON_INVITE_SERVER: S.TRYING,
}

TransactionKey = tuple[str, ...]


# --- events for the transaction user ----------------------------------------------------


@dataclass(frozen=True)
class RequestReceived:
    """A new request (a server transaction `key`), or an ACK for a 2xx / a stray ACK with
    `key` None (§17.2.3 passes those to the TU core)."""

    request: SipRequest
    peer: Address
    key: TransactionKey | None


@dataclass(frozen=True)
class ResponseReceived:
    """A response for client transaction `key`; `key` None for a retransmitted 2xx after the
    transaction ended (§13.2.2.4: the UAC core sends the ACK again)."""

    response: SipResponse
    peer: Address
    key: TransactionKey | None
    request: SipRequest | None


@dataclass(frozen=True)
class TransactionTimeout:
    """Timer B / F (no final response), H (no ACK for a non-2xx) or L (no ACK for a 2xx,
    §13.3.1.4: the UAS should then end the dialog with a BYE)."""

    key: TransactionKey
    request: SipRequest
    timer: str


@dataclass(frozen=True)
class TransportFailed:
    """§17.1.4 / §17.2.4: the transport reported a failure for this transaction."""

    key: TransactionKey
    request: SipRequest


@dataclass(frozen=True)
class TransactionTerminated:
    key: TransactionKey
    kind: Kind


Event = (RequestReceived | ResponseReceived | TransactionTimeout | TransportFailed
         | TransactionTerminated)


# --- actions --------------------------------------------------------------------------


@dataclass(frozen=True)
class SendMessage:
    message: SipMessage
    peer: Address


@dataclass(frozen=True)
class Deliver:
    event: Event


Action = SendMessage | StartTimer | StopTimer | Deliver


# --- keys (§17.1.3, §17.2.3) ------------------------------------------------------------


def client_key(msg: SipMessage) -> TransactionKey:
    """§17.1.3: the top Via's branch and the CSeq method (ACK is never a client key)."""
    branch = msg.vias[0].branch or ""
    return ("client", branch, msg.cseq.method)


def server_key(req: SipRequest) -> TransactionKey:
    """§17.2.3: branch + sent-by + method, ACK matching its INVITE; RFC 2543 requests (no magic
    cookie) fall back to Call-ID, From tag, CSeq number and the top Via."""
    via = req.vias[0]
    method = "INVITE" if req.method == "ACK" else req.method
    branch = via.branch or ""
    if branch.startswith(MAGIC_COOKIE):
        host, port = via.sent_by
        return ("server", branch, host, str(port), method)
    return ("server-2543", req.call_id, req.from_.tag or "", str(req.cseq.seq), str(via),
            method)


def ack_for(invite: SipRequest, response: SipResponse) -> SipRequest:
    """§17.1.1.3: the ACK for a non-2xx final response, built by the client transaction."""
    hs = [Header("Via", invite.headers_all("Via")[0]), Header("Max-Forwards", "70"),
          Header("From", invite.header("From") or ""),
          Header("To", response.header("To") or ""), Header("Call-ID", invite.call_id),
          Header("CSeq", f"{invite.cseq.seq} ACK")]
    hs += [Header("Route", r) for r in invite.headers_all("Route")]
    hs.append(Header("Content-Length", "0"))
    return SipRequest(headers=hs, method="ACK", uri=invite.uri)


def cancel_for(invite: SipRequest) -> SipRequest:
    """§9.1: same Request-URI, Call-ID, From, To, CSeq number and top Via as the INVITE."""
    hs = [Header("Via", invite.headers_all("Via")[0]), Header("Max-Forwards", "70"),
          Header("From", invite.header("From") or ""), Header("To", invite.header("To") or ""),
          Header("Call-ID", invite.call_id), Header("CSeq", f"{invite.cseq.seq} CANCEL")]
    hs += [Header("Route", r) for r in invite.headers_all("Route")]
    hs.append(Header("Content-Length", "0"))
    return SipRequest(headers=hs, method="CANCEL", uri=invite.uri)


# --- one transaction ------------------------------------------------------------------


@dataclass
class Transaction:
    """One machine; `handle(input, now, message)` returns the actions (§17)."""

    kind: Kind
    key: TransactionKey
    request: SipRequest
    peer: Address
    timers: Timers
    reliable: bool
    created: float
    state: State = State.TERMINATED
    last_response: SipResponse | None = None
    acked: bool = False
    intervals: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state = INITIAL[self.kind]

    def start(self, now: float) -> list[Action]:
        """Entering the initial state (§17.1.1.2, §17.1.2.2, §17.2.1)."""
        acts: list[Action] = []
        if self.kind == Kind.INVITE_CLIENT:
            acts.append(SendMessage(self.request, self.peer))
            if not self.reliable:
                acts.append(self._start("A", self.timers.t1))
            acts.append(self._start("B", 64 * self.timers.t1))
        elif self.kind == Kind.NON_INVITE_CLIENT:
            acts.append(SendMessage(self.request, self.peer))
            if not self.reliable:
                acts.append(self._start("E", self.timers.t1))
            acts.append(self._start("F", 64 * self.timers.t1))
        elif self.kind == Kind.INVITE_SERVER:
            acts.append(self._start("Trying", TRYING_DELAY))
        return acts

    def handle(self, inp: Input, now: float, message: SipMessage | None = None) -> list[Action]:
        row = TABLES[self.kind].get((self.state, inp))
        if row is None:
            return []  # absorbed: the figures of §17 have no such transition
        self.state, steps = row
        acts: list[Action] = []
        for step in steps:
            acts += self._step(step, now, message)
        if self.state == State.TERMINATED:
            acts.append(Deliver(TransactionTerminated(self.key, self.kind)))
        return acts

    # the named steps of the tables

    def _step(self, step: str, now: float, message: SipMessage | None) -> list[Action]:
        t = self.timers
        verb, _, timer = step.partition("_")
        if verb == "start":
            return self._start_named(timer)
        if verb == "stop":
            return [StopTimer(timer, self.key)]
        if step == "retransmit":
            return [SendMessage(self.request, self.peer)]
        if step == "restart_A":
            return [self._start("A", self._double("A", None))]  # §17.1.1.2: 2*A, unbounded
        if step == "restart_E":
            return [self._start("E", self._double("E", t.t2))]  # §17.1.2.2: min(2E, T2)
        if step == "restart_E_T2":
            self.intervals["E"] = t.t2  # §17.1.2.2: in Proceeding, E is reset to T2
            return [self._start("E", t.t2)]
        if step == "restart_G":
            return [self._start("G", self._double("G", t.t2))]  # §17.2.1: min(2G, T2)
        if step == "restart_2xx":
            return [self._start("2xx", self._double("2xx", t.t2))]  # §13.3.1.4
        if step == "pass" and message is not None:
            return [Deliver(self._pass_event(message))]
        if step == "send" and isinstance(message, SipResponse):
            self.last_response = message
            return [SendMessage(message, self.peer)]
        if step == "resend_last":
            return [] if self.last_response is None else [SendMessage(self.last_response,
                                                                      self.peer)]
        if step == "send_100":
            self.last_response = response_for(self.request, 100)
            return [SendMessage(self.last_response, self.peer)]
        if step == "send_ack" and isinstance(message, SipResponse):
            return [SendMessage(ack_for(self.request, message), self.peer)]
        if step == "timeout":
            name = {Kind.INVITE_CLIENT: "B", Kind.NON_INVITE_CLIENT: "F"}.get(self.kind, "H")
            return [Deliver(TransactionTimeout(self.key, self.request, name))]
        if step == "ack_timeout":
            # §13.3.1.4: no ACK for our 2xx within 64*T1
            acked = self.acked
            return [] if acked else [Deliver(TransactionTimeout(self.key, self.request, "L"))]
        if step == "acked":
            self.acked = True
            return []
        if step == "transport_error":
            return [Deliver(TransportFailed(self.key, self.request))]
        raise ValueError(f"unknown step {step!r}")  # a bug in the tables, never peer input

    def _start_named(self, timer: str) -> list[Action]:
        t = self.timers
        unreliable = not self.reliable
        seconds = {
            "D": TIMER_D_UNRELIABLE if unreliable else 0.0,
            "G": t.t1, "H": 64 * t.t1, "I": t.t4 if unreliable else 0.0,
            "J": 64 * t.t1 if unreliable else 0.0, "K": t.t4 if unreliable else 0.0,
            "L": 64 * t.t1, "M": 64 * t.t1, "2xx": t.t1,
        }[timer]
        if timer in ("G", "2xx") and self.reliable:
            return []  # §17.2.1: G only over unreliable transports; §13.3.1.4 likewise
        if timer == "2xx":
            self.intervals["2xx"] = t.t1
        return [self._start(timer, seconds)]

    def _start(self, name: str, seconds: float) -> StartTimer:
        self.intervals.setdefault(name, seconds)
        self.intervals[name] = seconds
        return StartTimer(name, self.key, seconds)

    def _double(self, name: str, cap: float | None) -> float:
        nxt = 2 * self.intervals.get(name, self.timers.t1)
        return nxt if cap is None else min(nxt, cap)

    def _pass_event(self, message: SipMessage) -> Event:
        if isinstance(message, SipResponse):
            return ResponseReceived(message, self.peer, self.key, self.request)
        return RequestReceived(message, self.peer, None)


@dataclass(frozen=True)
class Timers:
    """§17.1.1.1: T1 (RTT estimate), T2 (max non-INVITE retransmit interval), T4 (max time a
    message stays in the network)."""

    t1: float = DEFAULT_T1
    t2: float = DEFAULT_T2
    t4: float = DEFAULT_T4


def _response_input(status: int, tu: bool) -> Input:
    if status < 200:
        return Input.TU_1XX if tu else Input.R1XX
    if status < 300:
        return Input.TU_2XX if tu else Input.R2XX
    return Input.TU_3XX_6XX if tu else Input.R3XX_6XX


_TIMER_INPUTS = {i.value: i for i in Input if i.name.startswith("TIMER_")}


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    name: str = field(compare=False)
    key: Hashable = field(compare=False)


class SipTransactions:
    """The transaction layer over one transport (§17): the quartet plus the TU's calls."""

    def __init__(self, *, timers: Timers | None = None, reliable: bool = False) -> None:
        self.timers = timers or Timers()
        self.reliable = reliable
        self.transactions: dict[TransactionKey, Transaction] = {}
        self._events: deque[Event] = deque()
        self._out: list[tuple[SipMessage, Address]] = []
        self._due: list[_Due] = []
        self._armed: dict[tuple[str, Hashable], int] = {}
        self._seq = 0

    # -- the quartet --------------------------------------------------------------------

    def receive(self, msg: SipMessage, peer: Address, now: float) -> None:
        if isinstance(msg, SipResponse):
            self._on_response(msg, peer, now)
        else:
            self._on_request(msg, peer, now)

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def data_to_send(self) -> list[tuple[SipMessage, Address]]:
        out, self._out = self._out, []
        return out

    def get_timer(self) -> float | None:
        while self._due and self._armed.get((self._due[0].name, self._due[0].key)) != \
                self._due[0].seq:
            heapq.heappop(self._due)
        return self._due[0].at if self._due else None

    def handle_timer(self, now: float) -> None:
        while self._due and self._due[0].at <= now:
            due = heapq.heappop(self._due)
            if self._armed.get((due.name, due.key)) != due.seq:
                continue
            del self._armed[(due.name, due.key)]
            tr = self.transactions.get(cast(TransactionKey, due.key))
            if tr is not None:
                self._run(tr, tr.handle(_TIMER_INPUTS[due.name], now), now)

    # -- the TU's side ------------------------------------------------------------------

    def send_request(self, request: SipRequest, peer: Address, now: float) -> TransactionKey:
        """Start a client transaction (§17.1); an ACK is sent without one (§17.1.1.3)."""
        if request.method == "ACK":
            self._out.append((request, peer))
            return ("ack",)
        kind = Kind.INVITE_CLIENT if request.method == "INVITE" else Kind.NON_INVITE_CLIENT
        key = client_key(request)
        if key in self.transactions:
            raise ValueError(f"client transaction {key} exists: use a fresh branch (§8.1.1.7)")
        tr = Transaction(kind, key, request, peer, self.timers, self.reliable, now)
        self.transactions[key] = tr
        self._run(tr, tr.start(now), now)
        return key

    def send_response(self, response: SipResponse, now: float) -> None:
        """Send through the server transaction the response's Via/CSeq belong to (§17.2)."""
        req_key = self._response_server_key(response)
        tr = self.transactions.get(req_key)
        if tr is None:
            raise ValueError(f"no server transaction for {req_key}")
        if tr.kind == Kind.NON_INVITE_SERVER and 100 < response.status < 200:
            # RFC 4320 §4.1: no provisional other than 100 to a non-INVITE request
            raise ValueError("RFC 4320 §4.1: non-INVITE provisional responses must be 100")
        if tr.kind == Kind.NON_INVITE_SERVER and response.status == 100 and not self.reliable \
                and now < tr.created + self._e_reaches_t2():
            return  # RFC 4320 §4.2: too early for a 100 over an unreliable transport
        self._run(tr, tr.handle(_response_input(response.status, True), now, response), now)

    def transport_error(self, key: TransactionKey, now: float) -> None:
        tr = self.transactions.get(key)
        if tr is not None:
            self._run(tr, tr.handle(Input.TRANSPORT_ERROR, now), now)

    def state(self, key: TransactionKey) -> State | None:
        tr = self.transactions.get(key)
        return None if tr is None else tr.state

    # -- internals ----------------------------------------------------------------------

    def _e_reaches_t2(self) -> float:
        elapsed, interval = 0.0, self.timers.t1
        while interval < self.timers.t2:
            elapsed += interval
            interval *= 2
        return elapsed

    def _response_server_key(self, response: SipResponse) -> TransactionKey:
        req = SipRequest(headers=response.headers, method=response.cseq.method, uri="sip:x")
        return server_key(req)

    def _on_request(self, req: SipRequest, peer: Address, now: float) -> None:
        key = server_key(req)
        tr = self.transactions.get(key)
        if req.method == "ACK":
            if tr is not None and tr.kind == Kind.INVITE_SERVER:
                self._run(tr, tr.handle(Input.ACK, now, req), now)
                return
            # §17.2.3 / RFC 6026 §8.9: an ACK for a 2xx matches no transaction: to the core
            self._ack_for_accepted(req, now)
            self._events.append(RequestReceived(req, peer, None))
            return
        if tr is not None:
            self._run(tr, tr.handle(Input.REQUEST, now, req), now)
            return
        kind = Kind.INVITE_SERVER if req.method == "INVITE" else Kind.NON_INVITE_SERVER
        tr = Transaction(kind, key, req, peer, self.timers, self.reliable, now)
        self.transactions[key] = tr
        self._events.append(RequestReceived(req, peer, key))
        self._run(tr, tr.start(now), now)

    def _ack_for_accepted(self, ack: SipRequest, now: float) -> None:
        """§13.3.1.4: the ACK for our 2xx (its own branch) stops the 2xx retransmissions."""
        for tr in self.transactions.values():
            if (tr.kind == Kind.INVITE_SERVER and tr.state == State.ACCEPTED
                    and tr.request.call_id == ack.call_id
                    and tr.request.cseq.seq == ack.cseq.seq):
                self._run(tr, tr.handle(Input.ACK, now, ack), now)
                return

    def _on_response(self, resp: SipResponse, peer: Address, now: float) -> None:
        key = client_key(resp)
        tr = self.transactions.get(key)
        if tr is None:
            if resp.cseq.method == "INVITE" and 200 <= resp.status < 300:
                # §13.2.2.4: a retransmitted 2xx goes to the core, which ACKs it again
                self._events.append(ResponseReceived(resp, peer, None, None))
            return  # §18.1.2: other stray responses are discarded
        self._run(tr, tr.handle(_response_input(resp.status, False), now, resp), now)

    def _run(self, tr: Transaction, actions: list[Action], now: float) -> None:
        for act in actions:
            if isinstance(act, SendMessage):
                self._out.append((act.message, act.peer))
            elif isinstance(act, StartTimer):
                self._seq += 1
                self._armed[(act.name, act.key)] = self._seq
                heapq.heappush(self._due, _Due(now + act.seconds, self._seq, act.name,
                                               act.key))
            elif isinstance(act, StopTimer):
                self._armed.pop((act.name, act.key), None)
            elif isinstance(act, Deliver):
                self._events.append(act.event)
        if tr.state == State.TERMINATED:
            self.transactions.pop(tr.key, None)
            for name, key in [k for k in self._armed if k[1] == tr.key]:
                del self._armed[(name, key)]


# --- dialogs (§12) -----------------------------------------------------------------------


@dataclass
class Dialog:
    """§12: the state shared by the two ends of a call."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str
    remote_uri: str
    remote_target: str
    route_set: list[str] = field(default_factory=list)
    local_seq: int = 0
    remote_seq: int | None = None

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def from_uac(cls, request: SipRequest, response: SipResponse) -> Dialog:
        """§12.1.2: route set = the response's Record-Route reversed, target = its Contact."""
        from_, to = request.from_, response.to
        contacts = response.contacts
        return cls(request.call_id, from_.tag or "", to.tag or "", str(from_.uri),
                   str(to.uri), str(contacts[0].uri) if contacts else str(to.uri),
                   list(reversed(response.headers_all("Record-Route"))), request.cseq.seq,
                   None)

    @classmethod
    def from_uas(cls, request: SipRequest, response: SipResponse) -> Dialog:
        """§12.1.1: route set = the request's Record-Route in order, target = its Contact."""
        from_, to = request.from_, response.to
        contacts = request.contacts
        return cls(request.call_id, to.tag or "", from_.tag or "", str(to.uri), str(from_.uri),
                   str(contacts[0].uri) if contacts else str(from_.uri),
                   list(request.headers_all("Record-Route")), 0, request.cseq.seq)

    def create_request(self, method: str, via: str, *, contact: str | None = None,
                       headers: list[Header] | None = None, body: bytes = b"",
                       content_type: str | None = None) -> SipRequest:
        """§12.2.1.1: Request-URI = remote target (loose routing, RFC 3261 §16.12), Route =
        the route set, CSeq = local sequence + 1 (an ACK reuses the INVITE's, §13.2.2.4)."""
        if method != "ACK":
            self.local_seq += 1
        hs = [Header("Route", r) for r in self.route_set] + list(headers or [])
        return make_request(
            method, self.remote_target,
            from_=NameAddr(parse_uri(self.local_uri), params=(("tag", self.local_tag),)),
            to=NameAddr(parse_uri(self.remote_uri), params=(("tag", self.remote_tag),)),
            call_id=self.call_id, cseq=self.local_seq, via=via, contact=contact, headers=hs,
            body=body, content_type=content_type)

    def accepts(self, request: SipRequest) -> bool:
        """§12.2.2: a request with a lower CSeq than the last one is out of order (500)."""
        seq = request.cseq.seq
        if request.method in ("ACK", "CANCEL"):
            return True
        if self.remote_seq is not None and seq <= self.remote_seq:
            return False
        self.remote_seq = seq
        return True

    def matches(self, msg: SipMessage) -> bool:
        """§12.2.2 dialog identification: Call-ID and the two tags."""
        if msg.call_id != self.call_id:
            return False
        from_tag, to_tag = msg.from_.tag, msg.to.tag
        if isinstance(msg, SipRequest):
            return from_tag == self.remote_tag and to_tag == self.local_tag
        return from_tag == self.local_tag and to_tag == self.remote_tag

