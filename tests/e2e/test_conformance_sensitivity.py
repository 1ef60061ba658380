"""The suite can fail: network functions configured to break one clause make exactly that
clause's cases fail (and the command exit non-zero)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import yaml

from corenet.config.models import CorenetConfig
from corenet.conformance.case import Case
from corenet.conformance.runner import run
from corenet.conformance.sut import embedded_sut
from corenet.conformance.table import select
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
