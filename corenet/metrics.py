"""Prometheus metrics of the running network functions (`corenet run --metrics HOST:PORT`).

Derived from what the functions already tell: their events (`LogEvent`, through the runtime's
`on_event`) and the messages their transports carry (a tap, for request latencies); no protocol
core knows about metrics.

=========================================  =======================  ============================
metric                                     labels                   from
=========================================  =======================  ============================
corenet_attach_attempts_total              mode                     emm.attach.request
corenet_attach_successes_total             mode                     emm.attach.accepted
corenet_attach_failures_total              mode, cause              emm.attach.rejected
corenet_active_ues                         mode                     attached until mme.ue.deleted
corenet_s6a_request_duration_seconds       command                  S6a request -> answer (tap)
corenet_s11_request_duration_seconds       message                  S11 request -> response (tap)
corenet_hss_air_total                      result                   s6a.air.accepted / .rejected
corenet_emergency_calls_total              nf, outcome              E-CSCF routing, PSAP answer
corenet_diameter_peer_state                nf, peer, state          peer open / watchdog / close
corenet_diameter_peers_refused_total       nf, result_code          CER refused (e.g. 3010)
=========================================  =======================  ============================

Attach mode: "normal" (EPS attach, TS 24.301 §9.9.3.11 value 1 or 2) or "emergency" (value 6);
an accepted emergency attach is "emergency-unauthenticated" when the UE was not authenticated
(TS 33.401 §15). Failure cause: the EMM cause (TS 24.301 §9.9.3.9), or "authentication" for an
Authentication Reject (§5.4.2.5), which carries none. AIRs per second at the HSS:
rate(corenet_hss_air_total[1m]).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram

from corenet.codecs import diameter as dia
from corenet.codecs import gtpv2c
from corenet.core.actions import LogEvent
from corenet.pcap.writer import PORT_GTPV2C
from corenet.transport.base import Address, Direction

log = logging.getLogger("corenet.metrics")

S6A_APPLICATION_ID = 16777251  # TS 29.272 §7.1.8
DIAMETER_FLAG_R = 0x80  # RFC 6733 §3: the R(equest) bit of the command flags
PEER_STATES = ["open", "suspect", "down", "reopen", "initial", "closed"]
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_GTP_NAMES = {m.code: m.name for m in gtpv2c.MESSAGES}


class Metrics:
    """The metrics of one process. `on_event(nf, event)` is the runtime's `on_event`;
    `tap` goes among the runtime's observers."""

    def __init__(self, registry: CollectorRegistry | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.attach_attempts = Counter("corenet_attach_attempts", "Attach Requests received",
                                       ["mode"], registry=r)
        self.attach_successes = Counter("corenet_attach_successes", "Attaches accepted",
                                        ["mode"], registry=r)
        self.attach_failures = Counter("corenet_attach_failures", "Attaches rejected",
                                       ["mode", "cause"], registry=r)
        self.active_ues = Gauge("corenet_active_ues", "UEs attached to this MME", ["mode"],
                                registry=r)
        self.s6a_latency = Histogram("corenet_s6a_request_duration_seconds",
                                     "S6a request to answer", ["command"],
                                     buckets=LATENCY_BUCKETS, registry=r)
        self.s11_latency = Histogram("corenet_s11_request_duration_seconds",
                                     "S11 request to response", ["message"],
                                     buckets=LATENCY_BUCKETS, registry=r)
        self.hss_air = Counter("corenet_hss_air", "Authentication-Information-Requests served "
                               "by the HSS", ["result"], registry=r)
        self.emergency_calls = Counter("corenet_emergency_calls", "Emergency calls by outcome",
                                       ["nf", "outcome"], registry=r)
        self.peer_state = Enum("corenet_diameter_peer_state", "Diameter peer state "
                               "(RFC 6733 §5.6, watchdog RFC 3539 §3.4.1)",
                               ["nf", "peer"], states=PEER_STATES, registry=r)
        self.peers_refused = Counter("corenet_diameter_peers_refused", "Capabilities "
                                     "exchanges refused", ["nf", "result_code"], registry=r)
        self.tap = LatencyTap(self, clock)
        self._modes: dict[int, str] = {}  # MME UE S1AP ID -> mode of its attach
        self._attached: dict[int, str] = {}  # MME UE S1AP ID -> mode, while attached

    # -- events ----------------------------------------------------------------------------

    def on_event(self, nf: str, event: LogEvent) -> None:
        handler = _HANDLERS.get(event.kind)
        if handler is None:
            return
        try:
            handler(self, nf, event.data)
        except Exception:  # counting must never disturb the function that told the event
            log.exception("metrics: %s not counted", event.kind)

    def _attach_request(self, nf: str, d: dict[str, Any]) -> None:
        mode = "emergency" if d.get("attach_type") == 6 else "normal"
        if d.get("mme_ue_id") is not None:
            self._modes[d["mme_ue_id"]] = mode
        self.attach_attempts.labels(mode).inc()

    def _attach_accepted(self, nf: str, d: dict[str, Any]) -> None:
        if d.get("emergency"):
            mode = "emergency" if d.get("authenticated") else "emergency-unauthenticated"
        else:
            mode = "normal"
        ue = d.get("mme_ue_id")
        if ue is not None:
            self._modes.pop(ue, None)
            previous = self._attached.get(ue)
            if previous is not None:
                self.active_ues.labels(previous).dec()
            self._attached[ue] = mode
        self.attach_successes.labels(mode).inc()
        self.active_ues.labels(mode).inc()

    def _attach_rejected(self, nf: str, d: dict[str, Any]) -> None:
        ue = d.get("mme_ue_id")
        mode = self._modes.pop(ue, "normal") if ue is not None else "normal"
        cause = d.get("emm_cause")
        self.attach_failures.labels(mode, str(cause) if cause is not None
                                    else str(d.get("reason", "unspecified"))).inc()

    def _ue_deleted(self, nf: str, d: dict[str, Any]) -> None:
        ue = int(d.get("mme_ue_id", -1))
        self._modes.pop(ue, None)
        mode = self._attached.pop(ue, None)
        if mode is not None:
            self.active_ues.labels(mode).dec()

    def _air(self, nf: str, d: dict[str, Any]) -> None:
        code = d.get("result_code")
        self.hss_air.labels("success" if code == dia.ResultCode.DIAMETER_SUCCESS
                            else str(code)).inc()

    def _peer(self, nf: str, peer: Any, state: str) -> None:
        if state in PEER_STATES:
            self.peer_state.labels(nf, str(peer)).state(state)

    def _peer_refused(self, nf: str, d: dict[str, Any]) -> None:
        self.peers_refused.labels(nf, str(d.get("result_code"))).inc()


def _watchdog(m: Metrics, nf: str, d: dict[str, Any]) -> None:
    new = str(d.get("new", "")).lower()
    m._peer(nf, d.get("peer"), "open" if new == "okay" else new)


def _invites_only(outcome: str) -> Callable[[Metrics, str, dict[str, Any]], None]:
    def handle(m: Metrics, nf: str, d: dict[str, Any]) -> None:
        if d.get("method", "INVITE") == "INVITE":
            m.emergency_calls.labels(nf, outcome).inc()
    return handle


_HANDLERS: dict[str, Callable[[Metrics, str, dict[str, Any]], None]] = {
    "emm.attach.request": Metrics._attach_request,
    "emm.attach.accepted": Metrics._attach_accepted,
    "emm.attach.rejected": Metrics._attach_rejected,
    "mme.ue.deleted": Metrics._ue_deleted,
    "s6a.air.accepted": Metrics._air,
    "s6a.air.rejected": Metrics._air,
    # TS 23.167 §6.2.2: the E-CSCF routes to a PSAP or refuses; the PSAP answers or refuses
    "ecscf.psap.selected": _invites_only("routed"),
    "ecscf.request.refused": _invites_only("refused"),
    "psap.call.answered": _invites_only("answered"),
    "psap.request.refused": _invites_only("refused"),
    # the MME's S6a links and the HSS's peers
    "s6a.peer.open": lambda m, nf, d: m._peer(nf, d.get("peer"), "open"),
    "s6a.watchdog": _watchdog,
    "s6a.connect.failed": lambda m, nf, d: m._peer(nf, d.get("peer"), "down"),
    "diameter.peer.opened": lambda m, nf, d: m._peer(nf, d.get("peer"), "open"),
    "diameter.peer.closed": lambda m, nf, d: m._peer(nf, d.get("peer"), "closed"),
    "diameter.watchdog": _watchdog,
    "diameter.peer.rejected": Metrics._peer_refused,
}


class LatencyTap:
    """Times each request this process sends until its answer arrives: S6a (RFC 6733 §3:
    hop-by-hop and end-to-end identifiers match an answer to its request) and S11 (TS 29.274
    §7.6: the sequence number matches a response to its request, from the peer it was sent
    to). When several functions share the process, the request is timed by its sender."""

    def __init__(self, metrics: Metrics, clock: Callable[[], float]) -> None:
        self.metrics = metrics
        self.clock = clock
        self._diameter: dict[tuple[int, int], tuple[str, float]] = {}
        self._gtp: dict[tuple[Address, int], tuple[str, float]] = {}
        self.max_pending = 100_000

    def sctp(self, direction: Direction, src: Address, dst: Address, payload: bytes,
             ppid: int = 0, stream: int = 0) -> None:
        self._diameter_message(direction, payload)

    def tcp(self, direction: Direction, src: Address, dst: Address, payload: bytes,
            ppid: int = 0, stream: int = 0) -> None:
        self._diameter_message(direction, payload)

    def udp(self, direction: Direction, src: Address, dst: Address, payload: bytes,
            ppid: int = 0, stream: int = 0) -> None:
        # TS 29.274 §4.2: requests go to port 2123 and responses come from it; §5.1: version 2
        # in octet 1 bits 8-6, message type in octet 2, the sequence number in the 3 octets
        # after the TEID (when T=1) or the length
        if PORT_GTPV2C not in (int(src[1]), int(dst[1])):
            return
        if len(payload) < 8 or payload[0] >> 5 != 2:
            return
        name = _GTP_NAMES.get(payload[1])
        if name is None:
            return
        seq_at = 8 if payload[0] & 0x08 else 4
        if len(payload) < seq_at + 3:
            return
        seq = int.from_bytes(payload[seq_at:seq_at + 3], "big")
        if direction is Direction.SENT and name.endswith("Request"):
            self._start(self._gtp, (_ep(dst), seq), name)
        elif direction is Direction.RECEIVED and name.endswith("Response"):
            self._finish(self._gtp, (_ep(src), seq), self.metrics.s11_latency)

    def _diameter_message(self, direction: Direction, payload: bytes) -> None:
        # RFC 6733 §3: version, length, flags, command code, Application-ID, hop-by-hop,
        # end-to-end identifiers in the 20-octet header
        if len(payload) < dia.HEADER_LEN or payload[0] != dia.VERSION:
            return
        if int.from_bytes(payload[8:12], "big") != S6A_APPLICATION_ID:
            return
        request = bool(payload[4] & DIAMETER_FLAG_R)
        ids = (int.from_bytes(payload[12:16], "big"), int.from_bytes(payload[16:20], "big"))
        if direction is Direction.SENT and request:
            self._start(self._diameter, ids, dia.command_name(
                int.from_bytes(payload[5:8], "big"), True))
        elif direction is Direction.RECEIVED and not request:
            self._finish(self._diameter, ids, self.metrics.s6a_latency)

    def _start(self, pending: dict[Any, tuple[str, float]], key: Any, name: str) -> None:
        if len(pending) >= self.max_pending:  # requests never answered must not pile up
            pending.pop(next(iter(pending)))
        pending.setdefault(key, (name, self.clock()))  # a retransmission keeps the first time

    def _finish(self, pending: dict[Any, tuple[str, float]], key: Any,
                histogram: Histogram) -> None:
        started = pending.pop(key, None)
        if started is not None:
            histogram.labels(started[0]).observe(self.clock() - started[1])


def _ep(address: Address) -> tuple[str, int]:
    return (str(address[0]), int(address[1]))


def serve(metrics: Metrics, host: str, port: int) -> Callable[[], None]:
    """Serve /metrics over HTTP on host:port (a thread); the function that stops it. OSError
    when the address cannot be bound."""
    from prometheus_client import start_http_server

    server, thread = start_http_server(port, addr=host, registry=metrics.registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop
