"""One rescuer of a storm in a process of its own: `python -m corenet.orchestration.storm_worker`.

The storm's process (`storm_processes.WorkerFleet`) starts one per rescuer and talks to it in
JSON lines. On stdin: the rescuer to run (first line), then `{"go": ...}` (the storm's start),
`{"factor": F}` (the release controller's decision: the worker's eNBs broadcast it in SIB2,
TS 36.331 §6.3.1 ac-BarringPerPLMN-List, to the UEs' next access) and `{"stop": true}`. On
stdout: `{"ready": true}` once its S/P-GW, MME and eNBs are up (S1 Setup done), a report of
its `Tally` every REPORT_S, and `{"done": ...}` with the roamers that never attached.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

from corenet.codecs import selection
from corenet.orchestration.storm_roamers import (
    HOME,
    RESCUER,
    HssRoute,
    Rescuer,
    RoamerDriver,
    Tally,
    subscribers,
)
from corenet.runtime import loop as runtime_loop

REPORT_S = 0.02


class _Reporter:
    """Writes the tally as it grows: counters whole, per-second rows from the last one sent
    (the only one that may have grown since), lists as their new items."""

    def __init__(self, tally: Tally, rescuer: Rescuer) -> None:
        self.tally = tally
        self.rescuer = rescuer
        self._attached = 0
        self._latencies = 0
        self._rows = 0

    def report(self) -> dict[str, Any]:
        t = self.tally
        # sampled at `at` on the monotonic clock both processes share
        out = {"at": time.monotonic(), "tries": t.tries, "barred": t.barred, "finished": t.finished,
               "seconds_from": max(0, self._rows - 1), "seconds": t.seconds[self._rows - 1:]
               if self._rows else t.seconds, "attached_at": t.attached_at[self._attached:],
               "latencies": t.latencies[self._latencies:],
               "failures_by_cause": t.failures_by_cause, "own": [t.own_attempted, t.own_attached],
               "pending": self.rescuer.pending()}
        self._attached, self._latencies = len(t.attached_at), len(t.latencies)
        self._rows = len(t.seconds)
        return out


def _send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def _lines() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def main() -> None:
    from corenet.orchestration.storm_fleet import StormConfig

    stdin = await _lines()
    init = json.loads(await stdin.readline())
    cfg = StormConfig(**init["cfg"])
    selection.set_codec(init["codec"])
    k = int(init["k"])
    homes = [HssRoute(realm, host, (addr[0], int(addr[1]))) for realm, host, addr in init["homes"]]
    rescuer = Rescuer(cfg, k, homes, init["codec"])
    try:
        roamers = subscribers(HOME, cfg.ues, "8190")[k::cfg.rescuers]
        own = subscribers(RESCUER, cfg.own_ues, "8180")[k::cfg.rescuers]
        await rescuer.start(roamers, own, init["factor"])
        _send({"ready": True})
        await _serve(stdin, rescuer, cfg)
    finally:
        await rescuer.stop()


async def _serve(stdin: asyncio.StreamReader, rescuer: Rescuer, cfg: Any) -> None:
    loop = asyncio.get_running_loop()
    line = await stdin.readline()
    go = json.loads(line) if line else {}
    if "go" not in go:  # stopped before the storm started
        return
    # the storm's start on this loop's clock, from the monotonic clock both processes share
    t0 = loop.time() - (time.monotonic() - float(go["go"]))
    deadline = None if cfg.max_duration_s is None else t0 + cfg.max_duration_s
    tally = Tally(t0)
    driver = RoamerDriver(rescuer, tally)
    reporter = _Reporter(tally, rescuer)
    run = asyncio.create_task(driver.run(deadline))

    async def commands() -> None:
        while line := await stdin.readline():
            message = json.loads(line)
            if "factor" in message:
                rescuer.set_barring(message["factor"])
            if message.get("stop"):
                run.cancel()
                return
        run.cancel()  # the storm's process is gone

    async def reports() -> None:
        while True:
            await asyncio.sleep(REPORT_S)
            _send(reporter.report())

    helpers = [asyncio.create_task(commands()), asyncio.create_task(reports())]
    try:
        ended = await run
    except asyncio.CancelledError:
        ended = False
    finally:
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _send({**reporter.report(), "done": True, "ended": ended,
           "never_attached": driver.never_attached(),
           "peak_rss_mib": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime})


if __name__ == "__main__":
    runtime_loop.run(main())
