"""Storm benchmark (not a test): `corenet storm`'s figures for the README's storm table.

    .venv/bin/python benchmarks/storm.py --ues 20000 [--rescuers 3] [--release auto]
        [--hss-capacity 600] [--processes auto|on|off] [--max-duration S] [--json]

Prints UEs, capacity, wall_s (the storm, from the rescuers opening to the last roamer),
total_s (with the start: HSS provisioning, worker processes, S1 Setup), t99, the peak home HSS
AIR/s (per second, and in any 1-s window between the controller's samples), the busy ratio
ues / (t99 x capacity), the summed peak RSS of the storm's processes, the CPU seconds of this
process and the failures by cause.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corenet.orchestration.storm import StormConfig, StormProgress, run_storm  # noqa: E402
from corenet.runtime import loop  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ues", type=int, default=20000)
    ap.add_argument("--rescuers", type=int, default=3)
    ap.add_argument("--release", default="auto")
    ap.add_argument("--hss-capacity", type=float, default=600.0)
    ap.add_argument("--concurrency", type=int, default=400)
    ap.add_argument("--barring-time", type=int, default=16)
    ap.add_argument("--timer-scale", type=float, default=0.25)
    ap.add_argument("--processes", choices=["auto", "on", "off"], default="auto")
    ap.add_argument("--max-duration", type=float, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    processes = {"auto": None, "on": True, "off": False}[args.processes]
    cfg = StormConfig(ues=args.ues, rescuers=args.rescuers, release=args.release,
                      hss_capacity_air_per_s=args.hss_capacity, concurrency=args.concurrency,
                      barring_time_s=args.barring_time, timer_scale=args.timer_scale,
                      max_duration_s=args.max_duration, processes=processes)
    t0 = time.perf_counter()
    shown = [0.0]

    def progress(p: StormProgress) -> None:
        if p.elapsed_s - shown[0] >= 5.0:  # a line every 5 s on stderr
            shown[0] = p.elapsed_s
            factor = "lifted" if p.factor is None else f"{p.factor:.2f}"
            print(f"{p.elapsed_s:6.1f} s  attached {p.attached}/{p.ues}  ACB {factor}  "
                  f"AIR/s {p.air_per_s:.0f}", file=sys.stderr, flush=True)

    res = loop.run(run_storm(cfg, progress=progress))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    k = res.kpis()
    figures = {
        "ues": args.ues, "rescuers": args.rescuers, "release": args.release,
        "capacity": args.hss_capacity, "attached": k["attached"], "wall_s": k["wall_s"],
        "total_s": round(time.perf_counter() - t0, 1), "t50_s": k["t50_s"],
        "t99_s": k["t99_s"], "peak_air_per_s": k["peak_air_per_s"],
        "peak_air_any_1s_window": k["peak_air_any_1s_window"],
        "busy_ratio": k["hss_busy_ratio"], "peak_rss_mib": k["peak_rss_mib"],
        "processes": k["processes"], "loop": loop.loop_name(),
        "cpu_s_main": round(usage.ru_utime + usage.ru_stime, 1),
        "failures_by_cause": k["failures_by_cause"], "stopped_early": res.stopped_early,
    }
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key:24} {value}")


if __name__ == "__main__":
    main()
