"""Step ⑪: gradual lifting of access restrictions, as a release schedule (sans-I/O).

The seed asks that restrictions be lifted "gradually, to prevent mass simultaneous authentication
and congestion". The rescuer does it with ACB per PLMN (TS 36.331 §6.3.1 ac-BarringPerPLMN-List-r12):
ac-BarringFactor is the probability that an access passes (§5.3.3.11), so raising it lets more
roamers in. Three schedules:

- `all-at-once`: no barring from the start (the storm the schedule exists to avoid);
- `steps:0.05x20,0.2x20,0.5x20,1.0`: factor 0.05 for 20 s, 0.2 for 20 s, ..., then 1.0 (lifted);
- `auto`: load-driven, from the home HSS's AIR/s and the MME's pending attaches: one rung up the
  factor ladder while AIR/s stays under a target fraction of the HSS capacity, one rung down when
  it goes over the capacity.

`schedule.factor(now, load)` -> the factor to broadcast (None: barring lifted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corenet.codecs.sib2 import BARRING_FACTORS

# TS 36.331 §6.3.1: the factors a SIB2 can carry, and "lifted" (no ac-BarringInfo) on top.
LADDER: tuple[float | None, ...] = (*BARRING_FACTORS, None)


def quantise(factor: float) -> float | None:
    """The largest broadcastable ac-BarringFactor not above `factor`; >= 1.0 is "lifted"."""
    if factor >= 1.0:
        return None
    if factor < 0:
        raise ValueError(f"barring factor must be >= 0, got {factor}")
    return max(f for f in BARRING_FACTORS if f <= factor + 1e-9)


@dataclass(frozen=True)
class Load:
    """What the controller observes: home HSS AIRs per second, attaches pending at the MMEs."""

    air_per_s: float
    pending_attaches: int = 0


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
class AutoRelease:
    """Load-driven release: every `interval_s` one rung of `LADDER` up while AIR/s stays under
    `target` x capacity and the MMEs' pending attaches under `max_pending`; one rung down when
    AIR/s exceeds `high` x capacity; otherwise hold."""

    capacity_air_per_s: float
    target: float = 0.6
    high: float = 0.9
    max_pending: int = 200
    interval_s: float = 1.0
    rung: int = 1  # start at p05
    name: str = "auto"
    _next: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        if self.capacity_air_per_s <= 0:
            raise ValueError("the HSS capacity must be > 0 AIR/s")

    def factor(self, now: float, load: Load | None = None) -> float | None:
        if load is not None and now >= self._next:
            self._next = now + self.interval_s
            if load.air_per_s > self.high * self.capacity_air_per_s:
                self.rung = max(0, self.rung - 1)
            elif (load.air_per_s < self.target * self.capacity_air_per_s
                  and load.pending_attaches < self.max_pending):
                self.rung = min(len(LADDER) - 1, self.rung + 1)
        return LADDER[self.rung]


Schedule = StepSchedule | AutoRelease


def parse_schedule(text: str, *, capacity_air_per_s: float | None = None) -> Schedule:
    """`all-at-once`, `auto` (needs the HSS capacity) or `steps:F1xS1,F2xS2,...,Fn`."""
    text = text.strip()
    if text == "all-at-once":
        return StepSchedule((Step(None, 0.0),), name="all-at-once")
    if text == "auto":
        if capacity_air_per_s is None:
            raise ValueError("release 'auto' needs the HSS capacity (AIR/s)")
        return AutoRelease(capacity_air_per_s)
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
