"""The suite can fail: network functions configured (or, on the wire, fault-injected) to break
one clause make exactly that clause's cases fail (and the command exit non-zero)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from corenet.codecs import nas, s1ap
from corenet.config.models import CorenetConfig
from corenet.conformance.case import Case
from corenet.conformance.runner import run
from corenet.conformance.sut import Endpoints, embedded_sut
from corenet.conformance.table import select
from corenet.transport import open_sctp_client, open_sctp_server
from tests.cli_helpers import run as run_cli
from tests.e2e.network import _blocks


def _with_mme(**update: Any) -> CorenetConfig:
    """The embedded configuration with some MME sections changed (public configuration only)."""
    data = CorenetConfig().model_dump(mode="json")
    for section, values in update.items():
        data["mme"][section].update(values)
    return CorenetConfig.model_validate(data)


def _failing(base: CorenetConfig, cases: list[Case]) -> dict[str, str]:
    block = next(_blocks)
    report = asyncio.run(run(cases, lambda mode: embedded_sut(base, mode, block=block)))
    return {r.id: r.verdict.value for r in report.results if r.verdict.value != "pass"}


# Cases that reach the clauses below (every MME case would take longer than it tells).
MME_CASES = "SEC-*,JR-*,EMM-T34*,EMM-ATT-0*,EMM-EMC-0*,EMM-REJ-*"


def test_null_integrity_for_normal_attaches_fails_ts_33401_5141_only() -> None:
    broken = _with_mme(security={"eia": [0]})  # EIA0 preferred for every attach
    failing = _failing(broken, select(MME_CASES))
    assert failing == {"SEC-EIA-01": "fail", "SEC-EIA-02": "fail"}
    assert {c.spec for c in select("SEC-EIA-01,SEC-EIA-02")} == {"TS 33.401 §5.1.4.1"}


def test_no_ambr_cap_fails_the_300_kbps_cases_only() -> None:
    broken = _with_mme(roaming={"ambr_cap": {"ul_bps": 10**9, "dl_bps": 10**9}})
    failing = _failing(broken, select(MME_CASES))
    assert failing == {"JR-CAP-UL": "fail", "JR-CAP-DL": "fail"}


def test_no_retransmission_fails_the_t3450_t3460_cases_only() -> None:
    broken = _with_mme(timers={"max_retransmissions": 0})
    failing = _failing(broken, select(MME_CASES))
    assert failing == {"EMM-T3460-01": "fail", "EMM-T3460-02": "fail", "EMM-T3450-01": "fail",
                       "EMM-T3450-02": "fail"}


def test_command_exits_non_zero_naming_the_broken_clause(tmp_path: Path) -> None:
    cfg = tmp_path / "broken.yaml"
    data = CorenetConfig().model_dump(mode="json")
    data["mme"]["security"]["eia"] = [0]
    cfg.write_text(yaml.safe_dump(data))
    proc = run_cli("corenet", "conformance", "run", "--sut-config", str(cfg), "--cases",
                   "TS 33.401*", "--json", "--loopback-block", str(next(_blocks)))
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    failed = {c["id"]: c["reason"] for c in out["cases"] if c["verdict"] == "fail"}
    assert set(failed) == {"SEC-EIA-01", "SEC-EIA-02"}
    assert failed["SEC-EIA-01"] == ("TS 33.401 §5.1.4.1: expected EIA1/2/3; observed EIA0")
    assert out["failed"] == 2 and out["passed"] == out["total"] - 2


class WrongRejectCause:
    """Fault injection on S1-MME: an S1AP proxy in front of the MME rewriting every plain
    ATTACH REJECT #15 (TS 24.301 §5.5.1.2.5) into #17 "network failure"; all else passes."""

    def __init__(self, mme: tuple[str, int], host: str) -> None:
        self.mme, self.host = mme, host
        self.links: dict[Any, Any] = {}
        self.server: Any = None

    async def start(self) -> tuple[str, int]:
        self.server = await open_sctp_server(self.host, 0, self._from_enb,
                                             on_connect=self._connected, mode="fallback")
        return self.server.local  # type: ignore[no-any-return]

    def _connected(self, enb: Any) -> None:
        self.links[enb] = asyncio.ensure_future(open_sctp_client(
            self.mme[0], self.mme[1], lambda _c, data, ppid, stream: enb.send(
                self._rewrite(data), ppid=ppid, stream=stream), mode="fallback"))

    def _from_enb(self, enb: Any, data: bytes, ppid: int, stream: int) -> None:
        # in order, once the association towards the MME is up
        self.links[enb].add_done_callback(
            lambda link: link.result().send(data, ppid=ppid, stream=stream))

    @staticmethod
    def _rewrite(data: bytes) -> bytes:
        msg = s1ap.decode(data)
        pdu = msg.fields.get("NAS-PDU")
        if msg.name != "DownlinkNASTransport" or not pdu or pdu[0] != nas.PD_EMM:
            return data
        inner = nas.decode(bytes(pdu))
        if inner.name != "AttachReject" or inner.fields.get(nas.EMM_CAUSE) != 15:
            return data
        f = msg.fields
        return s1ap.encode(s1ap.downlink_nas_transport(
            f["MME-UE-S1AP-ID"], f["eNB-UE-S1AP-ID"], nas.attach_reject(17)))

    def close(self) -> None:
        for link in self.links.values():
            if link.done() and link.exception() is None:
                link.result().close()
        if self.server is not None:
            self.server.close()


@asynccontextmanager
async def _behind_wrong_cause(mode: str, block: int) -> AsyncIterator[Endpoints]:
    async with embedded_sut(CorenetConfig(), mode, block=block) as sut:
        proxy = WrongRejectCause(sut.addresses["mme"], f"127.{block}.0.12")
        where = await proxy.start()
        try:
            yield replace(sut, addresses={**sut.addresses, "mme": where})
        finally:
            proxy.close()


def test_wrong_reject_cause_fails_the_15_cases_only() -> None:
    block = next(_blocks)
    cases = select("EMM-REJ-*,EMM-EMC-*,EMM-ATT-01,SEC-EIA-0*")
    report = asyncio.run(run(cases, lambda mode: _behind_wrong_cause(mode, block)))
    failing = {r.id: r.reason for r in report.results if r.verdict.value != "pass"}
    assert set(failing) == {"EMM-REJ-15A", "EMM-REJ-15U"}
    assert failing["EMM-REJ-15A"] == ("TS 24.301 §5.5.1.2.5: expected AttachReject #15; "
                                      "observed AttachReject #17")


def test_registrar_without_ims_aka_fails_the_401_case() -> None:
    """A home IMS that takes REGISTER on the P-CSCF's word (no Cx, no challenge) breaks TS 24.229
    §5.4.1.2.1: the 401 case fails, the sec-agree case cannot reach its point."""
    data = CorenetConfig().model_dump(mode="json")
    data["ims"]["home"]["cx"] = None
    failing = _failing(CorenetConfig.model_validate(data), select("IMS-REG-*,CX-MAR-01"))
    assert failing == {"IMS-REG-401": "fail", "IMS-REG-494": "inconc"}
