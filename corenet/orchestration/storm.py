"""Re-attach storm: N roamers of the affected operator attach to K rescuers under a release
schedule (step ⑪, TS 36.331 §5.3.3.11 ACB per PLMN), with real messages on real sockets.

Per rescuer (`storm_roamers.Rescuer`): its MME and S/P-GW, eNBs carrying the roamers (they
broadcast the ACB per PLMN of `release`) and one eNB carrying the rescuer's own subscribers, who
keep attaching to their own HSS during the storm. One home HSS (440-10) serves every rescuer: its
AIRs per second are the load the release schedule must keep under the HSS capacity. All on
loopback addresses with free ports; the UEs' back-off timers (barring, T3346) run on an
accelerated clock (`timer_scale`), the network at its real speed.

Two layouts, the same network: everything in this process (small storms, tests), or each
rescuer - its network functions, eNBs and UEs - in a worker process of its own
(`storm_worker`), so every core works. In both, the HSSs and the release controller run here:
the controller reads the home HSS's AIR count and the accesses the rescuers' cells saw, and its
decision reaches the eNBs, which broadcast it in SIB2 (TS 36.331 §6.3.1 ac-BarringPerPLMN-List).
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
from corenet.config.models import CorenetConfig, Endpoint, HssConfig
from corenet.config.subscribers import Subscriber
from corenet.core.plmn import Plmn
from corenet.orchestration.storm_fleet import Fleet, StormConfig
from corenet.orchestration.storm_roamers import (
    HOME,
    RESCUER,
    HssRoute,
    Rescuer,
    RoamerDriver,
    Tally,
    subscribers,
)
from corenet.runtime.supervisor import Runtime
from sim_ue.runner import SubscriberRange

__all__ = ["HOME", "RESCUER", "Storm", "StormConfig", "StormProgress", "StormResult",
           "run_storm", "subscribers"]

Progress = Callable[["StormProgress"], None]


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
    processes: int = 1  # the processes the storm ran in (this one and the workers)
    air_samples: list[tuple[float, int]] = field(default_factory=list)
    peak_rss_mib: float | None = None  # summed over them; None: this process's own

    def add(self, tally: Tally) -> None:
        """The observations of one rescuer's driver."""
        for i, (attempts, barred, successes, failures) in enumerate(tally.seconds):
            while len(self.seconds) <= i:
                self.seconds.append(_Second())
            sec = self.seconds[i]
            sec.attempts += attempts
            sec.barred += barred
            sec.successes += successes
            sec.failures += failures
        self.attached_at.extend(tally.attached_at)
        self.latencies.extend(tally.latencies)
        for cause, n in tally.failures_by_cause.items():
            self.failures_by_cause[cause] = self.failures_by_cause.get(cause, 0) + n
        self.own_attempted += tally.own_attempted
        self.own_attached += tally.own_attached

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
            "peak_air_any_1s_window": self.peak_air_window(),
            "hss_busy_ratio": self.busy_ratio(),
            "wall_s": round(self.wall_s, 3), "peak_rss_mib": self.rss_mib(),
            "processes": self.processes,
        }

    def busy_ratio(self) -> float | None:
        """ues / (t99 x capacity): how busy the home HSS was kept, on average, until 99 % of
        the roamers were attached (one AIR per attach)."""
        t99 = self.t_fraction(0.99)
        if not t99:
            return None
        return round(self.cfg.ues / (t99 * self.cfg.hss_capacity_air_per_s), 3)

    def peak_air_window(self) -> int:
        """The most AIRs the home HSS counted in any window of at most 1 s between two of the
        controller's samples (`air_samples`: loop time, AIRs so far)."""
        best, lo = 0, 0
        samples = self.air_samples
        for hi in range(len(samples)):
            while samples[hi][0] - samples[lo][0] > 1.0 + 1e-9:
                lo += 1
            best = max(best, samples[hi][1] - samples[lo][1])
        return best

    def rss_mib(self) -> float:
        """The peak resident set of the storm's processes (this one: Linux reports ru_maxrss
        in KiB)."""
        if self.peak_rss_mib is not None:
            return round(self.peak_rss_mib, 1)
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.kpis(), "release": self.schedule, "rescuers": self.cfg.rescuers,
            "seed": self.cfg.seed, "stopped_early": self.stopped_early,
            "own_subscribers": {"attempted": self.own_attempted, "attached": self.own_attached},
            "latency_s": {f"p{int(q * 100)}": self.percentile(q) for q in (0.5, 0.9, 0.99)},
            "timer_scale": self.cfg.timer_scale, "barring_time_s": self.cfg.barring_time_s,
            "per_second": [{"t": i, "attempts": s.attempts, "barred": s.barred,
                            "successes": s.successes, "failures": s.failures, "air": s.air,
                            "factor": 1.0 if s.factor is None else s.factor}
                           for i, s in enumerate(self.seconds)],
            "never_attached": self.never_attached,
        }




def _hss_config(plmn: Plmn, host: str, capacity: float | None = None) -> HssConfig:
    return HssConfig(
        plmn=str(plmn), origin_host=f"hss.{plmn.realm}", origin_realm=plmn.realm,
        listen=Endpoint(host=host, port=0), database=":memory:", subscribers_file=None,
        peers=[], max_vectors_per_air=1, control=Endpoint(host=host, port=0),
        capacity_air_per_s=capacity)


class LocalFleet(Fleet):
    """Every rescuer in this process."""

    def __init__(self, cfg: StormConfig) -> None:
        self.cfg = cfg
        self.rescuers: list[Rescuer] = []
        self._drivers: list[RoamerDriver] = []

    async def start(self, homes: list[HssRoute], factor: float | None) -> None:
        cfg = self.cfg
        roamers = subscribers(HOME, cfg.ues, "8190")
        own = subscribers(RESCUER, cfg.own_ues, "8180")
        for k in range(cfg.rescuers):
            rescuer = Rescuer(cfg, k, homes, codec_level().value)
            self.rescuers.append(rescuer)
            await rescuer.start(roamers[k::cfg.rescuers], own[k::cfg.rescuers], factor)

    async def run(self, t0: float, deadline: float | None) -> bool:
        self._drivers = [RoamerDriver(r, Tally(t0)) for r in self.rescuers]
        ended = await asyncio.gather(*(d.run(deadline) for d in self._drivers))
        return all(ended)

    def tallies(self) -> list[Tally]:
        return [d.tally for d in self._drivers]

    def set_barring(self, factor: float | None) -> None:
        for r in self.rescuers:
            r.set_barring(factor)

    def pending(self) -> int:
        return sum(r.pending() for r in self.rescuers)

    def never_attached(self) -> list[dict[str, Any]]:
        return [row for d in self._drivers for row in d.never_attached()]

    async def stop(self) -> None:
        for r in self.rescuers:
            await r.stop()
        self.rescuers.clear()


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
        self.fleet: Fleet = self._fleet(cfg)
        self.factor: float | None = None

    @staticmethod
    def _fleet(cfg: StormConfig) -> Fleet:
        if cfg.in_processes:
            from corenet.orchestration.storm_processes import WorkerFleet

            return WorkerFleet(cfg)
        return LocalFleet(cfg)

    @property
    def rescuers(self) -> list[Rescuer]:
        return self.fleet.rescuers if isinstance(self.fleet, LocalFleet) else []

    def _ip(self, a: int, b: int) -> str:
        return f"127.{self.cfg.net}.{a}.{b}"

    @property
    def home_hss(self) -> Any:
        assert self.home is not None
        return self.home.services["hss"]

    async def _start_hss(self, plmn: Plmn, host: str, subs: SubscriberRange | list[Subscriber],
                         capacity: float | None = None) -> Runtime:
        cfg = CorenetConfig(codec=codec_level().value,  # type: ignore[arg-type]
                            hss=_hss_config(plmn, host, capacity))
        runtime = Runtime(cfg, names=("hss",))
        await runtime.start()
        # one transaction, executemany: the subscribers are built as they are inserted
        runtime.services["hss"].store.provision(subs)
        return runtime

    async def start(self) -> None:
        cfg = self.cfg
        # the home HSS enforces its capacity (3004 and DOIC beyond it, corenet.nf.hss.overload)
        self.home = await self._start_hss(HOME, self._ip(0, 3), subscribers(HOME, cfg.ues, "8190"),
                                          cfg.hss_capacity_air_per_s)
        self.own = await self._start_hss(RESCUER, self._ip(0, 13),
                                         subscribers(RESCUER, cfg.own_ues, "8180"))
        homes = []
        for runtime in (self.home, self.own):
            hss = runtime.services["hss"]
            homes.append(HssRoute(hss.cfg.origin_realm, hss.cfg.origin_host, tuple(hss.local)))
        self.factor = self.schedule.factor(0.0, None)
        await self.fleet.start(homes, self.factor)

    async def stop(self) -> None:
        await self.fleet.stop()
        for runtime in (self.home, self.own):
            if runtime is not None:
                await runtime.stop()
        self.home = self.own = None

    # ------------------------------------------------------------------ the run

    def _set_factor(self, factor: float | None) -> None:
        if factor == self.factor:
            return
        self.factor = factor
        self.fleet.set_barring(factor)

    async def run(self) -> StormResult:
        cfg, loop = self.cfg, asyncio.get_running_loop()
        res = StormResult(cfg, getattr(self.schedule, "name", cfg.release),
                          processes=self.fleet.processes)
        t0 = loop.time()
        wall0 = time.perf_counter()
        deadline = None if cfg.max_duration_s is None else t0 + cfg.max_duration_s
        self._air = self._air_base = self.home_hss.air_count
        self._air_by_second: list[int] = []
        self._factor_by_second: list[float | None] = []
        res.air_samples.append((t0, 0))
        control = asyncio.create_task(self._control(res, t0))
        try:
            ended = await self.fleet.run(t0, deadline)
            res.stopped_early = not ended
        finally:
            control.cancel()
            await asyncio.gather(control, return_exceptions=True)
        self._sample(res, t0, loop.time())
        for tally in self.fleet.tallies():
            res.add(tally)
        while len(res.seconds) < len(self._air_by_second):
            res.seconds.append(_Second())
        for i, (air, factor) in enumerate(zip(self._air_by_second, self._factor_by_second,
                                              strict=True)):
            res.seconds[i].air, res.seconds[i].factor = air, factor
        res.never_attached = self.fleet.never_attached()
        res.attached_at.sort()
        res.wall_s = time.perf_counter() - wall0
        res.peak_rss_mib = self.fleet.peak_rss_mib()
        return res

    _air = _air_base = 0

    def _sample(self, res: StormResult, t0: float, now: float) -> int:
        """The home HSS's AIRs since the last sample, into the current second."""
        count = self.home_hss.air_count
        i = max(0, int(now - t0))
        while len(self._air_by_second) <= i:
            self._air_by_second.append(0)
            self._factor_by_second.append(self.factor)
        self._air_by_second[i] += count - self._air
        self._factor_by_second[i] = self.factor
        self._air = count
        res.air_samples.append((now, count - self._air_base))
        return count

    async def _control(self, res: StormResult, t0: float) -> None:
        """Each tick of the schedule: AIRs into the current second, the schedule's factor from
        the home HSS's AIRs and the accesses the rescuers' cells saw, progress."""
        loop = asyncio.get_running_loop()
        window: list[tuple[float, int]] = [(t0, self._air)]
        interval = getattr(self.schedule, "interval_s", 0.25)
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            count = self._sample(res, t0, now)
            window.append((now, count))
            while len(window) > 2 and now - window[0][0] > 1.0:
                window.pop(0)
            rate = (window[-1][1] - window[0][1]) / max(1e-3, now - window[0][0])
            tallies = self.fleet.tallies()
            tries = sum(t.tries for t in tallies)
            barred = sum(t.barred for t in tallies)
            # an access that passed the barring check is a try not barred; its AIR comes later
            load = Load(rate, self.fleet.pending(), air_total=count - self._air_base,
                        passed_total=tries - barred, barred_total=barred,
                        lag_s=self.fleet.lag_s())
            self._set_factor(self.schedule.factor(now - t0, load))
            self._factor_by_second[-1] = self.factor
            if self.progress is not None:
                self.progress(StormProgress(
                    now - t0, self.cfg.ues, sum(len(t.attached_at) for t in tallies),
                    sum(t.finished for t in tallies), self.factor, rate))


async def run_storm(cfg: StormConfig, *, progress: Progress | None = None) -> StormResult:
    storm = Storm(cfg, progress=progress)
    try:
        await storm.start()
        return await storm.run()
    finally:
        await storm.stop()
