"""The release controller alone, against a model population (a figure, not a test).

    .venv/bin/python benchmarks/release_model.py --ues 20000 --hss-capacity 600
        [--barring-time 16] [--timer-scale 0.25] [--lag 0.05] [--latency 0.05] [--json]

What `corenet storm --release auto` can reach when the emulator is not the bottleneck: the
controller of `corenet/activation/release.py` decides every 0.1 s, as in a storm, and a model
stands in for everything else. Each roamer first tries within `--spread` seconds of the start;
each access draws against the factor on air (TS 36.331 §5.3.3.11: rand < ac-BarringFactor
passes) and a barred one tries again (0.7 + 0.6 x rand) x ac-BarringTime later, on the UEs'
clock (`--timer-scale` wall seconds per UE second); an access that passed is an AIR at the
home HSS `--latency` seconds later and an attach. The counters the controller reads are
`--lag` seconds old (a worker process's reports), as `Load.lag_s` tells it.

Prints t99 (99 % attached), the busy ratio ues / (t99 x capacity) the storm reports as
`hss_busy_ratio`, and the most AIRs in any 1-s window, so a storm's figures can be read
against what the schedule itself allows: a storm below this busy ratio was held back by the
emulator's speed, not by the release.
"""

from __future__ import annotations

import argparse
import bisect
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corenet.activation.release import RETRY_MIN, RETRY_SPAN, AutoRelease, Load  # noqa: E402

STEP_S = 0.01  # the model's resolution
TICK_S = 0.1  # the controller's interval (AutoRelease.interval_s)


def model(ues: int, capacity: float, barring_time_s: float, timer_scale: float, lag_s: float,
          latency_s: float, spread_s: float, seed: int) -> dict[str, float]:
    rnd = random.Random(seed)
    period = barring_time_s * timer_scale  # the ac-BarringTime in wall seconds
    ctl = AutoRelease(capacity, barring_time_s=period, interval_s=TICK_S)
    due: dict[int, int] = defaultdict(int)  # step -> accesses due then
    for _ in range(ues):
        due[int(rnd.uniform(0.0, spread_s) / STEP_S)] += 1
    history: list[tuple[float, int, int, int]] = [(0.0, 0, 0, 0)]  # t, air, passed, barred
    airs: dict[int, int] = defaultdict(int)
    passed = barred = air = 0
    air_times: list[float] = []
    factor: float | None = 0.0
    step = 0
    every = round(TICK_S / STEP_S)
    while len(air_times) < ues:
        now = step * STEP_S
        air += airs.pop(step, 0)
        if step % every == 0:
            # the counters as they were lag_s ago (the AIRs are the HSS's own: never late)
            seen = history[max(0, bisect.bisect_right(history, (now - lag_s, 1 << 62)) - 1)]
            factor = ctl.factor(now, Load(0.0, air_total=air, passed_total=seen[2],
                                          barred_total=seen[3], lag_s=lag_s))
        f = 1.0 if factor is None else factor
        for _ in range(due.pop(step, 0)):
            if rnd.random() < f:
                passed += 1
                at = step + max(1, round(latency_s / STEP_S))
                airs[at] += 1
                air_times.append(at * STEP_S)
            else:
                barred += 1
                retry = now + (RETRY_MIN + RETRY_SPAN * rnd.random()) * period
                due[int(retry / STEP_S)] += 1
        history.append((now, air, passed, barred))
        step += 1
    air_times.sort()
    t99 = air_times[max(0, int(0.99 * ues) - 1)]
    peak, first = 0, 0
    for last, t in enumerate(air_times):
        while air_times[first] <= t - 1.0:
            first += 1
        peak = max(peak, last - first + 1)
    return {"ues": ues, "capacity": capacity, "barring_time_s": barring_time_s,
            "timer_scale": timer_scale, "lag_s": lag_s, "t99_s": round(t99, 1),
            "busy_ratio": round(ues / (t99 * capacity), 3), "peak_air_any_1s_window": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ues", type=int, default=20000)
    ap.add_argument("--hss-capacity", type=float, default=600.0)
    ap.add_argument("--barring-time", type=int, default=16)
    ap.add_argument("--timer-scale", type=float, default=0.25)
    ap.add_argument("--lag", type=float, default=0.0, help="age of the counters, seconds")
    ap.add_argument("--latency", type=float, default=0.05,
                    help="from an access that passed to its AIR, seconds")
    ap.add_argument("--spread", type=float, default=1.0,
                    help="the roamers' first accesses within this many seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    figures = model(args.ues, args.hss_capacity, args.barring_time, args.timer_scale,
                    args.lag, args.latency, args.spread, args.seed)
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key:24} {value}")


if __name__ == "__main__":
    main()
