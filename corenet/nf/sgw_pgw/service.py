"""asyncio S/P-GW: the S11 UDP socket (TS 29.274 §4.2, port 2123) around the sans-I/O core.

datagram -> peer screening -> GtpTransactions (sequence numbers, duplicates, §7.6) ->
SgwPgwCore -> responses; the core's Echo Requests go out through the same transaction layer.
At start the sessions of `cfg.database` are restored and the restart counter is chosen
(TS 23.007 §18): kept when they were, incremented when they could not be.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
from collections.abc import Callable
from typing import Any

from corenet.config.models import SgwPgwConfig
from corenet.core.actions import LogEvent
from corenet.core.logs import log_event
from corenet.nf.sgw_pgw.core import (
    Action,
    S11Answer,
    S11Malformed,
    S11NoAnswer,
    S11Request,
    SendRequest,
    SendResponse,
    Session,
    SgwPgwCore,
)
from corenet.nf.sgw_pgw.gx import AnswerGx, Enforce, GxAction, GxClient, SendGx
from corenet.nf.sgw_pgw.pcc import PccInstall, PccRemove, PccReport
from corenet.nf.sgw_pgw.store import MEMORY, SessionStore
from corenet.protocols.gtpv2c_recovery import load_restart_counter
from corenet.protocols.gtpv2c_transactions import (
    Event,
    GtpTransactions,
    MalformedRequest,
    RequestReceived,
    RequestTimedOut,
    ResponseReceived,
    VersionNotSupported,
)
from corenet.transport import Address, Tap
from corenet.transport.gtp import GtpEndpoint, OwnerTimer

log = logging.getLogger("corenet.sgw_pgw")
# reported as warnings: someone else than a configured MME talks GTP-C to us, or a path failed
OnEvent = Callable[[LogEvent], None]


def udp_tap(tap: Any) -> Tap | None:
    """A UDP tap, or an object offering one per transport (`PcapTap`: its `.udp`)."""
    if tap is None:
        return None
    chosen = getattr(tap, "udp", None)
    if callable(chosen):
        return chosen  # type: ignore[no-any-return]
    return tap if callable(tap) else None


class SgwPgwService:
    """The S/P-GW control plane serving S11 on `cfg.s11` (port 0 picks a free port)."""

    def __init__(self, cfg: SgwPgwConfig, *, tap: Tap | Any = None,
                 on_event: OnEvent | None = None, reproducible: bool = False,
                 seed: int | None = None) -> None:
        """`reproducible`: a seeded run; sessions are committed on the event loop, so the
        order of responses (and of the capture) does not depend on the writer thread."""
        self.cfg = cfg
        self._reproducible = reproducible
        self.store: SessionStore | None = None
        self.core = SgwPgwCore(cfg)
        self.transactions = GtpTransactions(t3_response_s=cfg.t3_response_s,
                                            n3_requests=cfg.n3_requests)
        self._tap = udp_tap(tap)
        self._on_event = on_event
        # where PCC rule outcomes go (the Gx session's Charging-Rule-Report, TS 29.212 §4.5.12)
        self.on_pcc_report: Callable[[PccReport], None] | None = None
        self._endpoint = GtpEndpoint(
            self.transactions, self._on_gtp, screen=self._screen,
            owner_timer=OwnerTimer(lambda: self.core.get_timer(), self._on_core_timer),
            hold=self._hold)
        # Gx to the PCRF (gx.py); without one, the static policy of the APN pools
        self.gx: GxClient | None = None
        self._pcrf: Any = None
        if cfg.pcrf is not None:
            self._start_gx(cfg, tap, seed)

    @property
    def sessions(self) -> dict[int, Session]:
        """Sessions by S11 S-GW TEID."""
        return self.core.sessions

    @property
    def local(self) -> Address:
        if not self._endpoint.is_open:
            raise RuntimeError("S/P-GW not started")
        return self._endpoint.local

    def session_by_ue_address(
        self, ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address
    ) -> Session | None:
        """UE address -> its session (IMSI, MSISDN, MEI, UIMSI, ...), e.g. for the P-CSCF."""
        return self.core.session_by_ue_address(ip)

    async def start(self) -> None:
        now = asyncio.get_running_loop().time()
        self.core, self.store = open_core(self.cfg, now, group_commit=not self._reproducible)
        await self._endpoint.open(self.cfg.s11.host, self.cfg.s11.port, tap=self._tap)
        self._emit(LogEvent("sgw.started", {"s11": f"{self.local[0]}:{self.local[1]}",
                                            "restart_counter": self.core.restart_counter,
                                            "restored_sessions": self.core.restored}))
        self._endpoint.pump()
        if self._pcrf is not None:
            self._pcrf.start()
            await self._pcrf.started()

    def _start_gx(self, cfg: SgwPgwConfig, tap: Any, seed: int | None) -> None:
        from corenet.codecs.diameter import GX_APPLICATION_ID
        from corenet.nf.pcrf.client import PcrfClient, client_ids

        link = cfg.pcrf
        assert link is not None
        ids = client_ids(link.origin_host, seed)
        self.gx = GxClient(link, ids, cfg.s11.host)
        self._pcrf = PcrfClient(
            link, GX_APPLICATION_ID, product="corenet-pgw", ids=ids,
            on_request=lambda req: self._gx_answer(req),
            on_answer=lambda answer, req: self._gx_apply(self._gx().on_answer(answer, req)),
            on_failed=lambda req, reason: self._emit(LogEvent("pgw.gx.failed", {
                "command": req.name, "reason": reason})),
            on_event=self._emit, tap=getattr(tap, "tcp", None) if tap is not None else None,
            seed=seed, backlog=1000)
        self.on_pcc_report = lambda report: self._gx_apply(self._gx().on_report(report))

    def _gx(self) -> GxClient:
        assert self.gx is not None
        return self.gx

    def _gx_answer(self, req: Any) -> Any:
        """RAR from the PCRF (TS 29.212 §4.5.2): its answer, after the rules were handed on."""
        actions = self._gx().on_request(req)
        self._gx_apply([a for a in actions if not isinstance(a, AnswerGx)])
        return next(a.message for a in actions if isinstance(a, AnswerGx))

    def _gx_apply(self, actions: list[GxAction]) -> None:
        for action in actions:
            if isinstance(action, SendGx):
                if not self._pcrf.request(action.message):
                    self._emit(LogEvent("pgw.gx.not_sent", {
                        "command": action.message.name, "reason": "PCRF not reachable"}))
            elif isinstance(action, Enforce):
                self.enforce_pcc(action.event)
            elif isinstance(action, LogEvent):
                self._emit(action)

    def _gx_follow(self, event: LogEvent) -> None:
        """PDN connections created or deleted by S11 (or released in bulk) open and close
        their Gx sessions (TS 29.212 §4.5.1, §4.5.7)."""
        gx = self.gx
        if gx is None:
            return
        if event.kind == "sgw.session.created":
            s = self.core.sessions.get(int(event.data.get("teid") or 0))
            if s is not None:
                self._gx_apply(gx.session_created(s))
        elif event.kind in ("sgw.session.deleted", "sgw.session.replaced"):
            self._gx_apply(gx.session_deleted(int(event.data.get("teid") or 0)))
        elif event.kind in ("sgw.path.down", "sgw.peer.restarted"):
            self._gx_apply(gx.keep_only(set(self.core.sessions)))

    async def stop(self) -> None:
        if self._pcrf is not None:
            self._pcrf.stop()
        self._endpoint.close()
        await self._endpoint.wait_closed()
        if self.store is not None:
            self.store.close()
            self.store = None

    def enforce_pcc(self, event: PccInstall | PccRemove) -> None:
        """PCC rules the PCRF installed or removed over Gx (pcc.py)."""
        now = asyncio.get_running_loop().time()
        self._apply(self.core.handle_pcc(event, now), now)
        # the Create / Delete Bearer Requests leave now, their T3-RESPONSE armed (§7.6)
        self._endpoint.pump()

    # -- the sans-I/O loop --------------------------------------------------------------------

    def _hold(self, release: Callable[[], None]) -> None:
        """Datagrams leave once the sessions they announce are committed (store.py)."""
        if self.store is None:
            release()
        else:
            self.store.after_durable(release)

    def _screen(self, data: bytes, addr: Address, now: float) -> bool:
        """Screened before the transaction layer: no Version Not Supported or cached response
        goes back to a host that is not one of our MMEs either."""
        refused = self.core.refuse(addr, now)
        if refused is None:
            return False
        self._apply(refused, now)
        return True

    def _on_core_timer(self, now: float) -> None:
        self._apply(self.core.handle_timer(now), now)

    def _on_gtp(self, event: Event, now: float) -> None:
        if isinstance(event, RequestReceived):
            self._apply(self.core.handle(S11Request(event.message, event.peer), now), now)
        elif isinstance(event, MalformedRequest):
            self._apply(self.core.handle(S11Malformed(event.error, event.peer), now), now)
        elif isinstance(event, ResponseReceived):
            self._apply(self.core.handle(
                S11Answer(event.message, event.peer, event.request), now), now)
        elif isinstance(event, RequestTimedOut | VersionNotSupported):
            self._apply(self.core.handle(S11NoAnswer(event.request, event.peer), now), now)
        else:
            self._emit(event)

    def _apply(self, actions: list[Action], now: float) -> None:
        for action in actions:
            if isinstance(action, SendResponse):
                self.transactions.send_response(action.message, action.peer, now)
            elif isinstance(action, SendRequest):
                self.transactions.send_request(action.message, action.peer, now,
                                               t3_response_s=action.t3_response_s)
            elif isinstance(action, PccReport):
                if self.on_pcc_report is not None:
                    self.on_pcc_report(action)
            else:
                self._emit(action)
                self._gx_follow(action)

    def _emit(self, event: LogEvent) -> None:
        log_event(log, event)
        if self._on_event is not None:
            self._on_event(event)


def open_core(cfg: SgwPgwConfig, now: float, *,
              group_commit: bool = True) -> tuple[SgwPgwCore, SessionStore]:
    """The core with the sessions of `cfg.database` restored, and its restart counter
    (TS 23.007 §18): unchanged when the database kept the sessions, incremented when it
    could not - "<database>.restart" outlives a lost database file; ':memory:' keeps nothing,
    the counter then comes from the clock."""
    persistent = cfg.database != MEMORY
    kept = persistent and os.path.exists(cfg.database)
    counter_file = cfg.database + ".restart" if persistent else None
    # a previous start may have left sessions with our MMEs: always so without a disk, and
    # when its counter file is there (a first start has none)
    earlier = counter_file is None or os.path.exists(counter_file)
    store = SessionStore(cfg.database, group_commit=group_commit)
    core = SgwPgwCore(cfg, store=store, restart_counter=0, now=now)
    if cfg.restart_counter is not None:
        core.restart_counter = cfg.restart_counter
        if counter_file is not None and not earlier:
            load_restart_counter(counter_file, state_kept=True)  # marks the first start
    else:
        core.restart_counter = load_restart_counter(counter_file, state_kept=kept)
    if earlier and not kept:
        core.announce_restart(now)
    return core, store
