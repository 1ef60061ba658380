"""Full-roaming attach throughput and latency of the whole emulator in one process (a figure,
not a test): attaches/s, p50/p99 attach latency, peak RSS.

    .venv/bin/python benchmarks/attach.py --ues 1000 [--concurrency 64] [--pcap PATH]
        [--codec fast|pycrate]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corenet.config.models import CorenetConfig  # noqa: E402
from corenet.orchestration.demo import EMBEDDED_SUBSCRIBERS  # noqa: E402
from corenet.runtime.supervisor import Runtime  # noqa: E402
from sim_ue.runner import Population  # noqa: E402


class TimedPopulation(Population):
    latencies: list[float]

    async def _attach_one(self, member: Any, plmn: Any) -> None:
        t0 = time.perf_counter()
        await super()._attach_one(member, plmn)
        self.latencies.append(time.perf_counter() - t0)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def run(ues: int, concurrency: int, pcap: str | None, codec: str = "fast") -> dict[str, float]:
    entry = EMBEDDED_SUBSCRIBERS.model_copy(update={"count": ues})
    subs = list(entry.expand())
    cfg = CorenetConfig(codec=codec)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as tmp:
        hss = cfg.hss.model_copy(update={"database": str(Path(tmp) / "hss.db"), "subscribers_file": None})
        sgw_pgw = cfg.sgw_pgw.model_copy(update={"database": str(Path(tmp) / "sgw-pgw.db")})
        cfg = cfg.model_copy(update={"hss": hss, "sgw_pgw": sgw_pgw})
        runtime = Runtime(cfg, pcap_path=pcap, seed=1,
                          sim_ue_in_process=True)
        await runtime.start()
        runtime.services["hss"].store.provision(subs)
        tap = runtime.tap()
        pop = TimedPopulation(subs, cfg.sim_ue.enbs, tap=None if tap is None else tap.sctp,
                              concurrency=concurrency, info_wait=0.0, timeout=300.0)
        pop.latencies = []
        async with pop:
            t0 = time.perf_counter()
            results = await pop.attach()
            wall = time.perf_counter() - t0
        await runtime.stop()
    ok = sum(r.attached for r in results)
    return {
        "ues": ues, "attached": ok, "wall_s": wall, "attaches_per_s": ok / wall,
        "p50_ms": 1000 * percentile(pop.latencies, 50), "p99_ms": 1000 * percentile(pop.latencies, 99),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ues", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--pcap", default=None)
    ap.add_argument("--codec", choices=["fast", "pycrate"], default="fast")
    args = ap.parse_args()
    figures = asyncio.run(run(args.ues, args.concurrency, args.pcap, args.codec))
    for k, v in figures.items():
        print(f"{k:16} {v:.1f}" if isinstance(v, float) else f"{k:16} {v}")


if __name__ == "__main__":
    main()
