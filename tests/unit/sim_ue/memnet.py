"""The real cores wired in memory: sim_ue's UEs and eNBs, the MME, the HSS and the S/P-GW.

No socket and no clock: each core's `handle(event, now)` is fed by a small router that carries
every message through its codec (S1AP, Diameter, GTPv2-C encoded and decoded on the way, as on
the wire), keeps each core's timers, and moves a virtual clock to the next timer when nothing
is left to deliver. Time measured here is protocol time (timers), not machine time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from corenet.codecs import diameter as dia
from corenet.codecs import gtpv2c
from corenet.config.models import CorenetConfig
from corenet.config.subscribers import Subscriber, SubscriberEntry
from corenet.core.actions import LogEvent, StartTimer, StopTimer, TimerExpired
from corenet.core.plmn import Plmn
from corenet.nf.hss.s6a import S6aError, S6aServer, SendAnswer
from corenet.nf.hss.store import HssStore
from corenet.nf.mme import events as mme_ev
from corenet.nf.mme.core import MmeCore
from corenet.nf.sgw_pgw.core import (
    S11Answer,
    S11Request,
    SendRequest,
    SendResponse,
    SgwPgwCore,
)
from corenet.nf.sgw_pgw.pcc import PccInstall, PccRemove, PccReport
from sim_ue import enb as enb_ev
from sim_ue.devices import DeviceProfile
from sim_ue.selection import camp
from sim_ue.ue import Attach, Dial, ProcedureDone, Ue, UeEvent
from sim_ue.usim import Usim

K = "465b5ce8b199b49faa5f0a2ee238a6bc"
OPC = "cd63cb71954a9f4e48a5994e37a02baf"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def subscribers(count: int, first_imsi: str = "440100000000001") -> list[Subscriber]:
    entry = SubscriberEntry(imsi=first_imsi, count=count, msisdn="8190" + first_imsi[-8:],
                            k=K, opc=OPC)
    return list(entry.expand())


@dataclass
class Logged:
    node: str
    at: float
    kind: str
    data: dict[str, Any]


@dataclass
class MemNet:
    """One rescuer network (MME, HSS, S/P-GW) and `enbs` eNBs of sim_ue, in memory."""

    cfg: CorenetConfig = field(default_factory=CorenetConfig)
    now: float = START
    logs: list[Logged] = field(default_factory=list)
    done: list[tuple[float, str, ProcedureDone]] = field(default_factory=list)
    # hold S1AP from the MME to an eNB: (assoc, data) parked instead of delivered
    hold_downlink: Callable[[int, bytes], bool] | None = None
    held: list[tuple[int, bytes]] = field(default_factory=list)
    # S1AP from the MME to an eNB outside the network (assoc, data, stream), e.g. a socket
    s1_out: Callable[[int, bytes, int], None] | None = None
    # the next AIRs the HSS answers with DIAMETER_AUTHENTICATION_DATA_UNAVAILABLE (TS 29.272
    # §7.4.3), as a home HSS without vectors to give
    air_failures: int = 0

    def __post_init__(self) -> None:
        self.restart_mme()
        self.store = HssStore(":memory:")
        self.hss = S6aServer(self.store, origin_host=self.cfg.hss.origin_host,
                             origin_realm=self.cfg.hss.origin_realm,
                             random_bytes=lambda n: bytes(n))
        self.sgw = SgwPgwCore(self.cfg.sgw_pgw, now=self.now)
        self.mme_s11 = (self.cfg.mme.s11_local.host, self.cfg.mme.s11_local.port)
        self.enbs: dict[int, enb_ev.EnbCore] = {}
        self.ues: dict[str, tuple[int, Ue]] = {}
        self._queue: deque[tuple[str, Any]] = deque()
        self._timers: dict[tuple[str, str, Any], float] = {}
        self.pcc_reports: list[PccReport] = []
        self._sgw_sequence = 0x800000  # apart from the MME's own numbers
        self._sgw_requests: dict[int, Any] = {}

    def restart_mme(self) -> None:
        """A new MME process: every context and timer of the old one gone."""
        self.mme = MmeCore(self.cfg.mme)
        self.mme.told_time = lambda: START
        for key in [k for k in getattr(self, "_timers", {}) if k[0] == "mme"]:
            del self._timers[key]

    # ------------------------------------------------------------------ building it

    def add_enbs(self) -> None:
        """The configuration's eNBs, each through S1 Setup."""
        for assoc, cfg in enumerate(self.cfg.sim_ue.enbs, start=1):
            self.enbs[assoc] = enb_ev.EnbCore(cfg)
            self._to("mme", mme_ev.S1Up(assoc))
            self._to(f"enb{assoc}", enb_ev.S1Connected())
        self.run()

    def reconnect_enbs(self) -> None:
        """The eNBs' associations come up again (a restarted MME), each through S1 Setup."""
        for assoc in self.enbs:
            self._to("mme", mme_ev.S1Up(assoc))
            self._to(f"enb{assoc}", enb_ev.S1Connected())
        self.deliver()

    def add_ues(self, subs: list[Subscriber], device: DeviceProfile | None = None) -> list[Ue]:
        """Provisioned in the HSS and camped round-robin on the eNBs (USIMs of the same
        subscribers)."""
        self.store.provision(subs)
        out = []
        for i, sub in enumerate(subs):
            assoc = 1 + i % len(self.enbs)
            ue = Ue(Usim.from_subscriber(sub), device=device)
            self.enbs[assoc].add_ue(ue, 100 + i)
            self.ues[ue.key] = (assoc, ue)
            out.append(ue)
        return out

    def cell_for(self, ue: Ue, plmn: str = "44020") -> Any:
        assoc, _ = self.ues[ue.key]
        return camp(self.enbs[assoc].cells, Plmn.parse(plmn))

    def attach(self, ue: Ue, attach_type: int = 1) -> None:
        self.to_ue(ue, Attach(self.cell_for(ue), attach_type))

    def dial(self, ue: Ue, number: str = "119") -> None:
        self.to_ue(ue, Dial(number, self.cell_for(ue)))

    def to_ue(self, ue: Ue, event: UeEvent) -> None:
        assoc, _ = self.ues[ue.key]
        self._to(f"enb{assoc}", enb_ev.ToUe(ue.key, event))

    # ------------------------------------------------------------------ running it

    def run(self, until: Callable[[], bool] = lambda: False, max_s: float = 120.0) -> None:
        """Deliver everything; when idle, jump to the next timer; stop when `until()` holds
        with nothing left to deliver, after `max_s` of virtual time, or with no timer left."""
        end = self.now + max_s
        while True:
            while self._queue:
                target, event = self._queue.popleft()
                self._deliver(target, event)
            if until() or not self._timers:
                return
            (node, name, key), at = min(self._timers.items(), key=lambda kv: kv[1])
            if at > end:
                return
            del self._timers[(node, name, key)]
            self.now = max(self.now, at)
            self._to(node, TimerExpired(name, key))

    def deliver(self) -> None:
        """Everything queued, and what it causes, without moving the clock."""
        while self._queue:
            target, event = self._queue.popleft()
            self._deliver(target, event)

    def fire_due(self, now: float) -> None:
        """At `now`: every timer due by then expires, in order."""
        self.now = now
        for (node, name, key), at in sorted(self._timers.items(), key=lambda kv: kv[1]):
            if at <= now and self._timers.get((node, name, key)) == at:
                del self._timers[(node, name, key)]
                self._to(node, TimerExpired(name, key))
                self.deliver()

    def from_enb(self, assoc: int, data: bytes, stream: int, now: float) -> None:
        """S1AP from an eNB outside the network (a socket), at `now`."""
        self.now = now
        self._to("mme", mme_ev.S1apReceived(assoc, data, stream))
        self.deliver()

    def release_held(self) -> None:
        held, self.held = self.held, []
        for assoc, data in held:
            self._to(f"enb{assoc}", enb_ev.S1apReceived(data))

    def kinds(self, node: str | None = None) -> list[str]:
        return [e.kind for e in self.logs if node is None or e.node == node]

    # ------------------------------------------------------------------ the router

    def _to(self, target: str, event: Any) -> None:
        self._queue.append((target, event))

    def _deliver(self, target: str, event: Any) -> None:
        if target == "mme":
            self._from_mme(self.mme.handle(event, self.now))
        elif target == "hss":
            if event.name == "AIR" and self.air_failures > 0:
                self.air_failures -= 1
                answers = self.hss.reject(event, S6aError(
                    dia.ExperimentalResultCode.DIAMETER_AUTHENTICATION_DATA_UNAVAILABLE,
                    "no vectors", experimental=True))
            else:
                answers = self.hss.handle(event, self.now)
            for a in answers:
                if isinstance(a, SendAnswer):
                    self._to("mme", mme_ev.S6aAnswer(dia.decode(dia.encode(a.message))))
                elif isinstance(a, LogEvent):
                    self._log("hss", a)
        elif target == "sgw":
            self._from_sgw(self.sgw.handle(event, self.now))
        else:
            assoc = int(target[3:])
            self._from_enb(assoc, self.enbs[assoc].handle(event, self.now))

    def pcc(self, event: PccInstall | PccRemove) -> None:
        """PCC rules for the S/P-GW as its Gx side gives them; what it reports lands in
        `pcc_reports`."""
        self._from_sgw(self.sgw.handle_pcc(event, self.now))
        self.deliver()

    def _from_sgw(self, actions: list[Any]) -> None:
        sgw = (self.cfg.sgw_pgw.s11.host, self.cfg.sgw_pgw.s11.port)
        for g in actions:
            if isinstance(g, SendResponse):
                msg = gtpv2c.decode(gtpv2c.encode(g.message))
                self._to("mme", mme_ev.S11Received(msg, peer=sgw))
            elif isinstance(g, SendRequest):
                # numbered as the S/P-GW's transaction layer would (TS 29.274 §7.6)
                self._sgw_sequence += 1
                msg = gtpv2c.decode(gtpv2c.encode(replace(
                    g.message, fields={**g.message.fields, "sequence": self._sgw_sequence})))
                self._sgw_requests[self._sgw_sequence] = msg
                self._to("mme", mme_ev.S11Received(msg, peer=sgw))
            elif isinstance(g, PccReport):
                self.pcc_reports.append(g)
            elif isinstance(g, LogEvent):
                self._log("sgw", g)

    def _from_mme(self, actions: list[mme_ev.Action]) -> None:
        for a in actions:
            if isinstance(a, mme_ev.SendS1ap) and self.s1_out is not None:
                self.s1_out(a.assoc, a.data, a.stream)
            elif isinstance(a, mme_ev.SendS1ap):
                if self.hold_downlink is not None and self.hold_downlink(a.assoc, a.data):
                    self.held.append((a.assoc, a.data))
                else:
                    self._to(f"enb{a.assoc}", enb_ev.S1apReceived(a.data))
            elif isinstance(a, mme_ev.SendS6a):
                self._to("hss", dia.decode(dia.encode(a.msg)))
            elif isinstance(a, mme_ev.SendS11):
                msg = gtpv2c.decode(gtpv2c.encode(a.msg))
                request = self._sgw_requests.pop(int(msg.fields["sequence"]), None)
                if msg.name in ("CreateBearerResponse", "DeleteBearerResponse") and request:
                    self._to("sgw", S11Answer(msg, self.mme_s11, request))
                else:
                    self._to("sgw", S11Request(msg, self.mme_s11))
            elif isinstance(a, mme_ev.CloseS1):
                self._to("mme", mme_ev.S1Down(a.assoc))
                self._to(f"enb{a.assoc}", enb_ev.S1Closed())
            else:
                self._common("mme", a)

    def _from_enb(self, assoc: int, actions: list[Any]) -> None:
        for a in actions:
            if isinstance(a, enb_ev.SendS1ap):
                self._to("mme", mme_ev.S1apReceived(assoc, a.data, a.stream))
            elif isinstance(a, enb_ev.UeDone):
                self.done.append((self.now, a.imsi, a.done))
            else:
                self._common(f"enb{assoc}", a)

    def _common(self, node: str, a: Any) -> None:
        if isinstance(a, StartTimer):
            self._timers[(node, a.name, a.key)] = self.now + a.seconds
        elif isinstance(a, StopTimer):
            self._timers.pop((node, a.name, a.key), None)
        elif isinstance(a, LogEvent):
            self._log(node, a)

    def _log(self, node: str, a: LogEvent) -> None:
        self.logs.append(Logged(node, self.now, a.kind, dict(a.data)))
