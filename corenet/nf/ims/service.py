"""asyncio IMS: the P-CSCF, the E-CSCF and the home S-CSCF, each on its own SIP address, over
UDP and TCP (RFC 3261 §18); what an element sends goes over the transport its top Via names.

datagram or TCP frame -> SipTransport (decode; a malformed request is answered from its DecodeError,
RFC 3261 §21.4.1) -> the element's core -> SendSip / LogEvent actions; the S-CSCF's SendCx go to
the home HSS over its Cx link (`cx_client.py`), whose answers come back to its core.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from corenet.codecs.base import Message
from corenet.codecs.sip import Limits, SipMessage, SipRequest
from corenet.config.models import ImsConfig
from corenet.core.actions import LogEvent
from corenet.core.logs import log_event
from corenet.nf.ims.binding import BindingTable, SessionSource
from corenet.nf.ims.cx_client import CxClient
from corenet.nf.ims.dialplan import DialPlan
from corenet.nf.ims.ecscf import EcscfCore
from corenet.nf.ims.pcscf import PcscfCore
from corenet.nf.ims.proxy import Element, SendSip
from corenet.nf.ims.registrar import SendCx
from corenet.nf.ims.rx import RxClient, SendRx
from corenet.nf.ims.scscf import ScscfCore
from corenet.nf.ims.sec_agree import OPTION_TAG
from corenet.protocols.diameter_ids import start_ids
from corenet.transport.sip import SipPeer, SipTransport

log = logging.getLogger("corenet.ims")

OnEvent = Callable[[LogEvent], None]


def _udp_tap(tap: Any) -> Any:
    return None if tap is None else getattr(tap, "udp", None)


def _tcp_tap(tap: Any) -> Any:
    return None if tap is None else getattr(tap, "tcp", None)


class _Node:
    """One SIP element: its transport and its core's handlers."""

    def __init__(self, name: str, host: str, port: int, tap: Any,
                 on_event: Callable[[LogEvent], None], limits: Limits,
                 supported: frozenset[str] = frozenset()) -> None:
        self.name = name
        self.host, self.port = host, port
        self.transport = SipTransport(self._on_message, udp_tap=_udp_tap(tap),
                                      tcp_tap=_tcp_tap(tap), limits=limits, supported=supported)
        self.core: PcscfCore | EcscfCore | ScscfCore | None = None
        self.cx: CxClient | None = None
        self._emit = on_event
        self.send_rx: Callable[[SendRx], None] | None = None

    async def start(self) -> Element:
        await self.transport.start(self.host, self.port)  # RFC 3261 §18: UDP and TCP
        self.host, self.port = self.transport.local
        return Element(self.host, self.port)

    def _on_message(self, msg: SipMessage, peer: SipPeer) -> None:
        core = self.core
        if core is None:
            return
        now = asyncio.get_running_loop().time()
        actions: list[Any]
        try:
            if isinstance(msg, SipRequest):
                if isinstance(core, EcscfCore):
                    actions = core.handle_request(msg, peer.address)
                else:
                    actions = core.handle_request(msg, peer.address, now)
            elif isinstance(core, PcscfCore):
                actions = core.handle_response(msg, peer.address, now)
            else:
                actions = core.handle_response(msg)
        except Exception:
            # a fault of ours on one message must not stop the element serving others
            log.exception("%s failed on a message from %s", self.name, peer.address)
            return
        self.apply(actions)

    def on_cx_answer(self, answer: Message) -> None:
        if isinstance(self.core, ScscfCore):
            self.apply(self.core.handle_cx_answer(answer, asyncio.get_running_loop().time()))

    def on_cx_failure(self, session_id: str, reason: str) -> None:
        if isinstance(self.core, ScscfCore):
            self.apply(self.core.handle_cx_failure(session_id, reason,
                                                   asyncio.get_running_loop().time()))

    def apply(self, actions: list[Any]) -> None:
        for act in actions:
            if isinstance(act, SendCx):
                if self.cx is not None:
                    self.cx.request(act.message)
            elif isinstance(act, SendSip):
                try:
                    self.transport.send(act.message, SipPeer(act.transport, act.peer))
                except (ConnectionError, OSError) as exc:
                    log.warning("%s: send to %s failed: %s", self.name, act.peer, exc)
            elif isinstance(act, SendRx):
                if self.send_rx is not None:
                    self.send_rx(act)
            else:
                self._emit(act)

    async def stop(self) -> None:
        if self.cx is not None:
            self.cx.stop()
        self.transport.close()
        await self.transport.wait_closed()


class ImsService:
    """P-CSCF, E-CSCF (rescuer) and home S-CSCF (affected operator). The P-CSCF binds UE
    addresses to identities over Rx with the PCRF of `cfg.pcscf.pcrf` (rx.py); without one,
    `sessions` is the S/P-GW service of the same process whose sessions it reads (binding.py)."""

    def __init__(self, cfg: ImsConfig, *, tap: Any = None, sessions: SessionSource | None = None,
                 on_event: OnEvent | None = None, seed: int | None = None) -> None:
        """`seed`: a seeded run, whose Cx identifiers are reproducible."""
        self.cfg = cfg
        self._tap = tap
        self._seed = seed
        self._rx: RxClient | None = None
        self._pcrf: Any = None
        link = cfg.pcscf.pcrf
        self.bindings = BindingTable(None if link is not None else sessions,
                                     emergency_apn=cfg.pcscf.emergency_apn)
        self.dialplan = DialPlan(cfg.dialplan)
        self.events: list[LogEvent] = []
        self._on_event = on_event
        limits = Limits(**cfg.sip_limits.model_dump())
        # RFC 3329 §2.3: the P-CSCF is the server of the security agreement (sec_agree.py)
        self.pcscf = _Node("pcscf", cfg.pcscf.listen.host, cfg.pcscf.listen.port, tap,
                           self._emit, limits, supported=frozenset({OPTION_TAG}))
        self.ecscf = _Node("ecscf", cfg.ecscf.listen.host, cfg.ecscf.listen.port, tap,
                           self._emit, limits)
        self.scscf = _Node("scscf", cfg.home.listen.host, cfg.home.listen.port, tap,
                           self._emit, limits)

    async def start(self) -> None:
        """Binds the three sockets; with port 0 the cores learn the ports taken."""
        scscf_me = await self.scscf.start()
        ecscf_me = await self.ecscf.start()
        pcscf_me = await self.pcscf.start()
        cfg = self.cfg
        home = [r.model_copy(update={"address": r.address.model_copy(update={
            "port": scscf_me.port})}) if (r.address.host == cfg.home.listen.host
                                          and r.address.port == cfg.home.listen.port) else r
            for r in cfg.pcscf.home_ims]
        ecscf_ep = cfg.pcscf.ecscf
        if (ecscf_ep.host, ecscf_ep.port) == (cfg.ecscf.listen.host, cfg.ecscf.listen.port):
            ecscf_ep = ecscf_ep.model_copy(update={"port": ecscf_me.port})
        pcfg = cfg.pcscf.model_copy(update={"home_ims": home, "ecscf": ecscf_ep})
        self.scscf.core = ScscfCore(cfg.home, scscf_me, pcscfs={pcscf_me.host})
        if cfg.home.cx is not None and self.scscf.core.cx is not None:
            node = self.scscf
            # RFC 6733 §8.8, §3: identifiers of this start-up; a seeded run's from the seed
            ids = start_ids(cfg.home.cx.origin_host, None if self._seed is None
                            else f"scscf-diameter-ids:{self._seed}")
            self.scscf.core.cx.ids = ids
            node.cx = CxClient(cfg.home.cx, scscf_me.host, node.on_cx_answer,
                               node.on_cx_failure, self._emit, tap=_tcp_tap(self._tap),
                               seed=self._seed, ids=ids)
            node.cx.start()
        # the P-CSCF of this same IMS is in the E-CSCF's trust domain (RFC 3325 §2.3)
        self.ecscf.core = EcscfCore(cfg.ecscf, self.dialplan, ecscf_me,
                                    pcscfs={pcscf_me.host})
        self.pcscf.core = PcscfCore(pcfg, self.bindings, self.dialplan, pcscf_me,
                                    rx=self._start_rx())
        if self._pcrf is not None:
            await self._pcrf.started()
        self._emit(LogEvent("ims.started", {
            "pcscf": f"{pcscf_me.host}:{pcscf_me.port}", "ecscf": f"{ecscf_me.host}:{ecscf_me.port}",
            "scscf": f"{scscf_me.host}:{scscf_me.port}"}))

    def _start_rx(self) -> RxClient | None:
        """The P-CSCF's Rx client and its connection to the PCRF (TS 29.214)."""
        from corenet.codecs.diameter import RX_APPLICATION_ID
        from corenet.nf.pcrf.client import PcrfClient, client_ids

        link = self.cfg.pcscf.pcrf
        if link is None:
            return None
        ids = client_ids(link.origin_host, self._seed)
        self._rx = RxClient(link, ids)
        self._pcrf = PcrfClient(
            link, RX_APPLICATION_ID, product="corenet-pcscf", ids=ids,
            on_request=self._rx_request, on_answer=self._rx_answer,
            on_failed=lambda req, reason: self._rx_failed(req), on_event=self._emit,
            tap=_tcp_tap(self._tap), seed=self._seed)
        self.pcscf.send_rx = self._send_rx
        self._pcrf.start()
        return self._rx

    def _core(self) -> PcscfCore:
        core = self.pcscf.core
        assert isinstance(core, PcscfCore)
        return core

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _send_rx(self, action: SendRx) -> None:
        if not self._pcrf.request(action.message):
            # the PCRF is not reachable: the request fails now (rx.py: 503)
            asyncio.get_running_loop().call_soon(self._rx_failed, action.message)

    def _rx_answer(self, answer: Any, request: Any) -> None:
        self.pcscf.apply(self._core().handle_rx_answer(answer, request, self._now()))

    def _rx_failed(self, request: Any) -> None:
        self.pcscf.apply(self._core().handle_rx_failed(request, self._now()))

    def _rx_request(self, request: Any) -> Any:
        answer, actions = self._core().handle_rx_request(request)
        asyncio.get_running_loop().call_soon(self.pcscf.apply, actions)
        return answer

    async def stop(self) -> None:
        if self._pcrf is not None:
            self._pcrf.stop()
            self._pcrf = None
        for node in (self.pcscf, self.ecscf, self.scscf):
            await node.stop()

    def inject_cx_failure(self, failed: bool) -> None:
        """The home IMS cut off from its HSS (a disaster on the affected operator's side): the
        S-CSCF's Cx link is closed and each REGISTER it gets is answered 480 (TS 24.229
        §5.3.1.3); False connects it again."""
        if self.scscf.cx is not None:
            self.scscf.cx.set_down(failed)

    @property
    def pcscf_address(self) -> tuple[str, int]:
        return self.pcscf.host, self.pcscf.port

    @property
    def scscf_address(self) -> tuple[str, int]:
        return self.scscf.host, self.scscf.port

    def _emit(self, event: LogEvent) -> None:
        log_event(log, event)
        self.events.append(event)
        if len(self.events) > 10000:
            del self.events[:5000]
        if self._on_event is not None:
            self._on_event(event)
