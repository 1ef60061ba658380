"""asyncio PCRF: Diameter over TCP (RFC 6733 §2.1) around `PcrfCore`.

bytes -> DiameterPeer (CER/CEA, DWR/DWA, DPR/DPA, duplicates, error answers) -> PcrfCore (Gx
CCR, Rx AAR/STR) -> answers, and the requests they cause: Gx RAR to the P-GW holding the IP-CAN
session, Rx ASR/RAR to the P-CSCF holding the AF session, each on that peer's connection.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from corenet.codecs import diameter as dia
from corenet.config.models import Endpoint, PcrfConfig
from corenet.core.actions import LogEvent
from corenet.core.logs import log_event
from corenet.nf.hss.service import _peer_log, _pick_tap
from corenet.nf.pcrf.core import Action, PcrfCore, PcrfPolicy, SendAnswer, SendRequest
from corenet.protocols import diameter_peer as dp
from corenet.protocols.diameter_ids import start_ids
from corenet.transport import Address
from corenet.transport.base import MessageTransport, loop_clock
from corenet.transport.diameter import DiameterLink, DiameterListener

log = logging.getLogger("corenet.pcrf")

OnEvent = Callable[[LogEvent], None]
APPLICATIONS = ((dia.VENDOR_3GPP, dia.GX_APPLICATION_ID), (dia.VENDOR_3GPP, dia.RX_APPLICATION_ID))


class PcrfService:
    """The PCRF serving Gx and Rx on `cfg.listen` (port 0 picks a free port)."""

    def __init__(self, cfg: PcrfConfig, *, tap: Any = None,
                 on_event: OnEvent | None = None, seed: int | None = None) -> None:
        """`seed`: a reproducible run; the identifiers of the PCRF's own requests (RAR, ASR:
        RFC 6733 §3, §6.1) come from it."""
        self.cfg = cfg
        self._seed = seed
        self._ids = None if seed is None else start_ids(cfg.origin_host,
                                                        f"pcrf-diameter-ids:{seed}")
        self._tap = _pick_tap(tap, "tcp")
        self._on_event = on_event
        self.core = PcrfCore(cfg.origin_host, cfg.origin_realm, PcrfPolicy(
            emergency_apns=frozenset(a.lower() for a in cfg.emergency_apns),
            emergency_arp=cfg.emergency_arp, voice_arp=cfg.voice_arp))
        self._listener = DiameterListener(self._make_peer, self._on_peer_event)
        self._answers = dp.AnswerCache()

    @property
    def local(self) -> Address:
        return self._listener.local

    def local_endpoint(self) -> Endpoint:
        return Endpoint(host=str(self.local[0]), port=int(self.local[1]))

    async def start(self) -> None:
        await self._listener.start(self.cfg.listen.host, self.cfg.listen.port, tap=self._tap)
        self._emit(LogEvent("pcrf.started", {"listen": f"{self.local[0]}:{self.local[1]}"}))

    async def stop(self, timeout: float = 1.0) -> None:
        """DPR to every open peer (RFC 6733 §5.4, cause REBOOTING), then close."""
        await self._listener.stop(timeout, dia.DisconnectCause.REBOOTING)

    def _make_peer(self, conn: MessageTransport) -> dp.DiameterPeer:
        """The responder machine of an accepted connection (RFC 6733 §5.3, §5.6.1)."""
        config = dp.PeerConfig.serving(
            self.cfg.origin_host, self.cfg.origin_realm, conn.local[0], self.cfg.peers,
            vendor_specific_application_ids=APPLICATIONS, watchdog_s=self.cfg.watchdog_s,
            product_name="corenet-pcrf")
        rng = None if self._seed is None else random.Random(
            f"pcrf-diameter:{self._seed}:{conn.remote[0]}")
        return dp.DiameterPeer(config, dp.Role.RESPONDER, answers=self._answers,
                               remote_address=conn.remote[0], rng=rng, ids=self._ids)

    def _on_peer_event(self, link: DiameterLink, event: dp.PeerEvent) -> None:
        now = loop_clock()
        if isinstance(event, dp.RequestReceived):
            # the peer machine checked the request's ABNF (RFC 6733 §7.1.5)
            self._apply(self.core.handle(event.message, now, checked=True), link)
        elif isinstance(event, dp.AnswerReceived):
            self._apply(self.core.handle_answer(event.message, event.request, now), link)
        else:
            self._emit(_peer_log(link, event))

    def _apply(self, actions: list[Action], link: DiameterLink | None) -> None:
        for action in actions:
            if isinstance(action, SendAnswer):
                if link is not None:
                    link.send_answer(action.message)
            elif isinstance(action, SendRequest):
                # on the connection of the peer it names (RAR to the P-GW, ASR to the P-CSCF)
                if not self._listener.request_to(action.destination_host, action.message):
                    self._emit(LogEvent(f"pcrf.{action.message.name.lower()}.not_sent", {
                        "peer": action.destination_host, "reason": "peer not connected"}))
            else:
                self._emit(action)

    def _emit(self, event: LogEvent) -> None:
        log_event(log, event)
        if self._on_event is not None:
            self._on_event(event)
