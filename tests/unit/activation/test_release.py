"""Release schedules of step ⑪ (steps, all-at-once, load-driven)."""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field

import pytest

from corenet.activation.release import (
    AutoRelease,
    Load,
    StepSchedule,
    parse_schedule,
    quantise,
)


def test_steps_schedule_holds_each_factor() -> None:
    s = parse_schedule("steps:0.05x20,0.2x20,0.5x20,1.0")
    assert isinstance(s, StepSchedule)
    assert [s.factor(t) for t in (0, 19.9, 20, 45, 59.9, 60, 1e6)] == [
        0.05, 0.05, 0.2, 0.5, 0.5, None, None]


def test_all_at_once_is_never_barred() -> None:
    s = parse_schedule("all-at-once")
    assert s.factor(0) is None and s.factor(100) is None


def test_factors_are_quantised_to_sib2_values() -> None:
    assert quantise(0.33) == 0.30
    assert quantise(0.0) == 0.0
    assert quantise(0.97) == 0.95
    assert quantise(1.0) is None


@pytest.mark.parametrize("text", ["steps:", "steps:0.1,0.2x5", "steps:axb", "sometimes",
                                  "steps:0.1x-1,1.0"])
def test_bad_schedules_name_the_problem(text: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(text)


def test_auto_needs_capacity() -> None:
    with pytest.raises(ValueError):
        parse_schedule("auto")
    assert isinstance(parse_schedule("auto", capacity_air_per_s=50), AutoRelease)


def test_auto_starts_barred() -> None:
    assert AutoRelease(100.0).factor(0.0, None) == 0.0


def test_auto_bars_everyone_when_the_window_is_full() -> None:
    a = AutoRelease(100.0, barring_time_s=1.0)
    a.factor(0.0, Load(0, air_total=0, passed_total=0, barred_total=0))
    assert a.factor(0.1, Load(100, air_total=100, passed_total=100, barred_total=500)) == 0.0


@pytest.mark.parametrize(("pace", "expected"), [
    # budget 100 over 166.7 expected accesses in [0.8, 0.9): 0.6
    (math.inf, 0.6),
    # at most two ticks' share of the capacity (2 x 100 x 0.1 = 20) in one tick: 0.12 -> 0.1
    (2.0, 0.1),
])
def test_auto_factor_fits_the_predicted_retries_into_the_budget(pace: float,
                                                                expected: float) -> None:
    a = AutoRelease(100.0, barring_time_s=1.0, sigmas=0.0, pace=pace)
    a.factor(0.0, Load(0, air_total=0, passed_total=0, barred_total=0))
    # 1,000 barred in the first tick retry 0.7..1.3 s later: 1000 x 0.1 / 0.6 per tick
    for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        a.factor(t, Load(0, air_total=0, passed_total=0, barred_total=1000))
    assert a.factor(0.8, Load(0, air_total=0, passed_total=0, barred_total=1000)) == expected


def test_auto_counts_the_accesses_its_counters_do_not_show_yet() -> None:
    """Counters that lag (worker processes' reports): the accesses of the lag pass at the
    factor on air meanwhile, and use the budget."""
    def run(lag: float) -> float | None:
        a = AutoRelease(100.0, barring_time_s=1.0, sigmas=0.0, pace=math.inf)
        a.factor(0.0, Load(0, air_total=0, passed_total=0, barred_total=0))
        for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            a.factor(t, Load(0, air_total=0, passed_total=0, barred_total=1000))
        assert a.current == 0.6  # on air since 0.6 s
        return a.factor(0.8, Load(0, air_total=0, passed_total=0, barred_total=1000,
                                  lag_s=lag))
    assert run(0.0) == 0.6
    # 0.02 s unseen at 0.6 of ~170 per tick: ~20 AIRs to come, 80 / 170 -> 0.4
    assert run(0.02) == 0.4
    # 0.2 s unseen: 200 AIRs to come, nothing left of the budget
    assert run(0.2) == 0.0


def test_auto_lifts_when_little_demand_is_left() -> None:
    a = AutoRelease(100.0, barring_time_s=1.0)
    a.factor(0.0, Load(0, air_total=0, passed_total=0, barred_total=0))
    assert a.factor(0.1, Load(0, air_total=0, passed_total=3, barred_total=3)) is None


def test_auto_ignores_loads_between_ticks() -> None:
    a = AutoRelease(100.0, barring_time_s=1.0)
    a.factor(0.0, Load(0, air_total=0, passed_total=0, barred_total=0))
    held = a.factor(0.1, Load(0, air_total=0, passed_total=0, barred_total=400))
    assert a.factor(0.15, Load(0, air_total=500, passed_total=500, barred_total=400)) == held


# ---------------------------------------------------------------- the controller in a storm


@dataclass
class Storm:
    """N UEs behind ACB (TS 36.331 §5.3.3.11): each access draws rand < factor to pass, a barred
    UE retries after (0.7 + 0.6 rand) x ac-BarringTime; a passed access sends its AIR after
    `latency` s. The controller sees the counters every tick, on a simulated clock."""

    ues: int
    capacity: float
    barring_time_s: float = 4.0
    seed: int = 1
    latency: tuple[float, float] = (0.02, 0.2)
    interval_s: float = 0.1
    lag_ticks: int = 0  # the controller sees the access counters of this many ticks ago
    run_blind: bool = False  # the controller is not told of the lag
    air_times: list[float] = field(default_factory=list)

    def run(self) -> AutoRelease:
        rng = random.Random(self.seed)
        ctl = AutoRelease(self.capacity, barring_time_s=self.barring_time_s, interval_s=self.interval_s)
        queue = [(rng.uniform(0, 0.2), n) for n in range(self.ues)]  # everyone at once
        heapq.heapify(queue)
        passed = barred = 0
        seen: list[tuple[int, int]] = []
        factor = ctl.factor(0.0, None)
        now = 0.0
        while queue:
            now += ctl.interval_s
            while queue and queue[0][0] < now:
                t, n = heapq.heappop(queue)
                if factor is None or rng.random() < factor:
                    passed += 1
                    self.air_times.append(t + rng.uniform(*self.latency))
                else:
                    barred += 1
                    heapq.heappush(queue, (t + self.barring_time_s * (0.7 + 0.6 * rng.random()),
                                           n))
            airs = sum(1 for a in self.air_times if a <= now)
            seen.append((passed, barred))
            shown_passed, shown_barred = seen[max(0, len(seen) - 1 - self.lag_ticks)]
            factor = ctl.factor(now, Load(0, air_total=airs, passed_total=shown_passed,
                                          barred_total=shown_barred,
                                          lag_s=0.0 if self.run_blind
                                          else self.lag_ticks * self.interval_s))
        self.air_times.sort()
        return ctl

    def peak_per_window(self) -> int:
        """The most AIRs in any 1-second window [t, t + 1)."""
        peak, j = 0, 0
        times = self.air_times
        for i, t in enumerate(times):
            while times[j] <= t - 1.0:
                j += 1
            peak = max(peak, i - j + 1)
        return peak

    def busy(self) -> float:
        """AIRs served / what the HSS could have served until the storm ended."""
        return len(self.air_times) / (self.capacity * self.air_times[-1])


@pytest.mark.parametrize(("ues", "capacity", "barring", "seed", "busy"), [
    (3000, 100, 2, 3, 0.7), (20000, 600, 1, 4, 0.7), (20000, 600, 4, 5, 0.7),
    # a small HSS: the margin kept for the draws of one tick is a larger share of it
    (2000, 40, 1, 1, 0.65), (2000, 40, 4, 2, 0.65),
])
def test_auto_never_overshoots_and_keeps_the_hss_busy(ues: int, capacity: float,
                                                       barring: float, seed: int,
                                                       busy: float) -> None:
    storm = Storm(ues, capacity, barring_time_s=barring, seed=seed)
    storm.run()
    assert len(storm.air_times) == ues  # every UE got through
    assert storm.peak_per_window() <= capacity
    assert storm.busy() >= busy


@pytest.mark.parametrize(("lag_ticks", "seed"), [(1, 1), (2, 2)])
def test_auto_with_lagging_counters_never_overshoots(lag_ticks: int, seed: int) -> None:
    """The counters of worker processes lag: the controller counts what they cannot show yet."""
    storm = Storm(20000, 600, barring_time_s=2, seed=seed, lag_ticks=lag_ticks)
    storm.run()
    assert len(storm.air_times) == 20000
    assert storm.peak_per_window() <= 600
    assert storm.busy() >= 0.5
    # told nothing of the lag, the same controller passes the capacity
    blind = Storm(20000, 600, barring_time_s=2, seed=seed, lag_ticks=lag_ticks, run_blind=True)
    blind.run()
    assert blind.peak_per_window() > 600
