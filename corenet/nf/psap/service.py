"""asyncio PSAP: the SIP stack (UDP and TCP, RFC 3261 §18), the call records and the timers
around the sans-I/O `PsapCore` (core.py), which decides everything.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corenet.codecs import sip
from corenet.codecs.sip import SipRequest
from corenet.config.models import PsapConfig
from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.core.logs import log_event
from corenet.core.timers import TimerTable
from corenet.nf.psap.core import (
    Action,
    CallBackFinished,
    CallBackRequested,
    Event,
    PsapCore,
    StoreCall,
)
from corenet.nf.psap.records import CallRecord, CallStore
from corenet.protocols.sip_transactions import Event as SipEvent
from corenet.protocols.sip_transactions import SipPeer
from corenet.protocols.sip_ua import SendFailed, SendRequest, SendResponse, SipIds, SipReceived
from corenet.transport.sip import SipStack

log = logging.getLogger("corenet.psap")

OnEvent = Callable[[LogEvent], None]


@dataclass(frozen=True)
class CallBackResult:
    outcome: str  # "answered" | "failed"
    sip_status: int | None


class PsapService:
    def __init__(self, cfg: PsapConfig, *, tap: Any = None, on_event: OnEvent | None = None,
                 clock: Callable[[], float] = time.time, ids: SipIds | None = None) -> None:
        self.core = PsapCore(cfg, ids=ids)
        self.store = CallStore(cfg.database)
        self.stack = SipStack(self._on_sip, udp_tap=None if tap is None else tap.udp,
                              tcp_tap=None if tap is None else getattr(tap, "tcp", None),
                              limits=sip.Limits(**cfg.sip_limits.model_dump()))
        self.events: list[LogEvent] = []
        self.answered = asyncio.Queue[CallRecord]()
        self._on_event = on_event
        self._clock = clock
        self._timers = TimerTable(self._on_timer)
        self._refs = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[CallBackResult]] = {}

    @property
    def cfg(self) -> PsapConfig:
        return self.core.cfg

    @cfg.setter
    def cfg(self, cfg: PsapConfig) -> None:
        """A new configuration (e.g. the call-back route) for the call-backs placed after."""
        self.core.cfg = cfg

    @property
    def local(self) -> tuple[str, int]:
        return self.stack.local

    @property
    def trusted(self) -> set[str]:
        return self.core.trusted

    async def start(self) -> None:
        await self.stack.start(self.cfg.listen.host, self.cfg.listen.port)  # UDP and TCP, §18
        self.core.local = self.local
        self._emit(LogEvent("psap.started", {"sip": f"{self.local[0]}:{self.local[1]}"}))

    async def stop(self) -> None:
        for fut in self._waiting.values():
            fut.cancel()
        self._timers.cancel_all()
        self.stack.close()
        await self.stack.wait_closed()
        self.store.close()

    def calls(self) -> list[CallRecord]:
        return self.store.all()

    async def call_back(self, record_id: int) -> CallBackResult:
        """Call the recorded identity back (core.py); the result is recorded."""
        rec = self.store.get(record_id)
        if rec is None:
            raise KeyError(record_id)
        ref = next(self._refs)
        fut: asyncio.Future[CallBackResult] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = fut
        try:
            self._feed(CallBackRequested(rec, ref))
            return await fut
        finally:
            self._waiting.pop(ref, None)

    # -- the core loop ----------------------------------------------------------------------

    def _on_sip(self, event: SipEvent, peer: SipPeer) -> None:
        self._feed(SipReceived(event, peer))

    def _on_timer(self, event: TimerExpired) -> None:
        self._feed(event)

    def _feed(self, event: Event) -> None:
        try:
            actions = self.core.handle(event, self._clock())
        except Exception:
            # a fault of ours on one message must not stop the PSAP serving the others
            log.exception("PSAP failed on %s", type(event).__name__)
            return
        for action in actions:
            self._apply(action)

    def _apply(self, action: Action) -> None:
        if isinstance(action, SendResponse):
            self.stack.send_response(action.response, action.peer)
        elif isinstance(action, SendRequest):
            self.stack.submit_request(action.request, action.peer, self._send_failed)
        elif isinstance(action, StartTimer | StopTimer):
            self._timers.apply(action)
        elif isinstance(action, StoreCall):
            self.store.add(action.record)
            self.answered.put_nowait(action.record)
            self._emit(LogEvent("psap.call.answered", action.record.to_json()))
        elif isinstance(action, CallBackFinished):
            if action.record_id is not None:
                self.store.set_callback(action.record_id, action.outcome, action.sip_status)
            fut = self._waiting.get(action.ref)
            if fut is not None and not fut.done():
                fut.set_result(CallBackResult(action.outcome, action.sip_status))
        else:
            self._emit(action)

    def _send_failed(self, request: SipRequest) -> None:
        self._feed(SendFailed(request))

    def _emit(self, event: LogEvent) -> None:
        log_event(log, event)
        self.events.append(event)
        if self._on_event is not None:
            self._on_event(event)
