"""The RFC 6733 base cases against a third-party Diameter node: freeDiameter (Debian
freediameterd, installed by scripts/setup.sh) as the SUT."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest

from corenet.conformance.runner import run
from corenet.conformance.sut import Identities, external, free_port
from corenet.conformance.table import all_cases
from tests.e2e.network import _blocks, wait_port
from tests.tls_ca import TestCa

IDS = Identities()


@pytest.fixture
def freediameter(tmp_path: Path) -> Iterator[tuple[tuple[str, int], str]]:
    """freeDiameterd on a free port of its own loopback block, the tester's peer configured.

    freeDiameter 1.2.1 wants a TLS certificate and key even when no peer uses TLS, and SCTP
    off where the kernel has none."""
    n = next(_blocks)
    host, tester = f"127.{n}.0.9", f"127.{n}.0.1"
    port, sec_port = free_port(host), free_port(host)
    ca = TestCa(tmp_path, "ca")
    leaf = ca.issue("fd.conformance.test")
    conf = tmp_path / "freediameter.conf"
    conf.write_text(f"""Identity = "fd.conformance.test";
Realm = "conformance.test";
ListenOn = "{host}";
Port = {port};
SecPort = {sec_port};
No_SCTP;
No_IPv6;
TLS_Cred = "{leaf.cert}", "{leaf.key}";
TLS_CA = "{ca.cert}";
ConnectPeer = "{IDS.tester_peer_host}" {{ ConnectTo = "{tester}"; No_TLS; Port = {free_port(tester)}; }};
""")
    binary = shutil.which("freeDiameterd") or "/usr/bin/freeDiameterd"
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        asyncio.run(wait_port(host, port, timeout=20))
        yield (host, port), tester
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_base_cases_against_freediameter(freediameter: tuple[tuple[str, int], str]) -> None:
    where, tester = freediameter
    cases = [c for c in all_cases() if c.sut == "diameter"]
    assert {c.specification for c in cases} == {"RFC 6733"} and len(cases) >= 5
    sut = external({"diameter": where}, local_host=tester)
    report = asyncio.run(run(cases, lambda mode: nullcontext(sut)))
    verdicts = {r.id: (r.verdict.value, r.reason) for r in report.results}
    assert report.ok, verdicts
    assert verdicts["DIA-CER-01"][0] == verdicts["DIA-DWR-01"][0] == "pass"
    assert verdicts["DIA-DPR-01"][0] == verdicts["DIA-CER-03"][0] == "pass"
    # freeDiameter is a relay agent by default: no application can be uncommon with it
    assert verdicts["DIA-CER-02"] == (
        "inconc", "the SUT is a relay agent (Relay Application Id in its CEA)")
