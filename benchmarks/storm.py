"""Storm benchmark (not a test): wall time, peak RSS and attaches/s of `corenet storm`.

    .venv/bin/python benchmarks/storm.py --ues 20000 [--rescuers K] [--release SCHEDULE]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

from corenet.orchestration.storm import StormConfig, run_storm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ues", type=int, default=20000)
    ap.add_argument("--rescuers", type=int, default=2)
    ap.add_argument("--release", default="all-at-once")
    ap.add_argument("--hss-capacity", type=float, default=40.0)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--max-duration", type=float, default=None)
    args = ap.parse_args()
    cfg = StormConfig(ues=args.ues, rescuers=args.rescuers, release=args.release,
                      hss_capacity_air_per_s=args.hss_capacity, concurrency=args.concurrency,
                      max_duration_s=args.max_duration, own_ues=10, attach_timeout_s=120.0)
    t0 = time.perf_counter()
    res = asyncio.run(run_storm(cfg))
    wall = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    attached = len(res.attached_at)
    print(f"ues {args.ues}  rescuers {args.rescuers}  release {args.release}")
    print(f"wall {wall:.1f} s (storm {res.wall_s:.1f} s)  peak RSS {rss_mb:.0f} MiB")
    print(f"attached {attached}  attaches/s {attached / max(res.wall_s, 1e-9):.1f}  "
          f"peak AIR/s {res.peak_air_per_s}  failures {res.failures_by_cause}")


if __name__ == "__main__":
    main()
