"""asyncio HSS: Diameter over TCP (RFC 6733 §2.1, port 3868), TLS/TCP (port 5658) or SCTP
around the sans-I/O parts.

bytes -> DiameterPeer (CER/CEA, DWR/DWA, DPR/DPA, duplicates, error answers) -> S6aServer
(AIR/ULR/PUR against the SQLite store) or CxServer (UAR/MAR/SAR from S-CSCFs, TS 29.229; the
same store and SQN_HE) -> answers, and CLRs to previously registered MMEs. Both applications
are advertised in CEA (RFC 6733 §5.3.2).
Any Diameter peer may connect (a third-party MME too); RFC 6733 §5.3 decides who is accepted:
a configured peer's Origin-Host only from its configured addresses (and, over TLS, only with a
certificate naming it), and every request on a connection from that connection's peer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs.base import Message
from corenet.config.models import HssConfig
from corenet.config.subscribers import Subscriber, load_subscribers
from corenet.control import registry
from corenet.control.api import ControlAction, HssControl
from corenet.control.server import ControlServer
from corenet.core.actions import LogEvent
from corenet.core.logs import log_event
from corenet.core.plmn import Plmn
from corenet.nf.hss.cx import CxError, CxServer
from corenet.nf.hss.overload import AirOverload
from corenet.nf.hss.s6a import Action, S6aError, S6aServer, SendAnswer, SendRequest
from corenet.nf.hss.store import HssStore
from corenet.protocols import diameter_peer as dp
from corenet.transport import Address, Tap
from corenet.transport.base import MessageTransport, loop_clock
from corenet.transport.diameter import DiameterLink, DiameterListener
from corenet.transport.tcp import certificate_names, server_tls_context

log = logging.getLogger("corenet.hss")

OnEvent = Callable[[LogEvent], None]


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
        reproducible: bool = False,
    ) -> None:
        """`reproducible`: a seeded run; SQN commits stay on the event loop, so the order of
        events (and of the capture) does not depend on a worker thread."""
        self.cfg = cfg
        self._reproducible = reproducible
        self._tap = _pick_tap(tap, cfg.transport)
        self._subscribers = list(subscribers or [])
        self._on_event = on_event
        self._random = random_bytes
        self._store: HssStore | None = None
        self._s6a: S6aServer | None = None
        self._cx: CxServer | None = None
        self._listener = DiameterListener(self._make_peer, self._on_peer_event,
                                          on_accept=self._accepted)
        self._answers = dp.AnswerCache()
        self._origin_state_id = int.from_bytes(random_bytes(4), "big")
        # injected failure: "drop" (requests and watchdogs go unanswered), "close" (no socket)
        self.failure: str | None = None
        self._control: ControlServer | None = None
        # AIRs received (TS 29.272 §5.2.3.1), the load measure of a re-attach storm
        self.air_count = 0
        self._queued: list[tuple[DiameterLink, Message]] = []
        self._serving: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def store(self) -> HssStore:
        if self._store is None:
            raise RuntimeError("HSS not started")
        return self._store

    @property
    def local(self) -> Address:
        return self._listener.local

    async def start(self) -> None:
        """Open the store, provision it, then listen (RFC 6733 §2.1)."""
        self._store = HssStore(self.cfg.database, commit_on_thread=not self._reproducible)
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
        self._cx = CxServer(self._store, Plmn.parse(self.cfg.plmn),
                            origin_host=self.cfg.origin_host, origin_realm=self.cfg.origin_realm,
                            max_vectors=self.cfg.max_vectors_per_air, random_bytes=self._random)
        tls = self.cfg.tls
        ctx = None if tls is None or self.cfg.transport == "sctp" else server_tls_context(
            str(tls.cert), str(tls.key), tls.ca)
        await self._listener.start(self.cfg.listen.host, self.cfg.listen.port,
                                   transport=self.cfg.transport, ssl_context=ctx, tap=self._tap)
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
        self._listener.deaf = failure == "drop"
        self._emit(LogEvent("hss.failure.injected" if failure else "hss.failure.restored",
                            {"failure": failure}))
        if failure == "close":
            self._listener.drop_all()

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
        self._listener.deaf = False
        await self._listener.stop(timeout, dia.DisconnectCause.REBOOTING)
        if self._serving is not None:
            await asyncio.gather(self._serving, return_exceptions=True)
            self._serving = None
        if self._store is not None:
            self._store.close()
            self._store = None
        self._s6a = self._cx = None

    # -- the Diameter links ----------------------------------------------------------------

    def _make_peer(self, conn: MessageTransport) -> dp.DiameterPeer | None:
        """The responder machine of an accepted connection (RFC 6733 §5.3, §5.6.1), or None
        while connections are refused."""
        if self.failure == "close":
            return None
        config = dp.PeerConfig.serving(
            self.cfg.origin_host, self.cfg.origin_realm, conn.local[0], self.cfg.peers,
            origin_state_id=self._origin_state_id, watchdog_s=self.cfg.watchdog_s,
            product_name="corenet-hss",
            # TS 29.272 §7.1.8 S6a and TS 29.229 §5.1 Cx
            vendor_specific_application_ids=((dia.VENDOR_3GPP, dia.S6A_APPLICATION_ID),
                                             (dia.VENDOR_3GPP, dia.CX_APPLICATION_ID)))
        names = None
        if self.cfg.tls is not None and self.cfg.tls.ca is not None:
            # RFC 6733 §13.1: the verified client certificate must name the CER's Origin-Host
            names = certificate_names(_extra(conn, "peercert")) or frozenset()
        return dp.DiameterPeer(config, dp.Role.RESPONDER, answers=self._answers,
                               remote_address=conn.remote[0], certificate_names=names)

    def _accepted(self, link: DiameterLink) -> None:
        conn = link.conn
        self._emit(LogEvent("diameter.connection.accepted", {
            "peer": f"{conn.remote[0]}:{conn.remote[1]}"}))

    def _on_peer_event(self, link: DiameterLink, event: dp.PeerEvent) -> None:
        now = loop_clock()
        if isinstance(event, dp.RequestReceived):
            self._queue_request(link, event.message)
        elif isinstance(event, dp.AnswerReceived) and self._s6a is not None:
            self._apply(self._s6a.handle_answer(event.message, event.request, now), now, link)
        else:
            self._emit(_peer_log(link, event))

    def _queue_request(self, link: DiameterLink, msg: Message) -> None:
        """Requests are served in groups: one group commit of their SQNs (store.py), then
        their answers. The requests that arrive while a group's COMMIT is on the disk form
        the next group."""
        self._queued.append((link, msg))
        if self._serving is None or self._serving.done():
            self._serving = asyncio.get_running_loop().create_task(self._serve_queued())

    async def _serve_queued(self) -> None:
        while self._queued and self._s6a is not None:
            queued, self._queued = self._queued, []
            s6a, now = self._s6a, loop_clock()
            self.air_count += sum(1 for _, msg in queued if msg.name == "AIR")
            requests = [msg for _, msg in queued]
            try:
                # one request alone: nothing waits to be served, its COMMIT stays on the loop
                results = await s6a.store.commit_group(
                    functools.partial(self._handle_batch, requests, now),
                    on_thread=len(requests) > 1)
            except Exception as exc:  # the commit failed: no vector may leave (RFC 6733 §7.1.5)
                log.exception("S6a group of %d requests failed", len(queued))
                fault = S6aError(dia.ResultCode.DIAMETER_UNABLE_TO_COMPLY, str(exc))
                results = [s6a.reject(msg, fault) for msg in requests]
            for (link, _), actions in zip(queued, results, strict=True):
                if not link.closed.is_set():
                    self._apply(actions, now, link)

    def _handle_batch(self, requests: list[Message], now: float) -> list[list[Action]]:
        """S6aServer.handle_batch, with the Cx requests of the group served by CxServer."""
        s6a, cx = self._s6a, self._cx
        assert s6a is not None and cx is not None  # set together in start()
        # every request came through a DiameterPeer, which checked its ABNF (RFC 6733 §7.1.5)
        if not any(m.fields.get("application_id") == dia.CX_APPLICATION_ID for m in requests):
            return s6a.handle_batch(requests, now, checked=True)
        out: list[list[Action]] = []
        with s6a.store.group():
            for request in requests:
                if request.fields.get("application_id") != dia.CX_APPLICATION_ID:
                    out.extend(s6a.handle_batch([request], now, checked=True))
                    continue
                try:
                    out.append(cx.handle(request, now))
                except Exception as exc:  # a local fault still gets its answer (5012)
                    out.append(cx.reject(request, CxError(
                        dia.ResultCode.DIAMETER_UNABLE_TO_COMPLY, f"{type(exc).__name__}: {exc}")))
        return out

    def _apply(self, actions: list[Action], now: float, link: DiameterLink) -> None:
        for action in actions:
            if isinstance(action, SendAnswer):
                link.send_answer(action.message)
            elif isinstance(action, SendRequest):
                self._send_request(action)
            else:
                self._emit(action)

    def _send_request(self, action: SendRequest) -> None:
        """A request to a named peer, if it is connected and open (e.g. CLR to the old MME)."""
        other = self._listener.link_to(action.destination_host)
        if other is not None:
            other.request(action.message)
            return
        self._emit(LogEvent(f"s6a.{action.message.name.lower()}.not_sent", {
            "peer": action.destination_host, "reason": "peer not connected"}))

    def _emit(self, event: LogEvent) -> None:
        log_event(log, event)
        if self._on_event is not None:
            self._on_event(event)


def _extra(conn: MessageTransport, name: str) -> Any:
    getter = getattr(conn, "get_extra_info", None)
    return getter(name) if callable(getter) else None


def _peer_log(link: DiameterLink, event: dp.PeerEvent) -> LogEvent:
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
