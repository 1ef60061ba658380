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
from typing import Any

from corenet.codecs import diameter as dia
from corenet.config.models import DiameterRoute, MmeConfig, NetworkName
from corenet.control import registry
from corenet.control.api import SetHssFailure
from corenet.control.server import ControlServer, hss_injector
from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.core.logs import log_event
from corenet.core.timers import TimerTable
from corenet.nf.mme.context import UeContext
from corenet.nf.mme.control import ControlApi, SetNetworkName
from corenet.nf.mme.control import MmeControlAction as ControlAction
from corenet.nf.mme.core import MmeCore
from corenet.nf.mme.events import (
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
    S11Malformed,
    S11Received,
    SendS1ap,
    SendS6a,
    SendS11,
    SendSbcap,
)
from corenet.nf.mme.s6a_client import session_of
from corenet.nf.mme.s11_path import ECHO_KEY, ECHO_TIMER
from corenet.nf.mme.sbc_link import SbcLinks
from corenet.protocols import diameter_peer as dp
from corenet.protocols import gtpv2c_transactions as gt
from corenet.protocols.diameter_ids import FROZEN_EPOCH, DiameterIds, start_ids
from corenet.protocols.gtpv2c_recovery import load_restart_counter
from corenet.transport import MessageTransport, open_sctp_server
from corenet.transport.diameter import ConnectTarget, DiameterConnector, DiameterLink, initiators
from corenet.transport.gtp import GtpEndpoint
from corenet.transport.tcp import client_tls_context

log = logging.getLogger("corenet.mme")
def _frozen_wall_clock() -> float:
    return FROZEN_EPOCH

PPID_S1AP = 18  # TS 36.412 §7


def _diameter_ids(origin_host: str, clock: Callable[[], float],
                  seed: int | None) -> DiameterIds:
    """Session-Ids and End-to-End Identifiers of this start (RFC 6733 §8.8, §3): from the
    clock and a random start, so that a restarted MME repeats none; a seeded run starts them
    at 2026-01-01T00:00:00Z from the seed, so that its captures are the same every time."""
    return start_ids(origin_host, None if seed is None else f"mme-diameter-ids:{seed}", clock)
OnEvent = Callable[[LogEvent], None]


def _tap_of(tap: Any, kind: str) -> Any:
    """One transport's tap from a `PcapTap`-like object, or a plain callable."""
    if tap is None:
        return None
    chosen = getattr(tap, kind, None)
    return chosen if callable(chosen) else (tap if callable(tap) else None)


class MmeService:
    """`MmeService(cfg, tap=...)`; `start()` binds S1AP and S11 and connects to the HSS."""

    def __init__(self, cfg: MmeConfig, *, tap: Any = None, on_event: OnEvent | None = None,
                 clock: Callable[[], float] = time.time, seed: int | None = None) -> None:
        """`clock` is the one clock of the MME: its core, Diameter peers and GTPv2-C layer.
        `seed` makes a run reproducible: Diameter identifiers and M-TMSIs from seeded
        generators, and the time told to UEs (EMM Information, TS 24.301 §9.9.3.30) frozen at
        2026-01-01T00:00:00Z."""
        self.cfg = cfg
        self._seed = seed
        self.core = MmeCore(cfg)
        if seed is not None:
            self.core.told_time = _frozen_wall_clock
            self.core.m_tmsi_rng = random.Random(f"mme-m-tmsi:{seed}")
        self._diameter_ids = self.core.s6a.ids = _diameter_ids(cfg.origin_host, clock, seed)
        self._tap = tap
        self._on_event = on_event
        self._clock = clock
        self._timers = TimerTable(self._on_timer)
        self._s1_server: Any = None
        self._assocs: dict[int, MessageTransport] = {}
        self._assoc_ids: dict[int, int] = {}  # id(conn) -> association number
        self._next_assoc = 0
        # TS 29.274 §7.6: the transaction layer's N3-REQUESTS x T3-RESPONSE is the one guard
        # of an S11 request, and lasts s11_request_timeout_s
        n3 = gt.DEFAULT_N3_REQUESTS
        transactions = gt.GtpTransactions(t3_response_s=cfg.s11_request_timeout_s / n3,
                                          n3_requests=n3)
        self._gtp = GtpEndpoint(transactions, self._on_gtp, clock=self._clock)
        self._links: dict[str, DiameterConnector] = {}
        self._stopping = False
        self.events: list[LogEvent] = []
        self.control = ControlApi(self.core.policy, self.observe)
        self._control_server: ControlServer | None = None
        self._inject = hss_injector(registry.hss_for)
        self.sbc = SbcLinks(self._feed, _tap_of(tap, "sctp"), cfg.sctp)  # TS 29.168 (pws.py)
        # what carries out each kind of action the core returns (events.Action), by class
        self._appliers: dict[type, Callable[[Any], None]] = {
            SendS1ap: self._send_s1ap, SendS6a: self._send_s6a, SendS11: self._send_s11,
            CloseS1: self._close_s1, SendSbcap: self.sbc.send, LogEvent: self._emit,
            StartTimer: self._timers.apply, StopTimer: self._timers.apply}

    # ------------------------------------------------------------------ lifecycle

    @property
    def s1ap_address(self) -> tuple[str, int]:
        if self._s1_server is None:
            raise RuntimeError("MME not started")
        return self._s1_server.local  # type: ignore[no-any-return]

    @property
    def s11_address(self) -> tuple[str, int]:
        if not self._gtp.is_open:
            raise RuntimeError("MME not started")
        return self._gtp.local

    async def start(self, diameter_wait_s: float = 2.0) -> None:
        """Listen for eNBs, bind S11, connect to each S6a peer (waiting up to
        `diameter_wait_s` for the capabilities exchange; retried in the background)."""
        self._stopping = False
        self._s1_server = await open_sctp_server(
            self.cfg.s1ap.host, self.cfg.s1ap.port, self._on_s1_message, self._on_s1_connect,
            self._on_s1_close, tap=_tap_of(self._tap, "sctp"), mode=self.cfg.sctp)
        await self.sbc.start(self.cfg.sbcap)
        self._start_s11_path()
        await self._gtp.open(self.cfg.s11_local.host, self.cfg.s11_local.port,
                             tap=_tap_of(self._tap, "udp"))
        for route in self.cfg.diameter_routes:
            link = self._connector(route)
            self._links[route.realm] = link
            link.start()
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
            "s6a_open": {realm: link.is_open for realm, link in self._links.items()},
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
            link.stop()
        self._links.clear()
        self._timers.cancel_all()
        self._gtp.close()
        await self._gtp.wait_closed()
        if self._s1_server is not None:
            self._s1_server.close()
            await self._s1_server.wait_closed()
            self._s1_server = None
        self._assocs.clear()
        self._assoc_ids.clear()
        await self.sbc.stop()

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
        return any(link.is_open for link in self._links.values())

    # ------------------------------------------------------------------ the core loop

    def _feed(self, event: Event) -> None:
        try:
            actions = self.core.handle(event, self._clock())
        except Exception:
            # a fault of ours on one event must not stop the node serving the others
            log.exception("MME failed on %s", type(event).__name__)
            return
        apply = self._appliers
        for action in actions:
            # the kinds an attach makes, most frequent first, by exact class (~25 an attach)
            if type(action) is LogEvent:
                self._emit(action)
            elif type(action) is StartTimer:
                self._timers.start(action.name, action.key, action.seconds)
            elif type(action) is StopTimer:
                self._timers.stop(action.name, action.key)
            else:
                apply[type(action)](action)

    def _send_s1ap(self, action: SendS1ap) -> None:
        conn = self._assocs.get(action.assoc)
        if conn is not None and not conn.closed:
            try:
                conn.send(action.data, PPID_S1AP, action.stream)
            except ConnectionError:
                log.warning("S1AP association %d closed while sending", action.assoc)

    def _close_s1(self, action: CloseS1) -> None:
        conn = self._assocs.get(action.assoc)
        if conn is not None and not conn.closed:
            conn.close()

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

    def _connector(self, route: DiameterRoute) -> DiameterConnector:
        """The S6a connection of one route (RFC 6733 §5.6 initiator); over TLS from the
        connection's start, the certificate naming route.host (§13.1)."""
        config = dp.PeerConfig(
            origin_host=self.cfg.origin_host, origin_realm=self.cfg.origin_realm,
            host_ip_addresses=(self.cfg.diameter_local_host,),
            auth_application_ids=(dia.S6A_APPLICATION_ID,),  # TS 29.272 §7.1.8
            watchdog_s=self.cfg.diameter_watchdog_s,
            # the one guard of an S6a request (TS 29.272 §5.2): the machine's own
            request_timeout_s=self.cfg.diameter_request_timeout_s, product_name="corenet-mme",
            # RFC 6733 §5.6.1: the CEA must come from the peer this route names, and only
            # that peer's own requests (CLR, IDR) are taken on this connection
            expected_peer=route.host,
            relay_agents=frozenset({route.host}) if route.agent else frozenset())
        make_peer = initiators(
            config, route.peer.host,
            None if self._seed is None else f"mme-diameter:{self._seed}:{route.realm}",
            ids=self._diameter_ids)

        tls = route.tls
        ctx = None if tls is None else client_tls_context(str(tls.ca), tls.cert, tls.key)
        target = ConnectTarget(route.peer.host, route.peer.port,
                               local_host=self.cfg.diameter_local_host, ssl_context=ctx,
                               server_hostname=route.host)
        return DiameterConnector(
            target, make_peer, lambda link, event: self._on_peer_event(route, link, event),
            lambda reason, error: self._on_s6a_down(route, reason, error),
            clock=self._clock, tap=_tap_of(self._tap, "tcp"))

    def _on_s6a_down(self, route: DiameterRoute, reason: str, error: OSError | None) -> None:
        if error is not None:
            self._log("s6a.connect.failed", peer=route.host, reason=str(error))
        self._feed(S6aPeerDown(route.realm, reason))

    def _on_peer_event(self, route: DiameterRoute, link: DiameterLink,
                       event: dp.PeerEvent) -> None:
        if isinstance(event, dp.AnswerReceived):
            self._feed(S6aAnswer(event.message))
        elif isinstance(event, dp.RequestTimedOut):
            self._feed(S6aFailed(session_of(event.request) or "", "request timeout"))
        elif isinstance(event, dp.RequestsFailedOver):
            for req in event.requests:
                self._feed(S6aFailed(session_of(req) or "", event.reason))
        elif isinstance(event, dp.PeerOpened):
            self._log("s6a.peer.open", peer=event.origin_host, realm=event.origin_realm)
            self._feed(S6aPeerUp(route.realm))
        elif isinstance(event, dp.WatchdogChanged):
            # RFC 3539 §3.4.1: SUSPECT/DOWN is a failed peer, back to OKAY a recovered one
            self._log("s6a.watchdog", peer=route.host, old=event.old.value,
                      new=event.new.value)
            if event.new is dp.WatchdogState.OKAY:
                self._feed(S6aPeerUp(route.realm))
            elif event.new in (dp.WatchdogState.SUSPECT, dp.WatchdogState.DOWN):
                self._feed(S6aPeerDown(route.realm, f"watchdog {event.new.value}"))
        elif isinstance(event, dp.RequestReceived):
            # TS 29.272 §5.2.2 / §5.2.1.2 (IDR, CLR) are not served: RFC 6733 §7.1.3 3001
            link.send_answer(dia.error_answer_message(
                event.message, dia.ResultCode.DIAMETER_COMMAND_UNSUPPORTED,
                self.cfg.origin_host, self.cfg.origin_realm))
        else:
            self._log("s6a.peer", event=type(event).__name__, peer=route.host)

    def _send_s6a(self, action: SendS6a) -> None:
        """Realm-based routing (RFC 6733 §6.1.4) to the peer of the Destination-Realm."""
        link = self._links.get(action.realm)
        if link is None or not link.is_open:
            sid = session_of(action.msg) or ""
            asyncio.get_running_loop().call_soon(
                self._feed, S6aFailed(sid, f"no open peer for realm {action.realm}"))
            return
        link.request(action.msg)

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
        self._timers.start(ECHO_TIMER, ECHO_KEY, self.cfg.s11_echo_interval_s)

    def _send_s11(self, action: SendS11) -> None:
        msg = action.msg
        self._gtp.send(msg, action.peer or self._sgw(), context=int(msg.fields["sequence"]))

    def _on_gtp(self, event: gt.Event, now: float) -> None:
        if isinstance(event, gt.ResponseReceived):
            self._feed(S11Received(event.message, int(event.context), event.peer))  # type: ignore[call-overload]
        elif isinstance(event, gt.RequestTimedOut | gt.VersionNotSupported):
            self._feed(S11Failed(int(event.context), type(event).__name__))  # type: ignore[call-overload]
        elif isinstance(event, gt.RequestReceived):
            self._feed(S11Received(event.message, peer=event.peer))
        elif isinstance(event, LogEvent):
            self._emit(event)
        else:  # answered by the core when it is a request it serves (TS 29.274 §7.7)
            self._feed(S11Malformed(event.error, event.peer))
