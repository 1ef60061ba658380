"""One rescuer of a storm: its S/P-GW and MME, the eNBs carrying the roamers and its own
subscribers, and the driver that makes the roamers try to attach (`RoamerDriver`).

The same code runs in the storm's own process (small storms, tests) and in a worker process
per rescuer (`corenet.orchestration.storm_worker`): what a driver observes is a `Tally`, which
the release controller reads directly or from the worker's reports.

A roamer that has not passed the access barring check yet is an index in a time bucket: its
UE (USIM, EMM/ESM state) is built by the population only when its access passes
(`Population.first_access`, TS 36.331 §5.3.3.11), so 100,000 barred roamers cost bytes each,
and no task waits for each of them.
"""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from corenet.config.models import (
    CorenetConfig,
    DiameterRoute,
    EnbConfig,
    Endpoint,
    MmeConfig,
    SgwPgwConfig,
)
from corenet.config.subscribers import Subscriber, SubscriberEntry
from corenet.core.plmn import Plmn
from corenet.runtime.supervisor import Runtime
from sim_ue.runner import Population, SubscriberRange
from sim_ue.ue import ACCESS_BARRED, T3346_RUNNING, ProcedureDone

HOME = Plmn.parse("44010")
RESCUER = Plmn.parse("44020")
# TS 35.208 test set 1 keys for generated subscribers
_K = "465b5ce8b199b49faa5f0a2ee238a6bc"
_OPC = "cd63cb71954a9f4e48a5994e37a02baf"
# TS 24.301 §5.5.1.2.6: the attach attempt counter's limit; T3411 between attempts
MAX_ATTEMPTS = 5
T3411_S = 10.0
# the resolution of the roamers' access times (barred roamers wait in buckets this wide)
TICK_S = 0.02
# first accesses checked between two turns of the event loop
CHUNK = 500


def subscribers(plmn: Plmn, count: int, msisdn_prefix: str) -> SubscriberRange:
    """`count` generated subscribers of `plmn` (each built when read)."""
    entry = SubscriberEntry(imsi=f"{plmn}0000000001", count=max(1, count),
                            msisdn=f"{msisdn_prefix}00000001", k=_K, opc=_OPC, amf="8000")
    return SubscriberRange(entry)[:count]


@dataclass(frozen=True)
class HssRoute:
    """Where an MME reaches an HSS (Diameter realm, host and transport address)."""

    realm: str
    host: str
    address: tuple[str, int]

    def route(self) -> DiameterRoute:
        return DiameterRoute(realm=self.realm, host=self.host,
                             peer=Endpoint(host=self.address[0], port=self.address[1]))


@dataclass
class Tally:
    """What a driver observed, since the storm started (`t0`, loop time): per second
    [attempts, barred, successes, failures] (an attempt is an Attach Request sent, i.e. an
    access that passed the barring check), accesses tried and barred so far, attach times,
    attach latencies, failures by cause, the rescuers' own subscribers."""

    t0: float = 0.0
    seconds: list[list[int]] = field(default_factory=list)
    tries: int = 0
    barred: int = 0
    finished: int = 0
    attached_at: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    failures_by_cause: dict[str, int] = field(default_factory=dict)
    own_attempted: int = 0
    own_attached: int = 0

    def second(self, now: float) -> list[int]:
        i = max(0, int(now - self.t0))
        while len(self.seconds) <= i:
            self.seconds.append([0, 0, 0, 0])
        return self.seconds[i]

    def count(self, now: float, column: int) -> None:
        self.second(now)[column] += 1


ATTEMPTS, BARRED, SUCCESSES, FAILURES = range(4)


class Rescuer:
    """One rescuer: its S/P-GW and MME (a runtime) on 127.<net>.<k+1>.0/24, its roamers and
    its own subscribers behind emulated eNBs."""

    def __init__(self, cfg: Any, k: int, homes: list[HssRoute], codec: str) -> None:
        self.cfg = cfg
        self.k = k
        self.homes = homes
        self.codec = codec
        self.runtime: Runtime | None = None
        self.roamers: Population | None = None
        self.own: Population | None = None

    def _ip(self, a: int, b: int) -> str:
        return f"127.{self.cfg.net}.{a}.{b}"

    def network(self) -> CorenetConfig:
        """Its S/P-GW and MME, free ports (the runtime points the MME at the S/P-GW's),
        Diameter routes to both HSSs."""
        a = self.k + 1
        sgw_pgw = SgwPgwConfig(
            s11=Endpoint(host=self._ip(a, 4), port=0), s1u_address=self._ip(a, 4),
            s5_address=self._ip(a, 5), mme_peers=[self._ip(a, 2)], database=":memory:")
        mme = MmeConfig(
            name=f"mme{a}.rescuer", origin_host=f"mme{a}.epc.mnc020.mcc440.3gppnetwork.org",
            mme_code=a, s1ap=Endpoint(host=self._ip(a, 2), port=0), sctp="fallback",
            s11_local=Endpoint(host=self._ip(a, 2), port=0),
            sgw=Endpoint(host=self._ip(a, 4), port=0), diameter_local_host=self._ip(a, 2),
            diameter_routes=[h.route() for h in self.homes], control=Endpoint(host=self._ip(a, 2), port=0))
        return CorenetConfig(codec=self.codec, sgw_pgw=sgw_pgw, mme=mme)  # type: ignore[arg-type]

    async def start(self, roamers: SubscriberRange | list[Subscriber],
                    own: SubscriberRange | list[Subscriber], factor: float | None) -> None:
        cfg, a = self.cfg, self.k + 1
        # seed None: the MME's own clock (its seeded clock is for reproducible captures)
        runtime = Runtime(self.network(), names=("sgw-pgw", "mme"))
        self.runtime = runtime
        await runtime.start()
        host, port = runtime.services["mme"].s1ap_address
        enbs = [EnbConfig(name=f"r{a}-enb{i + 1}", global_enb_id=(a << 8) | (i + 1),
                          tac=1 + i % 2, address=self._ip(a, 10 + i),
                          mme=Endpoint(host=host, port=port))
                for i in range(cfg.enbs)]
        own_enb = EnbConfig(name=f"r{a}-own", global_enb_id=(a << 8) | 0xFF, tac=1,
                            address=self._ip(a, 9), mme=Endpoint(host=host, port=port))
        common: dict[str, Any] = dict(sctp_mode="fallback", timeout=cfg.attach_timeout_s,
                                      info_wait=0.0, keep_log=False, timer_scale=cfg.timer_scale,
                                      selection="manual", plmn=str(RESCUER), lazy=True)
        self.roamers = Population(roamers, enbs, seed=cfg.seed + self.k, home_plmn=str(HOME),
                                  concurrency=cfg.concurrency, **common)
        self.own = Population(own, [own_enb], seed=cfg.seed + self.k, home_plmn=str(RESCUER),
                              **common)
        self.set_barring(factor)
        await self.roamers.start()
        await self.own.start()

    def set_barring(self, factor: float | None) -> list[bytes]:
        """ACB per PLMN on the roamers' cells only (TS 36.331 §6.3.1): the rescuer's own
        subscribers' cells broadcast none. Returns the SIB2 each eNB now broadcasts."""
        assert self.roamers is not None
        return [enb.set_barring(RESCUER, factor, self.cfg.barring_time_s)
                for enb in self.roamers.enbs]

    def pending(self) -> int:
        return 0 if self.runtime is None else int(self.runtime.services["mme"].core.pending_count())

    async def stop(self) -> None:
        for pop in (self.roamers, self.own):
            if pop is not None:
                await pop.stop()
        if self.runtime is not None:
            await self.runtime.stop()
        self.runtime = self.roamers = self.own = None


class _Slot:
    """The concurrency slot (RRC connections being set up), noting each try's start (attach
    latency) and counting the tries that are not first accesses (those were counted when
    their barring check passed)."""

    def __init__(self, sem: asyncio.Semaphore, tally: Tally) -> None:
        self.sem = sem
        self.tally = tally
        self.started = 0.0
        self.counted = True

    async def __aenter__(self) -> None:
        await self.sem.acquire()
        self.started = asyncio.get_running_loop().time()
        if not self.counted:
            self.tally.tries += 1
        self.counted = False

    async def __aexit__(self, *exc: object) -> None:
        self.sem.release()


class RoamerDriver:
    """Makes the roamers of one rescuer try to attach from `tally.t0` on, obeying the barring
    their cells broadcast, and the rescuer's own subscribers attach one after another."""

    def __init__(self, rescuer: Rescuer, tally: Tally, *,
                 on_finished: Callable[[], None] | None = None) -> None:
        assert rescuer.roamers is not None and rescuer.own is not None
        self.cfg = rescuer.cfg
        self.roamers = rescuer.roamers
        self.own = rescuer.own
        self.tally = tally
        self.on_finished = on_finished
        self._buckets: dict[int, array[int]] = {}
        # `concurrency` is the storm's, shared by its rescuers
        self._sem = asyncio.Semaphore(max(1, -(-self.cfg.concurrency // self.cfg.rescuers)))
        self._attaching: set[asyncio.Task[None]] = set()
        self._waiting = 0  # roamers in the buckets

    def _due(self, index: int, at: float) -> None:
        key = int(at / TICK_S)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = array("i")
        bucket.append(index)
        self._waiting += 1

    async def run(self, deadline: float | None) -> bool:
        """Until every roamer attached or gave up, or `deadline` (loop time); True when it
        ended by itself."""
        loop = asyncio.get_running_loop()
        own = asyncio.create_task(self._own(deadline))
        now = loop.time()
        for i in range(len(self.roamers.members)):  # every roamer tries at once
            self._due(i, now)
        try:
            while self._waiting or self._attaching:
                if deadline is not None and loop.time() >= deadline:
                    return False
                await self._turn(loop, deadline)
                await asyncio.sleep(TICK_S)
            await own
            return True
        finally:
            own.cancel()
            for task in (own, *self._attaching):
                task.cancel()
            await asyncio.gather(own, *self._attaching, return_exceptions=True)

    async def _turn(self, loop: asyncio.AbstractEventLoop, deadline: float | None) -> None:
        """The first accesses now due (TS 36.331 §5.3.3.11), a chunk per turn of the loop."""
        now = loop.time()
        limit = int(now / TICK_S)
        for key in sorted(k for k in self._buckets if k <= limit):
            bucket = self._buckets.pop(key)
            self._waiting -= len(bucket)
            for n, index in enumerate(bucket):
                self._first_access(index, now, deadline)
                if n % CHUNK == CHUNK - 1:
                    await asyncio.sleep(0)
                    now = loop.time()

    def _first_access(self, index: int, now: float, deadline: float | None) -> None:
        member = self.roamers.members[index]
        done = self.roamers.first_access(member)
        self.tally.tries += 1
        if done is None:
            task = asyncio.create_task(self._attach(member, deadline))
            self._attaching.add(task)
            task.add_done_callback(self._attaching.discard)
            return
        if done.reason != ACCESS_BARRED:  # no suitable cell: nothing to retry
            self._finished()
            return
        self.tally.barred += 1
        self.tally.count(now, BARRED)
        # §5.3.3.11: the access is tried again when Tbarring (on the UEs' clock) expires
        at = now + (done.wait_s or 1.0) * self.cfg.timer_scale
        if deadline is None or at <= deadline:
            self._due(index, at)

    def _finished(self) -> None:
        self.tally.finished += 1
        if self.on_finished is not None:
            self.on_finished()

    async def _attach(self, member: Any, deadline: float | None) -> None:
        """A roamer whose access passed: its UE is built and attaches; after a failure it
        tries again (T3411, TS 24.301 §5.5.1.2.6) up to MAX_ATTEMPTS, obeying barring and
        T3346 by itself."""
        loop = asyncio.get_running_loop()
        tally = self.tally
        slot = _Slot(self._sem, tally)

        def on_attempt(_m: Any, done: ProcedureDone) -> None:
            now = loop.time()
            if done.reason in (ACCESS_BARRED, T3346_RUNNING):
                tally.barred += 1
                tally.count(now, BARRED)
                return
            tally.count(now, ATTEMPTS)
            tally.latencies.append(now - slot.started)
            if done.ok:
                tally.count(now, SUCCESSES)
                tally.attached_at.append(now - tally.t0)
            else:
                tally.count(now, FAILURES)

        admitted = True
        try:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                done = await self.roamers.attach_obeying_barring(
                    member, deadline=deadline, on_attempt=on_attempt, slot=slot,
                    admitted=admitted)
                admitted = False
                if done.ok or done.reason in (ACCESS_BARRED, T3346_RUNNING):
                    return
                key = f"#{done.cause}" if done.cause is not None else (done.reason or "unknown")
                tally.failures_by_cause[key] = tally.failures_by_cause.get(key, 0) + 1
                if attempt < MAX_ATTEMPTS:
                    await asyncio.sleep(T3411_S * self.cfg.timer_scale)
        finally:
            self._finished()

    async def _own(self, deadline: float | None) -> None:
        """The rescuer's own subscribers attach one after another through the storm."""
        loop = asyncio.get_running_loop()
        for member in self.own.members:
            if deadline is not None and loop.time() >= deadline:
                return
            self.tally.own_attempted += 1
            done = await self.own.attach_obeying_barring(member, deadline=deadline)
            if done.ok:
                self.tally.own_attached += 1
            await asyncio.sleep(self.cfg.own_interval_s)

    def never_attached(self) -> list[dict[str, Any]]:
        """The roamers without an attach: {"imsi", "cause" (last EMM cause), "reason"}."""
        return [{"imsi": u.imsi, "cause": u.cause, "reason": u.reason or None}
                for u in self.roamers.results(unattached_only=True) if not u.attached]
