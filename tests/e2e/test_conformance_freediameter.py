"""The RFC 6733 base cases against a third-party Diameter node: freeDiameter (Debian
freediameterd, installed by scripts/setup.sh) as the SUT; and the Cx, Gx and Rx cases, which
do not apply to a node advertising none of those applications."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from corenet.conformance.runner import run
from corenet.conformance.sut import Identities, external, free_port
from corenet.conformance.table import all_cases
from tests.e2e.network import _blocks, wait_port
from tests.tls_ca import TestCa

IDS = Identities()


@contextmanager
def freediameter(tmp_path: Path) -> Iterator[tuple[tuple[str, int], str]]:
    """freeDiameterd on a free port of its own loopback block, the tester's peer accepted; one
    that never listened (a loaded host, or its free port taken meanwhile) is started once more,
    on other ports."""
    for attempt in (1, 2):
        folder = tmp_path / f"fd-{attempt}"
        folder.mkdir()
        (host, port), tester, proc = _start(folder)
        try:
            asyncio.run(wait_port(host, port, timeout=20))
        except OSError:  # wait_port's last refusal
            _stop(proc)
            if attempt == 2:
                raise
            continue
        try:
            yield (host, port), tester
        finally:
            _stop(proc)
        return


def _start(tmp_path: Path) -> tuple[tuple[str, int], str, subprocess.Popen[bytes]]:
    """freeDiameter 1.2.1 wants a TLS certificate and key even when no peer uses TLS, and SCTP
    off where the kernel has none."""
    n = next(_blocks)
    host, tester = f"127.{n}.0.9", f"127.{n}.0.1"
    port, sec_port = free_port(host), free_port(host)
    ca = TestCa(tmp_path, "ca")
    leaf = ca.issue("fd.conformance.test")
    acl = tmp_path / "acl.conf"
    # acl_wl takes the tester's connections (no TLS: ALLOW_IPSEC); freeDiameter then never
    # dials the tester itself, so each case's CER meets a peer in the closed state
    acl.write_text(f"ALLOW_IPSEC {IDS.tester_peer_host}\nALLOW_IPSEC {IDS.tester_af_host}\n")
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
LoadExtension = "/usr/lib/freeDiameter/acl_wl.fdx" : "{acl}";
""")
    binary = shutil.which("freeDiameterd") or "/usr/bin/freeDiameterd"
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return (host, port), tester, proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=10)


def test_base_cases_against_freediameter(tmp_path: Path) -> None:
    cases = [c for c in all_cases() if c.sut == "diameter"]
    assert {c.specification for c in cases} == {"RFC 6733"} and len(cases) >= 5
    verdicts: dict[str, tuple[str, str]] = {}
    for case in cases:
        # a freeDiameter of its own per case: a peer that just disconnected (DPR, or a
        # connection closed under a pending CER) stays closed for a while in freeDiameter
        folder = tmp_path / case.id
        folder.mkdir()
        with freediameter(folder) as (where, tester):
            sut = external({"diameter": where}, local_host=tester)
            report = asyncio.run(run([case], lambda mode, sut=sut: nullcontext(sut)))
        verdicts.update({r.id: (r.verdict.value, r.reason) for r in report.results})
        assert report.ok, verdicts
    assert verdicts["DIA-CER-01"][0] == verdicts["DIA-DWR-01"][0] == "pass"
    assert verdicts["DIA-DPR-01"][0] == verdicts["DIA-CER-03"][0] == "pass"
    # freeDiameter is a relay agent by default: no application can be uncommon with it
    assert verdicts["DIA-CER-02"] == (
        "inconc", "the SUT is a relay agent (Relay Application Id in its CEA)")


def test_application_cases_do_not_apply_to_freediameter(tmp_path: Path) -> None:
    """freeDiameter serves no Cx (TS 29.229 §5.1), Gx (TS 29.212 §5.1) nor Rx (TS 29.214 §5.1):
    its CEA advertises only the Relay application, so each case is inconclusive, saying so."""
    cases = [c for c in all_cases() if c.id.startswith(("CX-", "GX-", "RX-"))]
    assert len(cases) >= 12
    verdicts: dict[str, tuple[str, str]] = {}
    for case in cases:
        folder = tmp_path / case.id
        folder.mkdir()
        with freediameter(folder) as (where, tester):
            sut = external({"hss": where, "pcrf": where}, local_host=tester)
            report = asyncio.run(run([case], lambda mode, sut=sut: nullcontext(sut)))
        verdicts.update({r.id: (r.verdict.value, r.reason) for r in report.results})
    # the first application each case needs: Rx media authorizations need a Gx session first
    first = {"CX": "Cx (16777216)", "GX": "Gx (16777238)", "RX-AAR-5065": "Rx (16777236)",
             "RX": "Gx (16777238)"}
    assert verdicts == {c.id: ("inconc", "not applicable: the SUT (a relay agent) does not "
                               f"advertise {first.get(c.id, first[c.id[:2]])} in its CEA")
                        for c in cases}
