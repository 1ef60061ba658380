"""The whole suite against corenet's own network functions: every case passes, with its capture
and its JUnit testcase; and the command's exit status and outputs."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from corenet.config.models import CorenetConfig
from corenet.conformance.runner import run
from corenet.conformance.sut import embedded_sut
from corenet.conformance.table import all_cases
from tests import tshark
from tests.cli_helpers import run as run_cli
from tests.e2e.network import _blocks


def test_every_case_passes_against_the_embedded_network_functions(tmp_path: Path) -> None:
    block = next(_blocks)
    cases = all_cases()
    report = asyncio.run(run(cases, lambda mode: embedded_sut(CorenetConfig(), mode, block=block),
                             str(tmp_path / "caps")))
    bad = [(r.id, r.verdict.value, r.reason) for r in report.results if r.verdict.value != "pass"]
    assert bad == []
    assert report.ok and report.counts()["passed"] == len(cases) == 121
    for r in report.results:
        assert r.pcap is not None and Path(r.pcap).stat().st_size > 0, r.id


def test_case_capture_holds_the_exchange(tmp_path: Path) -> None:
    block = next(_blocks)
    cases = [c for c in all_cases() if c.id in ("S1AP-SETUP-02", "DIA-CER-02")]
    report = asyncio.run(run(cases, lambda mode: embedded_sut(CorenetConfig(), mode, block=block),
                             str(tmp_path)))
    pcaps = {r.id: Path(r.pcap or "") for r in report.results}
    assert tshark.values(pcaps["S1AP-SETUP-02"], "s1ap.procedureCode", "s1ap") == ["17", "17"]
    # the HSS listens on a free port: tell tshark it is Diameter
    port = tshark.values(pcaps["DIA-CER-02"], "tcp.dstport")[0]
    opts = (*tshark.NAS_OPTS, "-d", f"tcp.port=={port},diameter")
    codes = tshark.values(pcaps["DIA-CER-02"], "diameter.Result-Code",
                          "diameter.cmd.code == 257 && diameter.flags.request == 0", opts=opts)
    assert codes == ["5010"]


def test_command_writes_junit_json_and_captures(tmp_path: Path) -> None:
    junit, caps = tmp_path / "j.xml", tmp_path / "caps"
    proc = run_cli("corenet", "conformance", "run", "--cases", "S1AP-*,DIA-DWR-01", "--junit",
                   str(junit), "--pcap-dir", str(caps), "--json", "--loopback-block",
                   str(next(_blocks)))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    ids = [c["id"] for c in out["cases"]]
    assert out["total"] == out["passed"] == len(ids) == 9
    root = ET.parse(junit).getroot()
    assert sorted(s.get("name") for s in root.findall("testsuite")) == ["RFC 6733", "TS 36.413"]
    assert len(root.findall(".//testcase")) == 9
    assert sorted(p.stem for p in caps.glob("*.pcapng")) == sorted(ids)


def test_without_a_pcrf_its_cases_are_inconclusive() -> None:
    """A configuration without a PCRF (the P-GW on its static policy): the Gx, Rx and
    PCRF-driven bearer cases cannot apply; the MME's own S11 bearer cases still do."""
    block = next(_blocks)
    data = CorenetConfig().model_dump(mode="json")
    data["pcrf"] = None
    cases = [c for c in all_cases() if c.id in ("GX-CCR-I-01", "BEARER-DED-01", "BEARER-CBR-16")]
    report = asyncio.run(run(cases, lambda mode: embedded_sut(
        CorenetConfig.model_validate(data), mode, block=block)))
    verdicts = {r.id: (r.verdict.value, r.reason) for r in report.results}
    no_pcrf = ("inconc", "no pcrf interface given for the SUT (--sut pcrf=...)")
    assert verdicts == {"GX-CCR-I-01": no_pcrf, "BEARER-DED-01": no_pcrf,
                        "BEARER-CBR-16": ("pass", "")}
