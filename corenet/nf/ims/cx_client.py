"""The S-CSCF's Cx link to the home HSS (TS 29.229 over RFC 6733), asyncio side.

One `DiameterConnector` (initiator, RFC 6733 §5.6) to the configured HSS, advertising Cx in its
CER. Requests of the sans-I/O core (`SendCx`) go out on it; answers, request timeouts (the peer
machine's own guard, RFC 6733 §5.5.4) and failovers come back to the core as
`handle_cx_answer` / `handle_cx_failure`. A request made while the link is not open fails at
once: the home HSS is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs.base import Message
from corenet.config.models import CxConfig
from corenet.core.actions import LogEvent
from corenet.protocols import diameter_peer as dp
from corenet.protocols.diameter_ids import DiameterIds
from corenet.transport.base import Tap
from corenet.transport.diameter import ConnectTarget, DiameterConnector, DiameterLink, initiators

log = logging.getLogger("corenet.ims.cx")

OnAnswer = Callable[[Message], None]
OnFailure = Callable[[str, str], None]


class CxClient:
    """Cx requests to the home HSS; `on_answer(answer)`, `on_failure(session_id, reason)`."""

    def __init__(self, cfg: CxConfig, local_host: str, on_answer: OnAnswer,
                 on_failure: OnFailure, on_event: Callable[[LogEvent], None], *,
                 tap: Tap | None = None, seed: int | None = None,
                 ids: DiameterIds | None = None) -> None:
        """`seed`: the Hop-by-Hop identifiers of a seeded run (reproducible); `ids`: the
        End-to-End identifiers (RFC 6733 §3) of this start-up."""
        self.cfg = cfg
        self._on_answer = on_answer
        self._on_failure = on_failure
        self._emit = on_event
        self._started = False
        self._waiting: dict[asyncio.Task[None], str] = {}  # requests awaiting the link
        local = cfg.local_host or local_host
        config = dp.PeerConfig(
            origin_host=cfg.origin_host, origin_realm=cfg.origin_realm,
            host_ip_addresses=(local,),
            vendor_specific_application_ids=((dia.VENDOR_3GPP, dia.CX_APPLICATION_ID),),
            watchdog_s=cfg.watchdog_s, request_timeout_s=cfg.request_timeout_s,
            product_name="corenet-scscf", expected_peer=cfg.hss_host)
        make_peer = initiators(config, cfg.hss.host,
                               None if seed is None else f"scscf-cx:{seed}", ids=ids)

        self.connector = DiameterConnector(
            ConnectTarget(cfg.hss.host, cfg.hss.port, local_host=local), make_peer,
            self._event, self._down, tap=tap)

    def start(self) -> None:
        self._started = True
        self.connector.start()

    def stop(self) -> None:
        self._started = False
        waiting, self._waiting = self._waiting, {}
        for task, sid in waiting.items():
            task.cancel()
            self._on_failure(sid, "Cx link closed")
        self.connector.stop()

    def set_down(self, down: bool) -> None:
        """The link to the home HSS lost (DPR, closed) or restored (connected again)."""
        if down:
            self.stop()
            self._emit(LogEvent("scscf.cx.failure.injected", {"peer": self.cfg.hss_host}))
        else:
            self.start()
            self._emit(LogEvent("scscf.cx.failure.restored", {"peer": self.cfg.hss_host}))

    def request(self, msg: Message) -> None:
        sid = str(dia.avp(msg, "Session-Id"))
        loop = asyncio.get_running_loop()
        link = self.connector.link
        connecting = not self.connector.attempted.is_set() or (
            link is not None and not link.conn.closed)
        if not self.connector.is_open and self._started and connecting:
            # a connection is being made (or its watchdog is in doubt, RFC 3539 §3.4.1): the
            # request waits for it to open, no longer than its own timeout
            self._waiting[loop.create_task(self._when_open(msg, sid))] = sid
            return
        if not self.connector.is_open:
            # the home HSS unreachable: the request fails now, not after a timeout
            loop.call_soon(self._on_failure, sid, "HSS not connected")
            return
        try:
            self.connector.request(msg)
        except dp.PeerNotOpen as exc:
            loop.call_soon(self._on_failure, sid, str(exc))

    async def _when_open(self, msg: Message, sid: str) -> None:
        task = asyncio.current_task()
        try:
            await asyncio.wait_for(self.connector.opened.wait(), self.cfg.request_timeout_s)
        except TimeoutError:
            self._on_failure(sid, "HSS not connected")
            return
        except asyncio.CancelledError:
            return  # stop() has reported it
        finally:
            if task is not None:
                self._waiting.pop(task, None)
        self.request(msg)

    def _event(self, link: DiameterLink, event: dp.PeerEvent) -> None:
        if isinstance(event, dp.AnswerReceived):
            self._on_answer(event.message)
        elif isinstance(event, dp.RequestTimedOut):
            self._on_failure(_sid(event.request), "request timeout")
        elif isinstance(event, dp.RequestsFailedOver):
            for req in event.requests:
                self._on_failure(_sid(req), event.reason)
        elif isinstance(event, dp.RequestReceived):
            # TS 29.229: RTR/PPR are not served here (RFC 6733 §7.1.3 3001)
            link.send_answer(dia.error_answer_message(
                event.message, dia.ResultCode.DIAMETER_COMMAND_UNSUPPORTED,
                self.cfg.origin_host, self.cfg.origin_realm))
        elif isinstance(event, dp.PeerOpened):
            self._emit(LogEvent("scscf.cx.open", {"peer": event.origin_host}))
        else:
            self._emit(LogEvent("scscf.cx.peer", {"event": type(event).__name__}))

    def _down(self, reason: str, error: Any) -> None:
        self._emit(LogEvent("scscf.cx.down", {"peer": self.cfg.hss_host, "reason": reason}))


def _sid(msg: Message) -> str:
    return str(dia.avp(msg, "Session-Id"))
