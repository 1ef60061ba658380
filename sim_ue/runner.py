"""Run a population of simulated UEs over emulated eNBs against any MME.

UEs are spread over the eNBs round-robin (UE i on eNB i mod M, cell (i div M) mod cells), each
with a fixed eNB UE S1AP ID, so a run is deterministic for a seed whatever the MME's RANDs.
Procedures: attach (TS 23.401 §5.3.2.1), detach (§5.3.8.2), return home (TS 23.122 §4.4),
and `emergency`: the user's steps of the seed report for an emergency call on JPN-ROAM
(manual selection, a normal attach where the device tries one, then the emergency attach of
TS 24.301 §5.5.1.2.2 when the user dials). Each UE has a device profile (`sim_ue.devices`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass

from corenet.config.models import EnbConfig
from corenet.config.subscribers import Subscriber
from corenet.core.plmn import Plmn
from corenet.transport import Tap
from corenet.transport.sctp import Mode
from sim_ue.devices import DeviceMix, assign_devices
from sim_ue.enb import EnbService
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
)
from sim_ue.ue import Attach, Detach, Dial, EmmState, Ue, UeResult
from sim_ue.usim import Usim

DEFAULT_NETWORK_NAME = "JPN-ROAM X"


@dataclass
class _Member:
    index: int
    ue: Ue
    enb: EnbService
    profile: SelectionProfile
    reason: str = ""


class Population:
    """UEs with USIMs from `subscribers`, camped on the eNBs of `enb_cfgs`."""

    def __init__(self, subscribers: Sequence[Subscriber], enb_cfgs: Sequence[EnbConfig], *,
                 tap: Tap | None = None, concurrency: int = 32, seed: int = 1,
                 eea: Sequence[int] = (2, 0), eia: Sequence[int] = (2,),
                 selection: str = "manual", plmn: str | None = None,
                 home_plmn: str = "44010", network_name: str = DEFAULT_NETWORK_NAME,
                 sctp_mode: Mode = "auto", timeout: float = 60.0,
                 info_wait: float = 2.0, devices: DeviceMix | None = None) -> None:
        if not enb_cfgs:
            raise ValueError("at least one eNB is needed")
        self.subscribers = list(subscribers)
        self.enb_cfgs = list(enb_cfgs)
        self.concurrency = max(1, concurrency)
        self.seed = seed
        self.mode = SelectionMode(selection)
        self.plmn = Plmn.parse(plmn) if plmn else None
        self.home = Plmn.parse(home_plmn)
        self.network_name = network_name
        self.timeout = timeout
        self.info_wait = info_wait
        self._eea, self._eia = tuple(eea), tuple(eia)
        self.devices = assign_devices(devices, len(self.subscribers), seed)
        rng = random.Random(f"sim-ue:{seed}")
        self.enbs = [EnbService(cfg, tap=tap, sctp_mode=sctp_mode,
                                first_teid=rng.randrange(1, 1 << 24))
                     for cfg in self.enb_cfgs]
        self._id_base = [rng.randrange(1, 1 << 16) for _ in self.enbs]
        self.members: list[_Member] = []

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
        for i, sub in enumerate(self.subscribers):
            enb = self.enbs[i % m]
            ue = Ue(Usim.from_subscriber(sub), eea=self._eea, eia=self._eia,
                    device=self.devices[i])
            enb.add_ue(ue, self._id_base[i % m] + i // m)
            self.members.append(_Member(i, ue, enb, self._profile()))

    async def stop(self) -> None:
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
                    and not member.ue.device.auto_connect_roaming):
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
        cell = camp(member.enb.core.cells, plmn, member.index // len(self.enbs)) if plmn else None
        if cell is None:
            member.reason = member.reason or "no suitable cell"
            member.ue.outcome = "no-service"
            return
        done = await member.enb.run(member.ue.key, Attach(cell), "attach", self.timeout)
        member.reason = done.reason

    async def attach(self) -> list[UeResult]:
        """Attach every UE (at most `concurrency` at a time), then give attached UEs up to
        `info_wait` seconds for EMM Information (TS 24.301 §5.4.5) to name the network."""
        sem = asyncio.Semaphore(self.concurrency)

        async def one(member: _Member) -> None:
            async with sem:
                member.reason = ""
                await self._attach_one(member, self._select(member))

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

    def results(self) -> list[UeResult]:
        out = []
        for mb in self.members:
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
