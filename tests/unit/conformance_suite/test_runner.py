"""Verdicts (TTCN-3 sense), the JSON report and the JUnit XML, with scripted cases."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from contextlib import nullcontext
from pathlib import Path

from corenet.conformance import junit
from corenet.conformance.case import Case
from corenet.conformance.runner import run
from corenet.conformance.sut import Endpoints
from corenet.conformance.tester.context import Tester
from corenet.conformance.verdicts import Fail, Inconclusive, NoAnswer, Verdict


async def _passes(t: Tester) -> None:
    return None


async def _fails(t: Tester) -> None:
    raise Fail(t.clause, "AttachReject #15", "AttachReject #11")


async def _silent(t: Tester) -> None:
    raise NoAnswer("EMMStatus", 1.0)


async def _inconc(t: Tester) -> None:
    raise Inconclusive("S1 Setup refused")


async def _breaks(t: Tester) -> None:
    raise KeyError("tester bug")


async def _needs_mme(t: Tester) -> None:
    await t.enb()


CASES = [
    Case("X-PASS", "passes", "TS 24.301 §5.5.1.2.4", "mme", ("full",), _passes),
    Case("X-FAIL", "fails", "TS 24.301 §5.5.1.2.5", "mme", ("emergency-auth",), _fails),
    Case("X-SILENT", "no answer", "TS 24.301 §7.4", "mme", ("full",), _silent),
    Case("X-INCONC", "inconclusive", "RFC 6733 §5.3", "diameter", ("full",), _inconc),
    Case("X-ERROR", "error", "RFC 6733 §5.5.2", "diameter", ("full",), _breaks),
    Case("X-NO-SUT", "no interface", "TS 36.413 §8.7.3.2", "mme", ("full",), _needs_mme),
]


def _run(tmp_path: Path) -> tuple[object, list[str]]:
    modes: list[str] = []

    def sut_for(mode: str) -> nullcontext[Endpoints]:
        modes.append(mode)
        return nullcontext(Endpoints())

    return asyncio.run(run(CASES, sut_for, str(tmp_path / "caps"))), modes


def test_verdicts_and_reasons(tmp_path: Path) -> None:
    report, modes = _run(tmp_path)
    by = {r.id: r for r in report.results}  # type: ignore[attr-defined]
    assert [r.id for r in report.results] == [c.id for c in CASES]  # type: ignore[attr-defined]
    assert modes == ["full", "emergency-auth"]  # one SUT per mode, shared by its cases
    assert by["X-PASS"].verdict is Verdict.PASS
    assert by["X-FAIL"].verdict is Verdict.FAIL
    assert by["X-FAIL"].reason == ("TS 24.301 §5.5.1.2.5: expected AttachReject #15; "
                                   "observed AttachReject #11")
    assert by["X-SILENT"].verdict is Verdict.FAIL
    assert by["X-SILENT"].reason.startswith("TS 24.301 §7.4: expected EMMStatus")
    assert by["X-INCONC"].verdict is Verdict.INCONC
    assert by["X-ERROR"].verdict is Verdict.ERROR and "KeyError" in by["X-ERROR"].reason
    assert by["X-NO-SUT"].verdict is Verdict.INCONC and "--sut mme=" in by["X-NO-SUT"].reason
    for r in report.results:  # type: ignore[attr-defined]
        assert r.pcap is not None and Path(r.pcap).exists()


def test_json_report(tmp_path: Path) -> None:
    report, _ = _run(tmp_path)
    out = report.to_json()  # type: ignore[attr-defined]
    assert (out["total"], out["passed"], out["failed"], out["inconclusive"], out["errors"]) == (
        6, 1, 2, 2, 1)
    assert set(out["cases"][0]) >= {"id", "spec", "verdict", "reason", "pcap", "duration_s"}
    assert report.ok is False  # type: ignore[attr-defined]


def test_junit_one_suite_per_specification(tmp_path: Path) -> None:
    report, _ = _run(tmp_path)
    junit.write(report, CASES, tmp_path / "j.xml")  # type: ignore[arg-type]
    root = ET.parse(tmp_path / "j.xml").getroot()
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"TS 24.301", "RFC 6733", "TS 36.413"}
    assert len(root.findall(".//testcase")) == len(CASES)
    nas = suites["TS 24.301"]
    assert (nas.get("tests"), nas.get("failures")) == ("3", "2")
    failing = next(tc for tc in nas.findall("testcase") if tc.get("name", "").startswith("X-FAIL"))
    clause = failing.find("properties/property[@name='clause']")
    assert clause is not None and clause.get("value") == "TS 24.301 §5.5.1.2.5"
    failure = failing.find("failure")
    assert failure is not None and "expected AttachReject #15" in failure.get("message", "")
    base = suites["RFC 6733"]
    assert base.find("testcase/error") is not None and base.find("testcase/skipped") is not None
