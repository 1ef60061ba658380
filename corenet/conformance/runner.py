"""Run cases against a SUT: one capture per case, a verdict per case, the SUT shared by the
cases of one roaming mode."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corenet.conformance.case import Case
from corenet.conformance.sut import Endpoints
from corenet.conformance.tester.context import Tester
from corenet.conformance.verdicts import CaseResult, Fail, Inconclusive, NoAnswer, Verdict
from corenet.pcap.tap import PcapTap
from corenet.pcap.writer import PcapWriter

CASE_TIMEOUT_S = 30.0  # plus six NAS timer periods: the give-up cases wait for five expiries

# The SUT for a roaming mode: an async context giving its endpoints.
SutFactory = Callable[[str], AbstractAsyncContextManager[Endpoints]]


@dataclass
class Report:
    results: list[CaseResult]

    def counts(self) -> dict[str, int]:
        by = {v: sum(1 for r in self.results if r.verdict is v) for v in Verdict}
        return {"total": len(self.results), "passed": by[Verdict.PASS],
                "failed": by[Verdict.FAIL], "inconclusive": by[Verdict.INCONC],
                "errors": by[Verdict.ERROR]}

    @property
    def ok(self) -> bool:
        c = self.counts()
        return c["failed"] == 0 and c["errors"] == 0

    def to_json(self) -> dict[str, Any]:
        return {**self.counts(), "cases": [r.to_json() for r in self.results]}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


async def run_case(c: Case, sut: Endpoints, pcap_dir: Path | None) -> CaseResult:
    writer = None
    pcap = None
    if pcap_dir is not None:
        pcap = str(pcap_dir / f"{_safe(c.id)}.pcapng")
        writer = PcapWriter(pcap)
    tester = Tester(sut, None if writer is None else PcapTap(writer), c.spec)
    start = time.monotonic()
    limit = CASE_TIMEOUT_S + 6 * sut.t3460_s
    try:
        await asyncio.wait_for(c.drive(tester), limit)
        verdict, reason = Verdict.PASS, ""
    except Fail as exc:
        verdict, reason = Verdict.FAIL, str(exc)
    except NoAnswer as exc:
        verdict, reason = Verdict.FAIL, f"{c.spec}: {exc}"
    except Inconclusive as exc:
        verdict, reason = Verdict.INCONC, str(exc)
    except TimeoutError:
        verdict, reason = Verdict.ERROR, f"the case did not end within {limit:g} s"
    except Exception as exc:  # noqa: BLE001 - the tester broke: TTCN-3 "error"
        verdict, reason = Verdict.ERROR, f"{type(exc).__name__}: {exc}"
    finally:
        tester.close()
        await asyncio.sleep(0)  # let the closes reach the capture
        if writer is not None:
            writer.close()
    return CaseResult(c.id, c.title, c.spec, verdict, reason, pcap, time.monotonic() - start)


async def run(cases: list[Case], sut_for: SutFactory, pcap_dir: str | None = None,
              on_result: Callable[[CaseResult], None] | None = None) -> Report:
    """Cases grouped by the mode they need; each group shares one SUT; results in case order."""
    folder = None if pcap_dir is None else Path(pcap_dir)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    done: dict[str, CaseResult] = {}
    for mode in dict.fromkeys(c.mode for c in cases):
        group = [c for c in cases if c.mode == mode]
        async for r in _run_group(group, sut_for(mode), folder):
            done[r.id] = r
            if on_result is not None:
                on_result(r)
    return Report([done[c.id] for c in cases])


async def _run_group(group: list[Case], sut: AbstractAsyncContextManager[Endpoints],
                     folder: Path | None) -> AsyncIterator[CaseResult]:
    async with sut as endpoints:
        for c in group:
            yield await run_case(c, endpoints, folder)
