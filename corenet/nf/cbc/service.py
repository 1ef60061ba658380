"""The CBC on real sockets: one SCTP association (PPID 24, TS 29.168 §4.1.3) to each MME, opened
by the CBC and re-opened after a loss, with the same TCP fallback as S1AP where the kernel has
no SCTP; a JSON-lines control endpoint for `corenet cbc send`. The logic is `CbcCore`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from corenet.codecs import sbcap
from corenet.codecs.base import Message
from corenet.config.models import CbcConfig, Endpoint
from corenet.control.api import ControlResult, error
from corenet.control.server import ControlServer
from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.core.timers import TimerTable
from corenet.nf.cbc import warnings
from corenet.nf.cbc.core import (
    Answered,
    CbcCore,
    Event,
    Indicated,
    MmeDown,
    MmeUp,
    SbcapReceived,
    Send,
    SendSbcap,
)
from corenet.transport import MessageTransport, Tap, open_sctp_client

log = logging.getLogger("corenet.cbc")
RECONNECT_S = 1.0


class CbcService:
    """`CbcService(cfg, tap=...)`; `start()` connects to the MMEs; `broadcast(kind)` sends."""

    def __init__(self, cfg: CbcConfig, *, tap: Any = None,
                 on_event: Callable[[LogEvent], None] | None = None) -> None:
        """`tap`: an SCTP tap, or a `PcapTap`-like object whose `.sctp` is one."""
        self.cfg = cfg
        self.core = CbcCore()
        self._tap: Tap | None = getattr(tap, "sctp", tap)
        self._on_event = on_event
        self._timers = TimerTable(self._feed)
        self._conns: dict[int, MessageTransport] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._up: dict[int, asyncio.Event] = {}
        self._stopping = False
        self._waiters: dict[tuple[int, tuple[int, int]], asyncio.Future[Message | None]] = {}
        self._control: ControlServer | None = None
        self._serial_code = 0
        self.answers: list[Answered] = []
        self.indications: list[Indicated] = []
        self.events: list[LogEvent] = []
        self._indicated = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, wait_s: float = 2.0) -> None:
        """Open the control endpoint, connect to every MME (waiting up to `wait_s` for the
        associations; the others keep being retried)."""
        self._stopping = False
        if self.cfg.control.port:
            self._control = ControlServer(self, self._apply_control)
            await self._control.start(self.cfg.control.host, self.cfg.control.port)
        for peer, ep in enumerate(self.cfg.mmes):
            self._up[peer] = asyncio.Event()
            self._tasks.append(asyncio.ensure_future(self._keep_connected(peer, ep)))
        if self._up:
            await asyncio.wait([asyncio.ensure_future(e.wait()) for e in self._up.values()],
                               timeout=wait_s)

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        for conn in self._conns.values():
            if not conn.closed:
                conn.close()
        self._conns.clear()
        self._timers.cancel_all()
        if self._control is not None:
            await self._control.stop()
            self._control = None

    @property
    def control_address(self) -> tuple[str, int] | None:
        return None if self._control is None else self._control.address

    def connected(self) -> int:
        return len(self.core.peers)

    async def _keep_connected(self, peer: int, ep: Endpoint) -> None:
        while not self._stopping:
            conn = self._conns.get(peer)
            if conn is None or conn.closed:
                try:
                    conn = await open_sctp_client(
                        ep.host, ep.port,
                        lambda c, data, ppid, stream: self._feed(SbcapReceived(peer, data)),
                        on_close=lambda c: self._closed(peer, c), tap=self._tap,
                        mode=self.cfg.sctp, local_host=self.cfg.local_host)
                except OSError as exc:
                    self._emit(LogEvent("cbc.connect.failed", {"mme": f"{ep.host}:{ep.port}",
                                                               "reason": str(exc)}))
                else:
                    self._conns[peer] = conn
                    self._feed(MmeUp(peer))
                    self._up[peer].set()
            await asyncio.sleep(RECONNECT_S)

    def _closed(self, peer: int, conn: MessageTransport) -> None:
        if self._conns.get(peer) is conn:
            self._conns.pop(peer, None)
            self._up[peer].clear()
            if not self._stopping:
                self._feed(MmeDown(peer))

    # ------------------------------------------------------------------ sending warnings

    def requests_for(self, kind: warnings.WarningKind, tacs: Sequence[int] = (),
                     text: str | None = None, repetition_s: int | None = None,
                     broadcasts: int | None = None) -> list[Message]:
        """The Write-Replace Warning Requests of this CBC's rescuer for `kind` (a new
        Message Code each time, TS 23.041 §9.4.1.2.1)."""
        self._serial_code = (self._serial_code + 1) % 1024
        cfg = self.cfg
        rescuer = warnings.rescuers(cfg.docomo_standard_id, cfg.evacuation_id,
                                    cfg.docomo_evacuation_id)[cfg.rescuer]
        return warnings.write_replace_requests(
            kind, rescuer, cfg.plmn, tacs, text,
            cfg.repetition_s if repetition_s is None else repetition_s,
            cfg.broadcasts if broadcasts is None else broadcasts, self._serial_code)

    async def send(self, requests: Sequence[Message], timeout: float = 10.0) -> list[Answered]:
        """Send to every MME that is up; each MME's response (None: none in time)."""
        loop = asyncio.get_running_loop()
        waits = []
        for request in requests:
            for peer in sorted(self.core.peers):
                fut: asyncio.Future[Message | None] = loop.create_future()
                self._waiters[(peer, (int(request.fields["Message-Identifier"]),
                                      int(request.fields["Serial-Number"])))] = fut
                waits.append((peer, request, fut))
        self._feed(Send(tuple(requests)))
        out = []
        for peer, request, fut in waits:
            key = (int(request.fields["Message-Identifier"]),
                   int(request.fields["Serial-Number"]))
            try:
                response = await asyncio.wait_for(fut, timeout)
            except TimeoutError:
                response = None
            finally:
                self._waiters.pop((peer, key), None)
            out.append(Answered(peer, key, response))
        return out

    async def wait_indications(self, name: str, count: int, timeout: float) -> list[Message]:
        """The indications named `name` received so far, once there are `count` of them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            got = [i.message for i in self.indications if i.message.name == name]
            left = deadline - loop.time()
            if len(got) >= count or left <= 0:
                return got
            self._indicated.clear()
            try:
                await asyncio.wait_for(self._indicated.wait(), left)
            except TimeoutError:
                pass

    # ------------------------------------------------------------------ control API

    def stop_requests(self) -> list[Message]:
        """A Stop Warning Request (TS 29.168 §4.4.4) for every warning being broadcast, to
        the tracking areas it was sent to, with a Stop Warning Indication asked for."""
        return [sbcap.stop_warning_request(
            mid, serial, req.fields.get("Warning-Area-List"), send_indication=True,
            tais=[(i["tai"]["pLMNidentity"], i["tai"]["tAC"])
                  for i in req.fields.get("List-of-TAIs", [])])
            for (mid, serial), req in sorted(self.core.active.items())]

    def handle(self, request: Any, now: float) -> ControlResult:
        """{"op": "send", "warning": KIND, "tacs": [..], "text": .., "repeat_s": N}, or
        {"op": "stop"}: stop every warning being broadcast."""
        if request.get("op") == "stop":
            reqs = self.stop_requests()
            ids = [int(r.fields["Message-Identifier"]) for r in reqs]
            return ControlResult({"ok": True, "message_identifiers": ids,
                                  "mmes": self.connected()},
                                 [Send(tuple(reqs))])  # type: ignore[list-item]
        if request.get("op") != "send":
            return error("op: 'send' or 'stop'")
        try:
            kind = warnings.WarningKind(request.get("warning"))
        except ValueError:
            return error(f"warning: one of {[k.value for k in warnings.WarningKind]}")
        tacs = request.get("tacs") or []
        if not isinstance(tacs, list) or not all(isinstance(t, int) for t in tacs):
            return error("tacs: a list of integers")
        text, repeat = request.get("text"), request.get("repeat_s")
        if text is not None and not isinstance(text, str):
            return error("text: a string")
        if repeat is not None and (not isinstance(repeat, int) or not 0 <= repeat <= 4095):
            return error("repeat_s: 0..4095")
        try:
            reqs = self.requests_for(kind, tacs, text, repeat)
        except ValueError as exc:
            return error(str(exc))
        ids = [int(r.fields["Message-Identifier"]) for r in reqs]
        return ControlResult({"ok": True, "message_identifiers": ids, "mmes": self.connected()},
                             [Send(tuple(reqs))])  # type: ignore[list-item]

    def _apply_control(self, action: Any) -> dict[str, Any] | None:
        self._feed(action)
        return None

    # ------------------------------------------------------------------ the core loop

    def _feed(self, event: Event) -> None:
        try:
            actions = self.core.handle(event, asyncio.get_running_loop().time())
        except Exception:
            log.exception("CBC failed on %s", type(event).__name__)
            return
        for action in actions:
            if isinstance(action, SendSbcap):
                conn = self._conns.get(action.peer)
                if conn is not None and not conn.closed:
                    conn.send(action.data, sbcap.PPID, 0)
            elif isinstance(action, StartTimer | StopTimer):
                self._timers.apply(action)
            elif isinstance(action, Answered):
                self.answers.append(action)
                fut = self._waiters.get((action.peer, action.key))
                if fut is not None and not fut.done():
                    fut.set_result(action.response)
            elif isinstance(action, Indicated):
                self.indications.append(action)
                self._indicated.set()
            elif isinstance(action, LogEvent):
                self._emit(action)

    def _emit(self, event: LogEvent) -> None:
        self.events.append(event)
        log.info("%s %s", event.kind, event.data)
        if self._on_event is not None:
            self._on_event(event)


__all__ = ["CbcService", "TimerExpired"]
