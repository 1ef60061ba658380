"""Run a population of simulated UEs over emulated eNBs against any MME.

UEs are spread over the eNBs round-robin (UE i on eNB i mod M, cell (i div M) mod cells), each
with a fixed eNB UE S1AP ID, so a run is deterministic for a seed whatever the MME's RANDs.
Procedures: attach (TS 23.401 §5.3.2.1), detach (§5.3.8.2), return home (TS 23.122 §4.4).
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
from sim_ue.ue import Attach, Detach, EmmState, Ue, UeResult
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
                 info_wait: float = 2.0) -> None:
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
            ue = Ue(Usim.from_subscriber(sub), eea=self._eea, eia=self._eia)
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
            return select_automatic(available, member.profile, rng)
        chosen = self.plmn or plmn_by_name(available, member.profile, self.network_name)
        return select_manual(available, chosen) if chosen else None

    async def _attach_one(self, member: _Member, plmn: Plmn | None) -> None:
        cell = camp(member.enb.core.cells, plmn, member.index // len(self.enbs)) if plmn else None
        if cell is None:
            member.reason = "no suitable cell"
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
                await self._attach_one(member, self._select(member))

        await asyncio.gather(*(one(mb) for mb in self.members))
        await self._await_network_names()
        return self.results()

    async def _await_network_names(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.info_wait
        while loop.time() < deadline:
            waiting = [mb for mb in self.members
                       if mb.ue.state is EmmState.REGISTERED and mb.ue.network_name is None]
            if not waiting:
                return
            await asyncio.sleep(0.02)

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
            out.append(mb.ue.result(ue_ambr=ambr, enb=mb.enb.cfg.name))
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
