"""The rescuers of a storm in worker processes (`storm_worker`), one per rescuer, so every core
works: each worker runs the rescuer's S/P-GW and MME, its eNBs and its UEs, and reaches the
HSSs of the storm's process over Diameter on loopback.

The release controller stays in the storm's process, beside the home HSS whose AIRs it counts.
Each worker reports what its cells saw (accesses tried and barred, `storm_roamers.Tally`) every
`storm_worker.REPORT_S`; each decision goes to every worker as one line, and the worker's eNBs
broadcast it in SIB2 (TS 36.331 §6.3.1) for the UEs' next access, as the eNBs of a single
process do.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from corenet.codecs.selection import codec_level
from corenet.orchestration.storm_fleet import Fleet, StormConfig
from corenet.orchestration.storm_roamers import HssRoute, Tally

READY_TIMEOUT_S = 180.0
# the rescuer's last report may hold every roamer that never attached
LINE_LIMIT = 1 << 28


class WorkerError(RuntimeError):
    """A worker ended without its report; the message carries the end of its log."""


class _Worker:
    def __init__(self, k: int, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.k = k
        self.proc = proc
        self.log = log
        self.tally = Tally()
        self.pending = 0
        self.done: dict[str, Any] | None = None
        self.sampled_at = time.monotonic()  # when the worker took its last report
        self.delay_s = 0.0  # how long that report took to get here

    async def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if not line:
            await self.proc.wait()
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise WorkerError(f"storm worker {self.k} ended (exit {self.proc.returncode}):\n"
                              f"{tail}")
        message: dict[str, Any] = json.loads(line)
        return message

    def send(self, message: dict[str, Any]) -> None:
        stdin = self.proc.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.write((json.dumps(message) + "\n").encode())

    def apply(self, report: dict[str, Any]) -> None:
        t = self.tally
        t.tries, t.barred, t.finished = report["tries"], report["barred"], report["finished"]
        t.seconds[report["seconds_from"]:] = report["seconds"]
        t.attached_at.extend(report["attached_at"])
        t.latencies.extend(report["latencies"])
        t.failures_by_cause = report["failures_by_cause"]
        t.own_attempted, t.own_attached = report["own"]
        self.pending = report["pending"]
        self.sampled_at = report["at"]
        self.delay_s = max(0.0, time.monotonic() - report["at"])


class WorkerFleet(Fleet):
    """One worker process per rescuer."""

    def __init__(self, cfg: StormConfig) -> None:
        self.cfg = cfg
        self.processes = 1 + cfg.rescuers
        self.workers: list[_Worker] = []
        self._logs = tempfile.TemporaryDirectory(prefix="storm-workers-")

    async def start(self, homes: list[HssRoute], factor: float | None) -> None:
        for k in range(self.cfg.rescuers):
            log = Path(self._logs.name) / f"rescuer-{k}.log"
            with log.open("wb") as err:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "corenet.orchestration.storm_worker",
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=err,
                    limit=LINE_LIMIT)
            worker = _Worker(k, proc, log)
            self.workers.append(worker)
            worker.send({"cfg": asdict(self.cfg), "k": k, "codec": codec_level().value,
                         "factor": factor,
                         "homes": [[h.realm, h.host, list(h.address)] for h in homes]})
        for worker in self.workers:
            message = await asyncio.wait_for(worker.read(), READY_TIMEOUT_S)
            if not message.get("ready"):
                raise WorkerError(f"storm worker {worker.k}: expected ready, got {message}")

    async def run(self, t0: float, deadline: float | None) -> bool:
        loop = asyncio.get_running_loop()
        # t0 on the monotonic clock every process shares
        go = time.monotonic() - (loop.time() - t0)
        for worker in self.workers:
            worker.tally = Tally(t0)
            worker.send({"go": go})
        ended = await asyncio.gather(*(self._follow(w) for w in self.workers))
        return all(ended)

    async def _follow(self, worker: _Worker) -> bool:
        while True:
            message = await worker.read()
            worker.apply(message)
            if message.get("done"):
                worker.done = message
                return bool(message["ended"])

    def tallies(self) -> list[Tally]:
        return [w.tally for w in self.workers]

    def set_barring(self, factor: float | None) -> None:
        for worker in self.workers:
            worker.send({"factor": factor})

    def pending(self) -> int:
        return sum(w.pending for w in self.workers)

    def lag_s(self) -> float:
        """The age of the oldest report, plus the time a decision takes to reach a worker
        (about what its reports take to get here)."""
        if not self.workers:
            return 0.0
        now = time.monotonic()
        return max(now - w.sampled_at + w.delay_s for w in self.workers)

    def never_attached(self) -> list[dict[str, Any]]:
        return [row for w in self.workers for row in (w.done or {}).get("never_attached", [])]

    def peak_rss_mib(self) -> float | None:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return own + sum(float((w.done or {}).get("peak_rss_mib", 0.0)) for w in self.workers)

    async def stop(self) -> None:
        for worker in self.workers:
            worker.send({"stop": True})
            if worker.proc.stdin is not None:
                worker.proc.stdin.close()
        for worker in self.workers:
            try:
                await asyncio.wait_for(worker.proc.wait(), 30.0)
            except TimeoutError:
                worker.proc.kill()
                await worker.proc.wait()
        self.workers.clear()
        self._logs.cleanup()
