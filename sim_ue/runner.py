"""Run a population of simulated UEs over emulated eNBs against any MME.

UEs are spread over the eNBs round-robin (UE i on eNB i mod M, cell (i div M) mod cells), each
with a fixed eNB UE S1AP ID, so a run is deterministic for a seed whatever the MME's RANDs.
Procedures: attach (TS 23.401 §5.3.2.1), detach (§5.3.8.2), return home (TS 23.122 §4.4),
and `emergency`: the user's steps of the seed report for an emergency call on JPN-ROAM
(manual selection, a normal attach where the device tries one, then the emergency attach of
TS 24.301 §5.5.1.2.2 when the user dials). Each UE has a device profile (`sim_ue.devices`).
`call` places a call from every UE through its IMS user agent (`sim_ue.ims`), on its PDN
address; `answer_callbacks` keeps the agents listening so a PSAP call-back reaches the UE.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, overload

from corenet.cli.progress import advance
from corenet.config.models import EnbConfig
from corenet.config.subscribers import Subscriber, SubscriberEntry
from corenet.core.plmn import Plmn
from corenet.pcap import PcapTap
from corenet.protocols.sip_transactions import Timers
from corenet.protocols.sip_ua import SipIds
from corenet.transport import Tap
from corenet.transport.base import Address
from corenet.transport.sctp import Mode
from corenet.transport.sip import TransportName
from sim_ue.devices import DeviceMix, assign_devices
from sim_ue.enb import RECONNECT_MAX_S, RECONNECT_S, EnbService
from sim_ue.ims import (
    SIP_PORT,
    CallOutcome,
    CallResult,
    ImsUserAgent,
    Isim,
    UaAddressError,
    analyse_dialled,
    ims_domain,
    pani_for,
    pcscf_address,
    ua_address,
)
from sim_ue.pws import OnAir
from sim_ue.selection import (
    ReturnHome,
    SelectionMode,
    SelectionProfile,
    available_plmns,
    camp,
    plmn_by_name,
    return_home_plan,
    select_automatic,
    select_manual,
    suitable_cells,
)
from sim_ue.ue import (
    ACCESS_BARRED,
    T3346_RUNNING,
    Attach,
    CellInfo,
    Detach,
    Dial,
    EcmState,
    EmmState,
    PdnConnection,
    ProcedureDone,
    RequestPdn,
    ServiceRequest,
    Ue,
    UeResult,
    UeTimers,
    access_check,
    access_class_of,
)
from sim_ue.usim import Usim

AirRecorder = Callable[[OnAir], None]

DEFAULT_NETWORK_NAME = "JPN-ROAM X"
SHARD_ENB_STRIDE = 0x1000  # Global eNB IDs of shard I: the configured ones + I x this
# GSMA IR.92 §4.3: the well-known APN of IMS signalling
IMS_APN = "ims"
_CAMPED_KEPT = 1024  # (eNB, PLMN) pairs whose cells `Population._camped` keeps


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count`: UEs and eNBs split over processes or hosts, each shard a
    `sim-ue` of its own against the same MME.

    Subscriber i belongs to shard i mod count (each shard gets a like share of every range of
    the file). Every shard runs the configured eNBs under identities of its own: the Global
    eNB ID (TS 36.413 §9.2.1.37, 20 bits for a macro eNB) moved by index x SHARD_ENB_STRIDE
    and the name suffixed, so the MME sees distinct eNBs (TS 36.413 §8.7.3: S1 Setup)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: needs 0 <= I < N")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """"I/N", e.g. "0/4" for the first of four."""
        index, sep, count = text.partition("/")
        if not sep or not index.strip().isdigit() or not count.strip().isdigit():
            raise ValueError(f"shard {text!r}: expected I/N, e.g. 0/4")
        return cls(int(index), int(count))

    def subscribers(self, subscribers: Sequence[Subscriber]) -> list[Subscriber]:
        return list(subscribers[self.index::self.count])

    def enbs(self, enb_cfgs: Sequence[EnbConfig]) -> list[EnbConfig]:
        out = []
        for cfg in enb_cfgs:
            enb_id = cfg.global_enb_id + self.index * SHARD_ENB_STRIDE
            if enb_id > 0xFFFFF:
                raise ValueError(f"eNB {cfg.name}: shard {self.index} would need Global eNB ID "
                                 f"{enb_id:#x}, beyond 20 bits")
            name = cfg.name if self.count == 1 else f"{cfg.name}-s{self.index}"
            out.append(cfg.model_copy(update={"global_enb_id": enb_id, "name": name}))
        return out

    def seed(self, seed: int) -> int:
        """Each shard draws its own random values (TEIDs, S1AP IDs, ACB draws)."""
        return seed + self.index


class SubscriberRange(Sequence[Subscriber]):
    """The subscribers of one `SubscriberEntry` (consecutive IMSIs and MSISDNs), each built
    when it is read: a range of a million costs the entry, not a million records. Slices are
    ranges too (`subs[k::n]`, a shard's or a rescuer's share)."""

    __slots__ = ("entry", "_range")

    def __init__(self, entry: SubscriberEntry, indices: range | None = None) -> None:
        self.entry = entry
        self._range = range(entry.count) if indices is None else indices

    def __len__(self) -> int:
        return len(self._range)

    @overload
    def __getitem__(self, i: int) -> Subscriber: ...

    @overload
    def __getitem__(self, i: slice) -> SubscriberRange: ...

    def __getitem__(self, i: int | slice) -> Subscriber | SubscriberRange:
        if isinstance(i, slice):
            return SubscriberRange(self.entry, self._range[i])
        n = self._range[i]
        e = self.entry
        return Subscriber(
            imsi=str(int(e.imsi) + n).zfill(len(e.imsi)),
            msisdn=None if e.msisdn is None else str(int(e.msisdn) + n).zfill(len(e.msisdn)),
            k=e.k, op=e.op, opc=e.opc, amf=e.amf, sqn=e.sqn, ue_ambr_ul_bps=e.ue_ambr_ul_bps,
            ue_ambr_dl_bps=e.ue_ambr_dl_bps, apns=e.apns, default_apn=e.default_apn,
            allowed_visited_plmns=e.allowed_visited_plmns, imei=e.imei)

    def __iter__(self) -> Iterator[Subscriber]:
        for i in range(len(self._range)):
            yield self[i]

    def imsi(self, i: int) -> str:
        """The IMSI of subscriber i, without building the subscriber."""
        return str(int(self.entry.imsi) + self._range[i]).zfill(len(self.entry.imsi))


class _Member:
    """One UE of a population. In a lazy population (`Population(lazy=True)`) the member is
    a few slots until its UE is first needed (`ue`): only then are its USIM (Milenage keys,
    the SQN array of TS 33.102 Annex C) and EMM/ESM state built and the UE camped on its eNB
    with its fixed eNB UE S1AP ID."""

    __slots__ = ("index", "enb", "reason", "_ue", "_pop")

    def __init__(self, index: int, enb: EnbService, pop: Population,
                 ue: Ue | None = None) -> None:
        self.index = index
        self.enb = enb
        self.reason = ""
        self._pop = pop
        self._ue = ue

    @property
    def built(self) -> bool:
        return self._ue is not None

    @property
    def ue(self) -> Ue:
        if self._ue is None:
            self._ue = self._pop._build_ue(self.index, self.enb)
        return self._ue

    @property
    def profile(self) -> SelectionProfile:
        return self._pop.profile


class Population:
    """UEs with USIMs from `subscribers`, camped on the eNBs of `enb_cfgs`."""

    def __init__(self, subscribers: Sequence[Subscriber], enb_cfgs: Sequence[EnbConfig], *,
                 tap: Tap | None = None, concurrency: int = 32, seed: int = 1,
                 eea: Sequence[int] = (2, 0), eia: Sequence[int] = (2,),
                 selection: str = "manual", plmn: str | None = None,
                 home_plmn: str = "44010", network_name: str = DEFAULT_NETWORK_NAME,
                 sctp_mode: Mode = "auto", timeout: float = 60.0,
                 info_wait: float = 2.0, devices: DeviceMix | None = None,
                 pcscf: Address | None = None, pcscf_explicit: bool = False,
                 sip_tap: PcapTap | None = None, sip_port: int = SIP_PORT, sip_transport: TransportName = "UDP",
                 sip_timers: Timers | None = None, call_hold: float = 1.0,
                 timer_scale: float = 1.0, keep_log: bool = True,
                 ue_timers: UeTimers | None = None, reconnect_s: float | None = RECONNECT_S,
                 reconnect_max_s: float = RECONNECT_MAX_S, sip_seed: int | None = None,
                 air: AirRecorder | None = None, lazy: bool = False) -> None:
        """`pcscf`: the P-CSCF used when the PDN connection's PCO names none (TS 24.229
        §9.2.1), or in its place when `pcscf_explicit`; `sip_tap` records the IMS user agents' SIP; `call_hold`: seconds a call
        lasts before the UE hangs up; `timer_scale`: wall seconds per UE timer second (the
        barring timer and T3346: < 1 accelerates them); `ue_timers`: T3410 / T3411 / T3402 of
        every UE; `reconnect_s` / `reconnect_max_s`: the eNBs' back-off when the S1
        association is lost (None: no reconnection); `sip_seed`: the IMS user agents draw
        their Call-IDs, tags and branches from it (a reproducible capture), else at random;
        `air`: records the eNBs' broadcasts (sim_ue.pws.AirTap); `lazy`: each UE is built
        when it is first needed (`_Member`), and its barring draws come from the population's
        generator (a per-UE generator holds 2.5 KiB of state), so an idle UE costs bytes."""
        if not enb_cfgs:
            raise ValueError("at least one eNB is needed")
        self.subscribers: Sequence[Subscriber] = (
            subscribers if isinstance(subscribers, SubscriberRange) else list(subscribers))
        self.lazy = lazy
        self.enb_cfgs = list(enb_cfgs)
        self.concurrency = max(1, concurrency)
        self.seed = seed
        self.sip_seed = sip_seed
        self.mode = SelectionMode(selection)
        self.plmn = Plmn.parse(plmn) if plmn else None
        self.home = Plmn.parse(home_plmn)
        self.network_name = network_name
        self.timeout = timeout
        self.info_wait = info_wait
        self._eea, self._eia = tuple(eea), tuple(eia)
        self.devices = assign_devices(devices, len(self.subscribers), seed)
        rng = random.Random(f"sim-ue:{seed}")
        self.timer_scale = timer_scale
        self.ue_timers = ue_timers
        self.enbs = [EnbService(cfg, tap=tap, sctp_mode=sctp_mode,
                                first_teid=rng.randrange(1, 1 << 24), timer_scale=timer_scale,
                                keep_log=keep_log, reconnect_s=reconnect_s,
                                reconnect_max_s=reconnect_max_s, air=air)
                     for cfg in self.enb_cfgs]
        self._id_base = [rng.randrange(1, 1 << 16) for _ in self.enbs]
        self.members: list[_Member] = []
        self._draws = random.Random(f"acb:{seed}")  # a lazy population's barring draws
        # first accesses under manual selection: the PLMN selected per eNB
        self._manual_plmn: dict[int, Plmn | None] = {}
        # each eNB's cells of a PLMN as broadcast, for first accesses and attaches (`_camped`)
        self._camped_cells: dict[tuple[int, Plmn], tuple[list[Any], bytes, list[CellInfo]]] = {}
        self.profile = self._profile()
        self.pcscf = pcscf
        self.pcscf_explicit = pcscf_explicit
        self.sip_tap = sip_tap
        self.sip_port = sip_port
        self.sip_transport: TransportName = sip_transport
        self.sip_timers = sip_timers
        self.call_hold = call_hold
        self.agents: dict[int, ImsUserAgent] = {}
        # the UAs on the emergency PDN connections (TS 23.167 §6.2), apart from the normal ones
        self.emergency_agents: dict[int, ImsUserAgent] = {}
        self.calls: dict[int, CallResult] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """S1 Setup on every eNB, then the UEs camp (round-robin)."""
        started: list[EnbService] = []
        try:
            for enb in self.enbs:
                await enb.start()
                started.append(enb)
        except BaseException:
            for enb in started:
                await enb.stop()
            raise
        m = len(self.enbs)
        self.members = [_Member(i, self.enbs[i % m], self) for i in range(len(self.subscribers))]
        if not self.lazy:
            for member in self.members:
                member.ue  # noqa: B018 (built now)

    def _build_ue(self, i: int, enb: EnbService) -> Ue:
        """UE i with the USIM of subscriber i, camped on `enb` with eNB UE S1AP ID
        base + i div M (M eNBs)."""
        sub = self.subscribers[i]
        m = len(self.enbs)
        rng = self._draws if self.lazy else random.Random(f"acb:{self.seed}:{sub.imsi}")
        ue = Ue(Usim.from_subscriber(sub), eea=self._eea, eia=self._eia,
                device=self.devices[i], rng=rng, timers=self.ue_timers)
        enb.add_ue(ue, self._id_base[i % m] + i // m)
        return ue

    def first_access(self, member: _Member) -> ProcedureDone | None:
        """The first access of a UE not built yet, as its RRC layer makes it: EMM-DEREGISTERED,
        ECM-IDLE, no T3346 ever started, so the access barring check of TS 36.331 §5.3.3.11
        (with the SIB2 its cell broadcasts now) is all there is. None: the access passes
        (then `attach_obeying_barring(member, admitted=True)` builds the UE and attaches);
        else the outcome, barred with its Tbarring or no cell."""
        cell = self._broadcast_cell(member)
        if cell is None:
            return ProcedureDone("attach", False, None, member.reason)
        subs = self.subscribers
        imsi = (subs.imsi(member.index) if isinstance(subs, SubscriberRange)
                else subs[member.index].imsi)
        barred, wait = access_check(self._draws, imsi, (access_class_of(imsi),), cell, False)
        if not barred:
            return None
        member.reason = ACCESS_BARRED
        return ProcedureDone("attach", False, None, ACCESS_BARRED, wait_s=wait or None)

    def _broadcast_cell(self, member: _Member) -> CellInfo | None:
        """The cell `member` camps on with the SIB2 it broadcasts now. Manual selection
        depends only on the eNB's cells: the PLMN is selected once per eNB, and its cells as
        broadcast are `_camped`'s."""
        if self.mode is not SelectionMode.MANUAL:
            cell = self._cell(member)
            return None if cell is None else member.enb.core.system_information(cell)
        key = id(member.enb.core)
        if key in self._manual_plmn:
            plmn = self._manual_plmn[key]
        else:
            plmn = self._manual_plmn[key] = self._select_manual(member)
        cell = self._camped(member, plmn) if plmn else None
        if cell is None:
            member.reason = member.reason or "no suitable cell"
        return cell

    def _camped(self, member: _Member, plmn: Plmn) -> CellInfo | None:
        """`camp`'s cell for `member` with the SIB2 it broadcasts now (TS 36.331 §5.2.2.4):
        one CellInfo per eNB, PLMN and cell, shared by the UEs camped there (made anew when
        the eNB changes its SIB2 or its cells)."""
        core = member.enb.core
        key = (id(core), plmn)
        cached = self._camped_cells.get(key)
        if cached is None or cached[0] is not core.cells or cached[1] is not core.sib2:
            cells = [core.system_information(c.camp(plmn))
                     for c in suitable_cells(core.cells, plmn)]
            if not cells:
                return None
            if len(self._camped_cells) >= _CAMPED_KEPT:
                self._camped_cells.clear()
            cached = self._camped_cells[key] = (core.cells, core.sib2, cells)
        cells = cached[2]
        return cells[(member.index // len(self.enbs)) % len(cells)]

    def _cell(self, member: _Member) -> CellInfo | None:
        """The cell `member` camps on for its attach (PLMN selection, TS 23.122 §4.4)."""
        plmn = self._select(member)
        cell = camp(member.enb.core.cells, plmn, member.index // len(self.enbs)) if plmn else None
        if cell is None:
            member.reason = member.reason or "no suitable cell"
        return cell

    async def stop(self) -> None:
        for ua in (*self.agents.values(), *self.emergency_agents.values()):
            await ua.stop()
        self.agents.clear()
        self.emergency_agents.clear()
        for enb in self.enbs:
            await enb.stop()

    async def __aenter__(self) -> Population:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _profile(self) -> SelectionProfile:
        rescuer = self.plmn or self._first_visited()
        names = {rescuer: self.network_name} if rescuer else {}
        return SelectionProfile(hplmn=self.home, names=names)

    def _first_visited(self) -> Plmn | None:
        cells = [c for e in self.enbs for c in e.core.cells]
        return next((p for p in available_plmns(cells) if p != self.home), None)

    # ------------------------------------------------------------------ procedures

    def _select(self, member: _Member) -> Plmn | None:
        cells = member.enb.core.cells
        available = available_plmns(cells)
        if self.mode is SelectionMode.AUTOMATIC:
            rng = random.Random(f"sim-ue:{self.seed}:{member.index}")
            chosen = select_automatic(available, member.profile, rng)
            if (chosen is not None and chosen not in self._homes(member)
                    and not self.devices[member.index].auto_connect_roaming):
                # seed report: only some devices connect to JPN-ROAM automatically
                member.reason = "automatic selection does not connect to JPN-ROAM"
                return None
            return chosen
        return self._select_manual(member)

    def _select_manual(self, member: _Member) -> Plmn | None:
        """TS 23.122 §4.4.3.1.2: the user picks the network by its name ("JPN-ROAM X")."""
        available = available_plmns(member.enb.core.cells)
        chosen = self.plmn or plmn_by_name(available, member.profile, self.network_name)
        return select_manual(available, chosen) if chosen else None

    @staticmethod
    def _homes(member: _Member) -> tuple[Plmn, ...]:
        return (member.profile.hplmn, *member.profile.ehplmns)

    async def _attach_one(self, member: _Member, plmn: Plmn | None) -> None:
        cell = self._camped(member, plmn) if plmn else None
        if cell is None:
            member.reason = member.reason or "no suitable cell"
            member.ue.outcome = "no-service"
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        done = await member.enb.run(member.ue.key, Attach(cell), "attach", self.timeout)
        # TS 24.301 §5.5.1.2.6: after five failed attempts the UE itself attaches again when
        # T3402 expires; wait for that attempt while it fits in the time given
        while (not done.ok and member.ue.retry_timer == "T3402"
               and loop.time() + member.ue.timers.t3402_s * self.timer_scale < deadline):
            done = await member.enb.wait(member.ue.key, "attach", deadline - loop.time())
        member.reason = done.reason
        if not done.ok:
            # the network releases the connection after a reject (TS 23.401 §5.3.2.1): the
            # next procedure starts on a new one, not on the connection being released
            await self._released(member, wait=min(2.0, self.timeout))

    async def attach_obeying_barring(
            self, member: _Member, *, deadline: float | None = None,
            on_attempt: Callable[[_Member, ProcedureDone], None] | None = None,
            slot: AbstractAsyncContextManager[Any] | None = None,
            admitted: bool = False) -> ProcedureDone:
        """Attach `member`, obeying access class barring (TS 36.331 §5.3.3.11: after
        Tbarring the access is tried again) and T3346 (TS 24.301 §5.5.1.2.5: no attach while
        it runs); other failures end the attempt. `deadline` (loop time) bounds the waits;
        `on_attempt` sees each try's outcome; `slot`, when given, is held during each try
        only (not during the waits); `admitted`: the first try's access already passed the
        barring check (`first_access`)."""
        loop = asyncio.get_running_loop()
        while True:
            cell = self._cell(member)
            if cell is None:
                return ProcedureDone("attach", False, None, member.reason)
            attach = Attach(cell, admitted=admitted)
            admitted = False
            if slot is None:
                done = await member.enb.run(member.ue.key, attach, "attach", self.timeout)
            else:
                async with slot:
                    done = await member.enb.run(member.ue.key, attach, "attach", self.timeout)
            member.reason = done.reason
            if on_attempt is not None:
                on_attempt(member, done)
            waits = done.reason in (ACCESS_BARRED, T3346_RUNNING) or done.wait_s is not None
            if done.ok or not waits:
                return done
            pause = (done.wait_s or 1.0) * self.timer_scale
            if deadline is not None and loop.time() + pause > deadline:
                return done
            await asyncio.sleep(pause)

    async def attach(self) -> list[UeResult]:
        """Attach every UE (at most `concurrency` at a time), then give attached UEs up to
        `info_wait` seconds for EMM Information (TS 24.301 §5.4.5) to name the network."""
        sem = asyncio.Semaphore(self.concurrency)

        async def one(member: _Member) -> None:
            async with sem:
                member.reason = ""
                await self._attach_one(member, self._select(member))
            advance()

        await asyncio.gather(*(one(mb) for mb in self.members))
        await self._await_network_names()
        return self.results()

    async def _await_network_names(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.info_wait
        while loop.time() < deadline:
            waiting = [mb for mb in self.members
                       if mb.ue.registered_normally and mb.ue.network_name is None]
            if not waiting:
                return
            await asyncio.sleep(0.02)

    async def emergency(self, dialled: str = "119") -> list[UeResult]:
        """Every user needs to call `dialled` (seed report, "What the user sees and does":
        in emergency-only roaming the user must select the JAPAN Roaming network manually).

        Per UE: manual selection of JPN-ROAM by name (TS 23.122 §4.4.3.1.2); a device that
        tries normal service first attaches normally (accepted in full roaming; rejected in
        the emergency-only modes, leaving it in limited service, TS 24.301 §5.5.1.2.5); then
        the user dials: without a normal registration a capable device performs the
        emergency attach (TS 24.301 §5.5.1.2.2), a device that cannot do emergency-only
        roaming reports why. A device whose profile goes straight to the emergency attach
        skips the normal attach."""
        sem = asyncio.Semaphore(self.concurrency)

        async def one(member: _Member) -> None:
            async with sem:
                await self._emergency_one(member, dialled)
            advance()

        await asyncio.gather(*(one(mb) for mb in self.members))
        await self._await_network_names()
        return self.results()

    async def _emergency_one(self, member: _Member, dialled: str) -> None:
        ue, device = member.ue, member.ue.device
        plmn = self._select_manual(member)
        cell = camp(member.enb.core.cells, plmn, member.index // len(self.enbs)) if plmn else None
        if cell is None:
            member.reason = f"{self.network_name} not found"
            return
        on_it = ue.state is EmmState.REGISTERED and ue.registered_plmn == plmn
        if not on_it and device.manual_selection == "normal-attach-first" and device.usim:
            await self._attach_one(member, plmn)
            if ue.state is not EmmState.REGISTERED:
                # TS 23.401 §5.3.2.1: the MME releases the connection after Attach Reject;
                # the emergency attach opens a new one (RRC cause "emergency").
                await self._released(member, wait=min(2.0, self.timeout))
        done = await member.enb.run(ue.key, Dial(dialled, cell), "call", self.timeout)
        member.reason = "" if done.ok else done.reason

    async def detach(self, switch_off: bool = False) -> list[UeResult]:
        """UE-initiated detach of every registered UE (TS 24.301 §5.5.2.2)."""
        sem = asyncio.Semaphore(self.concurrency)

        async def one(member: _Member) -> None:
            if member.ue.state is not EmmState.REGISTERED:
                return
            async with sem:
                done = await member.enb.run(member.ue.key, Detach(switch_off), "detach",
                                            self.timeout)
                member.reason = done.reason

        await asyncio.gather(*(one(mb) for mb in self.members))
        return self.results()

    async def return_home(self, how: ReturnHome | str) -> list[UeResult]:
        """End roaming the user's way (TS 23.122 §4.4.3.1; airplane mode = switch-off detach
        and a fresh automatic selection). A UE whose home network is not on air stays where
        it is (manual home: no service for home, the roaming registration kept)."""
        how = ReturnHome(how)
        sem = asyncio.Semaphore(self.concurrency)

        async def one(member: _Member) -> None:
            available = available_plmns(member.enb.core.cells)
            switch_off, target = return_home_plan(how, available, member.profile,
                                                  member.ue.registered_plmn)
            if member.ue.emergency:
                # Seed report: an emergency-only user ends by selecting the home network; the
                # UE leaves JPN-ROAM (detach, TS 24.301 §5.5.2.2) whatever home's state.
                await self._leave_emergency(member, how, target)
                return
            async with sem:
                if switch_off and member.ue.state is EmmState.REGISTERED:
                    await member.enb.run(member.ue.key, Detach(True), "detach", self.timeout)
                    # TS 23.401 §5.3.8.2.1 step 6: the MME releases the S1 connection; the
                    # phone is off until then (power on opens a new RRC connection).
                    await self._released(member)
                if target is None:
                    member.reason = "home network not available"
                    return
                if target == member.ue.registered_plmn:
                    member.reason = "stays registered on " + str(target)
                    return
                await self._attach_one(member, target)

        await asyncio.gather(*(one(mb) for mb in self.members))
        return self.results()

    async def _leave_emergency(self, member: _Member, how: ReturnHome,
                               target: Plmn | None) -> None:
        switch_off = how is ReturnHome.AIRPLANE_MODE
        await member.enb.run(member.ue.key, Detach(switch_off), "detach", self.timeout)
        await self._released(member)
        if target is None or target not in self._homes(member):
            member.reason = "home network not available"
            return
        await self._attach_one(member, target)

    async def _released(self, member: _Member, wait: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        ctx = member.enb.core.ues.get(member.ue.key)
        while ctx is not None and ctx.connected and loop.time() < deadline:
            await asyncio.sleep(0.02)

    # ------------------------------------------------------------------ IMS calls

    async def call(self, dialled: str) -> list[dict[str, Any]]:
        """Every user dials `dialled`. An emergency number goes through `emergency` first
        (manual selection of JPN-ROAM and, without a normal registration, the emergency
        attach; the device may refuse, seed report "Known restrictions"), then the IMS UA
        places the call (TS 24.229 §5.1.6.8); a normal number needs normal service and an
        IMS registration (TS 24.229 §5.1.1.2, §5.1.2A.1). Per UE: {"imsi", "dialled",
        "outcome", "sip_status", "reason", "ua", ...}."""
        sem = asyncio.Semaphore(self.concurrency)

        async def one(member: _Member) -> None:
            async with sem:
                self.calls[member.index] = await self._call_one(member, dialled)

        await asyncio.gather(*(one(mb) for mb in self.members))
        return self.call_results()

    def call_results(self) -> list[dict[str, Any]]:
        out = []
        for mb in self.members:
            res = self.calls.get(mb.index)
            row = res.to_json() if res else CallResult("", CallOutcome.NOT_ATTEMPTED).to_json()
            out.append({"imsi": mb.ue.key, **row})
        return out

    async def _call_one(self, member: _Member, dialled: str) -> CallResult:
        ue = member.ue
        try:
            call = analyse_dialled(dialled, domain=ims_domain(self.home),
                                   emergency_numbers=ue.emergency_numbers)
        except ValueError as exc:
            return CallResult(dialled, CallOutcome.NOT_ATTEMPTED, reason=str(exc))
        if call.emergency:
            await self._emergency_one(member, dialled)
            if member.reason:
                return CallResult(dialled, self._refusal_outcome(member), reason=member.reason,
                                  request_uri=call.request_uri)
        elif not ue.registered_normally:
            # TS 23.401 §4.3.12.1: an emergency-only UE (or one without service) places no
            # normal call; the screen says "no service" (seed report)
            why = "emergency bearer services only" if ue.emergency else "no normal service"
            return CallResult(dialled, CallOutcome.NOT_ATTEMPTED, reason=why,
                              request_uri=call.request_uri)
        try:
            ua = await self._normal_agent(member)
        except (UaAddressError, OSError) as exc:
            return CallResult(dialled, CallOutcome.FAILED, reason=str(exc),
                              request_uri=call.request_uri)
        if not await self._user_plane(member):
            return CallResult(dialled, CallOutcome.FAILED, reason=member.reason,
                              request_uri=call.request_uri)
        if ue.registered_normally and not (ua.registration and ua.registration.registered):
            reg = await ua.register()
            if not reg.registered and not call.emergency:
                # TS 24.229 §5.1.6.8.2: an emergency call may still go unregistered
                outcome = CallOutcome.FAILED if reg.status is None else CallOutcome.REJECTED
                return CallResult(dialled, outcome, reg.status, reg.reason, call.request_uri,
                                  ua.ua)
        if call.emergency and ue.registered_normally and ue.emergency_bearer_support:
            # TS 23.167 §6.2, §7.1; TS 23.401 §4.3.12: on a network with emergency bearer
            # support the UE opens the emergency PDN connection and registers over it
            try:
                ua = await self._emergency_agent(member)
            except (UaAddressError, OSError) as exc:
                return CallResult(dialled, CallOutcome.FAILED, reason=str(exc),
                                  request_uri=call.request_uri)
        if call.emergency and ue.authenticated and ua.core.emergency_registration is None:
            # TS 24.229 §5.1.6.1 / TS 23.167 §7.1: an authenticated UE attempts an emergency
            # registration first; when it fails the call goes unregistered (§5.1.6.8.2)
            await self._user_plane(member)
            await ua.register(emergency=True)
        if not await self._user_plane(member):
            return CallResult(dialled, CallOutcome.FAILED, reason=member.reason,
                              request_uri=call.request_uri)
        return await ua.call(call)

    async def until_idle(self) -> None:
        """Wait until the eNBs' user inactivity timer (`EnbConfig.inactivity_release_s`) has
        released every registered UE to ECM-IDLE (TS 23.401 §5.3.5), so that what follows
        starts with a service request; at once when no eNB has the timer."""
        timers = [e.cfg.inactivity_release_s for e in self.enbs if e.cfg.inactivity_release_s]
        if not timers:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timers) + self.timeout
        while loop.time() < deadline and any(
                mb.ue.state is EmmState.REGISTERED and mb.ue.ecm is EcmState.CONNECTED
                for mb in self.members):
            await asyncio.sleep(0.05)

    async def _user_plane(self, member: _Member) -> bool:
        """Uplink user data pending (SIP over the ims or sos PDN connection): from ECM-IDLE
        the UE gets its bearers back by a service request first (TS 24.301 §5.6.1.1 a;
        TS 23.401 §5.3.4.1), keeping its PDN addresses; while connected the eNB sees the
        traffic (its user inactivity timer). False when the service request failed."""
        ue = member.ue
        if ue.state is not EmmState.REGISTERED:
            return True  # nothing to restore: the call goes as the UE can (or cannot)
        if ue.ecm is EcmState.CONNECTED:
            member.enb.activity(ue.key)
            return True
        done = await member.enb.run(ue.key, ServiceRequest(), "service", self.timeout)
        if not done.ok:
            member.reason = f"service request: {done.reason}"
        return done.ok

    async def _normal_agent(self, member: _Member) -> ImsUserAgent:
        """The UA of normal IMS signalling: on the `ims` PDN connection (GSMA IR.92 §4.3),
        which a normally registered UE requests first (TS 24.301 §6.5.1.2, request type
        "initial") unless its attach opened it; an emergency-attached UE has its emergency
        bearer only (TS 23.401 §4.3.12.1)."""
        ue = member.ue
        if not ue.registered_normally:
            return await self._agent(member)
        if ue.pdn_to(IMS_APN) is None:
            done = await member.enb.run(ue.key, RequestPdn(emergency=False, apn=IMS_APN), "pdn",
                                        self.timeout)
            if not done.ok:
                raise UaAddressError(f"no {IMS_APN} PDN connection: {done.reason}")
        return await self._agent(member, ue.pdn_to(IMS_APN))

    async def _emergency_agent(self, member: _Member) -> ImsUserAgent:
        """The UA on the emergency PDN connection, which the UE requests first (TS 24.301
        §6.5.1.2, request type "emergency") unless it has one."""
        ue = member.ue
        if ue.emergency_pdn is None:
            done = await member.enb.run(ue.key, RequestPdn(emergency=True), "pdn",
                                        self.timeout)
            if not done.ok:
                raise UaAddressError(f"no emergency PDN connection: {done.reason}")
        return await self._agent(member, ue.emergency_pdn, self.emergency_agents, "sos")

    @staticmethod
    def _refusal_outcome(member: _Member) -> CallOutcome:
        """The device refused to call (not attempted), or its emergency attach failed."""
        ue = member.ue
        if ue.state is EmmState.REGISTERED or ue.outcome in ("idle", "no-service"):
            return CallOutcome.NOT_ATTEMPTED
        device_refusals = (ue.device.emergency_only_reason(), "prefixed", "not found",
                           "no cell", "no USIM")
        if any(r and r in member.reason for r in device_refusals):
            return CallOutcome.NOT_ATTEMPTED
        return CallOutcome.FAILED

    async def _agent(self, member: _Member, pdn: PdnConnection | None = None,
                     agents: dict[int, ImsUserAgent] | None = None,
                     role: str = "ue") -> ImsUserAgent:
        """The UE's UA on the address of `pdn` (`ims.ua_address`; by default the attach's
        PDN connection); a new PDN address (a new attach) gets a new UA. The UE uses the
        bearer it has: the default bearer in full roaming, the emergency bearer when
        emergency-attached, the emergency PDN connection's (`role` "sos") when it opened
        one after the attach."""
        ue = member.ue
        pdn = pdn or ue.pdn
        agents = self.agents if agents is None else agents
        address = ua_address(pdn.ipv4 if pdn else None)
        ua = agents.get(member.index)
        if ua is not None and ua.address == address and ua.started:
            return ua
        if ua is not None:
            await ua.stop()
        # TS 24.008 §10.5.6.3: a P-CSCF address from the PDN connection's PCO, when present
        pcscf = pcscf_address(getattr(pdn, "pcscf", ()) or (), self.pcscf,
                              explicit=self.pcscf_explicit)
        if pcscf is None:
            raise UaAddressError("no P-CSCF address (none in PCO, none configured)")
        cell = ue.cell
        sub = self.subscribers[member.index]
        ua = ImsUserAgent(
            Isim.from_subscriber(sub, self.home, ue.usim.sqn), address, pcscf,
            port=self.sip_port,
            transport=self.sip_transport, timers=self.sip_timers, hold=self.call_hold,
            udp_tap=self.sip_tap.udp if self.sip_tap else None,
            tcp_tap=self.sip_tap.tcp if self.sip_tap else None,
            pani=pani_for(cell.plmn, cell.tac, cell.cell_id) if cell else None,
            rtp_port=40000 + 2 * (member.index % 10000), imei=ue.imeisv[:14],
            ids=SipIds.seeded(self.sip_seed, f"{role}:{sub.imsi}"))
        await ua.start()
        agents[member.index] = ua
        return ua

    async def answer_callbacks(self) -> list[str | None]:
        """Make every UE with a PDN connection reachable for a call-back (TS 23.167 §7.7):
        its UA listens on its PDN address, registered with the home IMS when the UE has
        normal service. Returns each UE's UA address ("ip:port"), None when it has none."""

        async def one(member: _Member) -> str | None:
            if member.ue.pdn is None:
                return None
            try:
                ua = await self._normal_agent(member)
            except (UaAddressError, OSError):
                return None
            if member.ue.registered_normally and not (ua.registration
                                                      and ua.registration.registered):
                await self._user_plane(member)
                await ua.register()
            return ua.ua

        return list(await asyncio.gather(*(one(mb) for mb in self.members)))

    async def wait_callbacks(self, count: int = 1, timeout: float = 5.0
                             ) -> list[list[dict[str, Any]]]:
        """Wait (at most `timeout` s) until every listening UA has ended `count` call-backs;
        per UE the call-backs it received."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if all(sum(1 for c in ua.callbacks if c.ended_by) >= count
                   for ua in self.agents.values()):
                break
            await asyncio.sleep(0.02)
        return self.callback_results()

    def callback_results(self) -> list[list[dict[str, Any]]]:
        return [[c.to_json() for c in self.agents[mb.index].callbacks]
                if mb.index in self.agents else [] for mb in self.members]

    def results(self, *, unattached_only: bool = False) -> list[UeResult]:
        """Every UE's result, or only those of UEs not attached now (a storm's report at its
        end: a result per attached UE would cost its hundreds of bytes, for every UE, at the
        moment the storm is largest)."""
        out = []
        for mb in self.members:
            if unattached_only and mb.built and mb.ue.state is EmmState.REGISTERED:
                continue
            if not mb.built:  # never tried beyond the barring check: idle, as it started
                sub = self.subscribers[mb.index]
                out.append(UeResult(imsi=sub.imsi, msisdn=sub.msisdn, attached=False,
                                    outcome="idle", enb=mb.enb.cfg.name, reason=mb.reason,
                                    device=self.devices[mb.index].name))
                continue
            ctx = mb.enb.core.ues.get(mb.ue.key)
            ambr = ctx.ue_ambr if ctx and mb.ue.state is EmmState.REGISTERED else None
            out.append(mb.ue.result(ue_ambr=ambr, enb=mb.enb.cfg.name,
                                    reason=mb.reason or mb.ue.reason))
        return out


async def attach_population(subscribers: Sequence[Subscriber], enb_cfgs: Sequence[EnbConfig],
                            *, tap: Tap | None = None, concurrency: int = 32, seed: int = 1,
                            detach_after: bool = False, **options: object) -> list[UeResult]:
    """Start the eNBs, attach every subscriber's UE, optionally detach, stop; the results
    are those after the attach. `options` are `Population` keyword arguments."""
    pop = Population(subscribers, enb_cfgs, tap=tap, concurrency=concurrency, seed=seed,
                     **options)  # type: ignore[arg-type]
    async with pop:
        results = await pop.attach()
        if detach_after:
            await pop.detach()
    return results


async def detach_population(pop: Population, *, switch_off: bool = False) -> list[UeResult]:
    """Detach every registered UE of a running population (TS 24.301 §5.5.2.2)."""
    return await pop.detach(switch_off)
