"""The MME on real sockets: S1AP over SCTP (TS 36.412 §7), S6a over Diameter/TCP (TS 29.272
§7.1, RFC 6733 §2.1) through the Diameter peer machine, S11 over UDP (TS 29.274 §4.2) through
the GTPv2-C transaction layer. The logic is `MmeCore`; this file only moves bytes and time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from corenet.codecs import diameter as dia
from corenet.config.models import DiameterRoute, MmeConfig, NetworkName
from corenet.control import registry
from corenet.control.api import ControlAction, ControlApi, SetHssFailure, SetNetworkName
from corenet.control.server import ControlServer, hss_injector
from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.core.errors import DecodeError
from corenet.core.logs import log_event
from corenet.core.timers import TimerTable
from corenet.nf.mme.context import UeContext
from corenet.nf.mme.core import MmeCore
from corenet.nf.mme.events import (
    Action,
    CloseS1,
    Event,
    S1apReceived,
    S1Down,
    S1Up,
    S6aAnswer,
    S6aFailed,
    S6aPeerDown,
    S6aPeerUp,
    S11Failed,
    S11Received,
    SendS1ap,
    SendS6a,
    SendS11,
)
from corenet.nf.mme.s6a_client import session_of
from corenet.nf.mme.s11_path import ECHO_KEY, ECHO_TIMER
from corenet.protocols import diameter_peer as dp
from corenet.protocols import gtpv2c_transactions as gt
from corenet.protocols.gtpv2c_recovery import load_restart_counter
from corenet.transport import (
    MessageTransport,
    UdpEndpoint,
    open_diameter_tcp_client,
    open_sctp_server,
    open_udp_endpoint,
)
from corenet.transport.tcp import client_tls_context

log = logging.getLogger("corenet.mme")
FROZEN_EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def _frozen_wall_clock() -> float:
    return FROZEN_EPOCH

PPID_S1AP = 18  # TS 36.412 §7
RECONNECT_S = 2.0  # RFC 6733 §2.1: a lost connection to a peer is re-established (Tc timer)
OnEvent = Callable[[LogEvent], None]


def _tap_of(tap: Any, kind: str) -> Any:
    """One transport's tap from a `PcapTap`-like object, or a plain callable."""
    if tap is None:
        return None
    chosen = getattr(tap, kind, None)
    return chosen if callable(chosen) else (tap if callable(tap) else None)


@dataclass
class _DiameterLink:
    """The connection to one S6a peer (one per configured route)."""

    route: DiameterRoute
    conn: MessageTransport | None = None
    peer: dp.DiameterPeer | None = None
    timer: asyncio.TimerHandle | None = None
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class MmeService:
    """`MmeService(cfg, tap=...)`; `start()` binds S1AP and S11 and connects to the HSS."""

    def __init__(self, cfg: MmeConfig, *, tap: Any = None, on_event: OnEvent | None = None,
                 clock: Callable[[], float] = time.time, seed: int | None = None) -> None:
        """`seed` makes a run reproducible: Diameter identifiers and M-TMSIs from seeded
        generators, a monotonic clock that starts at 0 when the service starts, and the time
        told to UEs (EMM Information, TS 24.301 §9.9.3.30) frozen at 2026-01-01T00:00:00Z."""
        self.cfg = cfg
        self._seed = seed
        self._t0: float | None = None
        self.core = MmeCore(cfg)
        if seed is not None:
            self.core.told_time = _frozen_wall_clock
            self.core.m_tmsi_rng = random.Random(f"mme-m-tmsi:{seed}")
        self._tap = tap
        self._on_event = on_event
        self._clock = clock
        self._timers = TimerTable(self._on_timer)
        self._s1_server: Any = None
        self._assocs: dict[int, MessageTransport] = {}
        self._assoc_ids: dict[int, int] = {}  # id(conn) -> association number
        self._next_assoc = 0
        self._udp: UdpEndpoint | None = None
        self._gtp = gt.GtpTransactions()
        self._gtp_timer: asyncio.TimerHandle | None = None
        self._links: dict[str, _DiameterLink] = {}
        self._stopping = False
        self.events: list[LogEvent] = []
        self.control = ControlApi(self.core.policy, self.observe)
        self._control_server: ControlServer | None = None
        self._inject = hss_injector(registry.hss_for)

    # ------------------------------------------------------------------ lifecycle

    @property
    def s1ap_address(self) -> tuple[str, int]:
        if self._s1_server is None:
            raise RuntimeError("MME not started")
        return self._s1_server.local  # type: ignore[no-any-return]

    @property
    def s11_address(self) -> tuple[str, int]:
        if self._udp is None:
            raise RuntimeError("MME not started")
        return self._udp.local

    async def start(self, diameter_wait_s: float = 2.0) -> None:
        """Listen for eNBs, bind S11, connect to each S6a peer (waiting up to
        `diameter_wait_s` for the capabilities exchange; retried in the background)."""
        self._stopping = False
        self._s1_server = await open_sctp_server(
            self.cfg.s1ap.host, self.cfg.s1ap.port, self._on_s1_message, self._on_s1_connect,
            self._on_s1_close, tap=_tap_of(self._tap, "sctp"), mode=self.cfg.sctp)
        self._start_s11_path()
        self._udp = await open_udp_endpoint(self.cfg.s11_local.host, self.cfg.s11_local.port,
                                            self._on_datagram, tap=_tap_of(self._tap, "udp"))
        for route in self.cfg.diameter_routes:
            link = _DiameterLink(route)
            self._links[route.realm] = link
            link.task = asyncio.ensure_future(self._keep_connected(link))
        if self._links:
            waits = [asyncio.ensure_future(link.opened.wait()) for link in self._links.values()]
            _, pending = await asyncio.wait(waits, timeout=diameter_wait_s)
            for task in pending:
                task.cancel()
        await self._start_control()
        self._log("mme.started", s1ap=list(self.s1ap_address), s11=list(self.s11_address))

    async def _start_control(self) -> None:
        """The control API endpoint (port 0 disables it); one that cannot bind does not stop
        the MME from serving."""
        ep = self.cfg.control
        if ep.port == 0:
            return
        server = ControlServer(self.control, self._apply_control, self._clock)
        try:
            await server.start(ep.host, ep.port)
        except OSError as exc:
            self._log("mme.control.unavailable", endpoint=f"{ep.host}:{ep.port}",
                      reason=str(exc))
            return
        self._control_server = server
        self._log("mme.control.listening", endpoint="{}:{}".format(*server.address))

    @property
    def control_address(self) -> tuple[str, int] | None:
        return None if self._control_server is None else self._control_server.address

    def control_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """One control operation in process (what the endpoint does for a JSON line)."""
        server = self._control_server or ControlServer(self.control, self._apply_control,
                                                       self._clock)
        return server.execute(request)

    def _apply_control(self, action: ControlAction) -> dict[str, Any] | None:
        if isinstance(action, SetHssFailure):
            return self._inject(action)
        if isinstance(action, SetNetworkName):
            return self._set_network_name(action)
        self._emit(action)
        return None

    def _set_network_name(self, action: SetNetworkName) -> dict[str, Any]:
        """The name of later EMM INFORMATION messages (TS 24.301 §5.4.5); UEs already
        attached keep the name they were told."""
        old = self.cfg.roaming.network_name
        name = NetworkName(full=action.full, short=action.short)
        roaming = self.cfg.roaming.model_copy(update={"network_name": name})
        self.cfg = self.core.cfg = self.cfg.model_copy(update={"roaming": roaming})
        return {"old_network_name": {"full": old.full, "short": old.short}}

    def observe(self) -> dict[str, Any]:
        """What the MME sees, for the control API's status."""
        ues = list(self.core.ues.values())
        return {
            "hss_unreachable": {realm: reason for realm, (_, reason, _) in
                                self.core.s6a_down.items() if self.core.hss_down(realm)},
            "s6a_open": {realm: bool(link.peer is not None and link.peer.is_open)
                         for realm, link in self._links.items()},
            "ues": len(ues),
            "emergency_ues": sum(1 for u in ues if u.emergency),
            "unauthenticated_ues": sum(1 for u in ues if u.unauthenticated_emergency),
            "network_name": self.cfg.roaming.network_name.model_dump(),
        }

    async def stop(self) -> None:
        """DPR to the HSS (RFC 6733 §5.4), close every socket, cancel every timer."""
        self._stopping = True
        if self._control_server is not None:
            await self._control_server.stop()
            self._control_server = None
        for link in self._links.values():
            if link.task is not None:
                link.task.cancel()
            if link.peer is not None and link.conn is not None and not link.conn.closed:
                link.peer.close(self._mono())
                self._pump_peer(link)
            self._drop_link(link)
        self._links.clear()
        self._timers.cancel_all()
        if self._gtp_timer is not None:
            self._gtp_timer.cancel()
            self._gtp_timer = None
        if self._udp is not None:
            self._udp.close()
            await self._udp.wait_closed()
            self._udp = None
        if self._s1_server is not None:
            self._s1_server.close()
            await self._s1_server.wait_closed()
            self._s1_server = None
        self._assocs.clear()
        self._assoc_ids.clear()

    # ------------------------------------------------------------------ test views

    def ue_count(self) -> int:
        return self.core.ue_count()

    def enb_count(self) -> int:
        return self.core.enb_count()

    def ue(self, imsi: str) -> UeContext | None:
        return self.core.ue_by_imsi(imsi)

    def pending_timers(self) -> int:
        return self._timers.pending()

    def s6a_open(self) -> bool:
        return any(link.peer is not None and link.peer.is_open for link in self._links.values())

    # ------------------------------------------------------------------ the core loop

    def _feed(self, event: Event) -> None:
        try:
            actions = self.core.handle(event, self._clock())
        except Exception:
            # a fault of ours on one event must not stop the node serving the others
            log.exception("MME failed on %s", type(event).__name__)
            return
        for action in actions:
            self._apply(action)

    def _apply(self, action: Action) -> None:
        if isinstance(action, SendS1ap):
            conn = self._assocs.get(action.assoc)
            if conn is not None and not conn.closed:
                try:
                    conn.send(action.data, PPID_S1AP, action.stream)
                except ConnectionError:
                    log.warning("S1AP association %d closed while sending", action.assoc)
        elif isinstance(action, CloseS1):
            conn = self._assocs.get(action.assoc)
            if conn is not None and not conn.closed:
                conn.close()
        elif isinstance(action, SendS6a):
            self._send_s6a(action)
        elif isinstance(action, SendS11):
            self._send_s11(action)
        elif isinstance(action, StartTimer | StopTimer):
            self._timers.apply(action)
        elif isinstance(action, LogEvent):
            self._emit(action)

    def _on_timer(self, event: TimerExpired) -> None:
        self._feed(event)

    def _emit(self, event: LogEvent) -> None:
        self.events.append(event)
        if len(self.events) > 10_000:
            del self.events[:5_000]
        log_event(log, event)
        if self._on_event is not None:
            self._on_event(event)

    def _log(self, kind: str, **data: Any) -> None:
        self._emit(LogEvent(kind, data))

    def _mono(self) -> float:
        now = asyncio.get_running_loop().time()
        if self._seed is None:
            return now
        if self._t0 is None:
            self._t0 = now
        return now - self._t0

    # ------------------------------------------------------------------ S1AP

    def _on_s1_connect(self, conn: MessageTransport) -> None:
        self._next_assoc += 1
        self._assoc_ids[id(conn)] = self._next_assoc
        self._assocs[self._next_assoc] = conn
        self._feed(S1Up(self._next_assoc))

    def _on_s1_message(self, conn: MessageTransport, payload: bytes, ppid: int,
                       stream: int) -> None:
        assoc = self._assoc_ids.get(id(conn))
        if assoc is not None:
            self._feed(S1apReceived(assoc, payload, stream))

    def _on_s1_close(self, conn: MessageTransport) -> None:
        assoc = self._assoc_ids.pop(id(conn), None)
        if assoc is not None:
            self._assocs.pop(assoc, None)
            if not self._stopping:
                self._feed(S1Down(assoc))

    # ------------------------------------------------------------------ S6a

    async def _keep_connected(self, link: _DiameterLink) -> None:
        """Connect (initiator, RFC 6733 §5.6), and reconnect after a loss."""
        while not self._stopping:
            if link.conn is None or link.conn.closed:
                try:
                    await self._connect(link)
                except OSError as exc:
                    self._log("s6a.connect.failed", peer=link.route.host, reason=str(exc))
                    self._feed(S6aPeerDown(link.route.realm, f"connect failed: {exc}"))
            await asyncio.sleep(RECONNECT_S)

    async def _connect(self, link: _DiameterLink) -> None:
        route = link.route
        config = dp.PeerConfig(
            origin_host=self.cfg.origin_host, origin_realm=self.cfg.origin_realm,
            host_ip_addresses=(self.cfg.diameter_local_host,),
            auth_application_ids=(dia.S6A_APPLICATION_ID,),  # TS 29.272 §7.1.8
            watchdog_s=self.cfg.diameter_watchdog_s,
            request_timeout_s=self.cfg.diameter_request_timeout_s, product_name="corenet-mme",
            # RFC 6733 §5.6.1: the CEA must come from the peer this route names, and only
            # that peer's own requests (CLR, IDR) are taken on this connection
            expected_peer=route.host,
            relay_agents=frozenset({route.host}) if route.agent else frozenset())
        rng = None if self._seed is None else random.Random(f"mme-diameter:{self._seed}:{link.route.realm}")
        link.peer = dp.DiameterPeer(config, dp.Role.INITIATOR, rng=rng,
                                    remote_address=route.peer.host)
        link.opened.clear()
        tls = route.tls
        # RFC 6733 §13.1: TLS from the connection's start; the certificate must name route.host
        ctx = None if tls is None else client_tls_context(str(tls.ca), tls.cert, tls.key)
        link.conn = await open_diameter_tcp_client(
            route.peer.host, route.peer.port,
            lambda conn, payload, ppid, stream: self._on_diameter(link, payload),
            on_close=lambda conn: self._on_diameter_close(link),
            on_error=lambda conn, exc: self._on_diameter_error(link, exc),
            tap=_tap_of(self._tap, "tcp"), local_host=self.cfg.diameter_local_host,
            ssl_context=ctx, server_hostname=route.host)
        link.peer.connection_made(self._mono())
        self._pump_peer(link)

    def _on_diameter(self, link: _DiameterLink, payload: bytes) -> None:
        if link.peer is not None:
            link.peer.receive(payload, self._mono())
            self._pump_peer(link)

    def _on_diameter_error(self, link: _DiameterLink, exc: DecodeError) -> None:
        """The TCP framer lost the message boundary: 5011/5015 answered from the header it
        read (RFC 6733 §7.1.5), then the connection closes and is re-established."""
        if link.peer is not None:
            link.peer.stream_error(exc, self._mono())
            self._pump_peer(link)

    def _on_diameter_close(self, link: _DiameterLink) -> None:
        if link.peer is not None:
            link.peer.connection_lost(self._mono())
            self._pump_peer(link)
        link.opened.clear()
        if not self._stopping:
            self._feed(S6aPeerDown(link.route.realm, "connection closed"))

    def _pump_peer(self, link: _DiameterLink) -> None:
        peer = link.peer
        if peer is None:
            return
        while (event := peer.next_event()) is not None:
            self._on_peer_event(link, event)
        if link.conn is not None and not link.conn.closed:
            for data in peer.data_to_send():
                try:
                    link.conn.send(data)
                except ConnectionError:
                    break
        else:
            peer.data_to_send()
        if peer.state is dp.PeerState.CLOSED:
            if link.conn is not None and not link.conn.closed:
                link.conn.close()
            self._cancel_peer_timer(link)
            return
        self._arm_peer(link)

    def _on_peer_event(self, link: _DiameterLink, event: dp.PeerEvent) -> None:
        if isinstance(event, dp.AnswerReceived):
            self._feed(S6aAnswer(event.message))
        elif isinstance(event, dp.RequestTimedOut):
            self._feed(S6aFailed(session_of(event.request) or "", "request timeout"))
        elif isinstance(event, dp.RequestsFailedOver):
            for req in event.requests:
                self._feed(S6aFailed(session_of(req) or "", event.reason))
        elif isinstance(event, dp.PeerOpened):
            link.opened.set()
            self._log("s6a.peer.open", peer=event.origin_host, realm=event.origin_realm)
            self._feed(S6aPeerUp(link.route.realm))
        elif isinstance(event, dp.WatchdogChanged):
            # RFC 3539 §3.4.1: SUSPECT/DOWN is a failed peer, back to OKAY a recovered one
            self._log("s6a.watchdog", peer=link.route.host, old=event.old.value,
                      new=event.new.value)
            if event.new is dp.WatchdogState.OKAY:
                self._feed(S6aPeerUp(link.route.realm))
            elif event.new in (dp.WatchdogState.SUSPECT, dp.WatchdogState.DOWN):
                self._feed(S6aPeerDown(link.route.realm, f"watchdog {event.new.value}"))
        elif isinstance(event, dp.RequestReceived):
            # TS 29.272 §5.2.2 / §5.2.1.2 (IDR, CLR) are not served: RFC 6733 §7.1.3 3001
            answer = dia.decode(dia.error_answer(
                event.message, dia.ResultCode.DIAMETER_COMMAND_UNSUPPORTED,
                self.cfg.origin_host, self.cfg.origin_realm))
            if link.peer is not None:
                link.peer.send_answer(answer, self._mono())
        else:
            self._log("s6a.peer", event=type(event).__name__, peer=link.route.host)

    def _arm_peer(self, link: _DiameterLink) -> None:
        self._cancel_peer_timer(link)
        when = link.peer.get_timer() if link.peer is not None else None
        if when is not None:
            link.timer = asyncio.get_running_loop().call_later(
                max(0.0, when - self._mono()), self._peer_timer, link)

    def _cancel_peer_timer(self, link: _DiameterLink) -> None:
        if link.timer is not None:
            link.timer.cancel()
            link.timer = None

    def _peer_timer(self, link: _DiameterLink) -> None:
        link.timer = None
        if link.peer is not None:
            link.peer.handle_timer(self._mono())
            self._pump_peer(link)

    def _drop_link(self, link: _DiameterLink) -> None:
        self._cancel_peer_timer(link)
        if link.conn is not None and not link.conn.closed:
            link.conn.close()

    def _send_s6a(self, action: SendS6a) -> None:
        """Realm-based routing (RFC 6733 §6.1.4) to the peer of the Destination-Realm."""
        link = self._links.get(action.realm)
        sid = session_of(action.msg) or ""
        if link is None or link.peer is None or not link.peer.is_open:
            asyncio.get_running_loop().call_soon(
                self._feed, S6aFailed(sid, f"no open peer for realm {action.realm}"))
            return
        link.peer.request(action.msg, self._mono(),
                          timeout=self.cfg.diameter_request_timeout_s)
        self._pump_peer(link)

    # ------------------------------------------------------------------ S11

    def _sgw(self) -> tuple[str, int]:
        return self.cfg.sgw.host, self.cfg.sgw.port

    def _start_s11_path(self) -> None:
        """Our restart counter (TS 23.007 §18: the MME keeps no state across a restart, so it
        is incremented at every start; a seeded run without a file starts at 0 so that its
        captures are reproducible) and the periodic Echo to the S-GW (TS 29.274 §7.1.1)."""
        path = self.cfg.restart_counter_file
        if path is None and self._seed is not None:
            counter = 0
        else:
            counter = load_restart_counter(path, state_kept=False, clock=self._clock)
        self.core.s11.restart_counter = counter
        self._timers.apply(StartTimer(ECHO_TIMER, ECHO_KEY, self.cfg.s11_echo_interval_s))

    def _send_s11(self, action: SendS11) -> None:
        msg = action.msg
        now = self._mono()
        peer = action.peer or self._sgw()
        if msg.code in gt.RESPONSE_TYPES:
            self._gtp.send_response(msg, peer, now)
        else:
            self._gtp.send_request(msg, peer, now, context=int(msg.fields["sequence"]))
        self._pump_gtp()

    def _on_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        self._gtp.receive(data, addr, self._mono())
        self._pump_gtp()

    def _pump_gtp(self) -> None:
        while (event := self._gtp.next_event()) is not None:
            if isinstance(event, gt.ResponseReceived):
                self._feed(S11Received(event.message, int(event.context), event.peer))  # type: ignore[call-overload]
            elif isinstance(event, gt.RequestTimedOut | gt.VersionNotSupported):
                self._feed(S11Failed(int(event.context), type(event).__name__))  # type: ignore[call-overload]
            elif isinstance(event, gt.RequestReceived):
                self._feed(S11Received(event.message, peer=event.peer))
            elif isinstance(event, LogEvent):
                self._emit(event)
            else:
                self._log("s11.malformed", cause=event.error.cause, detail=event.error.detail)
        if self._udp is not None and not self._udp.closed:
            for data, addr in self._gtp.data_to_send():
                self._udp.sendto(data, addr)
        if self._gtp_timer is not None:
            self._gtp_timer.cancel()
            self._gtp_timer = None
        when = self._gtp.get_timer()
        if when is not None and not self._stopping:
            self._gtp_timer = asyncio.get_running_loop().call_later(
                max(0.0, when - self._mono()), self._gtp_timeout)

    def _gtp_timeout(self) -> None:
        self._gtp_timer = None
        self._gtp.handle_timer(self._mono())
        self._pump_gtp()
