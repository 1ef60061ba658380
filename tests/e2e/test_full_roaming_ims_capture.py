"""A full-roaming 119 call as real phones and a real IMS core make it, read off one demo capture
by tshark: for each UE the emergency PDN connection (TS 23.167 §6.2, TS 24.301 §6.5.1), the
normal registration challenged with IMS AKA over Cx and its security agreement (TS 24.229
§5.1.1.2, §5.4.1.2; TS 29.229; RFC 3329), the emergency registration (TS 24.229 §5.1.6.2), the
P-GW's Gx session and the P-CSCF's Rx binding (TS 29.212, TS 29.214), the QCI 1 voice bearer
(TS 23.401 §5.4.1), the PSAP's call-back (RFC 7090) and dialogs routed per RFC 3261 §12.1.1."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from corenet.cli.demo_cmd import demo
from corenet.runtime.supervisor import deciphered_path
from tests import tshark
from tests.e2e import network

UES = 2
IMS_POOL, SOS_POOL = "127.146.", "127.147."  # tests/e2e/network.py: ims and sos PDN pools


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    tmp = tmp_path_factory.mktemp("ims-capture")
    cfg = tmp / "corenet.yaml"
    cfg.write_text(yaml.safe_dump(network.config(tmp, enbs=1).model_dump(mode="json")),
                   encoding="utf-8")
    pcap = tmp / "demo.pcapng"
    result = CliRunner().invoke(demo, ["--config", str(cfg), "--ues", str(UES), "--json",
                                       "--mode", "full", "--call", "119", "--pcap", str(pcap)])
    assert result.exit_code == 0, result.output
    return pcap, json.loads(result.output)


def _ue_sources(pcap: Path, display_filter: str, pool: str) -> set[str]:
    return {a for a in tshark.values(pcap, "ip.src", display_filter=display_filter)
            if a.startswith(pool)}


@pytest.mark.tshark
def test_every_call_answered_and_called_back(capture: tuple[Path, dict[str, object]]) -> None:
    _, doc = capture
    ues = doc["ues"]
    assert isinstance(ues, list) and len(ues) == UES
    for ue in ues:
        assert ue["call"]["outcome"] == "answered"
        assert ue["call"]["psap"]["identity_type"] == "msisdn"
        assert ue["call"]["callback"]["outcome"] == "answered"


@pytest.mark.tshark
def test_emergency_pdn_and_emergency_registration_per_ue(
        capture: tuple[Path, dict[str, object]]) -> None:
    pcap, _ = capture
    plain = Path(deciphered_path(str(pcap)))
    # PDN Connectivity Requests (0xd0): per UE the attach's and the ims one initial (1), the
    # emergency one with request type emergency (4)
    types = tshark.values(plain, "nas_eps.esm_request_type",
                          display_filter="nas_eps.nas_msg_esm_type == 0xd0")
    assert sorted(types) == ["1"] * (2 * UES) + ["4"] * UES
    sos = _ue_sources(pcap, 'sip.Method == "REGISTER" && sip.Contact contains ";sos"', SOS_POOL)
    assert len(sos) == UES
    invites = _ue_sources(pcap, 'sip.Method == "INVITE" && sip.r-uri contains "urn:service:sos"',
                          SOS_POOL)
    assert invites == sos


@pytest.mark.tshark
def test_registration_challenged_over_cx_with_security_agreement(
        capture: tuple[Path, dict[str, object]]) -> None:
    pcap, _ = capture
    rows = tshark.fields(pcap, "ip.src", "sip.Call-ID", "sip.Status-Code", "sip.Security-Client",
                         "sip.Security-Verify", "sip.WWW-Authenticate",
                         display_filter='sip.CSeq.method == "REGISTER"')
    normal = [r for r in rows if r["ip.src"] and r["ip.src"][0].startswith(IMS_POOL)]
    ues = {r["ip.src"][0] for r in normal}
    assert len(ues) == UES
    for ue in ues:
        sent = [r for r in normal if r["ip.src"] == [ue]]
        # RFC 3329 §2.3.1: the offer in the first REGISTER, the verify in the answer to the 401
        assert sent[0]["sip.Security-Client"] and "ipsec-3gpp" in sent[0]["sip.Security-Client"][0]
        assert sent[-1]["sip.Security-Verify"]
        call_ids = {r["sip.Call-ID"][0] for r in sent}
        statuses = [r["sip.Status-Code"][0] for r in rows
                    if r["sip.Call-ID"] and r["sip.Call-ID"][0] in call_ids and r["sip.Status-Code"]]
        assert "401" in statuses and statuses[-1] == "200"
    challenges = [r["sip.WWW-Authenticate"][0] for r in rows if r["sip.Status-Code"] == ["401"]
                  and r["sip.WWW-Authenticate"]]
    assert challenges and all("AKAv1-MD5" in c for c in challenges)
    # TS 29.229 §6.1: UAR/UAA (300), MAR/MAA (303), SAR/SAA (301) between S-CSCF and HSS
    for code in (300, 301, 303):
        assert tshark.count(pcap, f"diameter.cmd.code == {code} && diameter.flags.request == 1") \
            >= UES, code
        answers = tshark.values(pcap, "diameter.Result-Code", display_filter=(
            f"diameter.cmd.code == {code} && diameter.flags.request == 0 "
            "&& diameter.Result-Code"))
        experimental = tshark.values(pcap, "diameter.Experimental-Result-Code", display_filter=(
            f"diameter.cmd.code == {code} && diameter.flags.request == 0 "
            "&& diameter.Experimental-Result-Code"))
        assert set(answers) <= {"2001"} and set(experimental) <= {"2001", "2002"}
        assert answers or experimental


@pytest.mark.tshark
def test_gx_rx_and_the_voice_bearer(capture: tuple[Path, dict[str, object]]) -> None:
    pcap, _ = capture
    # TS 29.212 §4.5.1: a CCR-I (CC-Request-Type 1) per PDN connection: internet, ims, sos
    initial = tshark.count(pcap, "diameter.cmd.code == 272 && diameter.flags.request == 1 "
                                 "&& diameter.CC-Request-Type == 1")
    assert initial == 3 * UES
    assert tshark.count(pcap, "diameter.cmd.code == 265 && diameter.flags.request == 1 "
                              "&& diameter.applicationId == 16777236") >= UES
    # Gx RAR with Charging-Rule-Install, then Create Bearer Request for QCI 1 (TS 29.274 §7.2.3)
    assert tshark.count(pcap, "diameter.cmd.code == 258 && diameter.applicationId == 16777238 "
                              "&& diameter.Charging-Rule-Install") >= UES
    qcis = tshark.values(pcap, "gtpv2.bearer_qos_label_qci",
                         display_filter="gtpv2.message_type == 95")
    assert len(qcis) >= UES and set(qcis) == {"1"}
    # the call and the call-back each get theirs; every response accepted, the bearer too
    assert tshark.count(pcap, "gtpv2.message_type == 96") == len(qcis)
    causes = tshark.values(pcap, "gtpv2.cause", display_filter="gtpv2.message_type == 96")
    assert set(causes) == {"16"}  # Request accepted (TS 29.274 Table 8.4-1)
    # BYE -> Rx STR -> Gx RAR Charging-Rule-Remove -> Delete Bearer Request (TS 23.401 §5.4.4.1)
    assert tshark.count(pcap, "diameter.cmd.code == 275 && diameter.flags.request == 1") \
        == len(qcis)
    assert tshark.count(pcap, "gtpv2.message_type == 99") == len(qcis)


@pytest.mark.tshark
def test_call_back_and_record_route_in_every_2xx(capture: tuple[Path, dict[str, object]]) -> None:
    pcap, _ = capture
    assert tshark.count(pcap, 'sip.Method == "INVITE" && sip.Priority == "psap-callback"') >= UES
    rows = tshark.fields(pcap, "sip.Call-ID", "sip.Method", "sip.Status-Code", "sip.Record-Route",
                         display_filter='sip.CSeq.method == "INVITE"')
    routes: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for r in rows:
        if r["sip.Method"] == ["INVITE"]:
            routes[r["sip.Call-ID"][0]].add(tuple(r["sip.Record-Route"]))
    oks = [r for r in rows if r["sip.Status-Code"] == ["200"]]
    assert len(oks) >= 2 * UES
    for ok in oks:
        # RFC 3261 §12.1.1: the UAS copies the request's Record-Route into its 2xx
        assert ok["sip.Record-Route"], ok
        assert tuple(ok["sip.Record-Route"]) in routes[ok["sip.Call-ID"][0]], ok


@pytest.mark.tshark
def test_capture_is_clean(capture: tuple[Path, dict[str, object]]) -> None:
    pcap, _ = capture
    assert tshark.count(pcap, "_ws.malformed") == 0
    plain = Path(deciphered_path(str(pcap)))
    assert tshark.count(plain, "_ws.malformed || _ws.expert.severity >= warning") == 0
