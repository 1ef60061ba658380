"""Step ⑪: gradual lifting of access restrictions, as a release schedule (sans-I/O).

The seed asks that restrictions be lifted "gradually, to prevent mass simultaneous authentication
and congestion". The rescuer does it with ACB per PLMN (TS 36.331 §6.3.1 ac-BarringPerPLMN-List-r12):
ac-BarringFactor is the probability that an access passes (§5.3.3.11), so raising it lets more
roamers in. Three schedules:

- `all-at-once`: no barring from the start (the storm the schedule exists to avoid);
- `steps:0.05x20,0.2x20,0.5x20,1.0`: factor 0.05 for 20 s, 0.2 for 20 s, ..., then 1.0 (lifted);
- `auto`: load-driven, from the home HSS's AIRs and the accesses at the rescuers' cells: every
  quarter of a second the factor that fills what the HSS capacity leaves in the current
  1-second window, never more (`AutoRelease`).

`schedule.factor(now, load)` -> the factor to broadcast (None: barring lifted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from corenet.codecs.sib2 import BARRING_FACTORS

# TS 36.331 §6.3.1: the factors a SIB2 can carry, and "lifted" (no ac-BarringInfo) on top.
LADDER: tuple[float | None, ...] = (*BARRING_FACTORS, None)
# barring is lifted only when twice the demand would still fit the budget: a UE no longer
# barred cannot be held back when a wave of retries comes
LIFT_MARGIN = 2.0


def quantise(factor: float) -> float | None:
    """The largest broadcastable ac-BarringFactor not above `factor`; >= 1.0 is "lifted"."""
    if factor >= 1.0:
        return None
    if factor < 0:
        raise ValueError(f"barring factor must be >= 0, got {factor}")
    return max(f for f in BARRING_FACTORS if f <= factor + 1e-9)


@dataclass(frozen=True)
class Load:
    """What the controller observes: home HSS AIRs in the last second, attaches pending at the
    MMEs, and counters since the start of the storm (None: not observed): AIRs at the home HSS,
    accesses that passed the barring check at the rescuers' cells, accesses barred there."""

    air_per_s: float
    pending_attaches: int = 0
    air_total: int | None = None
    passed_total: int | None = None
    barred_total: int | None = None
    # seconds of accesses the counters do not show: how old they are when the controller
    # reads them, plus how long its decision takes to reach the cells (0: at once, one
    # process; the reports of worker processes lag)
    lag_s: float = 0.0

@dataclass(frozen=True)
class Step:
    factor: float | None  # None: barring lifted
    hold_s: float  # how long it is held (the last step is held for ever)


@dataclass
class StepSchedule:
    """A fixed list of (factor, hold seconds); `all-at-once` is one step with no barring."""

    steps: tuple[Step, ...]
    name: str = "steps"

    def factor(self, now: float, load: Load | None = None) -> float | None:
        t = 0.0
        for step in self.steps:
            t += step.hold_s
            if now < t:
                return step.factor
        return self.steps[-1].factor if self.steps else None


@dataclass
class _Sample:
    t: float
    air: int
    passed: int
    barred: int


# TS 36.331 §5.3.3.11: Tbarring = (0.7 + 0.6 x rand) x ac-BarringTime
RETRY_MIN, RETRY_SPAN = 0.7, 0.6
_POINTS = 8


@dataclass
class AutoRelease:
    """Load-driven release that never lets the home HSS's AIRs exceed its capacity in any 1-second
    window, and keeps it as busy as that allows.

    Every `interval_s` (a tick) it reads the counters of `Load` and decides the factor of the
    next tick:

    1. *Used*: the AIRs of the window ending with the next tick that are already known: those
       of the last (1 - interval) s, those still to come from accesses that passed (an
       attach that passed the barring check sends its AIR a moment later), and those of the
       accesses the counters do not show yet (`Load.lag_s`): the factor broadcast meanwhile
       times the demand expected in that time.
    2. *Budget*: capacity - used, the AIRs the next tick may add.
    3. *Demand*: the accesses expected in the next tick. A UE barred at s tries again within
       [s + 0.7 T, s + 1.3 T], T the ac-BarringTime broadcast (`barring_time_s`, on the
       controller's clock; TS 36.331 §5.3.3.11), uniformly; the barred accesses of each past
       tick give their share of the next tick, and of the one after when that is more (the
       edge of a wave). The last tick's accesses count when they were more (UEs trying for the
       first time).
    4. *Expected passes* e: the largest with e + `sigmas` x sqrt(e (1 + f)) <= budget, f the
       factor it leads to; the passes of a tick vary with the draws (each access draws against
       the factor, §5.3.3.11: binomial, variance ~ e) and with the number of UEs retrying in it
       (variance ~ e f); only the next tick is unknown and `sigmas` standard deviations of it
       stay free.
       At most `pace` ticks' share of the capacity passes in one tick: the budget of a window
       flows in, it is not let in at once (a burst that leaves the window at once makes room
       for the next one, and any error in a burst is a share of the capacity).
    5. *Factor*: e / demand, quantised down to a broadcastable ac-BarringFactor (TS 36.331
       §6.3.1); lifted (no barring) only when twice the demand fits (`LIFT_MARGIN`).

    The storm starts barred (p00): the first tick only measures the demand. A 1-second window
    ending on a tick passes the capacity only when the passes of one tick exceed their mean by
    `sigmas` standard deviations (a window ending within a tick may also hold AIRs of the
    tenth of a second that left the last one)."""

    capacity_air_per_s: float
    barring_time_s: float = 1.0
    sigmas: float = 3.0
    interval_s: float = 0.1
    # at most this many ticks' share of the capacity may pass in one tick
    pace: float = 2.0
    name: str = "auto"
    current: float | None = 0.0
    _next: float = field(default=0.0, repr=False)
    _history: list[_Sample] = field(default_factory=list, repr=False)
    _lag: float = field(default=0.0, repr=False)
    _decided: list[tuple[float, float | None]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.capacity_air_per_s <= 0:
            raise ValueError("the HSS capacity must be > 0 AIR/s")
        if not 0 < self.interval_s <= 1.0:
            raise ValueError("the control interval must be within (0, 1] s")
        if self.barring_time_s <= 0:
            raise ValueError("the barring time must be > 0 s")

    def factor(self, now: float, load: Load | None = None) -> float | None:
        if load is None or load.air_total is None or now < self._next - 1e-9:
            return self.current
        self._next = now + self.interval_s
        self._lag = max(0.0, load.lag_s)
        passed = load.passed_total if load.passed_total is not None else load.air_total
        if not self._history:  # the counters start at zero, one tick ago at the latest
            self._history.append(_Sample(now - self.interval_s, 0, 0, 0))
        self._history.append(_Sample(now, load.air_total, passed, load.barred_total or 0))
        horizon = max(1.0, (RETRY_MIN + RETRY_SPAN) * self.barring_time_s) + self.interval_s
        while len(self._history) > 2 and self._history[1].t <= now - horizon:
            self._history.pop(0)
        self.current = self._decide(now)
        self._decided.append((now, self.current))
        while self._decided and self._decided[0][0] < now - horizon:
            self._decided.pop(0)
        return self.current

    def _at(self, t: float) -> _Sample:
        """The last sample taken at or before `t` (the oldest one kept otherwise)."""
        best = self._history[0]
        for sample in self._history:
            if sample.t <= t + 1e-9:
                best = sample
        return best

    def _retries(self, start: float, end: float) -> float:
        """Barred accesses expected to be tried again within [start, end): each tick's barred
        accesses spread over the tick, each retried uniformly 0.7..1.3 T later."""
        span = RETRY_SPAN * self.barring_time_s
        total = 0.0
        for a, b in zip(self._history, self._history[1:], strict=False):
            barred = b.barred - a.barred
            if barred <= 0:
                continue
            share = 0.0
            for i in range(_POINTS):  # midpoint rule over the tick
                lo = a.t + (i + 0.5) * (b.t - a.t) / _POINTS + RETRY_MIN * self.barring_time_s
                share += max(0.0, min(lo + span, end) - max(lo, start)) / span
            total += barred * share / _POINTS
        return total

    def _decide(self, now: float) -> float | None:
        last, prev = self._history[-1], self._history[-2]
        keep = self._at(now - (1.0 - self.interval_s))
        in_flight = max(0, last.passed - last.air)  # passed, their AIRs still to come
        tick = max(1e-9, last.t - prev.t)
        last_tick = (last.passed + last.barred - prev.passed - prev.barred) * self.interval_s / tick
        # the tick after the next counts too: a factor set now may still be broadcast then
        # (a stalled control loop), and a wave of retries starts at a tick's edge
        ahead = self._retries(now + self.interval_s, now + 2 * self.interval_s)
        demand = max(self._retries(now, now + self.interval_s), ahead, last_tick)
        # accesses not counted yet pass at the factor broadcast meanwhile
        unseen = 0.0
        if self._lag > 0:
            # the highest factor that may be on air meanwhile: decisions of the lag's span
            recent = [f for t, f in self._decided if t >= now - self._lag - self.interval_s]
            broadcast = max(1.0 if f is None else f for f in (self.current, *recent))
            unseen = broadcast * max(self._retries(now - self._lag, now), demand * self._lag
                                     / self.interval_s)
        used = last.air - keep.air + in_flight + unseen
        budget = self.capacity_air_per_s - used
        if budget <= 0:
            return 0.0
        if demand <= 0:
            return self.current  # nobody tries: nothing learnt
        # the passes of a tick vary with the draws (binomial, variance ~ e) and with the
        # number of UEs that retry in it (variance ~ e x factor): e + k sqrt(e (1 + f)) <= budget
        ratio = 0.0
        for _ in range(2):
            k = self.sigmas * math.sqrt(1 + min(1.0, ratio))
            expected = ((-k + math.sqrt(k * k + 4 * budget)) / 2) ** 2
            # paced, but never below what the lowest factor above p00 lets through (a demand
            # far above the pace would otherwise stay barred for ever)
            paced = max(self.pace * self.capacity_air_per_s * self.interval_s,
                        BARRING_FACTORS[1] * demand)
            expected = min(expected, paced)
            ratio = expected / demand
        if ratio >= LIFT_MARGIN:
            return None
        return quantise(min(ratio, BARRING_FACTORS[-1]))


Schedule = StepSchedule | AutoRelease


def parse_schedule(text: str, *, capacity_air_per_s: float | None = None,
                   barring_time_s: float = 1.0) -> Schedule:
    """`all-at-once`, `auto` (needs the HSS capacity; `barring_time_s` the ac-BarringTime on the
    controller's clock) or `steps:F1xS1,F2xS2,...,Fn`."""
    text = text.strip()
    if text == "all-at-once":
        return StepSchedule((Step(None, 0.0),), name="all-at-once")
    if text == "auto":
        if capacity_air_per_s is None:
            raise ValueError("release 'auto' needs the HSS capacity (AIR/s)")
        return AutoRelease(capacity_air_per_s, barring_time_s=barring_time_s)
    if not text.startswith("steps:"):
        raise ValueError(f"release schedule {text!r}: expected all-at-once, auto or steps:...")
    steps: list[Step] = []
    items = [i for i in text[len("steps:"):].split(",") if i.strip()]
    if not items:
        raise ValueError("release schedule 'steps:' lists no step")
    for n, item in enumerate(items):
        factor_text, _, hold_text = item.strip().partition("x")
        try:
            factor = float(factor_text)
            hold = float(hold_text) if hold_text else 0.0
        except ValueError:
            raise ValueError(f"release step {item!r}: expected FACTORxSECONDS") from None
        if hold < 0 or (not hold_text and n != len(items) - 1):
            raise ValueError(f"release step {item!r}: only the last step may omit its hold")
        steps.append(Step(quantise(factor), hold))
    return StepSchedule(tuple(steps), name=text)
