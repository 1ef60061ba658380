"""The case table: enough cases over enough specifications, each tagged by clause."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from corenet.cli.conformance_cmd import conformance
from corenet.conformance.case import ALL_MODES, SUTS
from corenet.conformance.sut import parse_sut
from corenet.conformance.table import all_cases, select
from tests.cli_helpers import run_json


def test_121_cases_over_12_specifications() -> None:
    cases = all_cases()
    assert len(cases) == 121
    specs = {c.specification for c in cases}
    assert specs == {"TS 36.413", "TS 24.301", "TS 33.401", "TS 29.272", "RFC 6733", "TS 29.274",
                     "TS 24.229", "TS 23.167", "JAPAN Roaming report", "TS 29.228", "TS 29.212",
                     "TS 29.214"}


def test_cases_of_cx_pcc_service_request_and_dedicated_bearers() -> None:
    """Cx at the HSS, Gx/Rx at the PCRF, IMS AKA and sec-agree at the P-CSCF, the MME's
    service request and network-initiated dedicated bearers."""
    by_id = {c.id: c for c in all_cases()}
    expected = {
        "CX-UAR-5001": ("hss", "TS 29.228"), "CX-MAR-01": ("hss", "TS 29.228"),
        "CX-MAR-RESYNC": ("hss", "TS 29.228"), "CX-SAR-01": ("hss", "TS 29.228"),
        "GX-CCR-I-01": ("pcrf", "TS 29.212"), "GX-CCR-5002": ("pcrf", "TS 29.212"),
        "RX-AAR-5065": ("pcrf", "TS 29.214"), "RX-AAR-RAR": ("pcrf", "TS 29.214"),
        "IMS-REG-401": ("pcscf", "TS 24.229"), "IMS-REG-494": ("pcscf", "TS 24.229"),
        "EMM-SR-01": ("mme", "TS 24.301"), "EMM-SR-09-MAC": ("mme", "TS 24.301"),
        "EMM-SR-09-TMSI": ("mme", "TS 24.301"), "EMM-ESR-18": ("mme", "TS 24.301"),
        "EMM-SR-10": ("mme", "TS 24.301"), "EMM-ESR-97": ("mme", "TS 24.301"),
        "BEARER-DED-01": ("mme", "TS 24.301"), "BEARER-DED-REJ": ("mme", "TS 24.301"),
        "BEARER-CBR-16": ("mme", "TS 24.301"), "BEARER-CBR-88": ("mme", "TS 24.301")}
    assert {i: (by_id[i].sut, by_id[i].specification) for i in expected} == expected


def test_every_case_names_its_clause_sut_and_modes() -> None:
    cases = all_cases()
    assert len({c.id for c in cases}) == len(cases)
    for c in cases:
        assert re.match(r"(TS \d+\.\d+ §|RFC \d+ §|JAPAN Roaming report: )", c.spec), c.spec
        assert c.sut in SUTS
        assert c.modes and set(c.modes) <= set(ALL_MODES)


def test_select_by_id_glob_and_by_clause() -> None:
    assert [c.id for c in select("S1AP-SETUP-0*")] == ["S1AP-SETUP-01", "S1AP-SETUP-02"]
    assert {c.specification for c in select("TS 33.401")} == {"TS 33.401"}
    assert {c.id for c in select("TS 33.401 §5.1.4.1")} == {"SEC-EIA-01", "SEC-EIA-02"}


def test_list_json_from_the_command() -> None:
    code, out = run_json("corenet", "conformance", "list", "--json")
    assert code == 0
    assert len(out) == len(all_cases())
    first = next(c for c in out if c["id"] == "EMM-REJ-15A")
    assert first == {"id": "EMM-REJ-15A", "title": first["title"], "spec": "TS 24.301 §5.5.1.2.5",
                     "sut": "mme", "modes": ["emergency-auth"]}


def test_list_text_one_line_per_case() -> None:
    proc = CliRunner().invoke(conformance, ["list", "--cases", "DIA-*"])
    assert proc.exit_code == 0
    lines = proc.output.splitlines()
    assert len(lines) == len(select("DIA-*")) and lines[0].startswith("DIA-CER-01")


def test_parse_sut() -> None:
    assert parse_sut("mme=10.0.0.1:36412, hss=[::1]:3868,pcrf=10.0.0.15:3868") == {
        "mme": ("10.0.0.1", 36412), "hss": ("::1", 3868), "pcrf": ("10.0.0.15", 3868)}
    for bad in ("mme", "mme=host", "amf=1.2.3.4:1", "mme=1.2.3.4:x"):
        with pytest.raises(ValueError, match="NAME=HOST:PORT"):
            parse_sut(bad)


def test_bad_sut_option_exits_2_naming_it() -> None:
    proc = CliRunner().invoke(conformance, ["run", "--sut", "amf=1.2.3.4:1"])
    assert proc.exit_code == 2
    assert "--sut" in proc.output
