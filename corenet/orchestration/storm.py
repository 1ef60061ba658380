"""Re-attach storm: N roamers of the affected operator attach to K rescuers under a release
schedule (step ⑪, TS 36.331 §5.3.3.11 ACB per PLMN), with real messages on real sockets.

Per rescuer: its MME and S/P-GW, eNBs carrying the roamers (they broadcast the ACB per PLMN of
`release`) and one eNB carrying the rescuer's own subscribers, who keep attaching to their own
HSS during the storm. One home HSS (440-10) serves every rescuer: its AIRs per second are the
load the release schedule must keep under the HSS capacity. Everything runs in one process on
loopback addresses with free ports; the UEs' back-off timers (barring, T3346) run on an
accelerated clock (`timer_scale`), the network at its real speed.
"""

from __future__ import annotations

import asyncio
import math
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from corenet.activation.release import Load, Schedule, parse_schedule
from corenet.codecs.selection import codec_level
from corenet.config.models import (
    CorenetConfig,
    DiameterRoute,
    EnbConfig,
    Endpoint,
    HssConfig,
    MmeConfig,
    SgwPgwConfig,
)
from corenet.config.subscribers import Subscriber, SubscriberEntry
from corenet.core.plmn import Plmn
from corenet.runtime.supervisor import Runtime
from sim_ue.runner import Population
from sim_ue.ue import ACCESS_BARRED, T3346_RUNNING, ProcedureDone

HOME = Plmn.parse("44010")
RESCUER = Plmn.parse("44020")
# TS 35.208 test set 1 keys for generated subscribers
_K = "465b5ce8b199b49faa5f0a2ee238a6bc"
_OPC = "cd63cb71954a9f4e48a5994e37a02baf"
# TS 24.301 §5.5.1.2.6: the attach attempt counter's limit; T3411 between attempts
MAX_ATTEMPTS = 5
T3411_S = 10.0

Progress = Callable[["StormProgress"], None]


@dataclass(frozen=True)
class StormConfig:
    ues: int = 2000
    rescuers: int = 1
    release: str = "auto"
    hss_capacity_air_per_s: float = 40.0
    own_ues: int = 20  # the rescuers' own subscribers attaching during the storm (in all)
    own_interval_s: float = 0.5  # one own subscriber starts an attach every this often
    seed: int = 1
    concurrency: int = 400  # attaches in progress at once (RRC connections being set up)
    timer_scale: float = 0.25  # wall seconds per UE back-off timer second
    barring_time_s: int = 4  # ac-BarringTime (TS 36.331 §6.3.1)
    enbs_per_rescuer: int = 2
    max_duration_s: float | None = None  # stop there (what is attached by then counts)
    attach_timeout_s: float = 60.0
    net: int = 77  # the 127.<net>.0.0/16 block the run binds to


@dataclass(frozen=True)
class StormProgress:
    elapsed_s: float
    ues: int
    attached: int
    finished: int
    factor: float | None
    air_per_s: float


@dataclass
class _Second:
    attempts: int = 0  # accesses that passed the barring check (an Attach Request was sent)
    barred: int = 0
    successes: int = 0
    failures: int = 0
    air: int = 0
    factor: float | None = None


@dataclass
class StormResult:
    cfg: StormConfig
    schedule: str
    wall_s: float = 0.0
    attached_at: list[float] = field(default_factory=list)  # seconds from the start, sorted
    latencies: list[float] = field(default_factory=list)  # per Attach Request, to its outcome
    seconds: list[_Second] = field(default_factory=list)
    failures_by_cause: dict[str, int] = field(default_factory=dict)
    own_attempted: int = 0
    own_attached: int = 0
    stopped_early: bool = False
    # roamers without an attach at the end: {"imsi", "cause" (last EMM cause), "reason"}
    never_attached: list[dict[str, Any]] = field(default_factory=list)

    def t_fraction(self, fraction: float) -> float | None:
        need = math.ceil(fraction * self.cfg.ues)
        if need == 0 or len(self.attached_at) < need:
            return None
        return round(self.attached_at[need - 1], 3)

    @property
    def peak_air_per_s(self) -> int:
        return max((s.air for s in self.seconds), default=0)

    def percentile(self, q: float) -> float | None:
        if not self.latencies:
            return None
        data = sorted(self.latencies)
        return round(data[min(len(data) - 1, int(q * len(data)))], 4)

    def kpis(self) -> dict[str, Any]:
        own = (self.own_attached / self.own_attempted) if self.own_attempted else None
        return {
            "ues": self.cfg.ues, "attached": len(self.attached_at),
            "t50_s": self.t_fraction(0.5), "t90_s": self.t_fraction(0.9),
            "t99_s": self.t_fraction(0.99), "peak_air_per_s": self.peak_air_per_s,
            "hss_capacity_air_per_s": self.cfg.hss_capacity_air_per_s,
            "failures_by_cause": dict(sorted(self.failures_by_cause.items())),
            "own_subscribers_success_rate": None if own is None else round(own, 4),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self.kpis(), "release": self.schedule, "rescuers": self.cfg.rescuers,
            "seed": self.cfg.seed, "wall_s": round(self.wall_s, 3),
            # the peak resident set of this process (Linux reports ru_maxrss in KiB)
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "stopped_early": self.stopped_early,
            "own_subscribers": {"attempted": self.own_attempted, "attached": self.own_attached},
            "latency_s": {f"p{int(q * 100)}": self.percentile(q) for q in (0.5, 0.9, 0.99)},
            "timer_scale": self.cfg.timer_scale, "barring_time_s": self.cfg.barring_time_s,
            "per_second": [{"t": i, "attempts": s.attempts, "barred": s.barred,
                            "successes": s.successes, "failures": s.failures, "air": s.air,
                            "factor": 1.0 if s.factor is None else s.factor}
                           for i, s in enumerate(self.seconds)],
            "never_attached": self.never_attached,
        }


def subscribers(plmn: Plmn, count: int, msisdn_prefix: str) -> list[Subscriber]:
    if count <= 0:
        return []
    entry = SubscriberEntry(imsi=f"{plmn}0000000001", count=count, msisdn=f"{msisdn_prefix}00000001",
                            k=_K, opc=_OPC, amf="8000")
    return list(entry.expand())


@dataclass
class _Rescuer:
    runtime: Runtime  # its S/P-GW and MME
    roamers: Population
    own: Population

    @property
    def mme(self) -> Any:
        return self.runtime.services["mme"]


class Storm:
    """The network of one storm run, then the run itself (`run`)."""

    def __init__(self, cfg: StormConfig, *, progress: Progress | None = None) -> None:
        if cfg.ues < 1 or cfg.rescuers < 1:
            raise ValueError("a storm needs at least one UE and one rescuer")
        self.cfg = cfg
        # the UEs' barring timers run on the accelerated clock: the controller's view of them
        self.schedule: Schedule = parse_schedule(
            cfg.release, capacity_air_per_s=cfg.hss_capacity_air_per_s,
            barring_time_s=cfg.barring_time_s * cfg.timer_scale)
        self.progress = progress
        self.home: Runtime | None = None  # the affected operator's HSS
        self.own: Runtime | None = None  # the rescuers' own HSS
        self.rescuers: list[_Rescuer] = []
        self.factor: float | None = None
        self._tries = [0]  # roamers' accesses tried (barred or not)

    def _ip(self, a: int, b: int) -> str:
        return f"127.{self.cfg.net}.{a}.{b}"

    # ------------------------------------------------------------------ network

    @property
    def home_hss(self) -> Any:
        assert self.home is not None
        return self.home.services["hss"]

    def _network(self, **sections: Any) -> CorenetConfig:
        """One network of the storm as a configuration the runtime starts (the process's codec
        level kept)."""
        return CorenetConfig(codec=codec_level().value, **sections)

    async def _start_hss(self, plmn: Plmn, host: str, subs: list[Subscriber],
                         capacity: float | None = None) -> Runtime:
        runtime = Runtime(self._network(hss=_hss_config(plmn, host, capacity)), names=("hss",))
        await runtime.start()
        runtime.services["hss"].store.provision(subs)
        return runtime

    async def start(self) -> None:
        cfg = self.cfg
        roamers = subscribers(HOME, cfg.ues, "8190")
        own = subscribers(RESCUER, cfg.own_ues, "8180")
        # the home HSS enforces its capacity (3004 and DOIC beyond it, corenet.nf.hss.overload)
        self.home = await self._start_hss(HOME, self._ip(0, 3), roamers,
                                          self.cfg.hss_capacity_air_per_s)
        self.own = await self._start_hss(RESCUER, self._ip(0, 13), own)
        for k in range(cfg.rescuers):
            await self._start_rescuer(k, roamers[k::cfg.rescuers], own[k::cfg.rescuers])

    def _rescuer_network(self, a: int) -> CorenetConfig:
        """Rescuer `a`: its S/P-GW and MME on 127.<net>.<a>.0/24, free ports (the runtime
        points the MME at the S/P-GW's), Diameter routes to both HSSs."""
        assert self.home is not None and self.own is not None
        hsss = (self.home.services["hss"], self.own.services["hss"])
        routes = [DiameterRoute(realm=h.cfg.origin_realm, host=h.cfg.origin_host,
                                peer=Endpoint(host=h.local[0], port=h.local[1]))
                  for h in hsss]
        sgw_pgw = SgwPgwConfig(
            s11=Endpoint(host=self._ip(a, 4), port=0), s1u_address=self._ip(a, 4),
            s5_address=self._ip(a, 5), mme_peers=[self._ip(a, 2)], database=":memory:")
        mme = MmeConfig(
            name=f"mme{a}.rescuer", origin_host=f"mme{a}.epc.mnc020.mcc440.3gppnetwork.org",
            mme_code=a, s1ap=Endpoint(host=self._ip(a, 2), port=0), sctp="fallback",
            s11_local=Endpoint(host=self._ip(a, 2), port=0),
            sgw=Endpoint(host=self._ip(a, 4), port=0), diameter_local_host=self._ip(a, 2),
            diameter_routes=routes, control=Endpoint(host=self._ip(a, 2), port=0))
        return self._network(sgw_pgw=sgw_pgw, mme=mme)

    async def _start_rescuer(self, k: int, roamers: list[Subscriber],
                             own: list[Subscriber]) -> None:
        cfg, a = self.cfg, k + 1
        # seed None: the MME's own clock (its seeded clock is for reproducible captures)
        runtime = Runtime(self._rescuer_network(a), names=("sgw-pgw", "mme"))
        try:
            await runtime.start()
        except BaseException:
            await runtime.stop()
            raise
        host, port = runtime.services["mme"].s1ap_address
        enbs = [EnbConfig(name=f"r{a}-enb{i + 1}", global_enb_id=(a << 8) | (i + 1),
                          tac=1 + i % 2, address=self._ip(a, 10 + i),
                          mme=Endpoint(host=host, port=port))
                for i in range(cfg.enbs_per_rescuer)]
        own_enb = EnbConfig(name=f"r{a}-own", global_enb_id=(a << 8) | 0xFF, tac=1,
                            address=self._ip(a, 9), mme=Endpoint(host=host, port=port))
        common: dict[str, Any] = dict(sctp_mode="fallback", timeout=cfg.attach_timeout_s,
                                      info_wait=0.0, keep_log=False, timer_scale=cfg.timer_scale,
                                      selection="manual", plmn=str(RESCUER))
        roam_pop = Population(roamers, enbs, seed=cfg.seed, home_plmn=str(HOME),
                              concurrency=cfg.concurrency, **common)
        own_pop = Population(own or subscribers(RESCUER, 0, "8180"), [own_enb],
                             seed=cfg.seed, home_plmn=str(RESCUER), **common)
        self.rescuers.append(_Rescuer(runtime, roam_pop, own_pop))
        self._apply_barring_to(roam_pop, self.schedule.factor(0.0, None))
        await roam_pop.start()
        await own_pop.start()

    async def stop(self) -> None:
        for r in self.rescuers:
            for pop in (r.roamers, r.own):
                await pop.stop()
            await r.runtime.stop()
        self.rescuers.clear()
        for runtime in (self.home, self.own):
            if runtime is not None:
                await runtime.stop()
        self.home = self.own = None

    # ------------------------------------------------------------------ barring

    def _apply_barring_to(self, pop: Population, factor: float | None) -> None:
        """ACB per PLMN on the roamers' cells only (TS 36.331 §6.3.1): the rescuer's own
        subscribers' cells broadcast none."""
        for enb in pop.enbs:
            enb.set_barring(RESCUER, factor, self.cfg.barring_time_s)

    def _set_factor(self, factor: float | None) -> None:
        if factor == self.factor:
            return
        self.factor = factor
        for r in self.rescuers:
            self._apply_barring_to(r.roamers, factor)

    def _pending(self) -> int:
        return sum(r.mme.core.pending_count() for r in self.rescuers)

    # ------------------------------------------------------------------ the run

    async def run(self) -> StormResult:
        cfg, loop = self.cfg, asyncio.get_running_loop()
        res = StormResult(cfg, getattr(self.schedule, "name", cfg.release))
        t0 = loop.time()
        wall0 = time.perf_counter()
        self.factor = self.schedule.factor(0.0, None)
        self._set_factor(self.factor)
        deadline = None if cfg.max_duration_s is None else t0 + cfg.max_duration_s

        def second(now: float) -> _Second:
            i = int(now - t0)
            while len(res.seconds) <= i:
                res.seconds.append(_Second(factor=self.factor))
            return res.seconds[i]

        slot = asyncio.Semaphore(cfg.concurrency)
        tasks = [asyncio.create_task(self._roamer(r.roamers, m, res, second, slot, deadline, t0))
                 for r in self.rescuers for m in r.roamers.members]
        own_tasks = [asyncio.create_task(self._own(r.own, res, deadline))
                     for r in self.rescuers]
        control = asyncio.create_task(self._control(res, second, t0, tasks))
        try:
            pending_tasks = set(tasks) | set(own_tasks)
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            _, pending_tasks = await asyncio.wait(pending_tasks, timeout=timeout)
            if pending_tasks:
                res.stopped_early = True
                for t in pending_tasks:
                    t.cancel()
                await asyncio.gather(*pending_tasks, return_exceptions=True)
        finally:
            control.cancel()
            await asyncio.gather(control, return_exceptions=True)
        self._sample(res, second, loop.time())
        res.never_attached = [{"imsi": u.imsi, "cause": u.cause, "reason": u.reason or None}
                              for r in self.rescuers for u in r.roamers.results()
                              if not u.attached]
        res.attached_at.sort()
        res.wall_s = time.perf_counter() - wall0
        return res

    async def _roamer(self, pop: Population, member: Any, res: StormResult,
                      second: Callable[[float], _Second], slot: asyncio.Semaphore,
                      deadline: float | None, t0: float) -> None:
        loop = asyncio.get_running_loop()
        started: dict[str, float] = {}

        def on_attempt(_m: Any, done: ProcedureDone) -> None:
            now = loop.time()
            sec = second(now)
            if done.reason == ACCESS_BARRED or done.reason == T3346_RUNNING:
                sec.barred += 1
                return
            sec.attempts += 1
            if "t" in started:
                res.latencies.append(now - started.pop("t"))
            if done.ok:
                sec.successes += 1
                res.attached_at.append(now - t0)
            else:
                sec.failures += 1

        async def timed_slot_attach() -> ProcedureDone:
            return await pop.attach_obeying_barring(
                member, deadline=deadline, on_attempt=on_attempt,
                slot=_TimedSlot(slot, started, self._tries))

        for attempt in range(1, MAX_ATTEMPTS + 1):
            done = await timed_slot_attach()
            if done.ok or done.reason in (ACCESS_BARRED, T3346_RUNNING):
                return
            key = f"#{done.cause}" if done.cause is not None else (done.reason or "unknown")
            res.failures_by_cause[key] = res.failures_by_cause.get(key, 0) + 1
            if attempt < MAX_ATTEMPTS:
                # TS 24.301 §5.5.1.2.6: T3411 before the next attempt
                await asyncio.sleep(T3411_S * self.cfg.timer_scale)

    async def _own(self, pop: Population, res: StormResult, deadline: float | None) -> None:
        """The rescuer's own subscribers attach one after another through the storm."""
        loop = asyncio.get_running_loop()
        for member in pop.members:
            if deadline is not None and loop.time() >= deadline:
                return
            res.own_attempted += 1
            done = await pop.attach_obeying_barring(member, deadline=deadline)
            if done.ok:
                res.own_attached += 1
            await asyncio.sleep(self.cfg.own_interval_s)

    def _sample(self, res: StormResult, second: Callable[[float], _Second], now: float) -> None:
        count = self.home_hss.air_count
        second(now).air += count - self._air_seen
        self._air_seen = count

    async def _control(self, res: StormResult, second: Callable[[float], _Second], t0: float,
                       tasks: list[asyncio.Task[None]]) -> None:
        """Each 1/4 s: AIRs into the current second, the schedule's factor from the last
        second's AIR/s and the MMEs' pending attaches, progress."""
        loop = asyncio.get_running_loop()
        self._air_seen = air_base = self.home_hss.air_count
        window: list[tuple[float, int]] = [(t0, self._air_seen)]
        interval = getattr(self.schedule, "interval_s", 0.25)
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            self._sample(res, second, now)
            window.append((now, self._air_seen))
            while len(window) > 2 and now - window[0][0] > 1.0:
                window.pop(0)
            span = max(1e-3, now - window[0][0])
            rate = (window[-1][1] - window[0][1]) / span
            barred = sum(s.barred for s in res.seconds)
            # an access that passed the barring check is a try not barred; its AIR comes later
            load = Load(rate, self._pending(), air_total=self._air_seen - air_base,
                        passed_total=self._tries[0] - barred, barred_total=barred)
            self._set_factor(self.schedule.factor(now - t0, load))
            second(now).factor = self.factor
            if self.progress is not None:
                self.progress(StormProgress(now - t0, self.cfg.ues, len(res.attached_at),
                                            sum(1 for t in tasks if t.done()), self.factor,
                                            rate))

    _air_seen: int = 0


class _TimedSlot:
    """The concurrency slot, noting when each try starts (attach latency)."""

    def __init__(self, sem: asyncio.Semaphore, started: dict[str, float],
                 tries: list[int]) -> None:
        self.sem = sem
        self.started = started
        self.tries = tries

    async def __aenter__(self) -> None:
        await self.sem.acquire()
        self.started["t"] = asyncio.get_running_loop().time()
        self.tries[0] += 1

    async def __aexit__(self, *exc: object) -> None:
        self.sem.release()


def _hss_config(plmn: Plmn, host: str, capacity: float | None = None) -> HssConfig:
    return HssConfig(
        plmn=str(plmn), origin_host=f"hss.{plmn.realm}", origin_realm=plmn.realm,
        listen=Endpoint(host=host, port=0), database=":memory:", subscribers_file=None,
        peers=[], max_vectors_per_air=1, control=Endpoint(host=host, port=0),
        capacity_air_per_s=capacity)


async def run_storm(cfg: StormConfig, *, progress: Progress | None = None) -> StormResult:
    storm = Storm(cfg, progress=progress)
    try:
        await storm.start()
        return await storm.run()
    finally:
        await storm.stop()
